"""The 360° view of a client (EX-5): its people, history, meetings, inquiries, offers,
opinions, documents, other cases, correspondence, contracts and invoices on one page and
in the API, narrowed by the filters; never another client's records, nor a case the
viewer may not see. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory``
depends on ``kartoteka_database_url``)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from core import (
    calculations,
    calendar,
    contracts,
    documents,
    invoices,
    memberships,
    records,
    roles,
    timeline,
    tokens,
    users,
)
from core.errors import ValidationError
from core.models import Case, Organisation, Person
from plugins.expertise import client_view, client_views, inquiries
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, text, visible
from tests.plugins.expertise.conftest import SELLER, opened
from tests.plugins.expertise.pages import login

TODAY = date.today()


@pytest.fixture
def app_config():
    """The seller's name, for the invoice."""
    return {"company_name": SELLER}


@pytest.fixture
def ids(app, monkeypatch):
    """Committed: the firm staffed (conftest's ``world``); Budimex, the client, with
    Anna Kowalska (its lawyer) and Jan Nowak (who left), a call and an e-mail from Anna,
    a site visit, and two inquiries of Konrad's (the firm's owner): "Pęknięcia stropu"
    at the offer (a draft calculation) and "Wycena nieruchomości" invoiced (its offer
    accepted, the opinion delivered, the invoice issued, the offer's document made),
    with a hearing in the calendar; a framework contract and a service order. Olga
    reads everything but only her own cases: "Pęknięcia stropu" is hers. The
    administrator reads everything. Another client, Obcy S.A., has its own person,
    call, meeting and inquiry."""
    # The offer's PDF is drawn by WeasyPrint in seconds; its text is not what is tested.
    monkeypatch.setattr("core.pdf.render", lambda html, settings: b"%PDF-1.4\n%%EOF\n")
    with opened(app, commit=True) as firm:
        firm.furnished().staffed()
        s, host, owner, client = firm.session, firm.host, firm.owner, firm.client
        own_cases = firm.role("own_cases", "Own cases")
        roles.set_access(s, own_cases, {("*", "read"): "all", ("case", "read"): "own"})
        olga = firm.user("olga@example.com", ["own_cases"], "Olga Własna")
        firm.user("admin@example.com", is_admin=True)
        other = firm.organisation("Obcy S.A.")
        anna = firm.person("Anna", "Kowalska", emails=["anna@budimex.example"],
                           phones=["+48 600 100 200"])
        memberships.join(s, anna, client, "lawyer", TODAY - timedelta(days=400))
        jan = firm.person("Jan", "Nowak")
        left = memberships.join(s, jan, client, "former director", TODAY - timedelta(days=900))
        memberships.leave(s, left, TODAY - timedelta(days=100))
        stranger = firm.person("Piotr", "Obcy")
        memberships.join(s, stranger, other, "owner")

        def offered(title):
            case = firm.inquiry(title=title)
            firm.estimated("40", case, court_reference=f"I C {case.id}/26")
            firm.approve_offer(case)
            return case

        at_offer = offered("Pęknięcia stropu")
        invoiced = offered("Wycena nieruchomości")
        (latest,) = [c for c in calculations.of_case(s, invoiced) if c.status == "draft"]
        calculations.decide(s, latest, {"status": "sent"}, actor=owner)
        calculations.decide(s, latest, {"status": "accepted"}, actor=owner)
        inquiries.update(s, invoiced, {"due_on": (TODAY + timedelta(days=30)).isoformat()},
                         actor=owner)
        firm.move(invoiced, "accepted")
        firm.move(invoiced, "delivered")
        invoice = calculations.invoice(s, latest, actor=None)
        invoices.issue(s, firm.settings, invoice, actor=None)
        firm.move(invoiced, "invoiced")
        document = documents.generate(s, host, firm.settings, firm.template(), invoiced, owner)
        foreign = firm.inquiry(title="Obca ekspertyza", organisation_id=other.id)
        at_offer.owner_id = olga.id  # Olga's own; the invoiced one stays Konrad's
        order = records.create(s, Case(title="Serwis klimatyzacji", process_key="service.order",
                                       phase_key="new", organisation_id=client.id,
                                       owner_id=owner.id), owner)

        call = timeline.add(s, "call", "Telefon w sprawie stropu", [client], actor=owner,
                            occurred_at=datetime.now(UTC) - timedelta(days=3))
        mail = timeline.add(s, "email_in", "Dokumenty do opinii", [anna], actor=owner,
                            occurred_at=datetime.now(UTC) - timedelta(days=1))
        timeline.add(s, "call", "Telefon obcego", [other], actor=owner)
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
        visit = calendar.create_event(s, {
            "title": "Oględziny budynku", "starts_at": soon.isoformat(),
            "ends_at": (soon + timedelta(hours=2)).isoformat(), "location": "Poznań"},
            attendees_users=[owner], about=[client], actor=owner)
        past = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
        hearing = calendar.create_event(s, {
            "title": "Rozprawa", "starts_at": past.isoformat(),
            "ends_at": (past + timedelta(hours=1)).isoformat()},
            attendees_users=[owner], about=[invoiced], actor=owner)
        calendar.create_event(s, {
            "title": "Spotkanie obce", "starts_at": soon.isoformat(),
            "ends_at": (soon + timedelta(hours=1)).isoformat()},
            attendees_users=[owner], about=[other], actor=owner)
        contract = contracts.create(s, {
            "organisation_id": client.id, "title": "Umowa ramowa 1/2026",
            "description": "Opinie budowlane", "starts_on": (TODAY - timedelta(days=60))
            .isoformat(), "period_months": 1, "unit_price": "1000"}, actor=None)
        return {"client": client.id, "other": other.id, "anna": anna.id, "jan": jan.id,
                "at_offer": at_offer.id, "invoiced": invoiced.id, "foreign": foreign.id,
                "order": order.id, "invoice": invoice.id, "number": invoice.number,
                "document": document.id, "call": call.id, "mail": mail.id,
                "visit": visit.id, "hearing": hearing.id, "contract": contract.id,
                "offer_calc": calculations.of_case(s, at_offer)[0].id,
                "accepted_calc": latest.id}


def overview(app, ids, email="admin@example.com", client="client", **filters):
    """The service's view of a client for the account, with ``filters``."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s:
        actor = users.find_by_email(s, email)
        found = client_view.overview(s, rt.host, s.get(
            Person if client == "anna" else Organisation, ids[client]),
            actor, client_view.make_filters(**filters))
        return SimpleNamespace(hidden=found.hidden, **{
            key: SimpleNamespace(count=section.count, items=section.items,
                                 groups=section.groups)
            for key, section in found.sections.items()})


def titles(section, key="title"):
    return [row[key] for row in section.items]


def section_of(page: str, key: str) -> str:
    """What a reader sees of the page's section ``key``."""
    start = page.index(f'<section class="card" id="{key}">')
    return visible(page[start:page.index("</section>", start)])


@pytest.fixture
def api(app, ids):
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        made = {name: tokens.create(s, users.find_by_email(s, f"{name}@example.com"), "t")[1]
                for name in ("admin", "olga")}
    return SimpleNamespace(**{name: caller(app.test_client(), token)
                              for name, token in made.items()})


# --- The sections ------------------------------------------------------------------------

def test_every_section_gathers_the_clients_records(app, ids):
    found = overview(app, ids)
    assert found.hidden == ()
    (anna,) = found.contacts.items
    assert (anna["name"], anna["role"], anna["emails"], anna["phones"]) == (
        "Anna Kowalska", "lawyer", ["anna@budimex.example"], ["+48600100200"])
    assert "Telefon w sprawie stropu" in titles(found.activities, "subject")
    assert titles(found.correspondence, "subject") == ["Dokumenty do opinii"]
    assert found.correspondence.items[0]["direction"] == "in"
    assert titles(found.meetings) == ["Oględziny budynku", "Rozprawa"]
    assert titles(found.inquiries) == ["Wycena nieruchomości", "Pęknięcia stropu"]
    offer = next(row for row in found.inquiries.items if row["title"] == "Pęknięcia stropu")
    assert (offer["phase_key"], offer["department"]) == ("offer", "Construction department")
    assert offer["amount"] > offer["cost"] == Decimal("2000.00")
    assert offer["margin"] >= Decimal("0.40")
    assert [(row["case"], row["status"]) for row in found.offers.items] == [
        ("Wycena nieruchomości", "accepted"), ("Pęknięcia stropu", "draft")]
    (opinion,) = found.opinions.items
    assert (opinion["title"], opinion["phase_key"], opinion["due_on"], opinion["late"]) == (
        "Wycena nieruchomości", "invoiced", TODAY + timedelta(days=30), False)
    assert opinion["delivered_at"] is not None
    assert [row["id"] for row in found.documents.items] == [ids["document"]]
    assert [(g["template"], g["count"]) for g in found.documents.groups] == [
        ("Offer for an expert opinion", 1)]
    assert titles(found.cases) == ["Serwis klimatyzacji"]
    assert titles(found.contracts) == ["Umowa ramowa 1/2026"]
    (invoice,) = found.invoices.items
    assert (invoice["number"], invoice["status"], invoice["case_id"]) == (
        ids["number"], "issued", ids["invoiced"])


def test_another_clients_records_never_appear(app, ids, api):
    found = overview(app, ids)
    everything = repr(found.__dict__)
    for foreign in ("Obca ekspertyza", "Telefon obcego", "Spotkanie obce", "Piotr"):
        assert foreign not in everything
    page = text(login(app).get(f"/expertise/clients/{ids['client']}"))
    body = api.admin("get", f"/expertise/clients/{ids['client']}").get_data(as_text=True)
    for foreign in ("Obca ekspertyza", "Telefon obcego", "Spotkanie obce", "Piotr Obcy"):
        assert foreign not in page and foreign not in body
    theirs = overview(app, ids, client="other")
    assert titles(theirs.inquiries) == ["Obca ekspertyza"]
    assert titles(theirs.meetings) == ["Spotkanie obce"]
    assert theirs.offers.count == theirs.invoices.count == theirs.contracts.count == 0


def test_filters_narrow_the_sections(app, ids):
    only = overview(app, ids, kinds=["inquiries", "invoices"])
    assert set(only.__dict__) == {"hidden", "inquiries", "invoices"}

    words = overview(app, ids, text="stropu")
    assert titles(words.inquiries) == ["Pęknięcia stropu"]
    assert "Telefon w sprawie stropu" in titles(words.activities, "subject")
    assert all("stropu" in subject for subject in titles(words.activities, "subject"))
    assert words.opinions.count == words.invoices.count == words.correspondence.count == 0
    assert [row["case"] for row in words.offers.items] == ["Pęknięcia stropu"]
    assert overview(app, ids, text="kowalska").contacts.count == 1
    assert overview(app, ids, text="anna@budimex").contacts.count == 1

    opened = overview(app, ids, open_only=True)
    assert titles(opened.inquiries) == ["Pęknięcia stropu"]
    assert titles(opened.meetings) == ["Oględziny budynku"]
    assert [row["status"] for row in opened.offers.items] == ["draft"]
    assert opened.opinions.count == 0
    assert titles(opened.invoices, "number") == [ids["number"]]  # issued, not paid
    assert titles(opened.contracts) == ["Umowa ramowa 1/2026"]

    recent = overview(app, ids, first=TODAY - timedelta(days=2), last=TODAY + timedelta(days=6))
    assert titles(recent.correspondence, "subject") == ["Dokumenty do opinii"]
    assert "Telefon w sprawie stropu" not in titles(recent.activities, "subject")
    assert titles(recent.meetings) == ["Oględziny budynku"]
    assert recent.opinions.count == 0  # due in 30 days
    later = overview(app, ids, first=TODAY + timedelta(days=20),
                     last=TODAY + timedelta(days=40))
    assert titles(later.opinions) == ["Wycena nieruchomości"]
    assert later.inquiries.count == later.invoices.count == 0

    few = overview(app, ids, limit=1)
    assert (few.inquiries.count, len(few.inquiries.items)) == (2, 1)


def test_bad_filters_are_refused_by_their_names(app, ids, api):
    with pytest.raises(ValidationError) as refused:
        client_view.make_filters(["inquiries", "gossip"], date(2026, 3, 1), date(2026, 1, 1),
                                 "x" * 201, limit=0)
    assert set(refused.value.errors) == {"kind", "to", "q", "limit"}

    client = login(app)
    response = client.get(f"/expertise/clients/{ids['client']}?from=2026-13-01&to=soon"
                          "&kind=gossip&open=maybe")
    assert response.status_code == 400
    page = text(response)
    assert error_under(page, "from") == "Give a date as YYYY-MM-DD."
    assert error_under(page, "to") == "Give a date as YYYY-MM-DD."
    assert error_under(page, "kind") == "Choose what to show from the list."
    assert error_under(page, "open") == "Choose yes or no."
    assert 'id="inquiries"' not in page
    backwards = client.get(f"/expertise/clients/{ids['client']}?from=2026-03-01&to=2026-01-01")
    assert backwards.status_code == 400
    assert error_under(text(backwards), "to") == "The end cannot be before the start."

    refused = api.admin("get", f"/expertise/clients/{ids['client']}?kind=gossip&from=soon"
                               "&limit=0")
    assert refused.status_code == 422
    assert {key.split(".")[0] for key in refused.get_json()["errors"]} == {
        "kind", "from", "limit"}
    backwards = api.admin("get", f"/expertise/clients/{ids['client']}?from=2026-03-01"
                                 "&to=2026-01-01")
    assert backwards.status_code == 422
    assert backwards.get_json()["errors"] == {"to": "The end cannot be before the start."}
    assert api.admin("get", "/expertise/clients/999999").status_code == 404


# --- The page ------------------------------------------------------------------------------

def test_the_page_shows_every_section(app, ids):
    client = login(app)
    response = client.get(f"/expertise/clients/{ids['client']}")
    assert response.status_code == 200
    page = text(response)
    assert "Anna Kowalska" in section_of(page, "contacts")
    assert "anna@budimex.example" in section_of(page, "contacts")
    assert "Jan Nowak" not in section_of(page, "contacts")
    assert "Telefon w sprawie stropu" in section_of(page, "activities")
    assert "Dokumenty do opinii" in section_of(page, "correspondence")
    assert "Oględziny budynku" in section_of(page, "meetings")
    inquiries_seen = section_of(page, "inquiries")
    assert "Pęknięcia stropu" in inquiries_seen and "Wycena nieruchomości" in inquiries_seen
    assert "Construction department" in inquiries_seen
    assert "Inquiries (2)" in inquiries_seen
    assert "Pęknięcia stropu" in section_of(page, "offers")
    assert "Wycena nieruchomości" in section_of(page, "opinions")
    assert "Offer for an expert opinion" in section_of(page, "documents")
    assert "Serwis klimatyzacji" in section_of(page, "cases")
    assert "Umowa ramowa 1/2026" in section_of(page, "contracts")
    assert ids["number"] in section_of(page, "invoices")

    narrowed = text(client.get(f"/expertise/clients/{ids['client']}?kind=inquiries"
                               "&q=stropu&open=1"))
    assert 'id="contacts"' not in narrowed and 'id="invoices"' not in narrowed
    assert "Pęknięcia stropu" in section_of(narrowed, "inquiries")
    assert "Wycena nieruchomości" not in section_of(narrowed, "inquiries")

    bounded = text(client.get(f"/expertise/clients/{ids['client']}?limit=1"))
    assert "The newest 1 of 2 are shown." in section_of(bounded, "inquiries")
    assert f'href="/organisations/{ids["client"]}#cases"' in bounded
    assert client.get("/expertise/clients/999999").status_code == 404

    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s:
        admin = users.find_by_email(s, "admin@example.com")
        panel = client_views.case_panel(s, s.get(Case, ids["at_offer"]), admin)
        assert f'href="/expertise/clients/{ids["client"]}"' in panel
        assert client_views.case_panel(s, s.get(Case, ids["order"]), admin) is None



def test_the_viewer_sees_only_the_cases_they_may_see(app, ids, api):
    found = overview(app, ids, email="olga@example.com")
    assert found.hidden == ("contracts", "invoices")  # she does not bill
    assert titles(found.inquiries) == ["Pęknięcia stropu"]
    assert [row["case"] for row in found.offers.items] == ["Pęknięcia stropu"]
    assert found.opinions.count == found.documents.count == 0
    assert titles(found.meetings) == ["Oględziny budynku"]  # not the hearing of the other
    assert titles(found.cases) == []

    page = text(login(app, "olga@example.com").get(f"/expertise/clients/{ids['client']}"))
    assert "Pęknięcia stropu" in section_of(page, "inquiries")
    for hidden in ("Wycena nieruchomości", "Rozprawa", "Serwis klimatyzacji", ids["number"]):
        assert hidden not in page
    assert 'id="invoices"' not in page

    body = api.olga("get", f"/expertise/clients/{ids['client']}").get_json()
    assert [i["title"] for i in body["sections"]["inquiries"]["items"]] == ["Pęknięcia stropu"]
    assert body["sections"]["opinions"]["count"] == 0
    assert body["hidden"] == ["contracts", "invoices"]
    assert "invoices" not in body["sections"]


# --- The API --------------------------------------------------------------------------------

def test_the_api_answers_the_same_sections(api, ids):
    response = api.admin("get", f"/expertise/clients/{ids['client']}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["record_type"], body["name"], body["hidden"]) == (
        "organisation", "Budimex Sp. z o.o.", [])
    sections = body["sections"]
    assert set(sections) == set(client_view.SECTIONS)
    assert [c["name"] for c in sections["contacts"]["items"]] == ["Anna Kowalska"]
    assert [i["title"] for i in sections["inquiries"]["items"]] == [
        "Wycena nieruchomości", "Pęknięcia stropu"]
    offer = sections["inquiries"]["items"][1]
    assert offer["department"] == "Construction department"
    assert Decimal(offer["margin"]) >= Decimal("0.40")
    assert [(o["id"], o["status"]) for o in sections["offers"]["items"]] == [
        (ids["accepted_calc"], "accepted"), (ids["offer_calc"], "draft")]
    assert sections["opinions"]["items"][0]["due_on"] == (
        TODAY + timedelta(days=30)).isoformat()
    assert sections["documents"]["groups"][0]["count"] == 1
    assert [m["id"] for m in sections["meetings"]["items"]] == [ids["visit"], ids["hearing"]]
    assert [m["id"] for m in sections["correspondence"]["items"]] == [ids["mail"]]
    assert ids["call"] in [a["id"] for a in sections["activities"]["items"]]
    assert [c["id"] for c in sections["contracts"]["items"]] == [ids["contract"]]
    (invoice,) = sections["invoices"]["items"]
    assert (invoice["id"], invoice["status"], invoice["paid"]) == (ids["invoice"], "issued",
                                                                   "0.00")

    narrowed = api.admin("get", f"/expertise/clients/{ids['client']}?kind=inquiries"
                                "&kind=offers&open=true&q=stropu").get_json()
    assert set(narrowed["sections"]) == {"inquiries", "offers"}
    assert narrowed["sections"]["inquiries"]["count"] == 1
    described = api.admin("get", "/openapi.json").get_json()
    assert any(path.endswith("/expertise/clients/{organisation_id}")
               for path in described["paths"])



# --- A private client -------------------------------------------------------------------

def test_a_private_client_has_a_view_of_their_own(app, ids, api):
    found = overview(app, ids, client="anna")
    assert [(c["organisation"], c["role"]) for c in found.contacts.items] == [
        ("Budimex Sp. z o.o.", "lawyer")]
    assert titles(found.correspondence, "subject") == ["Dokumenty do opinii"]
    assert "Telefon w sprawie stropu" not in titles(found.activities, "subject")
    assert found.inquiries.count == 0  # she is no party of the firm's cases
    page = text(login(app).get(f"/expertise/clients/person/{ids['anna']}"))
    assert "Anna Kowalska" in page and "anna@budimex.example" in page
    assert "Dokumenty do opinii" in section_of(page, "correspondence")
    body = api.admin("get", f"/expertise/clients/person/{ids['anna']}").get_json()
    assert body["record_type"] == "person" and body["name"] == "Anna Kowalska"
    assert login(app).get("/expertise/clients/person/999999").status_code == 404
