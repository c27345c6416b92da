"""Installed power in kWp, a field type of its own; what the audit finds on the roof
and the design puts on it, the fields of an installation's case (PV-1, PV-4)."""

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l
from marshmallow import validate

from core import CustomField, FieldType
from core.fieldtypes import Number
from plugins.photovoltaics.audit import CHECKLIST
from plugins.photovoltaics.process import INSTALLATION

# A household roof carries a few kWp, a farm on a field a few MWp.
MAX_KWP = 50_000


def _power(definition):
    return Number(places=2, validate=validate.Range(
        min=0, max=MAX_KWP, min_inclusive=False,
        error=_l("Give a power above 0 and at most %(max)s kWp.", max=MAX_KWP)))


def _show(value, definition, locale) -> str:
    return f"{format_decimal(value, format='#,##0.00', locale=locale)}\u00a0kWp"


FIELD_TYPES = [
    FieldType("photovoltaics.kwp", {"pl": "Moc (kWp)", "en": "Power (kWp)"}, "number", _power,
              show=_show),
]


GROUP = "Fotowoltaika"
AUDIT_GROUP = "Audyt na miejscu"
ROOF_TYPES = {"choices": [
    {"value": "tile", "label_pl": "Dachówka ceramiczna lub betonowa",
     "label_en": "Ceramic or concrete tiles"},
    {"value": "metal_tile", "label_pl": "Blachodachówka", "label_en": "Metal tiles"},
    {"value": "trapezoidal", "label_pl": "Blacha trapezowa", "label_en": "Trapezoidal sheet"},
    {"value": "seam", "label_pl": "Blacha na rąbek", "label_en": "Standing seam"},
    {"value": "felt", "label_pl": "Papa (dach płaski)", "label_en": "Roofing felt (flat roof)"},
    {"value": "ground", "label_pl": "Na gruncie", "label_en": "Ground-mounted"},
]}
ORIENTATIONS = {"choices": [
    {"value": v, "label_pl": pl, "label_en": en} for v, pl, en in (
        ("S", "Południe", "South"), ("SE", "Południowy wschód", "South-east"),
        ("SW", "Południowy zachód", "South-west"), ("E", "Wschód", "East"),
        ("W", "Zachód", "West"), ("EW", "Wschód–zachód", "East–west"))]}
GRID_OPERATORS = {"choices": [
    {"value": v, "label_pl": name, "label_en": name} for v, name in (
        ("pge", "PGE Dystrybucja"), ("tauron", "TAURON Dystrybucja"),
        ("enea", "Enea Operator"), ("energa", "Energa-Operator"),
        ("stoen", "Stoen Operator"))]}

SOURCES = {"choices": [
    {"value": v, "label_pl": pl, "label_en": en} for v, pl, en in (
        ("rep", "Przedstawiciel", "Sales rep"), ("form", "Formularz na stronie", "Website form"),
        ("phone", "Telefon od klienta", "Customer's call"),
        ("referral", "Polecenie", "Referral"), ("fair", "Targi", "Trade fair"))]}
PRIORITIES = {"choices": [
    {"value": v, "label_pl": pl, "label_en": en} for v, pl, en in (
        ("high", "Wysoki", "High"), ("normal", "Zwykły", "Normal"), ("low", "Niski", "Low"))]}


def _field(key: str, type_: str, pl: str, en: str, position: int, **extra) -> CustomField:
    return CustomField("case", f"photovoltaics_{key}", type_, {"pl": pl, "en": en},
                       group=GROUP, position=position, processes=(INSTALLATION.key,), **extra)


FIELDS = [
    # Where the lead came from and how soon it should be called (PV-1, PV-6).
    CustomField("case", "photovoltaics_source", "choice", {"pl": "Źródło", "en": "Source"},
                group=GROUP, position=0, processes=(INSTALLATION.key,), options=SOURCES,
                indexed=True),
    CustomField("case", "photovoltaics_priority", "choice",
                {"pl": "Priorytet", "en": "Priority"}, group=GROUP, position=0,
                processes=(INSTALLATION.key,), options=PRIORITIES, indexed=True),
    CustomField("organisation", "photovoltaics_power", "photovoltaics.kwp",
                {"pl": "Moc instalacji", "en": "Installed power"},
                help={"pl": "Moc szczytowa instalacji w kWp, np. 9,84.",
                      "en": "Peak power of the installation in kWp, e.g. 9.84."},
                group=GROUP, indexed=True),
    # What the audit finds on site (PV-1) and the design sizes the installation from.
    _field("consumption_kwh", "integer", "Roczne zużycie energii (kWh)",
           "Annual consumption (kWh)", 1, options={"min": 0, "max": 100_000_000}),
    _field("roof_type", "choice", "Pokrycie dachu", "Roof type", 2, options=ROOF_TYPES),
    _field("roof_pitch", "integer", "Kąt nachylenia dachu (°)", "Roof pitch (°)", 3,
           options={"min": 0, "max": 90}),
    _field("orientation", "choice", "Orientacja połaci", "Orientation", 4,
           options=ORIENTATIONS),
    _field("storage", "boolean", "Z magazynem energii", "With energy storage", 5),
    # The design (PV-1) and the grid operator's notification (PV-4).
    _field("power", "photovoltaics.kwp", "Moc instalacji", "Installed power", 6, indexed=True),
    _field("panel_model", "text", "Model paneli", "Panel model", 7),
    _field("panel_count", "integer", "Liczba paneli", "Number of panels", 8,
           options={"min": 1, "max": 100_000}),
    _field("inverter_model", "text", "Model falownika", "Inverter model", 9),
    _field("inverter_count", "integer", "Liczba falowników", "Number of inverters", 10,
           options={"min": 1, "max": 1000}),
    _field("grid_operator", "choice", "Operator sieci", "Grid operator", 11,
           options=GRID_OPERATORS),
    _field("ppe", "text", "Numer punktu poboru energii (PPE)",
           "Metering point number (PPE)", 12),
    # The site audit's checklist (audit.py), ticked on site.
    *(CustomField("case", f"photovoltaics_{key}", "boolean", label, group=AUDIT_GROUP,
                  position=20 + n, processes=(INSTALLATION.key,))
      for n, (key, label) in enumerate(CHECKLIST.items())),
]
