"""The registry of fixed places trainings are held at (TR-1): kept by those with
``training.manage``, chosen from when a training is planned. A venue in use is retired
(``active`` off) rather than deleted, so past trainings keep their place."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as Invalid
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import identifiers, permissions, records
from core.errors import Forbidden, ValidationError
from core.validation import load, max_length
from plugins.training.models import Venue

MANAGE = "training.manage"


# The schema's own checks, so that a form or an API call hears of every field at once.

def _filled(value: str) -> None:
    if not value.strip():
        raise Invalid(_("Enter a name."))


def _postal_code(value: str) -> None:
    if value.strip():
        try:
            identifiers.normalise("postal_code", value.strip())
        except ValidationError as exc:
            raise Invalid(next(iter(exc.errors.values()))) from exc


class VenueSchema(Schema):
    """A venue of the registry, as the forms and the API take it."""

    name = fields.String(required=True, validate=[max_length(200), _filled],
                         metadata={"description": "What the place is called."})
    street = fields.String(load_default="", validate=max_length(200),
                           metadata={"description": "Street and number."})
    postal_code = fields.String(
        load_default="", validate=[max_length(10), _postal_code],
        metadata={"description": "Polish postal code; 61001 is kept as 61-001."})
    city = fields.String(load_default="", validate=max_length(100))
    capacity = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=validate.Range(min=1, max=10000, error=_l(
                                  "Give a number of seats from 1 to 10000.")),
                              metadata={"description": "Seats, 1 to 10000; null: not known."})
    notes = fields.String(load_default="", validate=max_length(5000),
                          metadata={"description": "Directions, equipment, whom to call."})
    active = fields.Boolean(load_default=True, metadata={
        "description": "False: retired, no longer offered when a training is planned; "
                       "past trainings keep it."})


def require(actor) -> None:
    if not permissions.can(actor, MANAGE):
        raise Forbidden(_("You may not keep the venue registry."))


def listed(session: Session, with_retired: bool = False) -> list[Venue]:
    query = select(Venue).where(Venue.deleted_at.is_(None))
    if not with_retired:
        query = query.where(Venue.active.is_(True))
    return list(session.scalars(query.order_by(Venue.city, Venue.name, Venue.id)))


def create(session: Session, data: dict, actor=None) -> Venue:
    require(actor)
    return records.create(session, Venue(**clean(data)), actor)


def update(session: Session, venue: Venue, data: dict, actor=None,
           expected_version: int | None = None) -> Venue:
    require(actor)
    return records.update(session, venue, clean(data, partial=True), actor,
                          expected_version=expected_version)


def retire(session: Session, venue: Venue, actor=None,
           expected_version: int | None = None) -> Venue:
    """Take the venue off the list offered when planning; past trainings keep it."""
    return update(session, venue, {"active": False}, actor, expected_version)


def clean(data: dict, partial: bool = False) -> dict:
    """Trimmed values with the postal code as NN-NNN, or every field's problem."""
    values = load(VenueSchema(), data, partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if values.get("postal_code"):
        values["postal_code"] = identifiers.normalise("postal_code", values["postal_code"])
    return values
