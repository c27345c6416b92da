"""A list's condition on one custom field, from its "more filters" row (``cf``, ``cf_op``,
``cf_value``): the comparisons that fit each kind of field, the input its value takes, and
the typed value turned into a condition of the one filter language (``core.filters``)."""

from __future__ import annotations

import math
import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import ValidationError
from core.fields import Definition
from core.fieldtypes import choice_labels
from core.filters import custom_kind
from core.web.i18n import current_locale

PARAMS = ("cf", "cf_op", "cf_value")
NO_VALUE = ("empty", "not_empty")
ORDERED = ("eq", "ne", "gt", "gte", "lt", "lte", *NO_VALUE)
# The filter language's operators each kind of field offers, in the order shown.
OPS = {
    "text": ("contains", "eq", "ne", "starts_with", *NO_VALUE),
    "key": ("eq", "ne", *NO_VALUE),
    "multi": ("eq", "ne", *NO_VALUE),
    "number": ORDERED,
    "money": ORDERED,
    "date": ORDERED,
    "datetime": ORDERED,
    "boolean": ("eq", *NO_VALUE),
    "relation": NO_VALUE,  # nobody types a linked record's number
}
# Before a field is picked: "is" first, as it fits (nearly) every field.
EVERY_OP = ("eq", "ne", "contains", "starts_with", "gt", "gte", "lt", "lte", *NO_VALUE)
LABELS = {
    "contains": _l("contains"),
    "eq": _l("is"),
    "ne": _l("is not"),
    "starts_with": _l("starts with"),
    "gt": _l("more than"),
    "gte": _l("at least"),
    "lt": _l("less than"),
    "lte": _l("at most"),
    "empty": _l("is empty"),
    "not_empty": _l("is filled in"),
}
_DAYS = {"gt": _l("after"), "gte": _l("on or after"), "lt": _l("before"), "lte": _l("on or before")}
# Dates and multiple choices read better in words of their own.
WORDED = {
    "date": _DAYS,
    "datetime": _DAYS,
    "multi": {"eq": _l("includes"), "ne": _l("does not include")},
}

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def chosen(definitions, key: str) -> Definition | None:
    """The field picked, among those the person may see."""
    return next((d for d in definitions if d.key == key), None) if key else None


def ops(definition: Definition | None) -> list[tuple[str, str]]:
    """The comparisons the row offers: those that fit the field picked, else every one."""
    kind = custom_kind(definition) if definition is not None else ""
    words = WORDED.get(kind, {})
    return [(op, str(words.get(op, LABELS[op]))) for op in OPS.get(kind, EVERY_OP)]


def value_input(definition: Definition | None) -> str:
    """How the value is typed: "select" (from ``value_choices``), "date" or "text"."""
    kind = custom_kind(definition) if definition is not None else ""
    if kind in ("key", "multi", "boolean"):
        return "select"
    return "date" if kind in ("date", "datetime") else "text"


def value_choices(definition: Definition | None) -> list[tuple[str, str]]:
    kind = custom_kind(definition) if definition is not None else ""
    if kind == "boolean":
        return [("true", _("yes")), ("false", _("no"))]
    if kind in ("key", "multi"):
        return list(choice_labels(definition, current_locale()).items())
    return []


def condition(definition: Definition, op: str, text: str) -> dict:
    """The condition the row asks for; a comparison or value that cannot be used raises
    ``ValidationError`` keyed by the row's input (cf_op, cf_value)."""
    if op not in OPS.get(custom_kind(definition), ()):
        raise ValidationError({"cf_op": _("Choose a comparison that fits this field.")})
    field = f"custom.{definition.key}"
    if op in NO_VALUE:
        return {"field": field, "op": op}
    return {"field": field, "op": op, "value": _value(definition, text.strip())}


def _value(definition: Definition, text: str):
    """The typed text as the kind of value the field holds."""
    if not text:
        raise ValidationError({"cf_value": _("Give a value to compare with.")})
    kind = custom_kind(definition)
    if kind in ("number", "money"):
        return _number(text)
    if kind in ("date", "datetime"):
        if not _ISO_DATE.fullmatch(text) or not _is_date(text):
            raise ValidationError({"cf_value": _("Give a date as YYYY-MM-DD.")})
        return text
    if kind in ("key", "multi", "boolean"):
        if text not in dict(value_choices(definition)):
            raise ValidationError({"cf_value": _("Choose a value from the list.")})
        return text == "true" if kind == "boolean" else text
    return text


def _number(text: str) -> int | float:
    """A number as people type it ("1 200", "12,5", "12.5"); a whole one stays whole."""
    plain = _SPACES.sub("", text).replace(",", ".")
    if not _NUMBER.fullmatch(plain) or not math.isfinite(float(plain)):
        raise ValidationError({"cf_value": _("Give a number, such as 1200 or 12.5.")})
    number = float(plain)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
