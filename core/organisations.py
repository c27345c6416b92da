"""Organisations: types, validation, creation and changes, units.

Types come from the core and plugins (``kartoteka_register_organisation_types``) and
from administrators (rows of ``organisation_types``, keys ``local.<name>``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from marshmallow import RAISE, Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import duplicates, identifiers, records, validation
from core import fields as custom_fields
from core.errors import ValidationError
from core.models import Organisation, OrganisationType, OrgUnit, User
from core.text import name_key
from core.validation import country_code, load_collecting, max_length

IDENTIFIERS = {"nip": "nip", "regon": "regon", "krs": "krs", "phone": "phone",
               "postal_code": "postal_code"}


@dataclass(frozen=True)
class OrgType:
    """A type of organisation: ``key`` is '<owner>.<name>', ``title`` per language."""

    key: str
    title: dict[str, str]

    def label(self, locale: str = "pl") -> str:
        return self.title.get(locale) or self.title.get("en") or self.key


CORE_TYPES = [
    OrgType("core.municipality", {"pl": "Gmina", "en": "Municipality"}),
    OrgType("core.county", {"pl": "Powiat", "en": "County"}),
    OrgType("core.voivodeship", {"pl": "Samorząd województwa", "en": "Voivodeship"}),
    OrgType("core.public_body", {"pl": "Instytucja publiczna", "en": "Public body"}),
    OrgType("core.company", {"pl": "Firma", "en": "Company"}),
    OrgType("core.foundation", {"pl": "Fundacja", "en": "Foundation"}),
    OrgType("core.association", {"pl": "Stowarzyszenie", "en": "Association"}),
    OrgType("core.household", {"pl": "Gospodarstwo domowe", "en": "Household"}),
    OrgType("core.other", {"pl": "Inna", "en": "Other"}),
]


def types(session: Session, host) -> dict[str, OrgType]:
    """Every type in use: registered by code, then added by administrators."""
    found = dict(host.organisation_types)
    for row in session.scalars(select(OrganisationType).where(OrganisationType.active)):
        found[row.key] = OrgType(row.key, {"pl": row.label_pl, "en": row.label_en})
    return found


class OrganisationSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=max_length(300))
    short_name = fields.String(load_default="", validate=max_length(100))
    type_key = fields.String(required=True)
    nip = fields.String(load_default="")
    regon = fields.String(load_default="")
    krs = fields.String(load_default="")
    email = fields.String(load_default="", validate=max_length(254))
    phone = fields.String(load_default="")
    website = fields.String(load_default="", validate=max_length(300))
    street = fields.String(load_default="", validate=max_length(200))
    postal_code = fields.String(load_default="")
    city = fields.String(load_default="", validate=max_length(100))
    region = fields.String(load_default="", validate=max_length(100))
    country = fields.String(load_default="PL", validate=country_code())
    notes = fields.String(load_default="")
    owner_id = fields.Integer(load_default=None, allow_none=True)


def clean(session: Session, host, data: dict, partial: bool = False) -> dict:
    """Validated, normalised values, or a ValidationError with every field's problem."""
    values, errors = load_collecting(OrganisationSchema(), data, partial)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if values.get("email"):
        try:
            values["email"] = validation.email(values["email"])
        except ValidationError as exc:
            errors["email"] = exc.errors["email"]
    for field, kind in IDENTIFIERS.items():
        if field in values:
            try:
                values[field] = identifiers.normalise(kind, values[field])
            except ValidationError as exc:
                errors[field] = next(iter(exc.errors.values()))
    if "type_key" in values and values["type_key"] not in types(session, host):
        errors["type_key"] = _("Choose a type from the list.")
    if values.get("owner_id") is not None and session.scalar(
            select(User.id).where(User.id == values["owner_id"], User.active,
                                  User.kind == "staff")) is None:
        errors["owner_id"] = _("Choose an active staff member.")
    if "name" in values:
        values["name"] = values["name"].strip()
        if not values["name"]:
            errors["name"] = _("Enter a name.")
        values["name_key"] = name_key(values["name"])
    if errors:
        raise ValidationError(errors)
    return values


def create(session: Session, host, data: dict, actor=None,
           allow_duplicates: bool = False) -> Organisation:
    """Create an organisation; refuses likely duplicates unless told they are fine."""
    values = custom_fields.validated(session, Organisation, data, None,
                              lambda d: clean(session, host, d), actor)
    if not allow_duplicates:
        duplicates.refuse_if_any(
            duplicates.organisation_candidates(session, values, actor=actor))
    return records.create(session, Organisation(**values), actor)


def update(session: Session, host, organisation: Organisation, data: dict, actor=None,
           allow_duplicates: bool = False, expected_version: int | None = None):
    values = custom_fields.validated(session, Organisation, data, organisation,
                              lambda d: clean(session, host, d, partial=True), actor)
    if not allow_duplicates:
        found = duplicates.organisation_candidates(session, values, organisation.id, actor)
        duplicates.refuse_if_any(found)
    return records.update(session, organisation, values, actor, expected_version)


def add_unit(session: Session, organisation: Organisation, name: str,
             parent: OrgUnit | None = None, actor=None) -> OrgUnit:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if parent is not None and parent.organisation_id != organisation.id:
        raise ValidationError({"parent": _("The parent unit belongs to another organisation.")})
    return records.create(session, OrgUnit(organisation_id=organisation.id, name=name,
                                           parent_id=parent.id if parent else None), actor)
