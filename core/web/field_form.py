"""The administrator's form of a custom field definition: what it shows, and what it
sends to ``core.field_definitions``.

Choices are typed one per line as "value | Polish label | English label". The service
keys its messages by the definition's structure ("options.choices.0.value",
"view_roles.1"); ``placed`` puts each next to the input it is about.
"""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

from core.fields import field_types
from core.fieldtypes import choice_values
from core.web.forms import optional_int

ADMINS = _l("Administrators")
TEXTS = ("record_type", "key", "type", "label_pl", "label_en", "help_pl", "help_en", "group",
         "position", "default", "choices", "target", "currency", "places", "min", "max")
FLAGS = ("required", "read_only", "hidden", "indexed", "in_list")
LISTS = ("view_roles", "edit_roles", "processes")
# Type settings typed in one input each; "choices" has its own textarea.
OPTION_INPUTS = ("target", "currency", "places", "min", "max")
INPUTS = set(TEXTS) | set(FLAGS) | set(LISTS) | {"replacements"}


def process_options(chosen=()) -> dict:
    """Process key -> name for the "for which processes" boxes; a process the field is
    for whose plugin is not enabled now is offered by its key, so that it stays."""
    from flask import current_app

    from core.fields import process_name

    host = current_app.extensions["kartoteka"].host
    keys = list(host.processes) + [k for k in chosen if k not in host.processes]
    return {key: process_name(key, host) for key in keys}


def role_options() -> dict:
    """Role key -> name for the "who may see / change it" boxes."""
    from core import roles
    from core.web.db import db

    return {"admin": ADMINS, **{r.key: r.name for r in roles.all_roles(db())}}


def stored_values(row) -> dict:
    """What the form shows for a saved definition."""
    options = row.options or {}
    values = {name: getattr(row, name) for name in ("record_type", "key", "type", "label_pl",
                                                    "label_en", "help_pl", "help_en", "group")}
    values.update({name: getattr(row, name) for name in FLAGS if name != "in_list"})
    values.update(position=str(row.position), default=_as_text(row.default),
                  in_list=bool(options.get("in_list")), choices=choices_text(options),
                  view_roles=list(row.view_roles or ()), edit_roles=list(row.edit_roles or ()),
                  processes=list(options.get("processes") or ()))
    values.update({name: _as_text(options.get(name)) for name in OPTION_INPUTS})
    return values


def posted_values() -> dict:
    """The form as the administrator typed it, to send and, if refused, to show again."""
    values = {name: request.form.get(name, "") for name in TEXTS}
    values.update({name: request.form.get(name) == "1" for name in FLAGS})
    values.update({name: request.form.getlist(name) for name in LISTS})
    return values


def data_of(values: dict, type_key: str) -> dict:
    """The service's data from the form's values (record type, key and type apart)."""
    position = optional_int(values["position"])
    return {
        **{name: values[name] for name in ("label_pl", "label_en", "help_pl", "help_en")},
        "group": values["group"].strip(),
        "position": 0 if position is None else position,
        "default": values["default"].strip() or None,
        **{name: values[name] for name in FLAGS if name != "in_list"},
        "view_roles": values["view_roles"], "edit_roles": values["edit_roles"],
        "options": {"in_list": values["in_list"], "processes": values["processes"],
                    **options_of(values, type_key)},
    }


def options_of(values: dict, type_key: str) -> dict:
    """The settings the type takes; inputs left empty are not sent, so the service's
    defaults (currency PLN, two decimal places) apply."""
    kind = field_types().get(type_key)
    wanted = kind.options if kind else ()
    found: dict = {}
    if "choices" in wanted:
        found["choices"] = parse_choices(values["choices"])
    for name in OPTION_INPUTS:
        text = values[name].strip()
        if name in wanted and text:
            found[name] = text.upper() if name == "currency" else \
                text.replace(",", ".") if name in ("min", "max") else text
    return found


def parse_choices(text: str) -> list[dict]:
    """"value | Polish label | English label" lines; the labels may be left out."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|", 2)] + ["", ""]
        found.append({"value": parts[0], "label_pl": parts[1], "label_en": parts[2]})
    return found


def choices_text(options: dict) -> str:
    """The choices as typed, without the labels that only repeat what precedes them
    (the service fills them in the same way)."""
    lines = []
    for choice in options.get("choices", []):
        value, polish = choice["value"], choice.get("label_pl") or choice["value"]
        english = choice.get("label_en") or polish
        parts = [value, polish, english] if english != polish else \
            [value, polish] if polish != value else [value]
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def removed_choices(row, values: dict) -> list[str]:
    """Choices the row has that the posted list leaves out."""
    kept = {c["value"] for c in parse_choices(values["choices"])}
    return [value for value in choice_values(row) if value not in kept]


def replacements(removed: list[str]) -> dict[str, str]:
    """The choice picked for each removed one ("replace with"), where one was picked."""
    picked = {value: request.form.get(f"replace.{value}", "") for value in removed}
    return {old: new for old, new in picked.items() if new}


def placed(errors: dict[str, str]) -> dict[str, str]:
    """The service's messages keyed by the form input they are about; "_" for the rest."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        name = key.removeprefix("options.").split(".")[0]
        shown.setdefault(name if name in INPUTS else "_", message)
    return shown


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("amount", ""))
    return str(value)
