"""The registry of fixed places trainings are held at (TR-1): kept by those with
``training.manage``, chosen from when a training is planned. A venue in use is retired
(``active`` off) rather than deleted, so past trainings keep their place."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import identifiers, permissions, records
from core.errors import Forbidden, ValidationError
from core.validation import load_collecting, max_length
from plugins.training.models import Venue

MANAGE = "training.manage"


class VenueSchema(Schema):
    name = fields.String(required=True, validate=max_length(200))
    street = fields.String(load_default="", validate=max_length(200))
    postal_code = fields.String(load_default="", validate=max_length(10))
    city = fields.String(load_default="", validate=max_length(100))
    capacity = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=validate.Range(min=1, max=10000, error=_l(
                                  "Give a number of seats from 1 to 10000.")))
    notes = fields.String(load_default="", validate=max_length(5000))
    active = fields.Boolean(load_default=True)


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


def clean(data: dict, partial: bool = False) -> dict:
    """Trimmed values with the postal code as NN-NNN, or every field's problem."""
    values, errors = load_collecting(VenueSchema(), data, partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if "name" in values and not values["name"]:
        errors["name"] = _("Enter a name.")
    if values.get("postal_code"):
        try:
            values["postal_code"] = identifiers.normalise("postal_code", values["postal_code"])
        except ValidationError as exc:
            errors["postal_code"] = next(iter(exc.errors.values()))
    if errors:
        raise ValidationError(errors)
    return values
