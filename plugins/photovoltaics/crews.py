"""Installation crews (PV-4): the firm's own and its subcontractors', each with its
installers and what they can do. A crew qualifies for a part of an installation when
one of its installers has the skill the part needs (``NEEDED``).

Installers need no account: a subcontractor's people are known by name and phone, and
reach their crew's jobs through the crew's secret calendar URL (``feeds.py``), which
also leads to the form they report a job done with. A leaked URL is replaced with
``rotate_token``; the old one stops working at once.
"""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as Invalid
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core import identifiers, permissions, places, records
from core.errors import Forbidden, ValidationError
from core.models import Organisation, User
from core.validation import an_id, load_collecting, max_length
from core.workflow import localised
from plugins.photovoltaics import job_events
from plugins.photovoltaics.models import Assignment, Crew, CrewMember
from plugins.photovoltaics.process import ELECTRICAL, ROOF

PLAN = "photovoltaics.plan_crews"
SKILLS = {
    "roof": {"pl": "Montaż na dachu", "en": "Roof mounting"},
    "electrical": {"pl": "Uprawnienia elektryczne (SEP)", "en": "Electrical licence (SEP)"},
    "heights": {"pl": "Praca na wysokości", "en": "Work at heights"},
    "storage": {"pl": "Magazyny energii", "en": "Energy storage"},
}
NEEDED = {ROOF: "roof", ELECTRICAL: "electrical"}  # the skill each part of the job needs
MAX_MEMBERS = 50


def skill_name(key: str) -> str:
    return localised(SKILLS[key]) if key in SKILLS else key


class MemberSchema(Schema):
    """An installer: a staff account (``user_id``) or a name and phone."""

    name = fields.String(load_default="", validate=max_length(200),
                         metadata={"description": "Required unless user_id is given."})
    user_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                             metadata={"description": "A staff member with an account."})
    phone = fields.String(load_default="", validate=max_length(30))
    skills = fields.List(fields.String(validate=validate.OneOf(
        list(SKILLS), error=_l("Choose skills from the list."))), load_default=list,
        metadata={"description": f"Any of: {', '.join(SKILLS)}."})
    leader = fields.Boolean(load_default=False, metadata={
        "description": "The crew's leader, whom the office calls; one per crew."})


def _filled(value: str) -> None:
    if not value.strip():
        raise Invalid(_("Enter a name."))


class CrewSchema(Schema):
    name = fields.String(required=True, validate=[max_length(200), _filled],
                         error_messages={"required": _l("Enter a name.")})
    subcontractor_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                      validate=an_id(), metadata={
                                          "description": "The subcontracting firm's "
                                          "organisation; null: the firm's own crew."})
    phone = fields.String(load_default="", validate=max_length(30))
    base_town = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "The town the crew sets out from."})
    notes = fields.String(load_default="", validate=max_length(5000))
    active = fields.Boolean(load_default=True, metadata={
        "description": "False: no longer offered when jobs are planned; its past jobs stay."})
    members = fields.List(fields.Nested(MemberSchema), load_default=list,
                          validate=validate.Length(max=MAX_MEMBERS))


def require(actor) -> None:
    if not permissions.can(actor, PLAN):
        raise Forbidden(_("You may not plan the crews."))


def listed(session: Session, with_retired: bool = False) -> list[Crew]:
    query = select(Crew).where(Crew.deleted_at.is_(None)).options(selectinload(Crew.members))
    if not with_retired:
        query = query.where(Crew.active.is_(True))
    return list(session.scalars(query.order_by(Crew.name, Crew.id)))


def get(session: Session, crew_id) -> Crew | None:
    crew = session.get(Crew, crew_id) if isinstance(crew_id, int) else None
    return crew if crew is not None and crew.deleted_at is None else None


def by_token(session: Session, token: str) -> Crew | None:
    """The active crew whose calendar URL holds ``token``; None for anything else."""
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Crew).where(Crew.feed_token == token, Crew.active.is_(True),
                                             Crew.deleted_at.is_(None)))


def create(session: Session, data: dict, actor=None) -> Crew:
    require(actor)
    values, members = clean(session, data)
    crew = Crew(**values, feed_token=secrets.token_urlsafe(32), members=members)
    return records.create(session, crew, actor,
                          related={"members": (None, _described(members))})


def update(session: Session, crew: Crew, data: dict, actor=None,
           expected_version: int | None = None) -> Crew:
    """Change the crew; the members given replace the crew's list when ``members`` is
    in ``data``."""
    require(actor)
    values, members = clean(session, data, partial=True)
    if values.get("active") is False and crew.active:
        _check_free_to_retire(session, crew)
    related = {}
    if "members" in data:
        related["members"] = (_described(crew.members), _described(members))
    records.update(session, crew, values, actor, expected_version, related=related)
    if "members" in data:
        crew.members = members
        session.flush()
        job_events.follow_members(session, crew, actor)
    return crew


def _check_free_to_retire(session: Session, crew: Crew) -> None:
    """A retired crew's link stops working: its jobs still to do go to others first."""
    open_jobs = session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.crew_id == crew.id, Assignment.reported_at.is_(None)))
    if open_jobs:
        raise ValidationError({"active": ngettext(
            "The crew has %(num)d job still to do: give it to another crew first.",
            "The crew has %(num)d jobs still to do: give them to other crews first.",
            open_jobs)})


def rotate_token(session: Session, crew: Crew, actor=None) -> str:
    """A new secret for the crew's calendar and report links; the old ones stop working."""
    require(actor)
    records.update(session, crew, {"feed_token": secrets.token_urlsafe(32)}, actor)
    return crew.feed_token


def skills_of(crew: Crew) -> set[str]:
    return {skill for member in crew.members for skill in member.skills or ()}


def qualified(crew: Crew, part_process: str) -> bool:
    needed = NEEDED.get(part_process)
    return needed is None or needed in skills_of(crew)


# --- Validation ----------------------------------------------------------------------------

def clean(session: Session, data: dict, partial: bool = False
          ) -> tuple[dict, list[CrewMember]]:
    """The crew's values and its members, or every problem at once by field."""
    values, errors = load_collecting(CrewSchema(), data, partial=partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    _check_subcontractor(session, values, errors)
    _check_phone(values, "phone", errors)
    _check_town(session, values, errors)
    members = _members(session, values.pop("members", []), errors)
    if errors:
        raise ValidationError(errors)
    return values, members


def _check_subcontractor(session: Session, values: dict, errors: dict) -> None:
    found = values.get("subcontractor_id")
    if found is not None:
        firm = session.get(Organisation, found)
        if firm is None or firm.deleted_at is not None:
            errors["subcontractor_id"] = _("Choose an organisation from the list.")


def _check_phone(values: dict, key: str, errors: dict, field: str | None = None) -> None:
    if values.get(key):
        try:
            values[key] = identifiers.normalise("phone", values[key])
        except ValidationError as exc:
            errors[field or key] = next(iter(exc.errors.values()))


def _check_town(session: Session, values: dict, errors: dict) -> None:
    """A town the gazetteer knows, so distances to the jobs can be measured; not checked
    on an installation whose gazetteer was never loaded."""
    town = values.get("base_town")
    if town and not places.known(session, town):
        errors["base_town"] = _("We do not know a town called %(town)s.", town=town)


def _members(session: Session, given: list[dict], errors: dict) -> list[CrewMember]:
    members = []
    for index, data in enumerate(given):
        member = _member(session, dict(data), f"members.{index}", errors)
        if member is not None:
            members.append(member)
    if sum(1 for m in members if m.leader) > 1:
        errors["members"] = _("A crew has one leader; untick the others.")
    return members


def _member(session: Session, data: dict, path: str, errors: dict) -> CrewMember | None:
    data["name"] = data.get("name", "").strip()
    if data.get("user_id") is not None:
        user = session.get(User, data["user_id"])
        if user is None or not user.active or user.is_portal:
            errors[f"{path}.user_id"] = _("Choose a staff member from the list.")
            return None
        data["name"] = data["name"] or user.full_name or user.email
    elif not data["name"]:
        errors[f"{path}.name"] = _("Enter the installer's name or choose a staff member.")
        return None
    _check_phone(data, "phone", errors, f"{path}.phone")
    data["skills"] = [s for s in SKILLS if s in set(data.get("skills") or ())]
    return CrewMember(**data)


def _described(members: list[CrewMember]) -> list[str]:
    """The members as the audit trail keeps them."""
    return [f"{m.name} ({', '.join(m.skills or ())})" + (" *" if m.leader else "")
            for m in members]
