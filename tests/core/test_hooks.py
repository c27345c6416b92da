"""One test per hook, plus checks that every hook is documented and tested."""

import inspect as pyinspect
import logging
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Blueprint
from sqlalchemy import select

from core import Permission, Term, ValidationError, forms, hookimpl, hookspecs, records, users
from core.errors import PluginError, StartupError
from core.models import Organisation, User
from core.plugins import build_host

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("kartoteka_"))


class Spy:
    """A plugin written in the test: records the events it hears."""

    def __init__(self):
        self.heard = []

    @hookimpl
    def kartoteka_before_record_save(self, record, changes, actor):
        if isinstance(record, User) and "full_name" in changes \
                and changes["full_name"][1] == "Nobody":
            raise ValidationError({"full_name": "Nobody is not a name."})

    @hookimpl
    def kartoteka_record_created(self, record):
        self.heard.append(("created", record.email))

    @hookimpl
    def kartoteka_record_updated(self, record, changes, actor):
        self.heard.append(("updated", record.email, changes, actor))

    @hookimpl
    def kartoteka_record_deleted(self, record):
        self.heard.append(("deleted", record.email))


@pytest.fixture
def spied_app(kartoteka_app_factory):
    app = kartoteka_app_factory()
    spy = Spy()
    app.extensions["kartoteka"].host.pm.register(spy, name="spy")
    return app.extensions["kartoteka"], spy


def new_user(email="anna@example.com"):
    return User(email=email, full_name="Anna", password_hash="x")


def test_every_hook_has_a_full_docstring():
    for name in HOOKS:
        doc = pyinspect.getdoc(getattr(hookspecs, name)) or ""
        assert ":returns:" in doc, f"{name} does not say what it returns"
        for param in pyinspect.signature(getattr(hookspecs, name)).parameters:
            assert f":param {param}:" in doc, f"{name} does not document {param}"


def test_every_hook_is_documented_in_the_plugin_guide_and_tested_here():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    here = Path(__file__).read_text()
    for name in HOOKS:
        assert f"`{name}" in guide, f"{name} is missing from docs/plugins.md"
        assert re.search(rf"^def test_hook_{name}\b", here, re.M), f"{name} has no test"


def test_hook_kartoteka_startup(third_party, kartoteka_app_factory):
    app = kartoteka_app_factory(["visits"])
    assert app.jinja_env.filters["visit_date"](date(2026, 3, 9)) == "09.03.2026"


def test_hook_kartoteka_register_migrations(third_party):
    host = build_host(["visits", "fundraising"])
    (branch,) = host.branch("visits")
    assert branch.version_table == "alembic_version_visits"
    assert (branch.versions / "0001_visits.py").exists()
    assert host.branch("fundraising") == []  # a plugin without tables
    assert [b.name for b in host.branches()] == ["core", "visits"]


def test_hook_kartoteka_register_terms(third_party):
    host = build_host(["visits", "training"])
    assert host.terms["visits.visit"].render("pl", "acc") == "wizytę"
    assert host.terms["training.member_unit"].render("pl", count=5) == "jednostek członkowskich"
    assert host.terms["core.organisation"].render("en", count=2) == "organisations"


def test_hook_kartoteka_register_terms_refuses_another_owners_key():
    class Squatter:
        @hookimpl
        def kartoteka_register_terms(self):
            return [Term("core.person", pl=forms("x", "y"), en=forms("x", "y"))]

    host = build_host([])
    host.pm.register(Squatter(), name="squatter")
    from core.plugins import _collect

    with pytest.raises(PluginError, match="'core.person' must start with 'squatter.'"):
        _collect(host, "kartoteka_register_terms", Term)


def test_hook_kartoteka_register_permissions(third_party):
    host = build_host(["visits", "printing"])
    assert host.permissions["visits.record"].label("pl") == "Rejestrowanie wizyt"
    assert "printing.confirm_documents" in host.permissions
    assert "core.manage_plugins" in host.permissions


def test_hook_kartoteka_register_permissions_refuses_a_duplicate():
    class Twice:
        @hookimpl
        def kartoteka_register_permissions(self):
            perm = Permission("twice.do", {"pl": "Rób", "en": "Do"})
            return [perm, perm]

    host = build_host([])
    host.pm.register(Twice(), name="twice")
    from core.plugins import _collect

    with pytest.raises(PluginError, match="'twice.do' is already registered by 'twice'"):
        _collect(host, "kartoteka_register_permissions", Permission)


def test_hook_kartoteka_register_blueprints(third_party, kartoteka_app_factory,
                                            kartoteka_login):
    app = kartoteka_app_factory(["visits"])
    assert "visits" in app.blueprints
    client = kartoteka_login(app.test_client())
    assert client.get("/visits/").status_code == 200


def test_hook_kartoteka_register_blueprints_refuses_a_foreign_name(kartoteka_app_factory,
                                                                   monkeypatch):
    import plugins.fundraising.plugin as fundraising

    @hookimpl
    def kartoteka_register_blueprints():
        return [Blueprint("admin", __name__)]

    monkeypatch.setattr(fundraising, "kartoteka_register_blueprints", kartoteka_register_blueprints,
                        raising=False)
    with pytest.raises(StartupError, match="kartoteka plugins disable fundraising"):
        kartoteka_app_factory(["fundraising"])


def test_hook_kartoteka_register_portal_blueprints(third_party, kartoteka_app_factory,
                                                   kartoteka_login):
    from core import organisations, users

    app = kartoteka_app_factory(["visits"])
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        unit = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})
        users.create_user(session, "kornik@example.com", "hasło-portalu-123", portal_of=unit)
    assert "/portal/visits/" in {rule.rule for rule in app.url_map.iter_rules()}
    assert app.test_client().get("/portal/visits/").status_code == 302  # log in first
    assert kartoteka_login(app.test_client()).get("/portal/visits/").status_code == 404
    portal = kartoteka_login(app.test_client(), "kornik@example.com", "hasło-portalu-123")
    assert "Gmina Kórnik" in portal.get("/portal/visits/").text


def test_hook_kartoteka_register_menu_items(third_party, kartoteka_app_factory,
                                           kartoteka_login):
    app = kartoteka_app_factory(["visits"])
    page = kartoteka_login(app.test_client()).get("/visits/").text
    assert '<a href="/visits/" aria-current="page">Wizyty</a>' in page


def test_hook_kartoteka_register_menu_items_refuses_a_missing_page(kartoteka_app_factory,
                                                                  monkeypatch):
    import plugins.fundraising.plugin as fundraising
    from core.menu import MenuItem

    @hookimpl
    def kartoteka_register_menu_items():
        return [MenuItem("fundraising.nowhere", label={"pl": "Nigdzie", "en": "Nowhere"})]

    monkeypatch.setattr(fundraising, "kartoteka_register_menu_items", kartoteka_register_menu_items,
                        raising=False)
    with pytest.raises(StartupError, match="fundraising.nowhere: there is no such page"):
        kartoteka_app_factory(["fundraising"])


def test_hook_kartoteka_case_panels(kartoteka_app_factory, kartoteka_login, caplog):
    from markupsafe import Markup, escape

    from core import cases

    app = kartoteka_app_factory(["photovoltaics"])
    rt = app.extensions["kartoteka"]
    seen = []

    class Fleet:
        @hookimpl
        def kartoteka_case_panels(self, session, case, viewer):
            seen.append((case.title, viewer.email))
            if case.title != "Przegląd":
                return None
            return Markup('<section id="fleet">Vehicle: {}</section>').format(case.title)

    class Broken:
        @hookimpl
        def kartoteka_case_panels(self, session, case, viewer):
            raise RuntimeError("the panel failed")

    rt.host.pm.register(Fleet(), name="fleet_panels")
    rt.host.pm.register(Broken(), name="broken_panels")
    with rt.session() as session, session.begin():
        ids = [cases.create(session, rt.host, {"title": t,
                                               "process_key": "photovoltaics.installation"}).id
               for t in ("Przegląd", "<b>Inne</b>")]
    client = kartoteka_login(app.test_client())
    with caplog.at_level(logging.ERROR):
        page = client.get(f"/cases/{ids[0]}").text
        other = client.get(f"/cases/{ids[1]}").text
    assert '<section id="fleet">Vehicle: Przegląd</section>' in page
    assert 'id="fleet"' not in other and str(escape("<b>Inne</b>")) in other
    assert [t for t, _email in seen] == ["Przegląd", "<b>Inne</b>"]
    assert "plugin 'broken_panels' failed in kartoteka_case_panels" in caplog.text


def test_hook_kartoteka_record_panels(kartoteka_app_factory, kartoteka_login, caplog):
    from markupsafe import Markup

    from core import organisations, people

    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    seen = []

    class Fleet:
        @hookimpl
        def kartoteka_record_panels(self, session, record, viewer):
            seen.append((type(record).__name__, viewer.email))
            if getattr(record, "name", "") != "Gmina Kórnik":
                return None
            return Markup('<section id="fleet">Vehicles of {}</section>').format(record.name)

    class Broken:
        @hookimpl
        def kartoteka_record_panels(self, session, record, viewer):
            raise RuntimeError("the panel failed")

    rt.host.pm.register(Fleet(), name="fleet_panels")
    rt.host.pm.register(Broken(), name="broken_panels")
    with rt.session() as session, session.begin():
        kornik, mosina = (organisations.create(session, rt.host, {
            "name": name, "type_key": "core.municipality"}).id
            for name in ("Gmina Kórnik", "Gmina Mosina"))
        person = people.create(session, {"first_name": "Jan", "last_name": "Nowak"}).id
    client = kartoteka_login(app.test_client())
    with caplog.at_level(logging.ERROR):
        page = client.get(f"/organisations/{kornik}").text
        other = client.get(f"/organisations/{mosina}")
        card = client.get(f"/people/{person}")
    assert '<section id="fleet">Vehicles of Gmina Kórnik</section>' in page
    assert other.status_code == card.status_code == 200 and 'id="fleet"' not in other.text
    assert [kind for kind, _email in seen] == ["Organisation", "Organisation", "Person"]
    assert "plugin 'broken_panels' failed in kartoteka_record_panels" in caplog.text


def test_hook_kartoteka_register_api_blueprints(third_party, kartoteka_app_factory,
                                                kartoteka_login):
    app = kartoteka_app_factory(["fleet"])
    client = kartoteka_login(app.test_client())
    assert client.get("/api/v1/fleet/vehicles/").get_json() == {"items": [], "next": None}
    assert "/api/v1/fleet/summary/" in client.get("/api/v1/openapi.json").get_json()["paths"]


def test_hook_kartoteka_register_commands(third_party, cli):
    cli("init")
    cli("plugins", "enable", "visits")
    from core.cli import cli as group

    result = CliRunner().invoke(group, ["visits", "--help"])
    assert result.exit_code == 0 and "count" in result.output
    assert isinstance(group.get_command(None, "visits"), click.Group)


def test_hook_kartoteka_load_demo_data(third_party, kartoteka_app_factory):
    from core import demo

    rt = kartoteka_app_factory(["visits"]).extensions["kartoteka"]
    assert "visits" in demo.load(rt)
    demo.load(rt)
    from kartoteka_visits.models import Visit

    with rt.session() as session:
        places = sorted(v.place for v in session.scalars(select(Visit)))
    assert places == ["Starostwo Powiatowe w Gnieźnie", "Urząd Gminy Kórnik"]


def test_hook_kartoteka_before_record_save(spied_app):
    rt, spy = spied_app
    with rt.session() as session, session.begin():
        user_id = records.create(session, new_user()).id
    with rt.session() as session:
        with pytest.raises(ValidationError) as refused:
            records.update(session, session.get(User, user_id), {"full_name": "Nobody"})
        assert refused.value.errors == {"full_name": "Nobody is not a name."}
        session.rollback()
    with rt.session() as session:
        assert session.get(User, user_id).full_name == "Anna"
    assert [h[0] for h in spy.heard] == ["created"]


def test_hook_kartoteka_record_created(spied_app):
    rt, spy = spied_app
    with rt.session() as session:
        records.create(session, new_user())
        assert spy.heard == []  # not before the commit
        session.commit()
    assert spy.heard == [("created", "anna@example.com")]

    with rt.session() as session:
        records.create(session, new_user("rolled@example.com"))
        session.rollback()
    assert spy.heard == [("created", "anna@example.com")]


def test_hook_kartoteka_record_updated(spied_app):
    rt, spy = spied_app
    with rt.session() as session, session.begin():
        admin = records.create(session, new_user("admin@example.com"))
        user = records.create(session, new_user())
    with rt.session() as session, session.begin():
        records.update(session, session.get(User, user.id), {"full_name": "Anna Nowak"},
                       actor=admin)
        records.update(session, session.get(User, user.id), {"full_name": "Anna Nowak"})
    updates = [h for h in spy.heard if h[0] == "updated"]
    assert updates == [("updated", "anna@example.com",
                        {"full_name": ("Anna", "Anna Nowak")}, admin)]


def test_hook_kartoteka_record_deleted(spied_app):
    rt, spy = spied_app
    with rt.session() as session, session.begin():
        user = records.create(session, new_user())
    with rt.session() as session, session.begin():
        records.delete(session, session.get(User, user.id))
    assert spy.heard[-1] == ("deleted", "anna@example.com")
    with rt.session() as session:
        assert session.get(User, user.id) is None


def test_a_failing_listener_does_not_stop_the_others(spied_app, caplog):
    rt, spy = spied_app

    class Broken:
        @hookimpl
        def kartoteka_record_created(self, record):
            raise RuntimeError("listener down")

    rt.host.pm.register(Broken(), name="broken")
    with caplog.at_level(logging.ERROR), rt.session() as session, session.begin():
        records.create(session, new_user())
    assert spy.heard == [("created", "anna@example.com")]
    assert "plugin 'broken' failed in kartoteka_record_created" in caplog.text
    with rt.session() as session:
        assert session.scalar(select(User.email)) == "anna@example.com"


def test_hook_kartoteka_register_organisation_types():
    host = build_host(["expertise"])
    assert host.organisation_types["expertise.court"].label("pl") == "Sąd"
    assert host.organisation_types["core.municipality"].label("en") == "Municipality"
    assert "expertise.court" not in build_host([]).organisation_types


def test_hook_kartoteka_register_field_types():
    host = build_host(["photovoltaics"])
    kwp = host.field_types["photovoltaics.kwp"]
    assert (kwp.label("pl"), kwp.kind) == ("Moc (kWp)", "number")
    assert "photovoltaics.kwp" not in build_host([]).field_types


def test_hook_kartoteka_register_fields():
    host = build_host(["photovoltaics"])
    shipped = [(owner, f.key, f.type) for owner, f in host.fields]
    assert ("photovoltaics", "photovoltaics_power", "photovoltaics.kwp") in shipped
    assert {owner for owner, _f in host.fields} == {"photovoltaics"}
    assert build_host([]).fields == []


def test_a_shipped_field_key_must_start_with_the_plugin_name(monkeypatch):
    from core import CustomField
    from plugins.photovoltaics import fields

    monkeypatch.setattr(fields, "FIELDS", [CustomField("organisation", "power", "decimal",
                                                       {"pl": "Moc", "en": "Power"})])
    with pytest.raises(PluginError, match="field key 'power' must start with 'photovoltaics_'"):
        build_host(["photovoltaics"])


def test_hook_kartoteka_before_anonymise(spied_app):
    from core import people, privacy
    from core.models import Person

    rt, _spy = spied_app

    class Billing:
        refuse = True

        @hookimpl
        def kartoteka_before_anonymise(self, person, keep):
            if self.refuse:
                raise ValidationError({"person": "An unpaid invoice names this person."})
            keep.add("name")

    billing = Billing()
    rt.host.pm.register(billing, name="billing_spy")
    with rt.session() as session, session.begin():
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                       "pesel": "44051401359"})
    with rt.session() as session, session.begin(), pytest.raises(ValidationError):
        privacy.anonymise(session, session.get(Person, anna.id))
    with rt.session() as session:
        assert session.get(Person, anna.id).pesel == "44051401359"
    billing.refuse = False
    with rt.session() as session, session.begin():
        privacy.anonymise(session, session.get(Person, anna.id))
    with rt.session() as session:
        kept = session.get(Person, anna.id)
        assert (kept.full_name, kept.pesel) == ("Anna Nowak", "")


def test_hook_kartoteka_register_processes(monkeypatch):
    from core.workflow import Phase, Process, Transition
    from plugins.printing import process

    host = build_host(["printing"])
    project = host.processes["printing.project"]
    assert project.phases[0].key == "inquiry" and project.transition("calculation", "offer")
    assert build_host([]).processes == {}
    broken = Process("printing.broken", "printing.project", phases=(Phase("a", "core.case"),),
                     transitions=(Transition("a", "b"),))
    monkeypatch.setattr(process, "PROCESSES", [broken])
    with pytest.raises(PluginError, match="transition a->b names an unknown phase"):
        build_host(["printing"])
    from core.approvals import Approver, Threshold

    typo = Process("printing.typo", "printing.project",
                   phases=(Phase("a", "core.case"), Phase("b", "core.case")),
                   transitions=(Transition("a", "b", approval=Threshold(
                       "printing.t", "aproval_from", ((None, Approver.supervisor()),))),))
    monkeypatch.setattr(process, "PROCESSES", [typo])
    with pytest.raises(PluginError, match="names the unknown setting 'aproval_from'"):
        build_host(["printing"])


class CaseSpy:
    def __init__(self):
        self.heard = []

    @hookimpl
    def kartoteka_case_moved(self, case, source, target):
        self.heard.append(("moved", case.title, source, target))

    @hookimpl
    def kartoteka_approval_decided(self, request, actor):
        self.heard.append(("decided", request.status, request.comment, actor.email))


@pytest.fixture
def printing_spy(kartoteka_app_factory):
    from core import roles, users

    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    spy = CaseSpy()
    rt.host.pm.register(spy, name="case_spy")
    with app.test_request_context(), rt.session() as session, session.begin():
        boss = users.create_user(session, "boss@example.com", "correct horse battery")
        rep = users.create_user(session, "rep@example.com", "correct horse battery")
        rep.supervisor_id = boss.id
        for user in (boss, rep):
            roles.assign(session, user, ["staff"])
    with app.test_request_context():
        yield rt, spy


def test_hook_kartoteka_case_moved(printing_spy):
    from core import cases, users, workflow

    rt, spy = printing_spy
    with rt.session() as session, session.begin():
        rep = users.find_by_email(session, "rep@example.com")
        case = cases.create(session, rt.host, {"title": "Banner", "process_key":
                                               "printing.project", "owner_id": rep.id}, rep)
        workflow.move(session, rt.host, case, "calculation", rep)
        assert spy.heard == []  # not before the commit
    assert spy.heard == [("moved", "Banner", "inquiry", "calculation")]
    with rt.session() as session:
        workflow.move(session, rt.host, session.get(type(case), case.id), "lost", None)
        session.rollback()
    assert len(spy.heard) == 1


def test_hook_kartoteka_approval_decided(printing_spy):
    from core import approvals, cases, users, workflow

    rt, spy = printing_spy
    with rt.session() as session, session.begin():
        rep = users.find_by_email(session, "rep@example.com")
        boss = users.find_by_email(session, "boss@example.com")
        case = cases.create(session, rt.host, {"title": "Banner", "amount": "9000",
                                               "process_key": "printing.project",
                                               "owner_id": rep.id}, rep)
        workflow.move(session, rt.host, case, "calculation", rep)
        request = approvals.request(session, rt.host, case, "offer", rep)
        approvals.decide(session, rt.host, request, "return", boss, comment="Too cheap")
    assert spy.heard[-1] == ("decided", "returned", "Too cheap", "boss@example.com")


def test_hook_kartoteka_register_templates(monkeypatch, kartoteka_app_factory):
    from core.documents import Series, Template
    from core.models import DocumentTemplate, NumberSeries
    from plugins.printing import plugin

    offer = Template("printing.hook_offer", "offer", "case", {"pl": "Oferta", "en": "Offer"},
                     "<h1>{{ document.number }}</h1>",
                     series=Series("printing.hook_offer", "Oferty", "OF/{year}/{seq}"))
    monkeypatch.setattr(plugin, "kartoteka_register_templates", hookimpl(lambda: [offer]),
                        raising=False)
    host = build_host(["printing"])
    assert host.templates["printing.hook_offer"] is offer
    rt = kartoteka_app_factory(["printing"]).extensions["kartoteka"]
    with rt.session() as session:
        shipped = session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == "printing.hook_offer"))
        assert shipped.series_key == "printing.hook_offer"
        assert session.get(NumberSeries, "printing.hook_offer").pattern == "OF/{year}/{seq}"
    foreign = Template("visits.offer", "offer", "case", {"pl": "x"}, "x")
    monkeypatch.setattr(plugin, "kartoteka_register_templates", hookimpl(lambda: [foreign]))
    with pytest.raises(PluginError, match="must start with 'printing.'"):
        build_host(["printing"])


def test_hook_kartoteka_register_jobs(monkeypatch, kartoteka_app_factory):
    from core import jobs
    from core.jobs import JobKind, Periodic
    from core.models import Job
    from plugins.printing import plugin

    ran = []

    def recount(rt, job, progress):
        progress.set_total(2)
        progress.advance(2)
        return {"counted": job.params["n"]}

    work = [JobKind("printing.recount", recount),
            Periodic("printing.tidy", lambda rt: ran.append("tidy"), minutes=1)]
    monkeypatch.setattr(plugin, "kartoteka_register_jobs", hookimpl(lambda: work),
                        raising=False)
    rt = kartoteka_app_factory(["printing"]).extensions["kartoteka"]
    with rt.session() as session, session.begin():
        job_id = jobs.start(session, "printing.recount", "Recount", {"n": 7}).id
    with rt.session() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.done, job.total, job.result) == ("done", 2, 2, {"counted": 7})
    rt.jobs.minutely()
    assert ran == ["tidy"]
    monkeypatch.setattr(plugin, "kartoteka_register_jobs",
                        hookimpl(lambda: [JobKind("visits.recount", recount)]))
    with pytest.raises(PluginError, match="must start with 'printing.'"):
        build_host(["printing"])


def test_hook_kartoteka_register_billing_strategies(monkeypatch, kartoteka_app_factory):
    from core import billing_runs, organisations
    from core.billing_strategies import Bill, Charge, Strategy
    from core.models import Invoice
    from plugins.printing import plugin

    def visits(session, period):
        for org in session.scalars(select(Organisation).order_by(Organisation.id)):
            yield Bill("printing.visits", organisation_id=org.id, label=org.name, charges=[
                Charge("Visit", Decimal("100"), period.start,
                       reference=f"{org.id}/{period.start}")])

    monkeypatch.setattr(plugin, "kartoteka_register_billing_strategies",
                        hookimpl(lambda: [Strategy("printing.visits", "Visits", visits)]),
                        raising=False)
    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    assert list(rt.host.billing_strategies) == ["printing.visits", "core.contracts",
                                                "core.settlement"]
    with app.test_request_context():
        with rt.session() as session, session.begin():
            organisations.create(session, rt.host, {"name": "Drukarnia Klient",
                                                   "type_key": "core.company"})
        period = {"period_start": "2026-03-01", "period_end": "2026-03-31"}
        for _ in range(2):
            with rt.session() as session, session.begin():
                billing_runs.start(session, rt.host, period)
    with rt.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert ([line.description for line in invoice.lines], invoice.net) == (
            ["Visit"], Decimal("100.00"))
    monkeypatch.setattr(plugin, "kartoteka_register_billing_strategies",
                        hookimpl(lambda: [Strategy("visits.monthly", "Visits", visits)]))
    with pytest.raises(PluginError, match="must start with 'printing.'"):
        build_host(["printing"])


def test_hook_kartoteka_register_price_lists(monkeypatch, kartoteka_app_factory):
    from core import price_lists
    from core.errors import PluginError
    from plugins.printing import plugin

    media = price_lists.PriceList("printing.media", {"pl": "Media", "en": "Media"},
                                  {"banner": {"pl": "Banery", "en": "Banners"}})
    monkeypatch.setattr(plugin, "kartoteka_register_price_lists",
                        hookimpl(lambda: [media]), raising=False)
    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    assert rt.host.price_lists == {"printing.media": media}
    with app.test_request_context(), rt.session() as session, session.begin():
        admin = users.create_user(session, "admin@example.com", "x" * 12, is_admin=True)
        item = price_lists.create(session, media, {"name": "Baner 510 g", "category": "banner",
                                                   "unit": "m2", "net_price": "35,50"}, admin)
        assert (item.list_key, item.net_price) == ("printing.media", Decimal("35.50"))
    monkeypatch.setattr(plugin, "kartoteka_register_price_lists", hookimpl(
        lambda: [price_lists.PriceList("media", {"en": "Media"})]), raising=False)
    with pytest.raises(PluginError, match="must start with 'printing.'"):
        kartoteka_app_factory(["printing"], default_locale="en")


def test_hook_kartoteka_register_billing_exporters(monkeypatch, kartoteka_app_factory):
    import io

    from core import accounting_exports as ax
    from plugins.printing import plugin

    def cash_book(session, selection, stream):
        rows = ([i.number, i.gross] for i in session.scalars(ax.documents(selection)))
        return ax.write_csv(stream, ["number", "gross"], rows)

    book = ax.Exporter("printing.cash_book", {"pl": "Książka kasowa", "en": "Cash book"},
                       "text/csv; charset=utf-8", "csv", ax.INVOICES, cash_book)
    monkeypatch.setattr(plugin, "kartoteka_register_billing_exporters",
                        hookimpl(lambda: [book]), raising=False)
    app = kartoteka_app_factory(["printing"], default_locale="en")
    rt = app.extensions["kartoteka"]
    assert list(rt.host.exporters) == ["printing.cash_book", "core.invoices_csv",
                                       "core.invoices_json", "core.organisations_csv",
                                       "core.organisations_json", "core.ksef_fa3"]
    assert book.label("pl") == "Książka kasowa"
    with app.test_request_context():
        with rt.session() as session, session.begin():
            _billed(session, rt)
        written = io.BytesIO()
        with rt.session() as session, session.begin():
            count = ax.run(session, rt.host, "printing.cash_book",
                           ax.Selection(date(2026, 3, 1), date(2026, 3, 31)), written)
    assert count == 1
    assert written.getvalue().decode("utf-8-sig").splitlines() == ["number;gross",
                                                                   "FV/2026/0001;1230,00"]
    monkeypatch.setattr(plugin, "kartoteka_register_billing_exporters", hookimpl(lambda: [
        ax.Exporter("visits.cash_book", "Cash book", "text/csv", "csv", ax.INVOICES,
                    cash_book)]))
    with pytest.raises(PluginError, match="must start with 'printing.'"):
        build_host(["printing"])


def test_hook_kartoteka_document_generated(spied_app):
    from core import documents, organisations, users
    from core.documents import Template

    rt, _spy = spied_app
    heard = []

    class Archive:
        @hookimpl
        def kartoteka_document_generated(self, document, actor):
            heard.append((document.title, actor.email))

    rt.host.pm.register(Archive(), name="archive_spy")
    with rt.session() as session, session.begin():
        admin = users.create_user(session, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        template = documents.ship(session, Template(
            "core.letter", "letter", "organisation", {"pl": "Pismo", "en": "Letter"},
            "<p>{{ organisation.name }}</p>"))
        org = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                      "type_key": "core.municipality"})
        documents.generate(session, rt.host, rt.settings, template, org, admin)
        assert heard == []  # not before the commit
    assert heard == [("Letter", "admin@example.com")]


def test_hook_kartoteka_document_context(spied_app):
    """A plugin's data reaches templates under its name, for the records it answers for;
    it never replaces the core's own."""
    from core import documents, organisations, people, users
    from core.documents import Template

    rt, _spy = spied_app

    class Fleet:
        @hookimpl
        def kartoteka_document_context(self, session, record, actor):
            if not hasattr(record, "nip"):
                return None
            return {"vehicles": ["PO 12345", "PZ 9876A"], "asked_by": actor.email}

    class Greedy:
        @hookimpl
        def kartoteka_document_context(self, session, record, actor):
            return {"name": "not the core's"}

    rt.host.pm.register(Fleet(), name="fleet")
    rt.host.pm.register(Greedy(), name="organisation")  # named like the core's data
    with rt.session() as session, session.begin():
        admin = users.create_user(session, "admin@example.com", "correct horse battery",
                                  is_admin=True)
        template = documents.ship(session, Template(
            "core.fleet_letter", "letter", "organisation", {"pl": "Pismo", "en": "Letter"},
            "<p>{{ organisation.name }}: {{ fleet.vehicles|join(', ') }} "
            "({{ fleet.asked_by }})</p>"))  # "organisation" is the core's, not Greedy's
        org = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                      "type_key": "core.municipality"})
        html = documents.preview(session, rt.host, template, org, admin, rt.settings)
        assert "<p>Gmina Kórnik: PO 12345, PZ 9876A (admin@example.com)</p>" in html
        person = people.create(session, {"first_name": "Jan", "last_name": "Nowak"})
        found = documents.context(session, rt.host, person, admin)
        assert "fleet" not in found


def _billed(session, rt, admin=None):
    """An issued invoice of 1 230,00 zł to Gmina Kórnik (and the administrator issuing
    it, made unless given)."""
    import dataclasses
    from datetime import date

    from core import invoices, organisations, users

    admin = admin or users.create_user(session, "admin@example.com", "correct horse battery",
                                       is_admin=True)
    org = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                  "type_key": "core.municipality"},
                               allow_duplicates=True)
    invoice = invoices.create(session, {"organisation_id": org.id, "lines": [
        {"description": "Baner", "quantity": "1", "unit_price": "1000", "vat_rate": "23"}]},
        admin)
    seller = dataclasses.replace(rt.settings, company_name="Drukarnia Test")
    return admin, invoices.issue(session, seller, invoice, admin, date(2026, 3, 2))


def test_hook_kartoteka_invoice_issued(spied_app):
    rt, _spy = spied_app
    heard = []

    class Books:
        @hookimpl
        def kartoteka_invoice_issued(self, invoice, actor):
            heard.append((invoice.number, str(invoice.gross), [line.description for line in
                                                               invoice.lines], actor.email))

    rt.host.pm.register(Books(), name="books_spy")
    with rt.session() as session, session.begin():
        admin, _invoice = _billed(session, rt)
        assert heard == []  # not before the commit
    assert heard == [("FV/2026/0001", "1230.00", ["Baner"], "admin@example.com")]
    with rt.session() as session:
        _billed(session, rt, session.merge(admin))
        session.rollback()  # a rolled-back issue is never heard of
    assert len(heard) == 1


def test_hook_kartoteka_payment_recorded(spied_app):
    from core import payments

    rt, _spy = spied_app
    heard = []

    class Books:
        @hookimpl
        def kartoteka_payment_recorded(self, payment, actor):
            heard.append((str(payment.amount), str(payment.unallocated),
                          [a.invoice.number for a in payment.allocations]))

    rt.host.pm.register(Books(), name="books_spy")
    with rt.session() as session, session.begin():
        admin, invoice = _billed(session, rt)
        line = {"received_on": "2026-03-10", "amount": "1500", "source": "bank",
                "external_id": "PKO-1"}
        payments.record(session, line, admin, allocate_to=[(invoice, None)])
        payments.record(session, line, admin)  # the same statement line again
        assert heard == []
    assert heard == [("1500.00", "270.00", ["FV/2026/0001"])]


def test_hook_kartoteka_form_submitted(spied_app):
    from core import consents, public_forms

    rt, _spy = spied_app
    heard = []

    class Welcome:
        @hookimpl
        def kartoteka_form_submitted(self, form, submission, person):
            heard.append((form.key, submission.outcome, submission.data["email"],
                          person.full_name))

    rt.host.pm.register(Welcome(), name="welcome_spy")
    with rt.session() as session, session.begin():
        purpose = consents.create_purpose(session, {"key": "donors", "name": "Donors",
                                                    "legal_basis": "consent"})
        form = public_forms.create(session, {
            "key": "darczyncy", "title": "Donors", "fields": [{"field": "email"}],
            "consent_text": "I agree.", "purpose_id": purpose.id})
    anna = {"first_name": "Anna", "last_name": "Nowak", "email": "anna@example.com",
            "consent": "on"}
    with rt.session() as session, session.begin():
        public_forms.submit(session, session.get(type(form), form.id), anna, "203.0.113.5")
        assert heard == []  # not before the commit
    assert heard == [("darczyncy", "created", "anna@example.com", "Anna Nowak")]
    with rt.session() as session, session.begin():
        public_forms.submit(session, session.get(type(form), form.id), anna, "203.0.113.5")
    assert heard[-1] == ("darczyncy", "matched", "anna@example.com", "Anna Nowak")
    with rt.session() as session, session.begin():  # a bot is not announced
        public_forms.submit(session, session.get(type(form), form.id),
                            {**anna, public_forms.HONEYPOT: "http://spam.example"}, "203.0.113.5")
    with rt.session() as session:
        public_forms.submit(session, session.get(type(form), form.id),
                            {**anna, "email": "ewa@example.com"}, "203.0.113.5")
        session.rollback()  # a rolled-back submission is never heard of
    assert len(heard) == 2
