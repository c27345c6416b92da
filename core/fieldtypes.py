"""The kinds of value a custom field holds: how each is validated, stored and shown.

A field type turns a definition into a marshmallow field (validation and parsing, the
same for forms, the API, import and plugins), says how the value is stored in the
record's JSON (``to_json``) and shown (``show``), and which comparisons the filter
language offers (``kind``). The core's types have plain keys ("integer", "nip");
a plugin's are "<plugin>.<name>" and come from ``kartoteka_register_field_types``.

Stored JSON: numbers as JSON numbers (decimals are exact to 15 significant digits),
dates as "YYYY-MM-DD", date-times as UTC ISO text, money as {"amount": decimal text,
"currency"},
multiple choice as a list of choice values, a relation as the other record's id.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from babel.numbers import format_currency, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate

from core import identifiers, validation
from core.errors import ValidationError

# Filter kinds: how the filter language compares a value (see core/filters.py).
KINDS = ("text", "key", "number", "date", "datetime", "boolean", "multi", "money", "relation")


@dataclass(frozen=True)
class FieldType:
    """A kind of custom field; ``make(definition)`` gives its marshmallow field.

    ``options`` names the settings an administrator gives this type (choices, target,
    currency, places, min, max). ``show(value, definition, locale)`` formats a stored
    value for people; ``to_json`` turns a loaded value into what is stored.
    """

    key: str
    title: dict[str, str]
    kind: str
    make: Callable[..., fields.Field]
    options: tuple[str, ...] = ()
    show: Callable[..., str] | None = None
    to_json: Callable[..., object] | None = None
    form_input: str = "text"  # the HTML input the form uses
    extra: dict = field(default_factory=dict)

    def label(self, locale: str = "pl") -> str:
        return self.title.get(locale) or self.title.get("en") or self.key

    def store(self, value):
        if value is None:
            return None
        return self.to_json(value) if self.to_json else jsonable(value)

    def display(self, value, definition, locale: str = "pl") -> str:
        if value is None or value == "" or value == []:
            return ""
        if self.show:
            return self.show(value, definition, locale)
        return _show_plain(value, locale)


def jsonable(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
            else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    return value


def _show_plain(value, locale: str) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return format_decimal(value, locale=locale)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# ------------------------------------------------------------------ marshmallow fields


class Blank:
    """An empty input is no value: validators (length, range) check only real values."""

    def _validate(self, value):
        if value is not None:
            super()._validate(value)


class Text(Blank, fields.String):
    """Text with surrounding spaces removed; an empty text is no value."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        return text or None


class Identifier(Text):
    """NIP, REGON, PESEL, IBAN or phone, normalised to the stored spelling."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return identifiers.normalise(self.kind, text)
        except ValidationError as exc:
            raise SchemaError(exc.errors[self.kind]) from None


class Email(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return validation.email(text)
        except ValidationError as exc:
            raise SchemaError(exc.errors["email"]) from None


class Url(Blank, fields.Url):
    def __init__(self, **kwargs):
        super().__init__(schemes={"http", "https"}, validate=validation.max_length(2000),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        return super()._deserialize(value.strip() if isinstance(value, str) else value,
                                    attr, data, **kwargs)


class Number(Blank, fields.Decimal):
    """A decimal that also takes the Polish comma ("12,5") and refuses NaN and infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
            if not value:
                return None
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Integer(Blank, fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().replace("\u00a0", "").replace(" ", "")
            if not value:
                return None
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(fields.Boolean):
    truthy = fields.Boolean.truthy | {"tak", "Tak", "TAK", "t", "T"}
    falsy = fields.Boolean.falsy | {"nie", "Nie", "NIE", "n", "N"}


class Date(Blank, fields.Date):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        return super()._deserialize(value.strip() if isinstance(value, str) else value,
                                    attr, data, **kwargs)


class DateTime(Blank, fields.AwareDateTime):
    """Aware date-time; a value without a zone is taken in the installation's zone."""

    def __init__(self, **kwargs):
        from core.filters import zone

        super().__init__(default_timezone=zone(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip():
            return None
        return super()._deserialize(value, attr, data, **kwargs)


class Choice(Text):
    """One of the definition's choice values."""

    def __init__(self, choices: list[str], **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None and text not in self.choices:
            raise SchemaError(_("'%(value)s' is not one of the choices: %(choices)s.",
                                value=text, choices=", ".join(self.choices)))
        return text


class Choices(Blank, fields.List):
    """Several of the definition's choice values; a text is split at commas."""

    def __init__(self, choices: list[str], **kwargs):
        super().__init__(Choice(choices), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        picked = [v for v in super()._deserialize(value, attr, data, **kwargs) if v]
        return list(dict.fromkeys(picked)) or None


class Money(Blank, fields.Field):
    """An amount with a currency: {"amount": "12.50", "currency": "PLN"} or "12,50"."""

    def __init__(self, currency: str, places: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.currency = currency
        self.amount = Number(places=places)

    def _deserialize(self, value, attr, data, **kwargs):
        currency = self.currency
        if isinstance(value, dict):
            unknown = set(value) - {"amount", "currency"}
            if unknown:
                raise SchemaError(_("Give only an amount and a currency."))
            currency = str(value.get("currency") or currency).strip().upper()
            value = value.get("amount")
        amount = self.amount.deserialize(value)
        if amount is None:
            return None
        if len(currency) != 3 or not currency.isalpha():
            raise SchemaError(_("A currency is a three-letter code such as PLN or EUR."))
        return {"amount": amount, "currency": currency}


class Relation(Blank, fields.Integer):
    """The id of another record; that it exists and is visible is checked by the service."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in ("", None):
            return None
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# ------------------------------------------------------------------ the core's types


def _bounds(definition, places: int | None = None) -> list:
    options = definition.options or {}
    low, high = options.get("min"), options.get("max")
    found = []
    if low is not None or high is not None:
        found.append(validate.Range(
            min=decimal.Decimal(str(low)) if low is not None else None,
            max=decimal.Decimal(str(high)) if high is not None else None,
            # Lazy: schemas are cached and serve requests in either language.
            error=_l("Give a value from %(min)s to %(max)s.", min=low if low is not None
                     else "…", max=high if high is not None else "…")))
    return found


def _places(definition) -> int:
    return int((definition.options or {}).get("places", 2))


def _show_number(value, definition, locale):
    return format_decimal(value, format=None, locale=locale)


def _show_percent(value, definition, locale):
    return f"{format_decimal(value, locale=locale)}\u00a0%"


def _show_money(value, definition, locale):
    try:
        return format_currency(decimal.Decimal(str(value["amount"])), value["currency"],
                               locale=locale)
    except (KeyError, TypeError, ValueError, decimal.InvalidOperation):
        return str(value)


def _money_json(value):
    """Money keeps its exact amount as decimal text ("12500.50"), never a float."""
    return {"amount": str(value["amount"]), "currency": value["currency"]}


def _show_date(value, definition, locale):
    from flask_babel import format_date

    try:
        return format_date(date.fromisoformat(value))
    except (TypeError, ValueError):
        return str(value)


def _show_datetime(value, definition, locale):
    from flask_babel import format_datetime

    try:
        return format_datetime(datetime.fromisoformat(value), "short")
    except (TypeError, ValueError):
        return str(value)


def _show_choice(value, definition, locale):
    labels = choice_labels(definition, locale)
    if isinstance(value, list):
        return ", ".join(labels.get(v, v) for v in value)
    return labels.get(value, value)


def _show_identifier(kind: str):
    def show(value, definition, locale):
        try:
            return identifiers.format(kind, value)
        except (ValidationError, ValueError):
            return str(value)
    return show


def _show_relation(value, definition, locale):
    """The related record's name (its number when it is gone or out of sight)."""
    from flask import has_request_context

    from core import records

    model = records.record_types().get((definition.options or {}).get("target", ""))
    if model is None or not has_request_context() or not isinstance(value, int):
        return f"#{value}"
    from flask import g
    from flask_login import current_user

    from core.web.db import db

    # An API call's caller is its token's account; the session's user is anonymous then.
    viewer = g.get("actor") or current_user._get_current_object()
    if not getattr(viewer, "is_authenticated", False):
        return f"#{value}"
    found = records.get(db(), model, value, viewer)
    label = getattr(found, "name", None) or getattr(found, "full_name", None)
    return label or f"#{value}"


def choice_labels(definition, locale: str) -> dict[str, str]:
    """Choice value -> label in ``locale``; choices are {"value", "label_pl", "label_en"}."""
    return {c["value"]: c.get(f"label_{locale}") or c.get("label_en") or c["value"]
            for c in (definition.options or {}).get("choices", [])}


def choice_values(definition) -> list[str]:
    return [c["value"] for c in (definition.options or {}).get("choices", [])]


def _t(pl: str, en: str) -> dict[str, str]:
    return {"pl": pl, "en": en}


CORE_TYPES: dict[str, FieldType] = {t.key: t for t in [
    FieldType("text", _t("Tekst", "Text"), "text",
              lambda d: Text(validate=validation.max_length(500))),
    FieldType("long_text", _t("Tekst długi", "Long text"), "text",
              lambda d: Text(validate=validation.max_length(20000)), form_input="textarea"),
    FieldType("integer", _t("Liczba całkowita", "Whole number"), "number",
              lambda d: Integer(strict=False, validate=_bounds(d)), options=("min", "max"),
              show=_show_number, form_input="number"),
    FieldType("decimal", _t("Liczba dziesiętna", "Decimal number"), "number",
              lambda d: Number(places=_places(d), validate=_bounds(d)),
              options=("places", "min", "max"), show=_show_number),
    FieldType("money", _t("Kwota", "Money"), "money",
              lambda d: Money((d.options or {}).get("currency", "PLN"), _places(d)),
              options=("currency",), show=_show_money, to_json=_money_json),
    FieldType("percentage", _t("Procent", "Percentage"), "number",
              lambda d: Number(places=_places(d), validate=_bounds(d)),
              options=("places", "min", "max"), show=_show_percent),
    FieldType("date", _t("Data", "Date"), "date", lambda d: Date(), show=_show_date,
              form_input="date"),
    FieldType("datetime", _t("Data i godzina", "Date and time"), "datetime",
              lambda d: DateTime(), show=_show_datetime, form_input="datetime-local"),
    FieldType("boolean", _t("Tak/nie", "Yes/no"), "boolean", lambda d: Boolean(),
              form_input="checkbox"),
    FieldType("choice", _t("Wybór jednej opcji", "Single choice"), "key",
              lambda d: Choice(choice_values(d)), options=("choices",), show=_show_choice,
              form_input="select"),
    FieldType("multi_choice", _t("Wybór wielu opcji", "Multiple choice"), "multi",
              lambda d: Choices(choice_values(d)), options=("choices",), show=_show_choice,
              form_input="checkboxes"),
    FieldType("email", _t("E-mail", "E-mail"), "text", lambda d: Email(), form_input="email"),
    FieldType("phone", _t("Telefon", "Phone"), "text", lambda d: Identifier("phone"),
              show=_show_identifier("phone"), form_input="tel"),
    FieldType("url", _t("Adres WWW", "URL"), "text",
              lambda d: Url(), form_input="url"),
    FieldType("nip", _t("NIP", "NIP"), "text", lambda d: Identifier("nip"),
              show=_show_identifier("nip")),
    FieldType("regon", _t("REGON", "REGON"), "text", lambda d: Identifier("regon")),
    FieldType("pesel", _t("PESEL", "PESEL"), "text", lambda d: Identifier("pesel")),
    FieldType("iban", _t("IBAN", "IBAN"), "text", lambda d: Identifier("iban"),
              show=_show_identifier("iban")),
    FieldType("relation", _t("Powiązany rekord", "Related record"), "relation",
              lambda d: Relation(strict=False), options=("target",), show=_show_relation,
              form_input="number"),
]}
