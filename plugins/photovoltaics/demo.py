"""Demo data of an installer: the components price list, and households' installations
at the first phases, one with its offer in two versions (the first turned down)."""

from sqlalchemy import select

from core import calculations, cases, events, people, price_lists, workflow
from core.models import Case, PriceItem
from plugins.photovoltaics.components import COMPONENTS

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
# (first name, last name, town, the phases the installation went through)
HOUSEHOLDS = [
    ("Tomasz", "Wieczorek", "Kórnik", []),
    ("Agnieszka", "Sobczak", "Mosina", ["audit", "design"]),
    ("Krzysztof", "Kaczmarek", "Swarzędz", ["audit", "design", "offer"]),
]


def load(session) -> None:
    items = _items(session)
    if session.scalar(select(Case.id).where(Case.process_key == "photovoltaics.installation")):
        return  # loaded before
    host = events.host_of(session)
    for first, last, town, steps in HOUSEHOLDS:
        person = people.create(session, {"first_name": first, "last_name": last,
                                         "addresses": [{"city": town}]})
        case = cases.create(session, host, {
            "title": f"Instalacja PV: {first} {last}, {town}",
            "process_key": "photovoltaics.installation",
            "custom": {"photovoltaics_roof_type": "metal_tile",
                       "photovoltaics_orientation": "S", "photovoltaics_roof_pitch": 35,
                       "photovoltaics_consumption_kwh": 6500}}, people=[(person, "inwestor")])
        for target in steps:
            workflow.move(session, host, case, target)
        if "offer" in steps:
            _offer(session, case, items)


def _items(session) -> dict[str, PriceItem]:
    found = {i.code: i for i in session.scalars(select(PriceItem).where(
        PriceItem.list_key == COMPONENTS.key))}
    for code, name, category, unit, price, rate, details in ITEMS:
        if code not in found:
            found[code] = price_lists.create(session, COMPONENTS, {
                "code": code, "name": name, "category": category, "unit": unit,
                "net_price": price, "vat_rate": rate, "details": details})
    return found


def _offer(session, case: Case, items: dict) -> None:
    """Two versions: 18 panels turned down as too dear, then 16 panels, sent."""
    for panels, markup in ((18, "35"), (16, "30")):
        made = calculations.create(session, case, {"markup": markup, "lines": [
            {"price_item_id": items["JA-455"].id, "quantity": str(panels)},
            {"price_item_id": items["HU-8K"].id, "quantity": "1"},
            {"price_item_id": items["K-DACH"].id, "quantity": str(panels)},
            {"price_item_id": items["AC-DC"].id, "quantity": "1"},
            {"price_item_id": items["MONT"].id, "quantity": "24"},
            {"price_item_id": items["ZGL"].id, "quantity": "1"}]})
        decision = {"status": "rejected", "reason": "Za drogo; mniejsza instalacja."} \
            if panels == 18 else {"status": "sent"}
        calculations.decide(session, made, decision)
