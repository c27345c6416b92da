"""The OpenAPI document as this installation is now: its custom fields and its terms.

flask-smorest builds the paths and schemas from the code once; each request for the
document then fills in what administrators change at run time: the ``custom`` object of
each record type from the field definitions (with the same marshmallow fields that
validate the values) and the tags' descriptions from the terms.
"""

from __future__ import annotations

import copy

from core import fields
from core.terms import term, upper_first
from core.web.db import db
from core.web.i18n import current_locale

# Component schema name (or its start: the partial schema of updates is "Organisation1")
# -> record type whose custom fields it carries.
CUSTOM_OF = {"Organisation": "organisation", "Person": "person", "Case": "case"}
TAGS = {"organizations": "core.organisation", "people": "core.person", "cases": "core.case",
        "processes": "core.process", "approvals": "core.approval"}


def document(api) -> dict:
    spec = copy.deepcopy(api.spec.to_dict())
    components = spec.get("components", {}).get("schemas", {})
    for name, schema in components.items():
        record_type = next((t for prefix, t in CUSTOM_OF.items() if name.startswith(prefix)
                            and "Page" not in name), None)
        if record_type and "custom" in schema.get("properties", {}):
            schema["properties"]["custom"] = custom_schema(api, record_type)
    _untag(spec)
    for tag in spec.get("tags", []):
        if tag["name"] in TAGS:
            tag["description"] = upper_first(term(TAGS[tag["name"]], plural=True))
    return spec


def custom_schema(api, record_type: str) -> dict:
    """The JSON schema of ``custom`` for ``record_type``, from its definitions."""
    locale = current_locale()
    defs = [d for d in fields.definitions(db(), record_type) if not d.hidden]
    schema = fields.schema(defs, fields.field_types(), mark_required=True)
    found = api.ma_plugin.converter.schema2jsonschema(schema)
    found["additionalProperties"] = False
    for d in defs:
        prop = found["properties"].setdefault(d.key, {})
        prop["title"] = d.label(locale)
        if d.help(locale):
            prop["description"] = d.help(locale)
        choices = [c["value"] for c in (d.options or {}).get("choices", [])]
        if d.type == "choice":
            prop["enum"] = choices
        if d.type == "multi_choice":
            prop["items"] = {"type": "string", "enum": choices}
        if d.type == "money":
            prop.update({"type": "object", "properties": {
                "amount": {"type": "string", "format": "decimal"},
                "currency": {"type": "string"}}})
        if d.read_only:
            prop["readOnly"] = True
    return found


def _untag(spec: dict) -> None:
    """Blueprints are named "api_<resource>" (the staff pages have a "people" too); the
    document calls the resources by their paths' names."""
    for tag in spec.get("tags", []):
        tag["name"] = tag["name"].removeprefix("api_")
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [t.removeprefix("api_") for t in operation["tags"]]
