"""Turning marshmallow's errors into field-level messages in the user's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, validate
from marshmallow import ValidationError as SchemaError

from core.errors import ValidationError

# marshmallow's own messages, marked so that the catalogues translate them.
MARSHMALLOW_MESSAGES = (
    _l("Missing data for required field."),
    _l("Not a valid email address."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid date."),
    _l("Not a valid URL."),
    _l("Field may not be null."),
    _l("Unknown field."),
    _l("Invalid input type."),
    _l("Invalid value."),
    _l("Not a valid list."),
    _l("Not a valid number."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Number too large."),
    _l("Special numeric values (nan or infinity) are not permitted."),
)


MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


def an_id() -> validate.Range:
    """An id given in data: no record has one outside the column's range, and the
    database would refuse the query itself rather than find nothing."""
    return validate.Range(1, MAX_ID, error=_l("There is no such record."))


def max_length(limit: int) -> validate.Length:
    """A length limit whose message is translated when it is shown."""
    return validate.Length(max=limit, error=_l("At most {max} characters."))


def country_code() -> validate.Length:
    return validate.Length(equal=2, error=_l("Use a two-letter country code, such as PL."))


def load(schema: Schema, data: dict, partial: bool = False) -> dict:
    """Validate ``data``; a ValidationError maps each field to one translated message."""
    values, errors = load_collecting(schema, data, partial)
    if errors:
        raise ValidationError(errors)
    return values


def load_collecting(schema: Schema, data: dict, partial: bool | tuple = False
                    ) -> tuple[dict, dict[str, str]]:
    """The fields that are valid and the messages of those that are not, so that a
    caller's own checks can add theirs and the user sees every problem at once."""
    if not isinstance(data, dict):
        return {}, {"_": _("Invalid input type.")}
    try:
        return schema.load(data, partial=partial), {}
    except SchemaError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return valid, flatten(exc.messages)


def flatten(messages, prefix: str = "") -> dict[str, str]:
    """{'emails': {0: ['Not a valid email address.']}} -> {'emails.0': '...'}"""
    found: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            found.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and messages and isinstance(messages[0], str):
        found[prefix or "_"] = _(messages[0])
    elif isinstance(messages, list):
        for value in messages:
            found.update(flatten(value, prefix))
    else:
        found[prefix or "_"] = _(str(messages))
    return found


def email(value: str) -> str:
    """An e-mail address trimmed and in lower case, or a ValidationError."""
    value = value.strip().lower()
    try:
        validate.Email()(value)
    except SchemaError as exc:
        raise ValidationError({"email": _("Not a valid email address.")}) from exc
    return value
