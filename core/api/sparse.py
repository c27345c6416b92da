"""``?fields=id,name,custom.size`` on lists: each item with only the fields asked for,
so that a program syncing thousands of records does not carry their notes along.

The list is answered as usual and trimmed afterwards (an ``after_request`` of the API),
so every list that takes the parameter (``schemas.Sparse``) trims the same way. ``id``
always comes; ``custom.<key>`` picks one custom field. A name the items do not have is
refused (422) rather than ignored, so that a typing mistake is not taken for an empty
field.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from marshmallow import fields

from core.api.errors import refused

PARAMETER = "fields"


def trim(response):
    """after_request of the API: a list page's items cut to the fields asked for."""
    wanted = request.args.get(PARAMETER)
    if wanted is None or request.method != "GET" or response.status_code != 200 \
            or not response.is_json:
        return response
    body = response.get_json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return response
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    known = _item_fields()
    unknown = [n for n in names if known is not None and n.split(".", 1)[0] not in known]
    if unknown:
        return refused({PARAMETER: _("Unknown fields: %(names)s.", names=", ".join(unknown))})
    body["items"] = [_only(item, names) for item in body["items"]]
    response.set_data(current_app.json.dumps(body))
    return response


def _only(item: dict, names: list[str]) -> dict:
    kept = {"id": item["id"]} if "id" in item else {}
    for name in names:
        top, _dot, key = name.partition(".")
        if top == "custom" and key:
            custom = item.get("custom") or {}
            if key in custom:
                kept.setdefault("custom", {})[key] = custom[key]
        elif top in item:
            kept[top] = item[top]
    return kept


def _item_fields() -> set[str] | None:
    """The names an item of this route's page has, from its response schema; None if
    the items are free-form (a segment's members, of any record type)."""
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), "get", view)
    answers = getattr(method, "_apidoc", {}).get("response", {}).get("responses", {})
    schema = (answers.get(200) or [{}])[0].get("schema")
    items = getattr(schema, "fields", {}).get("items")
    inner = getattr(items, "inner", None)
    if not isinstance(inner, fields.Nested):
        return None
    return {f.data_key or name for name, f in inner.schema.fields.items() if not f.load_only}
