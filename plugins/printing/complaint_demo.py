"""Demo data of complaints (PR-8): a delivered project whose client complains, walked
there through the real steps, with the account manager's, customer service's and
production's comments. Loaded after the printing house's own demo, whose people
(customer service and production among them) and client it uses."""

from sqlalchemy import select

from core import calculations, cases, events, timeline, users, workflow
from core.models import Case, Organisation, PriceItem
from plugins.printing import complaints, demo
from plugins.printing.demo import CLIENT, STAFF
from plugins.printing.price_list import PRODUCTS

PROJECT = "Naklejki na witryny sklepów (40 szt.)"
LINES = [("FOL", 10), ("LAT", 10), ("LAM", 10)]  # 40 stickers of 60×40 cm, in m²
# (who: "rep", or the role they hold; what they said)
COMMENTS = [
    (complaints.CUSTOMER_SERVICE, "Klient zgłosił telefonicznie i mailem: na 6 z 40 naklejek "
                                  "kolor czerwony wyszedł wyraźnie ciemniejszy niż na proofie."),
    (complaints.PRODUCTION, "Sprawdziłem próbkę z partii: 6 sztuk z końca zlecenia drukowane "
                            "po wymianie głowicy, bez ponownej kalibracji. Wada po naszej "
                            "stronie; reszta partii zgodna z proofem."),
    ("rep", "Klient prosi o dodruk 6 sztuk do piątku; rabatu nie oczekuje."),
]


def load(session) -> None:
    if session.scalar(select(Case.id).where(Case.process_key == complaints.COMPLAINT)):
        return  # loaded before
    host = events.host_of(session)
    staff = {"rep": users.find_by_email(session, STAFF[-1][0]),  # the Poznań rep
             **{role: _holder(session, role)
                for role in (complaints.CUSTOMER_SERVICE, complaints.PRODUCTION)}}
    client = session.scalar(select(Organisation).where(Organisation.name == CLIENT))
    if None in staff.values() or client is None:
        return  # the printing house's own demo is not loaded
    rep, production = staff["rep"], staff[complaints.PRODUCTION]
    project = cases.create(session, host, {
        "title": PROJECT, "process_key": "printing.project", "owner_id": rep.id,
        "organisation_id": client.id}, actor=rep)
    workflow.move(session, host, project, "calculation", actor=rep)
    items = {i.code: i.id for i in session.scalars(select(PriceItem).where(
        PriceItem.list_key == PRODUCTS.key))}
    calculations.create(session, project, {"markup": 35, "lines": [
        {"price_item_id": items[code], "quantity": quantity}
        for code, quantity in LINES if code in items]}, rep)
    service = staff[complaints.CUSTOMER_SERVICE]
    cases.update(session, host, project, {"custom": {"printing_documents_received": True,
                                                     "printing_signed_order": True}},
                 actor=service)  # customer service has the documents and the signed order
    for target in ("offer", "order"):
        workflow.move(session, host, project, target, actor=rep)
    demo.print_file(session, project, rep, production)
    for target in ("production", "delivery"):
        workflow.move(session, host, project, target, actor=production)
    complaint = complaints.open_complaint(session, host, project, {"custom": {
        complaints.PRODUCT: "Naklejki witrynowe 60×40 cm, folia wylewana",
        complaints.DEFECT: "Na 6 z 40 naklejek kolor czerwony jest ciemniejszy niż na "
                           "zaakceptowanym proofie."}}, actor=service)
    workflow.move(session, host, complaint, "review", actor=service)
    for who, text in COMMENTS:
        timeline.add(session, "note", "", workflow.about_case(session, complaint), body=text,
                     actor=staff[who])


def _holder(session, role: str):
    """The first of the demo's people given ``role``."""
    email = next((email for email, _name, held, _boss in STAFF if role in held), None)
    return users.find_by_email(session, email) if email else None
