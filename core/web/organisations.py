"""Staff pages for organisations: list, card, create, edit, delete and restore."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import attachments, memberships, organisations, records, tags, tasks
from core.db import utcnow
from core.errors import ValidationError
from core.models import Organisation
from core.terms import term
from core.web import activities, bulk_actions, exports, list_columns, record_fields
from core.web import cases as web_cases
from core.web.db import db
from core.web.documents import card_section
from core.web.forms import Outcome, commit_or_flash, fields_from_form, optional_int, save
from core.web.i18n import current_locale
from core.web.listing import filtered, shown_list, users_by_id
from core.web.panels import record_panels

bp = Blueprint("organisations", __name__, url_prefix="/organisations")
FIELDS = ("name", "short_name", "type_key", "nip", "regon", "krs", "email", "phone", "website",
          "street", "postal_code", "city", "region", "notes", "owner_id")


def _host():
    return current_app.extensions["kartoteka"].host


def _get(record_id: int, include_deleted: bool = False) -> Organisation:
    found = records.get(db(), Organisation, record_id, current_user, include_deleted)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@login_required
def index():
    session = db()
    return render_template("core/organisations/list.html",
                           **shown_list(session, Organisation, ("type_key",)),
                           types=organisations.types(session, _host()),
                           owner_options=bulk_actions.owner_options("organisation"),
                           can_mail=bulk_actions.can_mail())


@bp.get("/export")
@login_required
def export():
    """The list as shown (search, choices, segment, columns) as a CSV or XLSX file; with
    ``columns=all``, every field."""
    session = db()
    query, _segment, _shown = filtered(session, Organisation, "organisation", ("type_key",))
    return exports.send_export(query, Organisation, "organisation",
                               names=list_columns.exported(session, "organisation"))


@bp.post("/columns")
@login_required
def columns():
    """Keep the columns the person ticked (or the defaults) and show the list again."""
    return list_columns.save_choice("organisation", "organisations.index")


@bp.post("/bulk")
@login_required
def bulk():
    """The list's action bar: tag, untag, give an owner, download or mail the rows ticked."""
    return bulk_actions.run(Organisation, "organisations.index")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _form(None)


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit(record_id: int):
    return _form(_get(record_id))


def _form(organisation: Organisation | None):
    session, outcome = db(), Outcome()
    values = _saved_values(organisation) if organisation else {}
    typed, shown = None, organisation
    if request.method == "POST":
        values = fields_from_form(FIELDS)
        typed = record_fields.posted(session, "organisation")
        data = {**values, "custom": typed}
        if "owner_id" in data:
            data["owner_id"] = optional_int(data["owner_id"])

        def write(allow, version):
            if organisation is None:
                return organisations.create(session, _host(), data, current_user, allow)
            return organisations.update(session, _host(), organisation, data, current_user,
                                        allow, expected_version=version)

        outcome = save(session, write)
        if outcome.record is not None:
            flash(_("Saved."))
            return redirect(url_for("organisations.card", record_id=outcome.record.id))
        if outcome.conflict:
            shown, typed = session.merge(organisation), None
            values = _saved_values(shown)  # what is stored now
    types = organisations.types(session, _host())
    return render_template("core/organisations/form.html", organisation=organisation,
                           values=values, errors=outcome.errors,
                           custom=record_fields.form_groups(session, "organisation", shown,
                                                            typed),
                           candidates=outcome.candidates, type_options=type_options(types))


def _saved_values(organisation: Organisation) -> dict:
    return {f: getattr(organisation, f) or "" for f in FIELDS}


@bp.get("/<int:record_id>")
@login_required
def card(record_id: int):
    session = db()
    organisation = _get(record_id, include_deleted=True)
    include_people = request.args.get("people") == "1"
    return render_template(
        "core/organisations/card.html", organisation=organisation,
        types=organisations.types(session, _host()),
        custom=record_fields.card_groups(session, "organisation", organisation),
        members=memberships.history(session, organisation=organisation),
        **activities.card_timeline(session, organisation, "organisations.card",
                                   include_people=include_people,
                                   keep={"people": "1" if include_people else None},
                                   record_id=organisation.id),
        linked_cases=web_cases.linked(session, organisation),
        include_people=include_people, users=users_by_id(session),
        tags=tags.tags_of(session, organisation),
        attachments=attachments.list_for(session, organisation),
        record_tasks=tasks.for_record(session, organisation, current_user), now=utcnow(),
        panels=record_panels(session, organisation),
        **card_section(session, organisation))


@bp.post("/<int:record_id>/activities")
@login_required
def add_activity(record_id: int):
    back = url_for("organisations.card", record_id=record_id)
    return activities.add_from_form(_get(record_id), back)


@bp.post("/<int:record_id>/tags")
@login_required
def add_tag(record_id: int):
    session, organisation = db(), _get(record_id)
    try:
        tags.tag(session, organisation, request.form.get("tag", ""), current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(exc.errors["tag"], "error")
    return redirect(url_for("organisations.card", record_id=record_id))


@bp.post("/<int:record_id>/delete")
@login_required
def delete(record_id: int):
    session, organisation = db(), _get(record_id)
    if commit_or_flash(session, lambda: records.soft_delete(session, organisation,
                                                            current_user)):
        flash(_("%(what)s moved to the bin; it can be restored.",
                what=term("core.organisation").capitalize()))
    return redirect(url_for("organisations.card", record_id=record_id))


@bp.post("/<int:record_id>/restore")
@login_required
def restore(record_id: int):
    session, organisation = db(), _get(record_id, include_deleted=True)
    if organisation.merged_into_id is not None:
        flash(_("This record was merged into another one; its history is there now."),
              "error")
        return redirect(url_for("organisations.card", record_id=organisation.merged_into_id))
    if commit_or_flash(session, lambda: records.restore(session, organisation, current_user)):
        flash(_("Restored."))
    return redirect(url_for("organisations.card", record_id=record_id))


def type_options(types: dict) -> list[tuple[str, str]]:
    """Types as (key, label) sorted by label, for a select list."""
    locale = current_locale()
    return sorted(((k, t.label(locale)) for k, t in types.items()), key=lambda kv: kv[1])
