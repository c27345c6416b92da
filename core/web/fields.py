"""Administrators' custom-field pages: the fields of each record type, adding and
changing one, converting its type, deleting it (its values are archived) and restoring.

Every change goes through ``core.field_definitions``, which keeps records valid and
reports problems per input; these pages show them next to the input they are about.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from core import field_definitions, filters
from core.errors import ValidationError
from core.field_definitions import ChangeRefused
from core.field_sql import CustomValue
from core.fields import extensible, field_types, process_name
from core.fieldtypes import choice_labels
from core.models import FieldDefinition
from core.terms import term
from core.web import field_form
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_flash
from core.web.i18n import current_locale

bp = Blueprint("fields", __name__, url_prefix="/admin/fields")
# Where a record of each type is shown, for links from the type-change report.
CARDS = {"organisation": "organisations.card", "person": "people.card"}
ALL_SETTINGS = ("choices", *field_form.OPTION_INPUTS)


@dataclass(frozen=True)
class Section:
    """The fields of one record type on the list page."""

    record_type: str
    noun: str
    active: list
    archived: list


@bp.get("/")
@permission_required("core.manage_fields")
def index():
    rows = db().scalars(select(FieldDefinition).order_by(
        FieldDefinition.group, FieldDefinition.position, FieldDefinition.id)).all()
    sections = [Section(key, noun(key), [r for r in rows if r.record_type == key
                                         and r.archived_at is None],
                        [r for r in rows if r.record_type == key and r.archived_at is not None])
                for key in record_types()]
    return render_template("core/admin/fields.html", sections=sections,
                           type_label=type_label, role_names=role_names, label_of=label_of,
                           process_names=process_names)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("core.manage_fields")
def new():
    session, errors = db(), {}
    values = {**field_form.stored_values(_blank()),
              "record_type": request.args.get("record_type", "organisation")}
    if request.method == "POST":
        values = field_form.posted_values()
        data = {"record_type": values["record_type"], "key": values["key"].strip(),
                "type": values["type"], **field_form.data_of(values, values["type"])}
        try:
            row = field_definitions.create(session, data, current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = field_form.placed(exc.errors)
        else:
            flash(_("Field “%(label)s” added.", label=label_of(row)))
            return redirect(url_for("fields.index"))
    return render_template("core/admin/fields_form.html", row=None, values=values,
                           errors=errors, removed=[], kept=[], old_labels={},
                           settings=ALL_SETTINGS, **_choices_of_form(values["processes"]))


@bp.route("/<int:field_id>/edit", methods=["GET", "POST"])
@permission_required("core.manage_fields")
def edit(field_id: int):
    session, errors, removed = db(), {}, []
    row = _row(field_id)
    values = field_form.stored_values(row)
    if request.method == "POST":
        values = field_form.posted_values()
        removed = field_form.removed_choices(row, values)
        try:
            field_definitions.change(session, row, field_form.data_of(values, row.type),
                                     current_user,
                                     replacements=field_form.replacements(removed))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = field_form.placed(exc.errors)
        else:
            flash(_("Saved."))
            return redirect(url_for("fields.index"))
    kept = [(c["value"], c["label"]) for c in _labelled(values["choices"])
            if c["value"] not in removed]
    return render_template("core/admin/fields_form.html", row=row, values=values,
                           errors=errors, removed=removed if errors else [], kept=kept,
                           old_labels=choice_labels(row, current_locale()),
                           settings=_settings_of(row.type),
                           **_choices_of_form([*values["processes"],
                                               *(row.options or {}).get("processes", [])]))


@bp.route("/<int:field_id>/type", methods=["GET", "POST"])
@permission_required("core.manage_fields")
def change_type(field_id: int):
    session, row = db(), _row(field_id)
    values = {**field_form.stored_values(row), "type": ""}
    result = {"errors": {}, "checked": None, "problems": [], "total": 0}
    if request.method == "POST":
        values = {**field_form.posted_values(), "type": request.form.get("type", "")}
        options = {"in_list": bool((row.options or {}).get("in_list")),
                   **field_form.options_of(values, values["type"])}
        converting = request.form.get("action") == "convert"
        try:
            count = field_definitions.change_type(session, row, values["type"], current_user,
                                                  options=options, dry_run=not converting)
        except ChangeRefused as exc:
            session.rollback()
            result.update(errors=field_form.placed(exc.errors), total=exc.total,
                          problems=[_problem_line(row, p) for p in exc.problems])
        except ValidationError as exc:
            session.rollback()
            result["errors"] = field_form.placed(exc.errors)
        else:
            if converting:
                session.commit()
                flash(ngettext("Type changed; %(num)d value converted.",
                               "Type changed; %(num)d values converted.", count))
                return redirect(url_for("fields.index"))
            session.rollback()
            result["checked"] = count
    types = [(k, label) for k, label in _type_options() if k != row.type]
    return render_template("core/admin/fields_type.html", row=row, values=values,
                           types=types, type_label=type_label, **result,
                           settings=ALL_SETTINGS, **_choices_of_form())


@bp.route("/<int:field_id>/delete", methods=["GET", "POST"])
@permission_required("core.manage_fields")
def delete(field_id: int):
    session, row = db(), _row(field_id)
    if row.archived_at is not None:
        return redirect(url_for("fields.index"))
    if request.method == "GET":
        return render_template("core/admin/fields_delete.html", row=row,
                               count=value_count(session, row), label_of=label_of)
    moved = commit_or_flash(session, lambda: field_definitions.archive(session, row,
                                                                     current_user))
    if moved is not None:
        flash(ngettext("Field deleted; %(num)d value archived. Restore the field to bring "
                       "it back.", "Field deleted; %(num)d values archived. Restore the "
                       "field to bring them back.", moved))
    return redirect(url_for("fields.index"))


@bp.post("/<int:field_id>/restore")
@permission_required("core.manage_fields")
def restore(field_id: int):
    session, row = db(), _row(field_id)
    count = commit_or_flash(session, lambda: field_definitions.restore(session, row,
                                                                     current_user))
    if count is not None:
        flash(ngettext("Field restored with %(num)d value.",
                       "Field restored with %(num)d values.", count))
    return redirect(url_for("fields.index"))


# ------------------------------------------------------------------ what the pages show


def record_types() -> list[str]:
    """The record types that take custom fields: organisations and people first."""
    first = [k for k in ("organisation", "person") if k in extensible()]
    return first + sorted((k for k in extensible() if k not in first), key=noun)


def noun(record_type: str) -> str:
    """"Organisations" for "organisation", in the installation's terms."""
    return term(filters.TERMS.get(record_type, f"core.{record_type}"), plural=True)


def label_of(row: FieldDefinition) -> str:
    return row.label_pl if current_locale() == "pl" else row.label_en or row.label_pl


def type_label(key: str) -> str:
    kind = field_types().get(key)
    return kind.label(current_locale()) if kind else key


def process_names(row: FieldDefinition) -> str:
    """The processes a case field is limited to, by name; empty: every process."""
    return ", ".join(process_name(k) for k in (row.options or {}).get("processes") or ())


def role_names(keys) -> str:
    names = field_form.role_options()
    return ", ".join(str(names.get(k, k)) for k in keys)


def value_count(session, row: FieldDefinition) -> int:
    """How many records (those in the bin too) hold a value of the field."""
    model = extensible().get(row.record_type)
    if model is None:
        return 0
    return session.scalar(select(func.count()).select_from(model).where(
        CustomValue(model.custom, row.key, "text").is_not(None))) or 0


@dataclass(frozen=True)
class ProblemLine:
    """A record whose value would not convert: its name, card and value as stored."""

    name: str
    url: str | None
    value: str


def _problem_line(row: FieldDefinition, problem) -> ProblemLine:
    endpoint = CARDS.get(row.record_type)
    url = url_for(endpoint, record_id=problem.record_id) if endpoint else None
    value = problem.value
    shown = ", ".join(map(str, value)) if isinstance(value, list) else \
        " ".join(str(v) for v in value.values()) if isinstance(value, dict) else str(value)
    return ProblemLine(problem.name, url, shown)


def _row(field_id: int) -> FieldDefinition:
    row = db().get(FieldDefinition, field_id)
    if row is None:
        abort(404)
    return row


def _blank() -> FieldDefinition:
    """A definition not yet saved, for the empty form."""
    return FieldDefinition(record_type="", key="", type="text", label_pl="", label_en="",
                           help_pl="", help_en="", group="", position=0, required=False,
                           default=None, read_only=False, hidden=False, options={},
                           view_roles=[], edit_roles=[], indexed=False)


def _settings_of(type_key: str) -> tuple[str, ...]:
    kind = field_types().get(type_key)
    return kind.options if kind else ()


def _type_options() -> list[tuple[str, str]]:
    return sorted(((k, t.label(current_locale())) for k, t in field_types().items()),
                  key=lambda kv: kv[1].lower())


def _choices_of_form(processes=()) -> dict:
    """The lists the definition form picks from (with ``processes`` the field is for,
    enabled or not)."""
    types = _type_options()
    used_by = {name: ", ".join(label for k, label in types if name in field_types()[k].options)
               for name in ALL_SETTINGS}
    return {"record_types": [(k, noun(k)) for k in record_types()], "type_options": types,
            "label_of": label_of, "roles": field_form.role_options(), "used_by": used_by,
            "processes": field_form.process_options(processes)}


def _labelled(text: str) -> list[dict]:
    locale = current_locale()
    return [{"value": c["value"], "label": c[f"label_{locale}"] or c["label_pl"] or c["value"]}
            for c in field_form.parse_choices(text)]
