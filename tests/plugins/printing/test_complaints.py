"""Complaints on delivered print projects (PR-8): a complaint is a subprocess of its
project, the account manager, customer service and production comment on it as notes,
the answer to the client quotes them with the outcome, and the outcome, remedy and cost
are recorded before it is closed. Through the services, the staff pages and the API;
every test runs on SQLite and PostgreSQL (``kartoteka_app_factory`` is parametrised)."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from core import cases, demo, documents, organisations, roles, timeline, tokens, users, workflow
from core.db import utcnow
from core.errors import ValidationError
from core.models import Activity, Case, Document, DocumentTemplate, User
from plugins.printing import complaints
from tests.core.api_helpers import caller

PASSWORD = "correct horse battery"
COMPANY = "Drukarnia Test sp. z o.o."
PROJECT = "Baner reklamowy 6×3 m"
NOT_DELIVERED = ("Only a project in the phase “delivery” or “closed” can have a complaint. "
                 f"“{PROJECT}” is in the phase “price calculation”.")
SAID = {"rep": "The client saw the proof and accepted the red.",
        "service": "The client phoned on Monday: the red on six banners is darker.",
        "production": "Six banners were printed after the head was changed, uncalibrated."}
DEFECT = "The red is darker than on the proof on 6 of 40 banners."


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(["printing"], default_locale="en", company_name=COMPANY)
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():  # printed from the house's own designs
        workflow.change_settings(session, rt.host.processes["printing.project"],
                                 {"check.printing.files_checked": "off"}, actor=None)
    return app


@pytest.fixture
def people(app):
    """The printing house's account manager (the project's owner), customer service,
    production (who runs it), and a client: their ids."""
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        roles.set_permissions(session, roles.create(session, complaints.CUSTOMER_SERVICE,
                                                    "Customer service"),
                              ["printing.confirm_documents"])
        roles.set_permissions(session, roles.create(session, complaints.PRODUCTION,
                                                    "Production"), ["printing.production"])
        found = {name: users.create_user(session, f"{name}@drukarnia.example.pl", PASSWORD,
                                         full_name=full, roles=["staff", *extra]).id
                 for name, full, extra in (
                     ("rep", "Robert Rep", []),
                     ("service", "Sylwia Service", [complaints.CUSTOMER_SERVICE]),
                     ("production", "Piotr Production", [complaints.PRODUCTION]))}
        found["client"] = organisations.create(session, rt.host, {
            "name": "Agencja Reklamowa Kreska sp. z o.o.", "type_key": "core.company"},
            allow_duplicates=True).id
    return found


class World:
    """The services in one transaction, as the people of ``people``."""

    def __init__(self, session, rt, ids):
        self.session, self.host, self.settings = session, rt.host, rt.settings
        self.ids = ids
        for name in ("rep", "service", "production"):
            setattr(self, name, session.get(User, ids[name]))

    def project(self, *phases):
        """A small project (no approval needed), its confirmations given, moved through
        ``phases`` by the account manager and production."""
        project = cases.create(self.session, self.host, {
            "title": PROJECT, "process_key": "printing.project", "owner_id": self.rep.id,
            "organisation_id": self.ids["client"], "amount": "3900.00"}, actor=self.rep)
        cases.update(self.session, self.host, project, {"custom": {
            "printing_documents_received": True, "printing_signed_order": True}},
            actor=self.service)  # customer service's confirmations
        for target in phases:
            who = self.production if target in ("production", "delivery") else self.rep
            workflow.move(self.session, self.host, project, target, actor=who)
        return project

    def delivered(self):
        return self.project("calculation", "offer", "order", "production", "delivery")

    def complaint(self, project=None, **custom):
        return complaints.open_complaint(
            self.session, self.host, project or self.delivered(),
            {"custom": {complaints.PRODUCT: "Frontlit banners 3×1 m", complaints.DEFECT: DEFECT,
                        **custom}}, actor=self.service)

    def comment(self, complaint, who):
        timeline.add(self.session, "note", "", workflow.about_case(self.session, complaint),
                     body=SAID[who], actor=getattr(self, who))

    def move(self, case, target, who=None):
        return workflow.move(self.session, self.host, case, target, actor=who or self.rep)

    def blockers(self, case, target):
        return {m.transition.target: m.blockers
                for m in workflow.moves(self.session, self.host, case, self.rep)}[target]

    def record(self, complaint, **custom):
        return cases.update(self.session, self.host, complaint, {"custom": custom}, self.rep)

    def answer(self):
        return self.session.scalar(select(DocumentTemplate).where(
            DocumentTemplate.key == complaints.ANSWER_TEMPLATE))


@pytest.fixture
def world(app, people):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        yield World(session, rt, people)


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.errors


# --- The services ----------------------------------------------------------------------------

def test_a_complaint_on_a_delivered_project_from_three_comments_to_closing(world):
    project = world.delivered()
    complaint = world.complaint(project)

    assert (complaint.parent_id, complaint.organisation_id, complaint.owner_id) == (
        project.id, project.organisation_id, world.rep.id)  # the account manager looks after it
    assert complaint.title == f"Complaint: {PROJECT}" and complaint.phase_key == "registered"
    world.move(complaint, "review")
    assert world.blockers(complaint, "answer_prepared") == {
        "check.printing.complaint_commented": "Nobody has commented yet: each participant "
                                              "adds their comment as a note in the history."}

    world.comment(complaint, "service")
    assert world.blockers(complaint, "answer_prepared") == {
        "check.printing.complaint_everyone_heard": "Not commented yet: Account manager, "
                                                   "Production."}
    world.comment(complaint, "production")
    world.comment(complaint, "rep")
    heard = complaints.participation(world.session, complaint)
    assert [(g.key, g.name, g.commented) for g in heard.groups] == [
        ("account_manager", "Account manager", ("Robert Rep",)),
        ("customer_service", "Customer service", ("Sylwia Service",)),
        ("production", "Production", ("Piotr Production",))]
    world.move(complaint, "answer_prepared")

    # The outcome first, then the answer; only then may it go to the client.
    assert set(world.blockers(complaint, "answered")) == {
        "check.printing.complaint_outcome", "check.printing.complaint_answer"}
    assert "check.printing.complaint_outcome" in refusal(lambda: documents.generate(
        world.session, world.host, world.settings, world.answer(), complaint, world.rep))
    world.record(complaint, printing_complaint_outcome="partly_accepted",
                 printing_complaint_remedy="reprint", printing_complaint_cost="450.00")
    html = re.sub(r"\s+", " ", documents.preview(world.session, world.host, world.answer(),
                                                complaint, world.rep, world.settings))
    for text in (*SAID.values(), "Robert Rep", "Sylwia Service", "Piotr Production",
                 "Partly accepted", "Reprint", PROJECT, DEFECT, "Frontlit banners 3×1 m"):
        assert text in html
    assert "450" not in html  # the cost is the house's own
    document = documents.generate(world.session, world.host, world.settings, world.answer(),
                                  complaint, world.rep)
    assert document.number == f"REK/{utcnow().year}/0001"
    assert (document.record_type, document.record_id) == ("case", complaint.id)
    world.move(complaint, "answered")

    # An open complaint holds the project in delivery, as any unfinished subprocess.
    assert "subprocesses" in world.blockers(project, "closed")
    world.move(complaint, "closed")
    assert complaint.custom[complaints.COST] == {"amount": "450.00", "currency": "PLN"}
    assert "subprocesses" not in world.blockers(project, "closed")
    assert complaints.of_project(world.session, project, world.rep) == [complaint]


def test_a_complaint_on_a_project_still_in_calculation_is_refused_on_every_way_in(world):
    project = world.project("calculation")

    assert refusal(lambda: world.complaint(project)) == {"parent_id": NOT_DELIVERED}
    # The case form, a subprocess or the API write it through cases.create: the same.
    data = {"title": "Darker red", "process_key": complaints.COMPLAINT,
            "custom": {complaints.DEFECT: DEFECT}}
    assert refusal(lambda: cases.create(world.session, world.host, {
        **data, "parent_id": project.id}, world.service)) == {"parent_id": NOT_DELIVERED}
    assert refusal(lambda: cases.create(world.session, world.host, data, world.service)) == {
        "parent_id": "Choose a project from the list."}
    assert world.session.scalar(select(func.count()).select_from(Case).where(
        Case.process_key == complaints.COMPLAINT)) == 0


def test_a_complaint_cannot_be_moved_onto_another_project_before_delivery(world):
    complaint = world.complaint()
    early = world.project("calculation")

    assert refusal(lambda: cases.update(world.session, world.host, complaint,
                                        {"parent_id": early.id}, world.rep)) == {
        "parent_id": NOT_DELIVERED}


def test_the_answer_cannot_be_sent_before_the_outcome_is_recorded(world):
    complaint = world.complaint()
    world.move(complaint, "review")
    for who in ("rep", "service", "production"):
        world.comment(complaint, who)
    world.move(complaint, "answer_prepared")

    refused = refusal(lambda: world.move(complaint, "answered"))
    assert refused["check.printing.complaint_outcome"] == \
        "Record the outcome first: Outcome, Remedy."
    world.record(complaint, printing_complaint_outcome="rejected",
                 printing_complaint_remedy="discount")
    assert world.blockers(complaint, "answered")["check.printing.complaint_outcome"] == \
        "A rejected claim gets no remedy: choose “None” in Remedy."
    assert complaint.phase_key == "answer_prepared"

    world.record(complaint, printing_complaint_remedy="none")
    documents.generate(world.session, world.host, world.settings, world.answer(), complaint,
                       world.rep)
    world.move(complaint, "answered")
    world.move(complaint, "closed")  # a rejected complaint needs no cost


def test_a_complaint_is_not_closed_without_its_cost_and_the_cost_is_never_negative(world):
    complaint = world.complaint()
    world.move(complaint, "review")
    for who in ("rep", "service", "production"):
        world.comment(complaint, who)
    world.move(complaint, "answer_prepared")
    world.record(complaint, printing_complaint_outcome="accepted",
                 printing_complaint_remedy="discount")
    documents.generate(world.session, world.host, world.settings, world.answer(), complaint,
                       world.rep)
    world.move(complaint, "answered")

    assert world.blockers(complaint, "closed") == {
        "check.printing.complaint_cost": "Record Cost of the complaint before closing "
                                         "(0 when there was none)."}
    version = complaint.version
    assert refusal(lambda: world.record(complaint, printing_complaint_cost="-120.00")) == {
        "custom.printing_complaint_cost": "Cost of the complaint cannot be negative."}
    assert complaint.version == version and complaints.COST not in (complaint.custom or {})
    assert "custom.printing_complaint_cost" in refusal(lambda: world.complaint(
        printing_complaint_cost={"amount": "-1", "currency": "PLN"}))
    world.record(complaint, printing_complaint_cost="0")
    world.move(complaint, "closed")


def test_the_account_manager_and_the_groups_without_members_are_named(world):
    """A project with no owner, and a role nobody holds: the groups are there, empty."""
    project = world.delivered()
    roles.assign(world.session, world.production, ["staff"])
    cases.update(world.session, world.host, project, {"owner_id": None}, world.rep)
    complaint = world.complaint(project)
    assert complaint.owner_id == world.service.id  # nobody else to look after it

    world.comment(complaint, "production")
    found = complaints.participation(world.session, complaint)
    assert [(g.key, g.members, g.heard) for g in found.groups] == [
        ("account_manager", frozenset(), False),
        ("customer_service", frozenset({world.service.id}), False),
        ("production", frozenset(), False)]
    assert [(a.name, a.groups) for a in found.authors] == [("Piotr Production", ())]


def test_the_answer_is_in_polish_with_the_clients_words(kartoteka_app_factory, people):
    app = kartoteka_app_factory(["printing"], default_locale="pl", company_name=COMPANY)
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        world = World(session, rt, people)
        complaint = world.complaint()
        world.comment(complaint, "production")
        world.record(complaint, printing_complaint_outcome="partly_accepted",
                     printing_complaint_remedy="reprint")
        html = re.sub(r"\s+", " ", documents.preview(session, rt.host, world.answer(),
                                                    complaint, world.rep, rt.settings))
    for text in ("Odpowiedź na reklamację", "Decyzja</td> <td><strong>Uznana częściowo",
                 "Sposób załatwienia</td> <td>Ponowny druk", f"Projekt</td> <td>{PROJECT}",
                 "Piotr Production", SAID["production"], "Opiekun klienta"):
        assert text in html


# --- Over HTTP: the staff pages ---------------------------------------------------------------

@contextmanager
def services(app, people):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        yield World(session, rt, people)


def login(app, kartoteka_login, who):
    return kartoteka_login(app.test_client(), f"{who}@drukarnia.example.pl", PASSWORD)


def page(response, status=200) -> str:
    assert response.status_code == status, response.status_code
    return " ".join(response.get_data(as_text=True).replace("&#34;", '"').split())


def test_staff_register_comment_answer_and_close_a_complaint_on_its_pages(
        app, people, kartoteka_login):
    with services(app, people) as world:
        early = world.project("calculation").id
        project = world.delivered().id
    service = login(app, kartoteka_login, "service")

    # A project in calculation: no form, and a forged post is refused in words.
    assert "register-complaint" not in page(service.get(f"/cases/{early}"))
    refused = page(service.post(f"/printing/complaints/new/{early}", data={
        "custom.printing_complaint_defect": DEFECT}), 422)
    assert NOT_DELIVERED in refused

    card = page(service.get(f"/cases/{project}"))
    assert 'id="complaints"' in card and "Register a complaint" in card
    missing = page(service.post(f"/printing/complaints/new/{project}", data={
        "title": "", "custom.printing_complaint_product": "Banners"}), 422)
    assert "Fill in Description of the defect." in missing
    assert 'value="Banners"' in missing  # what was typed stays
    done = service.post(f"/printing/complaints/new/{project}", data={
        "title": "", "custom.printing_complaint_product": "Frontlit banners 3×1 m",
        "custom.printing_complaint_defect": DEFECT})
    assert done.status_code == 302
    complaint = int(done.headers["Location"].rsplit("/", 1)[1])

    card = page(service.get(f"/cases/{complaint}"))
    assert 'id="participants"' in card and card.count('class="silent"') == 3
    assert service.post(f"/cases/{complaint}/move", data={"target": "review"}).status_code == 302
    for who in ("rep", "service", "production"):
        client = service if who == "service" else login(app, kartoteka_login, who)
        assert client.post(f"/cases/{complaint}/activities", data={
            "kind": "note", "subject": "", "body": SAID[who]}).status_code == 302
    card = page(service.get(f"/cases/{complaint}"))
    assert card.count('class="heard"') == 3 and "Piotr Production" in card
    assert service.post(f"/cases/{complaint}/move",
                        data={"target": "answer_prepared"}).status_code == 302

    too_soon = page(service.post(f"/cases/{complaint}/move", data={"target": "answered"}))
    assert "Record the outcome first: Outcome, Remedy." in too_soon
    negative = page(service.post(f"/cases/{complaint}/edit", data={
        "custom.printing_complaint_cost": "-50"}))
    assert "Cost of the complaint cannot be negative." in negative
    assert service.post(f"/cases/{complaint}/edit", data={
        "custom.printing_complaint_outcome": "accepted",
        "custom.printing_complaint_remedy": "reprint",
        "custom.printing_complaint_cost": "380,50"}).status_code == 302
    with services(app, people) as world:
        template = world.answer().id
    assert service.post("/documents/generate", data={
        "record_type": "case", "record_id": complaint, "template_id": template}
    ).status_code == 302
    for target in ("answered", "closed"):
        assert service.post(f"/cases/{complaint}/move",
                            data={"target": target}).status_code == 302

    panel = page(service.get(f"/cases/{project}"))
    row = re.search(rf'<tr id="complaint-{complaint}">(.*?)</tr>', panel).group(1)
    assert "closed" in row.lower() and "Accepted" in row and "380.50" in row
    with services(app, people) as world:
        answer = world.session.scalar(select(Document).where(Document.record_id == complaint))
        assert answer.number.startswith("REK/")
        notes = world.session.scalar(select(func.count()).select_from(Activity).where(
            Activity.kind == "note"))
        assert notes == 3


def test_the_api_opens_complaints_only_on_delivered_projects(app, people):
    with services(app, people) as world:
        early = world.project("calculation").id
        project = world.delivered().id
        token = tokens.create(world.session, world.service, "test")[1]
    api = caller(app.test_client(), token)
    data = {"title": "Darker red", "process_key": complaints.COMPLAINT,
            "custom": {complaints.DEFECT: DEFECT}}

    refused = api("post", "/cases/", json={**data, "parent_id": early})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"parent_id": NOT_DELIVERED}
    opened = api("post", "/cases/", json={**data, "parent_id": project})
    assert opened.status_code == 201, opened.get_json()
    found = api("get", "/cases/", query_string={
        "process": complaints.COMPLAINT,
        "filter": f'{{"field": "parent_id", "op": "eq", "value": {project}}}'}).get_json()
    assert [c["id"] for c in found["items"]] == [opened.get_json()["id"]]


# --- The demo ----------------------------------------------------------------------------------

def test_the_demo_has_a_delivered_projects_complaint_with_everyones_comments(
        kartoteka_app_factory):
    app = kartoteka_app_factory(["printing"], default_locale="pl", company_name=COMPANY)
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        demo.load(rt)
        demo.load(rt)  # safe to repeat
        with rt.session() as session:
            [complaint] = session.scalars(select(Case).where(
                Case.process_key == complaints.COMPLAINT))
            project = session.get(Case, complaint.parent_id)
            assert (project.phase_key, complaint.phase_key) == ("delivery", "review")
            found = complaints.participation(session, complaint)
            assert all(g.heard for g in found.groups)
            assert not workflow.blockers(session, rt.host, complaint,
                                         complaints.COMPLAINT_PROCESS.transition(
                                             "review", "answer_prepared"))
