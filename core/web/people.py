"""Staff pages for people: list, card with memberships and history, create and edit."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import attachments, memberships, people, records, tasks
from core.db import utcnow
from core.errors import ValidationError
from core.models import Membership, Organisation, Person
from core.web import activities, bulk_actions, exports, list_columns, record_fields
from core.web import cases as web_cases
from core.web.db import db
from core.web.documents import card_section
from core.web.forms import Outcome, fields_from_form, form_id, lines, optional_int, save
from core.web.listing import filtered, shown_list, users_by_id
from core.web.panels import record_panels

bp = Blueprint("people", __name__, url_prefix="/people")
FIELDS = ("first_name", "last_name", "pesel", "notes", "owner_id")


def _get(record_id: int, include_deleted: bool = False) -> Person:
    found = records.get(db(), Person, record_id, current_user, include_deleted)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@login_required
def index():
    return render_template("core/people/list.html", **shown_list(db(), Person),
                           owner_options=bulk_actions.owner_options("person"),
                           can_mail=bulk_actions.can_mail())


@bp.get("/export")
@login_required
def export():
    """The list as shown (search, choices, segment, columns) as a CSV or XLSX file; with
    ``columns=all``, every field."""
    session = db()
    query, _segment, _shown = filtered(session, Person, "person")
    return exports.send_export(query, Person, "person",
                               names=list_columns.exported(session, "person"))


@bp.post("/columns")
@login_required
def columns():
    """Keep the columns the person ticked (or the defaults) and show the list again."""
    return list_columns.save_choice("person", "people.index")


@bp.post("/bulk")
@login_required
def bulk():
    """The list's action bar: tag, untag, give an owner, download or mail the rows ticked."""
    return bulk_actions.run(Person, "people.index")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _form(None)


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
@login_required
def edit(record_id: int):
    return _form(_get(record_id))


def _form(person: Person | None):
    session, outcome = db(), Outcome()
    values = _saved_values(person) if person is not None else {}
    typed, shown = None, person
    if request.method == "POST":
        values = {**fields_from_form(FIELDS), "emails": request.form.get("emails", ""),
                  "phones": request.form.get("phones", "")}
        typed = record_fields.posted(session, "person")
        data = {**fields_from_form(FIELDS), "emails": lines("emails"), "phones": lines("phones"),
                "custom": typed}
        if "owner_id" in data:
            data["owner_id"] = optional_int(data["owner_id"])

        def write(allow, version):
            if person is None:
                return people.create(session, data, current_user, allow)
            return people.update(session, person, data, current_user, allow,
                                 expected_version=version)

        outcome = save(session, write)
        if outcome.record is not None:
            flash(_("Saved."))
            return redirect(url_for("people.card", record_id=outcome.record.id))
        if outcome.conflict:
            shown, typed = session.merge(person), None
            values = _saved_values(shown)  # what is stored now
    return render_template("core/people/form.html", person=person, values=values,
                           errors=_by_list_field(outcome.errors),
                           custom=record_fields.form_groups(session, "person", shown, typed),
                           candidates=outcome.candidates)


def _saved_values(person: Person) -> dict:
    values = {f: getattr(person, f) or "" for f in FIELDS}
    values["emails"] = "\n".join(person.contact_values("email"))
    values["phones"] = "\n".join(person.contact_values("phone"))
    return values


def _by_list_field(errors: dict[str, str]) -> dict[str, str]:
    """'emails.1' -> 'emails', so the message shows under the textarea (line 2);
    other keys ("custom.shoe_size") stay as they are."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        field, _dot, index = key.partition(".")
        if index.isdigit():
            message = _("Line %(n)d: %(message)s", n=int(index) + 1, message=message)
        else:
            field = key
        shown.setdefault(field, message)
    return shown


@bp.get("/<int:record_id>")
@login_required
def card(record_id: int):
    session, person = db(), _get(record_id, include_deleted=True)
    return render_template(
        "core/people/card.html", person=person,
        custom=record_fields.card_groups(session, "person", person),
        history=memberships.history(session, person=person),
        **activities.card_timeline(session, person, "people.card", record_id=person.id),
        linked_cases=web_cases.linked(session, person), users=users_by_id(session),
        attachments=attachments.list_for(session, person),
        record_tasks=tasks.for_record(session, person, current_user), now=utcnow(),
        panels=record_panels(session, person),
        **card_section(session, person),
        organisations=session.scalars(records.visible(Organisation, current_user)
                                      .order_by(Organisation.name_key).limit(500)).all())


@bp.post("/<int:record_id>/activities")
@login_required
def add_activity(record_id: int):
    return activities.add_from_form(_get(record_id), url_for("people.card", record_id=record_id))


@bp.post("/<int:record_id>/memberships")
@login_required
def join(record_id: int):
    session, person = db(), _get(record_id)
    organisation = records.get(session, Organisation,
                               form_id(request.form.get("organisation_id")) or 0, current_user)
    if organisation is None:
        flash(_("Choose an organisation from the list."), "error")
        return redirect(url_for("people.card", record_id=record_id))
    start = _date(request.form.get("start_date"))
    if start is None:
        flash(_("Enter the date as YYYY-MM-DD."), "error")
        return redirect(url_for("people.card", record_id=record_id))
    try:
        memberships.join(session, person, organisation, request.form.get("role", ""), start,
                         actor=current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for("people.card", record_id=record_id))


@bp.post("/<int:record_id>/memberships/<int:membership_id>/end")
@login_required
def leave(record_id: int, membership_id: int):
    session, person = db(), _get(record_id)
    membership = session.get(Membership, membership_id)
    if membership is None or membership.person_id != person.id:
        abort(404)
    try:
        role = request.form.get("role")
        on = _date(request.form.get("on"))
        if on is None:
            raise ValidationError({"on": _("Enter the date as YYYY-MM-DD.")})
        if role:
            memberships.move(session, membership, on, role=role, actor=current_user)
        else:
            memberships.leave(session, membership, on, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for("people.card", record_id=record_id))


def _date(value: str | None) -> date | None:
    """A date from a date field; an empty field means today, a malformed one None."""
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
