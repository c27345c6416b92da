"""The OpenAPI document as this installation is now: its custom fields, processes and terms.

flask-smorest builds the paths and schemas from the code once; each request for the
document then fills in what administrators and plugins change: the ``custom`` object of
each record type from the field definitions (with the same marshmallow fields that
validate the values), the processes of the enabled plugins, and the tags' descriptions
from the terms. A disabled plugin's fields, processes and wordings are gone with it.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from flask import current_app

from core import fields
from core.api import idempotency
from core.terms import term, upper_first
from core.web.db import db
from core.web.i18n import current_locale

# Component schema name (or its start: the partial schema of updates is "Organisation1")
# -> record type whose custom fields it carries.
CUSTOM_OF = {"Organisation": "organisation", "Person": "person", "Case": "case"}
TAGS = {"organizations": "core.organisation", "people": "core.person", "cases": "core.case",
        "processes": "core.process", "approvals": "core.approval",
        "activities": "core.activity", "tasks": "core.task", "plugins": "core.plugin"}
PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def document(api) -> dict:
    spec = copy.deepcopy(api.spec.to_dict())
    components = spec.get("components", {}).get("schemas", {})
    for name, schema in components.items():
        record_type = next((t for prefix, t in CUSTOM_OF.items() if name.startswith(prefix)
                            and "Page" not in name), None)
        if record_type and "custom" in schema.get("properties", {}):
            schema["properties"]["custom"] = custom_schema(api, record_type)
    _sparse_items(components)
    _untag(spec)
    enabled = current_app.extensions["kartoteka"].host.plugins
    for tag in spec.get("tags", []):
        if tag["name"] in TAGS:
            tag["description"] = upper_first(term(TAGS[tag["name"]], plural=True))
        elif tag["name"] in enabled:  # a plugin's own resources (/api/v1/<plugin>/...)
            tag["description"] = enabled[tag["name"]].manifest.label(current_locale())
    _processes(spec)
    _problems(spec)
    _if_match(spec)
    idempotency.document(spec)
    return spec


def offered(record_type: str, actor=None) -> list[fields.Definition]:
    """The custom fields the API shows (and so describes): not hidden, of a type this
    installation knows, added by an administrator or by a plugin that is enabled, and,
    for a caller, the ones they may see. A disabled plugin's values are kept, unshown."""
    host = current_app.extensions["kartoteka"].host
    types = fields.field_types(host)
    return [d for d in fields.definitions(db(), record_type)
            if not d.hidden and d.type in types and (not d.source or d.source in host.plugins)
            and (actor is None or fields.may_see(d, actor))]


def custom_schema(api, record_type: str) -> dict:
    """The JSON schema of ``custom`` for ``record_type``, from its definitions."""
    locale = current_locale()
    defs = offered(record_type)
    schema = fields.schema(defs, fields.field_types(), mark_required=True)
    found = api.ma_plugin.converter.schema2jsonschema(schema)
    found["additionalProperties"] = False
    # A field required on one process's cases only is not required of every case.
    scoped = {d.key for d in defs if d.processes}
    if "required" in found:
        found["required"] = [k for k in found["required"] if k not in scoped]
        if not found["required"]:
            del found["required"]
    for d in defs:
        prop = found["properties"].setdefault(d.key, {})
        prop["title"] = d.label(locale)
        if d.help(locale):
            prop["description"] = d.help(locale)
        if d.processes:  # a case of another process refuses a value for it
            prop["x-processes"] = list(d.processes)
            prop["description"] = " ".join(filter(None, (prop.get("description"), (
                "Only on cases of the processes: " + ", ".join(d.processes) + "."), (
                "Required there." if d.required else ""))))
        for bound in ("minimum", "maximum"):  # a Decimal would be written as text
            if isinstance(prop.get(bound), Decimal):
                prop[bound] = float(prop[bound])
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


def _processes(spec: dict) -> None:
    """Name the enabled processes where a process key is asked for."""
    host = current_app.extensions["kartoteka"].host
    keys = sorted(host.processes)
    names = "; ".join(f"{key}: {upper_first(term(host.processes[key].term, plural=True))}"
                      for key in keys)
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        process_key = schema.get("properties", {}).get("process_key")
        if name.startswith("Case") and process_key is not None:
            process_key["description"] = (process_key.get("description", "") +
                                          f" Enabled now: {names or 'none'}.")
    one = next((p for url, p in spec.get("paths", {}).items()
                if url.endswith("/processes/{key}")), {})
    for parameter in one.get("parameters", []):
        if parameter.get("in") == "path" and parameter["name"] == "key":
            parameter["schema"]["enum"] = keys


def _problems(spec: dict) -> None:
    """Every error is a problem (``core.api.errors.problem``): flask-smorest documents its
    own as application/json, and an alt_response given only a description has no body.
    Every route may answer 401 without a valid token, 422 for a text no database can
    store (``core.api.inputs``), and 404 for an id or key that names nothing the caller
    may see."""
    for response in spec.get("components", {}).get("responses", {}).values():
        _as_problem(response)
    for url, path in spec.get("paths", {}).items():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault("401", {"description": "No valid API token was given."})
            responses.setdefault("422", {"description": "A text that cannot be stored (with "
                                                        "a NUL character, say)."})
            if "{" in url:
                responses.setdefault("404", {"description": "Nothing of this id or key "
                                                            "that the caller may see."})
            for status, response in responses.items():
                if status == "default" or status >= "400":
                    _as_problem(response)


def _if_match(spec: dict) -> None:
    """The If-Match header of updates: required where its absence answers 428, optional
    where only a stale one is refused (412)."""
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "412" not in operation.get("responses", {}):
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == "If-Match" for p in parameters):
                parameters.append({
                    "in": "header", "name": "If-Match", "schema": {"type": "string"},
                    "required": "428" in operation["responses"],
                    "description": 'The ETag of the version read, such as "3"; * for any.'})


def _as_problem(response: dict) -> None:
    if "$ref" in response:
        return
    content = response.setdefault("content", {})
    schema = content.pop("application/json", {}).get("schema")
    if schema is not None or not content:
        content[PROBLEM] = {"schema": schema or PROBLEM_REF}


def _sparse_items(components: dict) -> None:
    """A page's items come with only the fields asked for (``?fields=``), so the schema
    of a list's items requires none: "<Item>Item", a copy without ``required``."""
    for name, schema in list(components.items()):
        items = schema.get("properties", {}).get("items", {}).get("items", {})
        ref = items.get("$ref", "")
        if not name.endswith("Page") or not ref:
            continue
        item = ref.rsplit("/", 1)[1]
        relaxed = components.setdefault(f"{item}Item", copy.deepcopy(components[item]))
        relaxed.pop("required", None)
        relaxed.get("properties", {}).get("custom", {}).pop("required", None)
        items["$ref"] = f"#/components/schemas/{item}Item"


def _untag(spec: dict) -> None:
    """Blueprints are named "api_<resource>" (the staff pages have a "people" too); the
    document calls the resources by their paths' names."""
    for tag in spec.get("tags", []):
        tag["name"] = tag["name"].removeprefix("api_")
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [t.removeprefix("api_") for t in operation["tags"]]
