"""Text no database can store is refused as it arrives, on every API route: a NUL
character (PostgreSQL refuses it in text) or a lone surrogate (not UTF-8). Otherwise it
would pass the schemas and fail in the database, a server error instead of a 422."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_smorest import abort

from core.api.errors import refused


def refuse_unstorable():
    """before_request of the API: 422 naming each field whose text cannot be stored; a
    path holding such text names nothing (404)."""
    if not storable(request.path):
        abort(404)
    bad = [name for source in (request.args, request.form)
           for name, value in source.items(multi=True) if not storable(value)]
    if request.is_json:
        bad += _unstorable(request.get_json(silent=True), "")
    if bad:
        message = _("The text contains characters that cannot be stored.")
        return refused(dict.fromkeys(bad, message))
    return None


def storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _unstorable(value, path: str) -> list[str]:
    """The paths ("custom.notes", "emails.0") of the texts in a JSON value that cannot be
    stored; a key that cannot be is reported at its object."""
    if isinstance(value, str):
        return [] if storable(value) else [path or "_"]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unstorable(item, _join(path, i))]
    if isinstance(value, dict):
        return [p for key, item in value.items()
                for p in ([path or "_"] if not storable(key) else
                          _unstorable(item, _join(path, key)))]
    return []


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)
