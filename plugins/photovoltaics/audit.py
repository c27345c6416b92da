"""The site audit and the design (PV-1): what the auditor must see on site, ticked on the
installation's checklist with photos attached, before design starts; and what the design
must settle (the power, the panels, the inverter, a priced offer) before the offer goes
out. Both checks are on by default; an administrator may switch either off.
"""

from sqlalchemy import func, select

from core.models import Attachment, Calculation
from core.workflow import Check

# The checklist: case fields (fields.py) the auditor ticks on site.
CHECKLIST = {
    "audit_roof": {"pl": "Dach obejrzany: pokrycie, konstrukcja, wymiary",
                   "en": "Roof inspected: covering, structure, dimensions"},
    "audit_shading": {"pl": "Zacienienie ocenione", "en": "Shading assessed"},
    "audit_meter": {"pl": "Licznik i przyłącze sprawdzone",
                    "en": "Meter and grid connection checked"},
    "audit_switchboard": {"pl": "Rozdzielnica sprawdzona, miejsce na falownik wybrane",
                          "en": "Switchboard checked, inverter place chosen"},
    "audit_bills": {"pl": "Rachunki za energię zebrane", "en": "Energy bills collected"},
}
IMAGES = ("image/jpeg", "image/png", "image/webp", "image/gif")  # attachments that are photos
# What the design settles, as the case's fields (fields.py).
DESIGN = ("power", "panel_model", "panel_count", "inverter_model")


def _audited(session, case):
    custom = case.custom or {}
    missing = [item for key, item in CHECKLIST.items()
               if not custom.get(f"photovoltaics_{key}")]
    if missing:
        return {"pl": "Nie odhaczono: " + "; ".join(i["pl"] for i in missing) + ".",
                "en": "Not ticked: " + "; ".join(i["en"] for i in missing) + "."}
    photos = session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.record_type == "case", Attachment.record_id == case.id,
        Attachment.content_type.in_(IMAGES)))
    if not photos:
        return {"pl": "Dołącz zdjęcia z audytu: dachu, licznika, rozdzielnicy.",
                "en": "Attach the audit's photos: the roof, the meter, the switchboard."}
    return None


def _designed(session, case):
    custom = case.custom or {}
    if any(custom.get(f"photovoltaics_{key}") in (None, "") for key in DESIGN):
        return {"pl": "Uzupełnij projekt: moc, model i liczbę paneli, model falownika.",
                "en": "Complete the design: the power, the panel model and count, the "
                      "inverter model."}
    if session.scalar(select(Calculation.id).where(Calculation.case_id == case.id)
                      .limit(1)) is None:
        return {"pl": "Wyceń projekt: dodaj kalkulację z cennika komponentów.",
                "en": "Price the design: add a calculation from the components price list."}
    return None


AUDITED = Check("photovoltaics.audited", {"pl": "Audyt kompletny", "en": "Audit complete"},
                _audited, optional=True)
DESIGNED = Check("photovoltaics.designed", {"pl": "Projekt gotowy", "en": "Design complete"},
                 _designed, optional=True)
