"""The portal (extranet): what an organisation's own accounts see.

A portal account is bound to one organisation (``core.models.User``). Its
administrator keeps the organisation's people and ends their memberships there; a
participant sees its own data and the documents made for it. Every record is read
through ``records.get`` with the account as actor, so another organisation's ids
answer 404; what may be changed is decided by ``core.permissions`` (``_portal_require``).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import exists, or_

from core import attachments, documents, filters, memberships, people, records
from core.errors import ValidationError
from core.models import Attachment, Document, Membership, Organisation, Person
from core.web.attachments import send_attachment
from core.web.db import db
from core.web.forms import Outcome, commit_or_flash, fields_from_form, lines, save
from core.web.people import _by_list_field

bp = Blueprint("portal", __name__, url_prefix="/portal")
PERSON_FIELDS = ("first_name", "last_name")
LIST_SIZE = 200


@login_required
def accounts_only():
    """Staff have their own pages; the portal is for an organisation's accounts. Guards
    the plugins' portal pages too (kartoteka_register_portal_blueprints)."""
    if not current_user.is_portal:
        abort(404)
    return None


bp.before_request(accounts_only)


def current_organisation() -> Organisation:
    """The account's organisation, for the core's and the plugins' portal pages."""
    found = records.get(db(), Organisation, current_user.organisation_id or 0, current_user)
    if found is None:  # its organisation is in the bin: nothing to show
        abort(404)
    return found


def _admin_only() -> None:
    if not current_user.portal_admin:
        abort(404)


def _person(record_id: int) -> Person:
    found = records.get(db(), Person, record_id, current_user)
    if found is None:
        abort(404)
    return found


def _own_memberships(person: Person) -> list[Membership]:
    """The person's memberships in this organisation only: others are not the portal's."""
    return [m for m in memberships.history(db(), person=person)
            if m.organisation_id == current_user.organisation_id]


@bp.get("/")
def index():
    return render_template("core/portal/home.html", organisation=current_organisation())


@bp.get("/people")
def people_list():
    _admin_only()
    session, q = db(), request.args.get("q", "").strip()
    former = request.args.get("former") == "1"
    query = records.visible(Person, current_user).where(_member(former))
    if q:
        query = filters.apply(query, Person, {"and": [
            {"field": "name", "op": "contains", "value": q}]}, current_user)
    query = query.order_by(Person.last_name, Person.first_name, Person.id).limit(LIST_SIZE)
    rows = session.scalars(query).all()
    return render_template("core/portal/people.html", rows=rows, q=q, former=former,
                           organisation=current_organisation(), limit=LIST_SIZE)


def _member(former: bool):
    """People whose membership here goes on (``former``: those whose every one ended)."""
    today = date.today()
    current = exists().where(Membership.person_id == Person.id,
                             Membership.organisation_id == current_user.organisation_id,
                             or_(Membership.end_date.is_(None), Membership.end_date >= today))
    return ~current if former else current


@bp.get("/people/<int:record_id>")
def person(record_id: int):
    _admin_only()
    found = _person(record_id)
    return render_template("core/portal/person.html", person=found,
                           history=_own_memberships(found), today=date.today())


@bp.route("/people/new", methods=["GET", "POST"])
def new_person():
    _admin_only()
    return _form(None)


@bp.route("/people/<int:record_id>/edit", methods=["GET", "POST"])
def edit_person(record_id: int):
    _admin_only()
    return _form(_person(record_id))


def _form(person: Person | None):
    session, outcome = db(), Outcome()
    values = _saved_values(person) if person is not None else {}
    if request.method == "POST":
        values = {**fields_from_form(PERSON_FIELDS), "role": request.form.get("role", ""),
                  "emails": request.form.get("emails", ""),
                  "phones": request.form.get("phones", "")}
        data = {**fields_from_form(PERSON_FIELDS), "emails": lines("emails"),
                "phones": lines("phones")}

        def write(allow, version):
            if person is not None:
                return people.update(session, person, data, current_user, allow,
                                     expected_version=version)
            return _add(session, data, values["role"], allow)

        outcome = save(session, write)
        if outcome.record is not None:
            flash(_("Saved."))
            return redirect(url_for("portal.person", record_id=outcome.record.id))
        if outcome.conflict:
            values = _saved_values(session.merge(person))
    return render_template("core/portal/person_form.html", person=person, values=values,
                           errors=_by_list_field(outcome.errors),
                           candidates=outcome.candidates)


def _add(session, data: dict, role: str, allow_duplicates: bool) -> Person:
    """A new person joins the organisation at once: the portal has no one else's."""
    errors = {}
    try:
        added = people.create(session, data, current_user, allow_duplicates)
    except ValidationError as exc:
        errors, added = exc.errors, None
    if len(role.strip()) > 150:  # reported with the person's own problems
        errors["role"] = _("At most %(n)d characters.", n=150)
    if errors:
        raise ValidationError(errors)
    memberships.join(session, added, current_organisation(), role, date.today(),
                     actor=current_user)
    return added


def _saved_values(person: Person) -> dict:
    return {"first_name": person.first_name, "last_name": person.last_name,
            "emails": "\n".join(person.contact_values("email")),
            "phones": "\n".join(person.contact_values("phone"))}


@bp.post("/people/<int:record_id>/memberships/<int:membership_id>/end")
def end_membership(record_id: int, membership_id: int):
    _admin_only()
    session, found = db(), _person(record_id)
    membership = session.get(Membership, membership_id)
    if membership is None or membership.person_id != found.id \
            or membership.organisation_id != current_user.organisation_id:
        abort(404)

    def leave() -> date:
        on = _date(request.form.get("on"))
        memberships.leave(session, membership, on, current_user)
        return on

    on = commit_or_flash(session, leave)
    if on is not None:
        flash(_("%(name)s leaves %(organisation)s; the last day is %(day)s.",
                name=found.full_name, organisation=membership.organisation.name,
                day=format_date(on)))
    return redirect(url_for("portal.person", record_id=record_id))


def _date(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"on": _("Enter the date as YYYY-MM-DD.")}) from None


@bp.get("/me")
def my_data():
    me = current_person()
    return render_template("core/portal/me.html", person=me,
                           history=_own_memberships(me) if me is not None else [])


@bp.get("/documents")
def my_documents():
    me = current_person()
    return render_template("core/portal/documents.html", person=me,
                           documents=_documents_of(me) if me is not None else [])


@bp.get("/documents/<int:document_id>")
def download(document_id: int):
    """One of the account's own documents; anyone else's, or none, answers 404."""
    me = current_person()
    document = db().get(Document, document_id)
    if me is None or document is None or document not in _documents_of(me):
        abort(404)
    attachment = db().get(Attachment, document.attachment_id)
    return send_attachment(attachment)


def current_person() -> Person | None:
    """The person the account stands for, if it stands for one in its organisation."""
    if current_user.person_id is None:
        return None
    return records.get(db(), Person, current_user.person_id, current_user)



def _documents_of(person: Person) -> list[Document]:
    """Documents made for the person whose file is still there."""
    session = db()
    made = documents.for_record(session, person, current_user)
    files = {a.id for a in attachments.list_for(session, person)}
    return [d for d in made if d.attachment_id in files]
