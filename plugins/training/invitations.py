"""Invitations (TR-2): member units chosen with the one filter language (a saved segment
of organisations, or a filter on region, type, town...; and, if asked, how far their
town lies from the venue's and whether they sent anyone to a training before) have
their current people invited.

Each person is put on the training's list as invited, with the unit that employs them,
and sent the personalised invitation ``training.invitation`` in one service mailing
about the training, so each message is on the person's timeline and the training's,
and the mailing's page shows who got it. A training closed to chosen units becomes
open to the units invited (TR-4). Inviting again reaches only those not on the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core import filters, mailing, permissions, places, records, segments, validation
from core.errors import Forbidden, ValidationError
from core.models import Case, Mailing, Membership, Organisation, OutboxMessage, Person
from core.terms import term, upper_first
from plugins.training import enrolments
from plugins.training.models import Enrolment, OpenTo, Venue

PHASES = ("invitations", "enrolment_open")
TEMPLATE = "training.invitation"
PARTICIPATION = {"": _l("whether or not they sent anyone before"),
                 "attended": _l("units whose people attended a training before"),
                 "never": _l("units whose people never attended a training")}
MAX_KM = 1000


class InvitationSchema(Schema):
    class Meta:
        unknown = RAISE

    segment_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validation.an_id())
    filter = fields.Dict(load_default=None, allow_none=True)
    participation = fields.String(load_default="", validate=validate.OneOf(
        list(PARTICIPATION), error=_l("Choose one of the offered options.")))
    role = fields.String(load_default="", validate=validation.max_length(100))
    within_km = fields.Float(load_default=None, allow_none=True, validate=validate.Range(
        min=1, max=MAX_KM, error=_l("Give a distance from 1 to 1000 km.")))
    template = fields.String(load_default=TEMPLATE, validate=validation.max_length(64))


@dataclass
class Invitees:
    """Who an invitation would reach: the units chosen and their people not yet on the
    list, as (person id, unit id)."""

    units: list[int]
    people: list[tuple[int, int]]
    on_the_list: int  # people of those units already invited or enrolled


def invitees(session: Session, case: Case, data: dict, actor=None) -> Invitees:
    """Whom ``data`` chooses, read without writing (the form's preview)."""
    values, errors = validation.load_collecting(InvitationSchema(), data)
    if not errors:
        units = _units(session, case, values, actor, errors)
    if errors:
        raise ValidationError(errors)
    members = session.execute(
        records.visible(Person, actor).with_only_columns(Person.id, Membership.organisation_id)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.organisation_id.in_(units), _current(),
               *([filters.folded(Membership.role).contains(values["role"].strip().lower(),
                                                           autoescape=True)]
                 if values["role"].strip() else []))
        .order_by(Person.id, Membership.organisation_id)).all()
    listed = set(session.scalars(select(Enrolment.person_id).where(
        Enrolment.case_id == case.id)))
    chosen = dict((p, o) for p, o in reversed(members))  # one unit each: the first
    new = [(p, o) for p, o in sorted(chosen.items()) if p not in listed]
    return Invitees(units, new, len(chosen) - len(new))


def invite(session: Session, case: Case, data: dict, actor) -> tuple[Mailing, Invitees]:
    """Put the chosen people on the list as invited and send them the invitation."""
    _may_invite(session, case, actor)
    found = invitees(session, case, data, actor)
    if not found.people:
        raise ValidationError({"segment_id": _(
            "Nobody new to invite: the chosen %(units)s have no current people who are "
            "not on the list already.", units=term("training.member_unit", plural=True))})
    if len(found.people) > mailing.MAX_PEOPLE:
        raise ValidationError({"segment_id": _(
            "At most %(n)d people at once; choose fewer %(units)s.", n=mailing.MAX_PEOPLE,
            units=term("training.member_unit", plural=True))})
    people = {p.id: p for p in session.scalars(select(Person).where(
        Person.id.in_([p for p, _o in found.people])))}
    for person_id, unit_id in found.people:
        enrolments.invite(session, case, people[person_id], actor, organisation_id=unit_id)
    _open_to(session, case, set(found.units))
    sent = mailing.create(session, {
        "name": f"{term('training.invitation')}: {case.title}"[:200],
        "template": (data or {}).get("template") or TEMPLATE, "kind": "service",
        "audience": "people", "person_ids": [p for p, _o in found.people],
        "case_id": case.id}, actor)
    mailing.send(session, sent, actor)
    return sent, found


def sent_for(session: Session, case: Case) -> list[Mailing]:
    """The invitation mailings of the training, newest first."""
    return list(session.scalars(select(Mailing).where(
        Mailing.case_id == case.id, Mailing.audience == "people")
        .order_by(Mailing.id.desc())))


def reached(session: Session, case: Case) -> dict[int, str]:
    """Person id -> what became of the last invitation they were sent to the training
    (an outbox state: queued, sent, failed...)."""
    rows = session.execute(select(OutboxMessage.person_id, OutboxMessage.state)
                           .join(Mailing, Mailing.id == OutboxMessage.mailing_id)
                           .where(Mailing.case_id == case.id, Mailing.audience == "people")
                           .order_by(OutboxMessage.id)).all()
    return dict(rows)  # the last one wins


def _units(session: Session, case: Case, values: dict, actor, errors: dict) -> list[int]:
    if values["segment_id"] is None and values["filter"] is None \
            and values["within_km"] is None:
        errors["segment_id"] = _(
            "Choose a saved segment of %(units)s, a distance from the %(venue)s or a filter.",
            units=term("training.member_unit", plural=True),
            venue=term("training.venue", case="gen"))
        return []
    query = records.visible(Organisation, actor)
    if values["segment_id"] is not None:
        segment = segments.get(session, values["segment_id"], actor)
        if segment is None or segment.record_type != "organisation":
            errors["segment_id"] = _("Choose a saved segment of %(units)s.",
                                     units=term("training.member_unit", plural=True))
            return []
        query = segments.members(session, segment, actor)
    if values["filter"] is not None:
        try:
            query = filters.apply(query, Organisation, values["filter"], actor)
        except ValidationError as exc:
            errors.update(exc.errors)
            return []
    if values["within_km"] is not None:
        town = _venue_town(session, case, errors)
        if town is None:
            return []
        query = query.where(places.near(Organisation.city, Organisation.country, {
            "town": town, "km": values["within_km"]}, "within_km"))
    attended = exists().where(Enrolment.organisation_id == Organisation.id,
                              Enrolment.status == "attended")
    if values["participation"] == "attended":
        query = query.where(attended)
    elif values["participation"] == "never":
        query = query.where(~attended)
    return list(session.scalars(query.with_only_columns(Organisation.id)))


def venue_of(session: Session, case: Case) -> Venue | None:
    venue_id = (case.custom or {}).get("training_venue")
    return session.get(Venue, venue_id) if isinstance(venue_id, int) else None


def _venue_town(session: Session, case: Case, errors: dict) -> str | None:
    """The venue's town, when the gazetteer knows where it lies."""
    venue = venue_of(session, case)
    if venue is None or not venue.city.strip():
        errors["within_km"] = _("%(training)s: no %(venue)s with a town is chosen yet, so "
                                "there is nothing to measure the distance from.",
                                training=upper_first(term("training.training")),
                                venue=term("training.venue", case="gen"))
    elif places.find(session, venue.city) is None:
        errors["within_km"] = _(
            "The town %(town)s is not in the list of places, so distances from it are not "
            "known. An administrator loads the list with: kartoteka places load.",
            town=venue.city) if not places.count(session) else _(
            "The town %(town)s is not in the list of places, so distances from it are not "
            "known; correct the town of the %(venue)s.", town=venue.city,
            venue=term("training.venue", case="gen"))
    else:
        return venue.city
    return None


def _current():
    today = date.today()
    return or_(Membership.end_date.is_(None), Membership.end_date >= today)


def _may_invite(session: Session, case: Case, actor) -> None:
    if not permissions.can(actor, "training.manage"):
        raise Forbidden(_("You may not send invitations to trainings."))
    if not permissions.can(actor, mailing.PERMISSION):
        raise Forbidden(_("Invitations are mailings: sending them needs the permission to "
                          "send mailings."))
    if case.phase_key not in PHASES:
        raise ValidationError({"case_id": _(
            "Invitations go out while the training is in the invitations phase or open "
            "for enrolment.")})


def _open_to(session: Session, case: Case, unit_ids: set[int]) -> None:
    """A closed training is open to the units invited to it, those whose people were
    on the list already too."""
    if (case.custom or {}).get("training_visibility") != "closed":
        return
    known = set(session.scalars(select(OpenTo.organisation_id).where(
        OpenTo.case_id == case.id)))
    session.add_all(OpenTo(case_id=case.id, organisation_id=o) for o in unit_ids - known)
    session.flush()
