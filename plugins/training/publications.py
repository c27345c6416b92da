"""Announcements and publications for the member units' portal (TR-3): expert opinions,
grant news, legal advice and the association's announcements, written by those with
``training.manage``, for every unit or only for chosen ones. A draft is not on the
portal; publishing puts it there, newest first."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as Invalid
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import permissions, records
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Organisation
from core.validation import an_id, load_collecting, max_length
from plugins.training.models import Publication

KINDS = {"announcement": _l("announcement"), "expert_opinion": _l("expert opinion"),
         "grant_news": _l("grant news"), "legal_advice": _l("legal advice")}
MAX_UNITS = 1000


def _filled(value: str) -> None:
    if not value.strip():
        raise Invalid(_("Enter a title."))


class PublicationSchema(Schema):
    """A publication as the forms and the API take it."""

    title = fields.String(required=True, validate=[max_length(200), _filled])
    kind = fields.String(load_default="announcement", validate=validate.OneOf(
        list(KINDS), error=_l("Choose one of the offered options.")), metadata={
        "description": "announcement, expert_opinion, grant_news or legal_advice."})
    body = fields.String(load_default="", validate=max_length(20000),
                         metadata={"description": "Plain text; an empty line starts a "
                                                  "new paragraph."})
    unit_ids = fields.List(fields.Integer(validate=an_id()), load_default=list,
                           validate=validate.Length(max=MAX_UNITS), metadata={
                               "description": "The member units it is for; empty: all."})
    published = fields.Boolean(load_default=False, metadata={
        "description": "On the portal (true) or a draft (false)."})


def require(actor) -> None:
    if not permissions.can(actor, "training.manage"):
        raise Forbidden(_("You may not publish on the portal."))


def create(session: Session, data: dict, actor=None) -> Publication:
    require(actor)
    return records.create(session, Publication(**_clean(session, data, None, actor)), actor)


def update(session: Session, publication: Publication, data: dict, actor=None,
           expected_version: int | None = None) -> Publication:
    require(actor)
    return records.update(session, publication, _clean(session, data, publication, actor,
                                                       partial=True), actor,
                          expected_version=expected_version)


def delete(session: Session, publication: Publication, actor=None) -> None:
    """Move the publication to the bin: off the portal, restorable."""
    require(actor)
    records.delete(session, publication, actor)


def listed(session: Session) -> list[Publication]:
    """Every publication, drafts too, newest first (the staff's list)."""
    return list(session.scalars(select(Publication).where(Publication.deleted_at.is_(None))
                                .order_by(Publication.published_at.desc().nulls_first(),
                                          Publication.id.desc())))


def for_unit(session: Session, organisation_id: int, limit: int = 100) -> list[Publication]:
    """What the unit's portal shows, newest first."""
    query = select(Publication).where(Publication.deleted_at.is_(None),
                                      Publication.published_at.is_not(None)) \
        .order_by(Publication.published_at.desc(), Publication.id.desc())
    return [p for p in session.scalars(query) if shown_to(p, organisation_id)][:limit]


def shown_to(publication: Publication | None, organisation_id: int) -> bool:
    """Published, and for every unit or for this one."""
    return publication is not None and publication.deleted_at is None \
        and publication.published_at is not None \
        and (not publication.unit_ids or organisation_id in publication.unit_ids)


def paragraphs(publication: Publication) -> list[str]:
    return [part.strip() for part in publication.body.split("\n\n") if part.strip()]


def _clean(session: Session, data: dict, publication: Publication | None, actor,
           partial: bool = False) -> dict:
    values, errors = load_collecting(PublicationSchema(), data, partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if "unit_ids" in values:
        ids = sorted(set(values["unit_ids"]))
        seen = session.scalar(select(func.count()).select_from(
            records.visible(Organisation, actor).where(Organisation.id.in_(ids))
            .subquery())) if ids else 0
        if seen != len(ids):
            errors["unit_ids"] = _("Some of the units do not exist or you may not see them.")
        values["unit_ids"] = ids
    if errors:
        raise ValidationError(errors)
    if "published" in values:
        published = values.pop("published")
        already = publication is not None and publication.published_at is not None
        values["published_at"] = (publication.published_at if already else utcnow()) \
            if published else None
    return values

