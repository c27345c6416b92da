"""Billable items: what is owed, by whom, for what and because of whom; added once by a
strategy, taken by an invoice, free again when that invoice is cancelled."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_helpers import COMPANY, MARCH, make_world, person, user
from core import billing, cases, invoices, people
from core.errors import Forbidden, ValidationError
from core.models import AuditEntry, BillableItem, Invoice
from core.workflow import Phase, Process

D = Decimal
TRAINING = Process("test.training", "core.case", title={"en": "Training"}, phases=(
    Phase("planned", "core.case"), Phase("done", "core.phase", final=True)), transitions=())


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", **COMPANY)
    app.extensions["kartoteka"].host.processes = {"test.training": TRAINING}
    with app.test_request_context():
        yield app


@pytest.fixture
def world(rt):
    found = make_world(rt)
    with rt.session() as s, s.begin():
        found["jan"] = people.create(s, {"first_name": "Jan", "last_name": "Kowalski"}).id
        found["case"] = cases.create(s, rt.host, {"title": "Szkolenie: zamówienia publiczne",
                                                  "process_key": "test.training"}).id
    return found


def item(s, world, by="clerk", **data) -> BillableItem:
    """An item of Gmina Kórnik's, unless ``data`` says otherwise."""
    values = {"organisation_id": world["kornik"], "description": "Szkolenie: Jan Kowalski",
              "quantity": "1", "unit": "os.", "unit_price": "450", "vat_rate": "zw",
              "earned_on": "2026-02-20", "source": "test.training", **data}
    return billing.add_item(s, values, None if by is None else user(s, world, by))


def test_an_item_says_who_owes_what_for_which_case_and_people(rt, world):
    with rt.session() as s, s.begin():
        added = item(s, world, case_id=world["case"], people=[world["jan"], world["anna"],
                                                               world["jan"]],
                     reference="case-1/jan")
        assert (added.organisation_id, added.case_id, added.unit_price, added.vat_rate) == (
            world["kornik"], world["case"], D("450"), "zw")
        assert [p.person_id for p in added.people] == sorted([world["jan"], world["anna"]])
        assert not added.invoiced
        assert billing.unbilled(s, person(s, world), user(s, world, "clerk")) == []
        assert [i.id for i in billing.unbilled(s, None, user(s, world, "clerk"))] == [added.id]


def test_adding_the_same_sources_reference_again_finds_the_item(rt, world):
    with rt.session() as s, s.begin():
        first = item(s, world, by=None, reference="contract-7/2026-03")  # a billing run
        again = item(s, world, by=None, reference="contract-7/2026-03", unit_price="999")
        assert again.id == first.id and again.unit_price == D("450")
        other = item(s, world, by=None, reference="contract-7/2026-04")
        plain = [item(s, world, reference=" ").id, item(s, world).id]  # no reference: new
        assert len({first.id, other.id, *plain}) == 4
        created = s.scalars(select(AuditEntry).where(AuditEntry.record_type == "billable_items",
                                                     AuditEntry.action == "create")).all()
        assert len(created) == 4 and created[0].actor_id is None


def test_a_bad_item_is_named_field_by_field_and_not_added(rt, world):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as refused:
            billing.add_item(s, {"description": "", "quantity": "0", "unit_price": "x",
                                 "vat_rate": "7", "source": "Training Run",
                                 "people": [world["jan"], 99999], "case_id": 99999},
                             user(s, world, "clerk"))
        assert set(refused.value.errors) == {
            "organisation_id", "description", "quantity", "unit_price", "vat_rate",
            "earned_on", "source", "people.1", "case_id"}
        assert s.scalar(select(BillableItem.id)) is None


def test_invoicing_items_makes_a_draft_with_a_line_each_and_takes_them(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        found = [item(s, world, case_id=world["case"], people=[world["jan"]]),
                 item(s, world, case_id=world["case"], description="Szkolenie: Anna Nowak",
                      people=[world["anna"]]),
                 item(s, world, case_id=world["case"], description="Materiały",
                      quantity="2", unit="szt.", unit_price="30", vat_rate="23")]
        draft = billing.invoice_items(s, found, {"payment_days": 30}, clerk)
        assert (draft.status, draft.case_id, draft.payment_days, draft.organisation_id) == (
            "draft", world["case"], 30, world["kornik"])
        assert [(line.description, line.quantity, line.unit, line.gross)
                for line in draft.lines] == [
            ("Szkolenie: Jan Kowalski", D("1"), "os.", D("450.00")),
            ("Szkolenie: Anna Nowak", D("1"), "os.", D("450.00")),
            ("Materiały", D("2"), "szt.", D("73.80"))]
        assert [i.invoice_line_id for i in found] == [line.id for line in draft.lines]
        assert [line.items for line in draft.lines] == [[i] for i in found]
        assert billing.unbilled(s, None, clerk) == []
        with pytest.raises(ValidationError, match="is on an invoice already"):
            billing.invoice_items(s, found[:1], None, clerk)
        with pytest.raises(ValidationError, match="It is on an invoice"):
            billing.remove_item(s, found[0], clerk)
        invoices.issue(s, rt.settings, draft, clerk, MARCH)
        assert draft.gross == D("973.80") and all(i.invoiced for i in found)


def test_items_of_different_buyers_currencies_or_prices_are_not_invoiced_together(rt, world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        ours = item(s, world)
        for other, message in ((item(s, world, organisation_id=world["mosina"]),
                                "different buyers"),
                               (item(s, world, currency="EUR"), "different currencies"),
                               (item(s, world, price_basis="gross"), "net prices and some gross")):
            with pytest.raises(ValidationError) as refused:
                billing.invoice_items(s, [ours, other], None, clerk)
            assert message in refused.value.errors["items"]
        with pytest.raises(ValidationError, match="Choose the items"):
            billing.invoice_items(s, [], None, clerk)
        assert s.scalar(select(Invoice.id)) is None


def test_items_are_free_again_when_their_draft_or_invoice_is_cancelled_or_a_line_dropped(rt,
                                                                                          world):
    with rt.session() as s, s.begin():
        clerk = user(s, world, "clerk")
        first, second = item(s, world), item(s, world, description="Szkolenie: Anna Nowak")
        draft = billing.invoice_items(s, [first, second], None, clerk)
        kept = draft.lines[1]
        invoices.update(s, draft, {"lines": [{"id": kept.id, "description": "Szkolenie (AN)",
                                              "quantity": "1", "unit_price": "450",
                                              "vat_rate": "zw"}]}, clerk)
        s.refresh(first)
        s.refresh(second)
        assert (first.invoiced, second.invoice_line_id) == (False, draft.lines[0].id)
        invoices.cancel(s, draft, actor=clerk)
        s.refresh(second)
        assert not second.invoiced
        again = billing.invoice_items(s, [first, second], None, clerk)
        invoices.issue(s, rt.settings, again, clerk, MARCH)
        invoices.cancel(s, again, "Nabywcą jest powiat", clerk)
        assert [i.id for i in billing.unbilled(s, None, clerk)] == [first.id, second.id]
        billing.remove_item(s, first, clerk)
        assert [i.id for i in billing.unbilled(s, None, clerk)] == [second.id]


def test_only_holders_of_the_billing_permission_add_items_and_see_follows_the_client(rt,
                                                                                    world):
    with rt.session() as s, s.begin():
        added = item(s, world)
        with pytest.raises(Forbidden):
            item(s, world, by="rep")
        with pytest.raises(Forbidden):
            billing.invoice_items(s, [added], None, user(s, world, "rep"))
        with pytest.raises(ValidationError) as refused:
            item(s, world, by="loner")  # may bill, but does not see Gmina Kórnik
        assert "organisation_id" in refused.value.errors
        assert billing.unbilled(s, None, user(s, world, "loner")) == []
        assert billing.unbilled(s, None, None) == [added]
        assert added.earned_on == date(2026, 2, 20)
