"""The installer's installation most photovoltaics tests run in: the plugin enabled,
English, the installer as the seller; and ``world``, a request with an open session,
the sales rep, the sales manager, accounting and two installers, and the steps that
take an installation to where a test starts."""

import io
from datetime import date

import pytest
from PIL import Image

from core import (
    approvals,
    attachments,
    calculations,
    cases,
    invoices,
    payments,
    people,
    roles,
    users,
    workflow,
)
from plugins.photovoltaics.audit import CHECKLIST

PASSWORD = "correct horse battery"
PROCESS = "photovoltaics.installation"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["photovoltaics"], default_locale="en",
                                 company_name="Słoneczny Dach sp. z o.o.",
                                 company_details="ul. Polna 1\n62-035 Kórnik\nNIP 7773061579")


@pytest.fixture
def world(app):
    """A request context, an open session, the plugin host, a sales rep who owns the
    installations, the sales manager, and a crew member on each part."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        roles.create(session, "photovoltaics_sales_manager", "Sales manager")
        sales = roles.create(session, "sales", "Sales")
        roles.set_permissions(session, sales, ["core.calculate"])
        w = World(session, rt.host)
        w.rep = w.user("rep@example.com", ["staff", "sales"])
        w.manager = w.user("manager@example.com", ["staff", "photovoltaics_sales_manager"])
        w.roofer = w.user("roofer@example.com", ["staff"])
        w.electrician = w.user("electrician@example.com", ["staff"])
        accounting = roles.create(session, "accounting", "Accounting")
        roles.set_permissions(session, accounting, ["core.billing"])
        w.accountant = w.user("accounting@example.com", ["staff", "accounting"])
        w.customer = people.create(session, {"first_name": "Jan", "last_name": "Kowalski"})
        w.settings = rt.settings
        yield w


class World:
    def __init__(self, session, host):
        self.session, self.host = session, host

    def user(self, email, role_keys):
        user = users.create_user(self.session, email, PASSWORD)
        roles.assign(self.session, user, role_keys)
        return user

    def installation(self):
        return cases.create(self.session, self.host, {
            "title": "Dom Kowalskich, 9,84 kWp", "process_key": PROCESS,
            "owner_id": self.rep.id, "amount": "42000.00", "cost": "30000.00"},
            actor=self.rep)

    def move(self, case, target, actor=None):
        return workflow.move(self.session, self.host, case, target, actor=actor or self.rep)

    def blockers(self, case, target):
        found = {m.transition.target: m.blockers
                 for m in workflow.moves(self.session, self.host, case, self.rep)}
        return found[target]

    def offer(self, case, markup="40", status="accepted"):
        """A version of the offer, decided by the customer as ``status`` says."""
        made = calculations.create(self.session, case, {"markup": markup, "lines": [
            {"description": "Instalacja 9,84 kWp", "quantity": "1", "unit_cost": "30000"}]},
            self.rep)
        if status != "draft":
            calculations.decide(self.session, made, {"status": status, "reason": "Za drogo"},
                                self.rep)
        return made

    def audited(self, case):
        """The site audit's checklist ticked and a photo of the roof attached."""
        cases.update(self.session, self.host, case, {"custom": {
            f"photovoltaics_{key}": True for key in CHECKLIST}}, actor=self.rep)
        out = io.BytesIO()
        Image.new("RGB", (8, 8), (90, 90, 90)).save(out, "JPEG")
        out.seek(0)
        attachments.store(self.session, self.settings, case, "dach.jpg", out, self.rep)

    def designed(self, case, status="sent"):
        """The design's sizing on the case and its first priced version."""
        cases.update(self.session, self.host, case, {"custom": {
            "photovoltaics_power": "9.84", "photovoltaics_panel_model": "JA Solar 455 W",
            "photovoltaics_panel_count": 22, "photovoltaics_inverter_model": "Huawei 8KTL"}},
            actor=self.rep)
        return self.offer(case, status=status)

    def to_offer(self, case, status="sent"):
        self.move(case, "audit")
        self.audited(case)
        self.move(case, "design")
        made = self.designed(case, status)
        self.move(case, "offer")
        return made

    def at_contract(self):
        case = self.installation()
        self.to_offer(case, status="accepted")
        self.move(case, "contract")
        return case

    def approve_contract(self, case):
        req = approvals.request(self.session, self.host, case, "advance_payment", self.rep)
        return approvals.decide(self.session, self.host, req, "approve", self.manager)

    def invoice(self, case, kind="advance", net="10000.00", **data):
        """An invoice of the installation to its customer, issued by accounting."""
        draft = invoices.create(self.session, {
            "kind": kind, "person_id": self.customer.id, "case_id": case.id,
            "lines": [{"description": "Instalacja fotowoltaiczna 9,84 kWp", "quantity": "1",
                       "unit": "kpl.", "unit_price": net, "vat_rate": "8"}], **data},
            self.accountant)
        return invoices.issue(self.session, self.settings, draft, self.accountant)

    def pay(self, invoice, amount=None):
        payments.record(self.session, {
            "received_on": date.today().isoformat(), "person_id": self.customer.id,
            "amount": str(amount or invoice.balance)}, self.accountant,
            allocate_to=[(invoice, None)])

    def paid(self, case):
        self.pay(self.invoice(case, "advance"))

    def installing(self, title=None):
        case = self.at_contract()
        if title:
            cases.update(self.session, self.host, case, {"title": title}, actor=self.rep)
        self.approve_contract(case)
        self.move(case, "advance_payment")
        self.paid(case)
        self.move(case, "installation")
        return case

    def children(self, case):
        return {c.process_key: c for c in cases.children(self.session, case)}


