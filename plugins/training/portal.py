"""Trainings on the member units' portal (TR-3, TR-4): the offer open to the account's
unit, a training's page where the unit's administrator enrols and cancels its people
and a participant themselves, and the history of enrolments.

A training is a staff case, not a portal record, so it is found here only when
``enrolments.open_to`` shows it to the account's unit and it is past planning; any
other id answers 404, whether it exists or not. Every write goes through
``enrolments``, where ``core.permissions`` decides again who may put whom on the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, or_, select

from core import attachments, fields, filters, records
from core.errors import ValidationError
from core.menu import MenuItem
from core.models import Attachment, Case, Document, Membership, Person
from core.tasks import local_zone
from core.terms import term
from core.web.attachments import send_attachment
from core.web.db import db
from core.web.forms import commit_or_flash, form_id
from core.web.portal import current_organisation, current_person
from plugins.training import certificates, enrolments
from plugins.training.models import TAKING_A_PLACE, Enrolment, Venue
from plugins.training.process import KEY

# Served at /portal/training/ to the units' portal accounts only (core.web.app).
bp = Blueprint("training_portal", __name__, template_folder="templates")

OFFERED = ("invitations", "enrolment_open")  # during invitations: shown as coming
ON_THE_LIST = (*TAKING_A_PLACE, "waiting")
LIST_SIZE = 200
STATUSES = enrolments.STATUS_LABELS


MENU = [
    MenuItem(
        "training_portal.offers",
        term="training.training",
        area="portal",
        section=("training_portal.offers", "training_portal.training"),
    ),
    MenuItem(
        "training_portal.ours",
        term="training.enrolment",
        area="portal",
        portal_admin=True,
        phrase=_l("Our %(what)s"),
        section=("training_portal.ours",),
    ),
    MenuItem(
        "training_portal.mine",
        term="training.training",
        area="portal",
        phrase=_l("My %(what)s"),
        section=("training_portal.mine",),
    ),
]


@dataclass
class Offer:
    """What the portal tells of a training."""

    case: Case
    starts_at: datetime | None  # in the installation's time zone
    duration: str
    venue: Venue | None
    price: str  # empty: covered by the membership fee
    places_left: int | None  # None: no limit

    @property
    def open(self) -> bool:
        return self.case.phase_key in enrolments.PORTAL_PHASES

    @property
    def full(self) -> bool:
        return self.places_left is not None and self.places_left <= 0


# ---------------------------------------------------------------------------- pages


@bp.get("/")
def offers():
    session = db()
    found = session.scalars(
        select(Case).where(
            Case.process_key == KEY, Case.phase_key.in_(OFFERED), Case.deleted_at.is_(None)
        )
    ).all()
    shown = [_offer(session, case) for case in found if _reachable(session, case)]
    shown.sort(key=lambda o: (o.starts_at is None, o.starts_at or datetime.min, o.case.id))
    return render_template(
        "training/portal_offers.html", offers=shown, organisation=current_organisation()
    )


@bp.get("/<int:case_id>")
def training(case_id: int):
    session, case, me = db(), _training(case_id), current_person()
    context = {
        "offer": _offer(session, case),
        "me": me,
        "statuses": STATUSES,
        "mine": _row(session, case, me) if me is not None else None,
        "files": _files(session, case),
    }
    if current_user.portal_admin:
        q = request.args.get("q", "").strip()
        people = _others(session, case, q)
        context.update(
            listed=_listed(session, case),
            people=people,
            q=q,
            limit=LIST_SIZE,
            rows=_rows(session, case, [p.id for p in people]),
        )
    return render_template("training/portal_training.html", **context)


@bp.get("/mine")
def mine():
    me = current_person()
    rows = _history(db(), Enrolment.person_id == me.id) if me is not None else []
    return render_template("training/portal_mine.html", person=me, rows=rows, statuses=STATUSES)


@bp.get("/ours")
def ours():
    if not current_user.portal_admin:
        abort(404)
    return render_template(
        "training/portal_ours.html",
        rows=_history(db()),
        limit=LIST_SIZE,
        statuses=STATUSES,
        organisation=current_organisation(),
    )


@bp.get("/<int:case_id>/files/<int:attachment_id>")
def material(case_id: int, attachment_id: int):
    """One of the training's files (materials, the programme), for those on its list."""
    session, case = db(), _training(case_id)
    found = next((a for a in _files(session, case) if a.id == attachment_id), None)
    if found is None:
        abort(404)
    return send_attachment(found)


def _files(session, case: Case) -> list[Attachment]:
    """The files the staff uploaded to the training (not the documents made from it,
    which are the association's), shown to the people on its list and to the
    administrator of a unit with someone on it; to others none."""
    mine = Enrolment.person_id == current_user.person_id
    ours = Enrolment.organisation_id == current_user.organisation_id
    on_list = session.scalar(select(exists().where(
        Enrolment.case_id == case.id, Enrolment.status.in_(ON_THE_LIST),
        or_(mine, ours) if current_user.portal_admin else mine)))
    if not on_list:
        return []
    made = set(session.scalars(select(Document.attachment_id).where(
        Document.record_type == "case", Document.record_id == case.id)))
    return [a for a in attachments.list_for(session, case) if a.id not in made]


@bp.get("/certificates/<int:enrolment_id>")
def certificate(enrolment_id: int):
    """A certificate of attendance: one's own, or (the unit's administrator) one of
    someone the unit sent or employs now; anyone else's, a former colleague's, or none,
    answers 404."""
    session = db()
    row = records.get(session, Enrolment, enrolment_id, current_user)
    own = row is not None and row.person_id == current_user.person_id
    ours = row is not None and current_user.portal_admin and (
        row.organisation_id == current_user.organisation_id
        or enrolments.member_now(session, row.person_id, current_user.organisation_id))
    if not (own or ours):
        abort(404)
    document = certificates.of(session, row)
    attachment = session.get(Attachment, document.attachment_id) \
        if document is not None and document.attachment_id else None
    if attachment is None:
        abort(404)
    return send_attachment(attachment)


@bp.post("/<int:case_id>/enrol")
def enrol(case_id: int):
    session, case = db(), _training(case_id)
    person = _chosen(session)
    row = _commit(
        session,
        lambda: enrolments.enrol(
            session,
            case,
            person,
            current_user,
            channel=_channel(person),
            organisation_id=current_user.organisation_id,
        ),
    )
    if row is not None:
        flash(_placed(person, row.status))
    return redirect(url_for(".training", case_id=case.id))


@bp.post("/<int:case_id>/cancel")
def cancel(case_id: int):
    session, case = db(), _training(case_id)
    person = _chosen(session)

    def write():
        row = _row(session, case, person)
        if case.phase_key not in enrolments.PORTAL_PHASES:
            raise ValidationError({"case_id": _("Enrolment for this training is not open.")})
        if row is None or row.status not in ("enrolled", "waiting"):
            raise ValidationError(
                {"person_id": _("%(name)s is not on the list.", name=person.full_name)}
            )
        return enrolments.cancel(session, row, current_user)

    if _commit(session, write) is not None:
        flash(
            _("Your enrolment is cancelled.")
            if _is_me(person)
            else _("The enrolment of %(name)s is cancelled.", name=person.full_name)
        )
    return redirect(url_for(".training", case_id=case.id))


# ------------------------------------------------------------- finding trainings


def _reachable(session, case: Case) -> bool:
    """Whether the account's unit may see the training at all."""
    return (
        case.process_key == KEY
        and case.deleted_at is None
        and case.phase_key != "planning"
        and enrolments.open_to(session, case, current_user.organisation_id)
    )


def _training(case_id: int) -> Case:
    found = db().get(Case, case_id)
    if found is None or not _reachable(db(), found):
        abort(404)
    return found


def _offer(session, case: Case) -> Offer:
    custom, limit = case.custom or {}, enrolments.capacity(case)
    venue_id = custom.get("training_venue")
    return Offer(
        case,
        _starts(case),
        _shown(session, case, "training_duration_hours"),
        session.get(Venue, venue_id) if isinstance(venue_id, int) else None,
        _shown(session, case, "training_price"),
        None if limit is None else max(limit - enrolments.taken(session, case), 0),
    )


def _shown(session, case: Case, key: str) -> str:
    """A field's value as the staff see it on the card ("" when the field is gone)."""
    found = fields.definition(session, "case", key)
    return fields.display(case, found) if found is not None else ""


def _starts(case: Case) -> datetime | None:
    """When the training starts, in the installation's time zone."""
    try:
        value = (case.custom or {}).get("training_starts_at")
        return datetime.fromisoformat(value).astimezone(local_zone())
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------- the unit's people


def _member_now():
    """People whose membership in the account's unit goes on."""
    return exists().where(
        Membership.person_id == Person.id,
        Membership.organisation_id == current_user.organisation_id,
        or_(Membership.end_date.is_(None), Membership.end_date >= date.today()),
    )


def _listed(session, case: Case) -> list[tuple[Enrolment, Person, bool]]:
    """The unit's people on the training's list, and whether each is a current member
    (the administrator may take only those off it)."""
    query = (
        records.visible(Enrolment, current_user)
        .add_columns(Person, _member_now())
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.case_id == case.id, Enrolment.status.in_(ON_THE_LIST))
        .order_by(Enrolment.requested_at, Enrolment.id)
    )
    return [tuple(row) for row in session.execute(query)]


def _others(session, case: Case, q: str) -> list[Person]:
    """The unit's current people not on the list, to enrol."""
    on_list = exists().where(
        Enrolment.case_id == case.id,
        Enrolment.person_id == Person.id,
        Enrolment.status.in_(ON_THE_LIST),
    )
    query = records.visible(Person, current_user).where(_member_now(), ~on_list)
    if q:
        query = filters.apply(
            query, Person, {"and": [{"field": "name", "op": "contains", "value": q}]}, current_user
        )
    query = query.order_by(Person.last_name, Person.first_name, Person.id).limit(LIST_SIZE)
    return list(session.scalars(query))


def _rows(session, case: Case, person_ids: list[int]) -> dict[int, Enrolment]:
    """The rows (invited, cancelled) the training has of these people."""
    found = session.scalars(
        select(Enrolment).where(Enrolment.case_id == case.id, Enrolment.person_id.in_(person_ids))
    )
    return {row.person_id: row for row in found}


def _row(session, case: Case, person: Person) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(Enrolment.case_id == case.id, Enrolment.person_id == person.id)
    )


def _history(session, *where) -> list[tuple[Enrolment, Case, datetime | None, bool, Person]]:
    """Enrolments the account may see, the latest first, each with its training, when
    it starts and whether the unit may open its page (no other training's id is told)."""
    query = (
        records.visible(Enrolment, current_user)
        .add_columns(Case, Person)
        .join(Case, Case.id == Enrolment.case_id)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Case.deleted_at.is_(None), Person.deleted_at.is_(None), *where)
        .order_by(Enrolment.requested_at.desc(), Enrolment.id.desc())
        .limit(LIST_SIZE)
    )
    return [
        (row, case, _starts(case), _reachable(session, case), person)
        for row, case, person in session.execute(query)
    ]


# ----------------------------------------------------------------- enrolling


def _chosen(session) -> Person:
    """The person a form names, else the account's own; someone the unit's portal does
    not know answers 404. Whether this account may enrol them is the services' call."""
    person_id = form_id(request.form.get("person_id")) or current_user.person_id
    found = records.get(session, Person, person_id or 0, current_user)
    if found is None:
        abort(404)
    return found


def _is_me(person: Person) -> bool:
    return person.id == current_user.person_id


def _channel(person: Person) -> str:
    return "self" if _is_me(person) else "portal"


def _commit(session, write):
    """Run ``write()`` and commit, a refusal said in the portal's words."""
    return commit_or_flash(session, write, forbidden=(
        _("Only the current people of your %(what)s can be enrolled or taken off the "
          "list here.", what=term("core.organisation", case="gen"))
        if current_user.portal_admin
        else _("You can enrol or take off the list only yourself.")))


def _placed(person: Person, status: str) -> str:
    if status == "waiting":
        return (
            _("You joined the waiting list.")
            if _is_me(person)
            else _("%(name)s joined the waiting list.", name=person.full_name)
        )
    return (
        _("You got a place.")
        if _is_me(person)
        else _("%(name)s got a place.", name=person.full_name)
    )
