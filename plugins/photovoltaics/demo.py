"""Demo data of an installer: the components price list, the firm's staff, an own and a
subcontracted crew, the website's "ask for an offer" form, and households'
installations at every phase, each taken there step by step as the staff would: the
audit's checklist and photo, the design priced (one offer in two versions, the first
turned down), the contract approved by the sales manager, the advance invoiced and
paid, the parts given to the crews and reported done, the final invoice settling the
advance. The new leads are queued for two reps and their week planned."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from core import (
    approvals,
    attachments,
    calculations,
    cases,
    consents,
    events,
    invoices,
    organisations,
    payments,
    people,
    price_lists,
    public_forms,
    roles,
    users,
    workflow,
)
from core.filters import today
from core.models import Case, PriceItem
from plugins.photovoltaics import assignments, crews, queue_planning, queues
from plugins.photovoltaics.audit import CHECKLIST
from plugins.photovoltaics.components import COMPONENTS
from plugins.photovoltaics.process import ELECTRICAL, ROOF

# (code, name, category, unit, net price, VAT rate, details)
ITEMS = [
    ("JA-455", "Panel JA Solar JAM54S31 455 W", "panel", "szt.", "395.00", "8",
     {"power_w": 455}),
    ("LR-430", "Panel LONGi Hi-MO 6 430 W", "panel", "szt.", "370.00", "8", {"power_w": 430}),
    ("HU-8K", "Falownik Huawei SUN2000-8KTL-M1", "inverter", "szt.", "5900.00", "8", {}),
    ("FR-10", "Falownik Fronius Symo 10.0-3-M", "inverter", "szt.", "7800.00", "8", {}),
    ("K-DACH", "Konstrukcja na dach skośny (na panel)", "mounting", "kpl.", "210.00", "8", {}),
    ("K-GRUNT", "Konstrukcja gruntowa (na panel)", "mounting", "kpl.", "320.00", "8", {}),
    ("AC-DC", "Okablowanie DC/AC i zabezpieczenia", "cabling", "kpl.", "1850.00", "8", {}),
    ("BYD-10", "Magazyn energii BYD HVS 10,2 kWh", "storage", "szt.", "21500.00", "8", {}),
    ("MONT", "Montaż instalacji", "labour", "h", "95.00", "8", {}),
    ("ZGL", "Zgłoszenie do operatora sieci", "labour", "usł.", "400.00", "23", {}),
]
# (e-mail, name, roles)
STAFF = [
    ("m.kaczmarek@sloneczny.example.pl", "Marek Kaczmarek", ["photovoltaics_sales_manager"]),
    ("a.nowicka@sloneczny.example.pl", "Anna Nowicka", ["photovoltaics_sales"]),
    ("k.wrona@sloneczny.example.pl", "Katarzyna Wrona", ["photovoltaics_office"]),
    ("j.elektryk@sloneczny.example.pl", "Jacek Prądzyński", ["photovoltaics_installer"]),
    ("t.bielski@sloneczny.example.pl", "Tomasz Bielski", ["photovoltaics_sales"]),
]
ROLES = {
    "photovoltaics_sales_manager": ("Kierownik sprzedaży", [
        "core.calculate", "photovoltaics.approve_contract", "photovoltaics.reports",
        "photovoltaics.manage_queues"]),
    "photovoltaics_sales": ("Doradca klienta", ["core.calculate", "photovoltaics.work_queue"]),
    "photovoltaics_office": ("Biuro: rozliczenia i harmonogram", [
        "core.billing", "photovoltaics.plan_crews", "photovoltaics.reports"]),
    "photovoltaics_installer": ("Monter", ["photovoltaics.report_work"]),
}
# (first name, last name, town, street, where the installation has got to, source)
HOUSEHOLDS = [
    ("Tomasz", "Wieczorek", "Kórnik", "ul. Poznańska 12", "lead", "form"),
    ("Zofia", "Adamczyk", "Gniezno", "ul. Tumska 7", "lead", "referral"),
    ("Michał", "Pawlak", "Września", "ul. Kościuszki 30", "lead", "phone"),
    ("Ewelina", "Dudek", "Oborniki", "ul. Łazienna 4", "lead", "fair"),
    ("Jerzy", "Kubiak", "Buk", "ul. Dworcowa 3", "lost", "phone"),
    ("Halina", "Sikora", "Stęszew", "ul. Poznańska 2", "audit", "rep"),
    ("Agnieszka", "Sobczak", "Mosina", "ul. Sowinieckiego 8", "design", "rep"),
    ("Krzysztof", "Kaczmarek", "Swarzędz", "os. Kościuszkowców 4", "offer", "referral"),
    ("Ewa", "Michalska", "Śrem", "ul. Mickiewicza 21", "contract", "form"),
    ("Paweł", "Grabowski", "Luboń", "ul. Żabikowska 40", "advance_payment", "fair"),
    ("Marta", "Zielińska", "Puszczykowo", "ul. Kasprowicza 6", "installation", "rep"),
    ("Andrzej", "Lis", "Kostrzyn", "ul. Średzka 15", "final_payment", "referral"),
    ("Barbara", "Wróbel", "Czerwonak", "ul. Źródlana 2", "completed", "form"),
]
ORDER = ["lead", "audit", "design", "offer", "contract", "advance_payment", "installation",
         "final_payment", "completed"]


def load(session) -> None:
    items = _items(session)
    if session.scalar(select(Case.id).where(Case.process_key == "photovoltaics.installation")):
        return  # loaded before
    host = events.host_of(session)
    staff = _staff(session)
    own, hired = _crews(session, host, staff)
    _form(session)
    demo = Demo(session, host, staff, items, own, hired)
    for n, (first, last, town, street, target, source) in enumerate(HOUSEHOLDS):
        demo.installation(f"+48 600 100 {n:03d}", first, last, town, street, target, source)
    _queues(session, staff)


def _items(session) -> dict[str, PriceItem]:
    found = {i.code: i for i in session.scalars(select(PriceItem).where(
        PriceItem.list_key == COMPONENTS.key))}
    for code, name, category, unit, price, rate, details in ITEMS:
        if code not in found:
            found[code] = price_lists.create(session, COMPONENTS, {
                "code": code, "name": name, "category": category, "unit": unit,
                "net_price": price, "vat_rate": rate, "details": details})
    return found


def _staff(session) -> dict:
    for key, (name, granted) in ROLES.items():
        role = roles.find(session, key) or roles.create(session, key, name)
        roles.set_permissions(session, role, granted)
    return {email.split("@")[0]: users.find_by_email(session, email) or users.create_user(
        session, email, secrets.token_urlsafe(16), full_name=name, roles=["staff", *keys])
        for email, name, keys in STAFF}


def _crews(session, host, staff) -> tuple:
    office = staff["k.wrona"]
    own = crews.create(session, {"name": "Ekipa 1 (własna)", "base_town": "Kórnik",
                                 "phone": "+48 61 820 10 10", "members": [
        {"user_id": staff["j.elektryk"].id, "skills": ["electrical", "storage"],
         "leader": True},
        {"name": "Robert Kowal", "phone": "+48 601 300 200", "skills": ["roof", "heights"]}]},
        office)
    firm = organisations.create(session, host, {
        "name": "Dachy Nowak s.c.", "type_key": "photovoltaics.subcontractor",
        "city": "Gniezno", "phone": "+48 61 426 00 00"}, office, allow_duplicates=True)
    hired = crews.create(session, {"name": "Dachy Nowak", "subcontractor_id": firm.id,
                                   "base_town": "Gniezno", "members": [
        {"name": "Piotr Nowak", "phone": "+48 602 111 222", "skills": ["roof", "heights"],
         "leader": True},
        {"name": "Adam Nowak", "phone": "+48 603 222 333", "skills": ["roof"]}]}, office)
    return own, hired


def _queues(session, staff) -> None:
    """Two reps, the rules that route the leads to them, and their coming week planned
    (PV-6): calls for the website's leads, meetings for referrals."""
    manager = staff["m.kaczmarek"]
    for user, calls, meetings, town in ((staff["a.nowicka"], True, True, "Poznań"),
                                        (staff["t.bielski"], False, True, "Gniezno")):
        queues.create_rep(session, {"user_id": user.id, "calls": calls, "meetings": meetings,
                                    "base_town": town, "travel_km": 80}, manager)
    for name, queue, sources, weight in (
            ("Polecenia: od razu spotkanie", "meeting", ["referral"], 10),
            ("Z formularza: telefon tego samego dnia", "call", ["form"], 20),
            ("Pozostałe: telefon", "call", [], 0)):
        queues.create_rule(session, {"name": name, "queue": queue, "sources": sources,
                                     "weight": weight}, manager)
    queue_planning.plan(session, today(), 5, manager)


def _form(session) -> None:
    """The website's "ask for an offer" form at /forms/fotowoltaika: each request is a
    lead."""
    if public_forms.by_key(session, "fotowoltaika") is not None:
        return
    purpose = consents.purpose_by_key(session, "oferty_pv") or consents.create_purpose(
        session, {"key": "oferty_pv", "name": "Kontakt w sprawie oferty fotowoltaiki",
                  "legal_basis": "consent"})
    public_forms.create(session, {
        "key": "fotowoltaika", "title": "Bezpłatna wycena instalacji fotowoltaicznej",
        "intro": "Zostaw kontakt: doradca zadzwoni i umówi bezpłatny audyt dachu.",
        "process_key": "photovoltaics.installation", "purpose_id": purpose.id,
        "fields": [{"field": "email", "required": True}, {"field": "phone", "required": True},
                   {"field": "street"}, {"field": "postal_code"},
                   {"field": "city", "required": True},
                   {"field": "case.photovoltaics_consumption_kwh"},
                   {"field": "case.photovoltaics_roof_type"}],
        "consent_text": "Zgadzam się na kontakt w sprawie oferty instalacji fotowoltaicznej.",
        "tags": ["lead PV"], "thank_you": "Dziękujemy! Oddzwonimy w ciągu jednego dnia."})


class Demo:
    """Takes a household's installation to a phase, as the staff would."""

    def __init__(self, session, host, staff, items, own, hired):
        self.session, self.host, self.items = session, host, items
        self.rep, self.manager = staff["a.nowicka"], staff["m.kaczmarek"]
        self.office, self.own, self.hired = staff["k.wrona"], own, hired
        self.settings = session.info["jobs"].rt.settings  # where the photos are kept
        self.day = today()
        self.target = ""  # where the installation being walked is going

    def installation(self, phone, first, last, town, street, target, source):
        person = people.create(self.session, {
            "first_name": first, "last_name": last, "phones": [phone],
            "addresses": [{"street": street, "city": town}]}, allow_duplicates=True)
        case = cases.create(self.session, self.host, {
            "title": f"Instalacja PV: {first} {last}, {town}",
            "process_key": "photovoltaics.installation", "owner_id": self.rep.id,
            "custom": {"photovoltaics_source": source, "photovoltaics_priority": "normal",
                       "photovoltaics_roof_type": "metal_tile",
                       "photovoltaics_orientation": "S", "photovoltaics_roof_pitch": 35,
                       "photovoltaics_consumption_kwh": 6500}},
            people=[(person, "inwestor")], actor=self.rep)
        self.target = target
        if target == "lost":
            self.move(case, "lost", "Klient zrezygnował: wybrał pompę ciepła.")
            return
        for phase in ORDER[1:ORDER.index(target) + 1]:
            if phase == "installation" and not self.settings.company_name.strip():
                return  # no invoice can be issued without the seller's name
            getattr(self, f"to_{phase}")(case, person)

    def move(self, case, target, comment=""):
        workflow.move(self.session, self.host, case, target, self.rep, comment=comment)

    def to_audit(self, case, person):
        self.move(case, "audit")

    def to_design(self, case, person):
        cases.update(self.session, self.host, case, {"custom": {
            f"photovoltaics_{key}": True for key in CHECKLIST}}, actor=self.rep)
        attachments.store(self.session, self.settings, case, "audyt-dach.jpg", _photo(),
                          self.rep)
        self.move(case, "design")

    def to_offer(self, case, person):
        cases.update(self.session, self.host, case, {"custom": {
            "photovoltaics_power": "7.28", "photovoltaics_panel_model": "JA Solar 455 W",
            "photovoltaics_panel_count": 16, "photovoltaics_inverter_model": "Huawei 8KTL",
            "photovoltaics_inverter_count": 1, "photovoltaics_grid_operator": "enea",
            "photovoltaics_ppe": f"PL0037{case.id:012d}"}}, actor=self.rep)
        if case.title.startswith("Instalacja PV: Krzysztof"):  # asked for a smaller one
            rejected = self.price(case, 18, "35")
            calculations.decide(self.session, rejected, {
                "status": "rejected", "reason": "Za drogo; mniejsza instalacja."}, self.rep)
        calculations.decide(self.session, self.price(case, 16, "30"), {"status": "sent"},
                            self.rep)
        self.move(case, "offer")

    def price(self, case, panels, markup):
        items = self.items
        return calculations.create(self.session, case, {"markup": markup, "lines": [
            {"price_item_id": items["JA-455"].id, "quantity": str(panels)},
            {"price_item_id": items["HU-8K"].id, "quantity": "1"},
            {"price_item_id": items["K-DACH"].id, "quantity": str(panels)},
            {"price_item_id": items["AC-DC"].id, "quantity": "1"},
            {"price_item_id": items["MONT"].id, "quantity": "24"},
            {"price_item_id": items["ZGL"].id, "quantity": "1"}]}, self.rep)

    def to_contract(self, case, person):
        latest = calculations.of_case(self.session, case)[0]
        calculations.decide(self.session, latest, {"status": "accepted"}, self.rep)
        self.move(case, "contract")

    def to_advance_payment(self, case, person):
        asked = approvals.request(self.session, self.host, case, "advance_payment", self.rep)
        approvals.decide(self.session, self.host, asked, "approve", self.manager,
                         comment="Umowa zgodna z ofertą.")
        self.move(case, "advance_payment")

    def to_installation(self, case, person):
        self.pay(person, self.invoice(case, person, "advance", "10000.00"))
        self.move(case, "installation")
        # Done a while ago for those further on; the roof this week, the rest to come.
        back = {"installation": 2, "final_payment": 6, "completed": 12}[self.target]
        wiring = self.day + timedelta(days=2) if self.target == "installation" \
            else self.day - timedelta(days=back - 1)
        for key, crew, first in ((ROOF, self.hired, self.day - timedelta(days=back)),
                                 (ELECTRICAL, self.own, wiring)):
            assignments.assign(self.session, self.host, self.part(case, key), {
                "crew_id": crew.id, "starts_on": first, "notes": "Klucze u sąsiada."},
                self.office)
        self.report(case, ROOF, "Piotr Nowak")

    def to_final_payment(self, case, person):
        self.report(case, ELECTRICAL, "Jacek Prądzyński")

    def to_completed(self, case, person):
        advance = invoices.of_case(self.session, case.id, ("advance",), issued=True)[0]
        final = self.invoice(case, person, "final", str(case.amount), [advance.id])
        self.pay(person, final)
        self.move(case, "completed")

    def part(self, case, key) -> Case:
        return next(c for c in cases.children(self.session, case) if c.process_key == key)

    def report(self, case, key, who):
        job = assignments.of_part(self.session, self.part(case, key))
        assignments.report(self.session, self.host, self.settings, job, {
            "reported_by": who, "report": "Zrobione, zdjęcia w załączniku."},
            [("montaz.jpg", _photo(), "image/jpeg")])

    def invoice(self, case, person, kind, net, advance_ids=()):
        deducted = {"advance_ids": list(advance_ids)} if advance_ids else {}
        draft = invoices.create(self.session, {
            "kind": kind, "person_id": person.id, "case_id": case.id, **deducted, "lines": [{
                "description": "Instalacja fotowoltaiczna 7,28 kWp", "quantity": "1",
                "unit": "kpl.", "unit_price": net, "vat_rate": "8"}]}, self.office)
        return invoices.issue(self.session, self.settings, draft, self.office)

    def pay(self, person, invoice):
        payments.record(self.session, {
            "received_on": self.day.isoformat(), "person_id": person.id,
            "amount": str(invoice.balance)}, self.office, allocate_to=[(invoice, None)])


def _photo() -> io.BytesIO:
    """A small picture standing in for a photo from the site."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (70, 110, 160)).save(out, "JPEG")
    out.seek(0)
    return out
