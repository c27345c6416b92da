"""Installed power in kWp: a field type of its own, and the field that uses it; the
yes/no fields accounting ticks when the advance and the final payment are in (PV-3)."""

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l
from marshmallow import validate

from core import CustomField, FieldType
from core.fieldtypes import Number
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


def _paid(key: str, pl: str, en: str, position: int) -> CustomField:
    return CustomField("case", key, "boolean", {"pl": pl, "en": en}, group="Fotowoltaika",
                       position=position, processes=(INSTALLATION.key,))


FIELDS = [
    CustomField("organisation", "photovoltaics_power", "photovoltaics.kwp",
                {"pl": "Moc instalacji", "en": "Installed power"},
                help={"pl": "Moc szczytowa instalacji w kWp, np. 9,84.",
                      "en": "Peak power of the installation in kWp, e.g. 9.84."},
                group="Fotowoltaika", indexed=True),
    _paid("photovoltaics_advance_paid", "Faktura zaliczkowa opłacona (księgowość)",
          "Advance invoice paid (accounting)", 1),
    _paid("photovoltaics_final_paid", "Faktura końcowa opłacona (księgowość)",
          "Final invoice paid (accounting)", 2),
]
