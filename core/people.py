"""People: validation, creation and changes, with their e-mails, phones and addresses."""

from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import RAISE, Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import duplicates, identifiers, records, validation
from core import fields as custom_fields
from core.errors import ValidationError
from core.models import Address, ContactPoint, Person, User
from core.text import name_key
from core.validation import country_code, max_length


class AddressSchema(Schema):
    class Meta:
        unknown = RAISE

    label = fields.String(load_default="", validate=max_length(50))
    street = fields.String(load_default="", validate=max_length(200))
    postal_code = fields.String(load_default="")
    city = fields.String(load_default="", validate=max_length(100))
    region = fields.String(load_default="", validate=max_length(100))
    country = fields.String(load_default="PL", validate=country_code())


class PersonSchema(Schema):
    class Meta:
        unknown = RAISE

    first_name = fields.String(required=True, validate=max_length(100))
    last_name = fields.String(required=True, validate=max_length(100))
    pesel = fields.String(load_default="")
    notes = fields.String(load_default="")
    owner_id = fields.Integer(load_default=None, allow_none=True)
    emails = fields.List(fields.String(validate=max_length(254)), load_default=list)
    phones = fields.List(fields.String(validate=max_length(40)), load_default=list)
    addresses = fields.List(fields.Nested(AddressSchema), load_default=list)


def clean(data: dict, partial: bool = False) -> dict:
    """Validated, normalised values; every problem at once, keyed by field."""
    values, errors = validation.load_collecting(PersonSchema(), data, partial)
    for field in ("first_name", "last_name"):
        if field in values:
            values[field] = values[field].strip()
            if not values[field]:
                errors[field] = _("Enter a name.")
    if "pesel" in values:
        _normalise(values, "pesel", "pesel", errors)
    for i, value in enumerate(values.get("emails", [])):
        try:
            values["emails"][i] = validation.email(value)
        except ValidationError as exc:
            errors[f"emails.{i}"] = exc.errors["email"]
    for i, value in enumerate(values.get("phones", [])):
        try:
            values["phones"][i] = identifiers.normalise("phone", value)
        except ValidationError as exc:
            errors[f"phones.{i}"] = exc.errors["phone"]
    for i, address in enumerate(values.get("addresses", [])):
        try:
            address["postal_code"] = identifiers.normalise("postal_code",
                                                           address.get("postal_code", ""))
        except ValidationError as exc:
            errors[f"addresses.{i}.postal_code"] = exc.errors["postal_code"]
    if errors:
        raise ValidationError(errors)
    for key in ("emails", "phones"):
        if key in values:
            values[key] = list(dict.fromkeys(v for v in values[key] if v))
    if {"first_name", "last_name"} <= values.keys():
        values["name_key"] = name_key(f"{values['first_name']} {values['last_name']}")
    return values


def _owner_checked(session: Session, values: dict) -> dict:
    """The owner must be an active staff account, as an organisation's and a case's."""
    if values.get("owner_id") is not None and session.scalar(select(User.id).where(
            User.id == values["owner_id"], User.active, User.kind == "staff")) is None:
        raise ValidationError({"owner_id": _("Choose an active staff member.")})
    return values


def _normalise(values: dict, field: str, kind: str, errors: dict) -> None:
    try:
        values[field] = identifiers.normalise(kind, values[field])
    except ValidationError as exc:
        errors[field] = exc.errors[kind]


def create(session: Session, data: dict, actor=None, allow_duplicates: bool = False) -> Person:
    """Create a person; refuses likely duplicates unless told they are fine."""
    values = custom_fields.validated(session, Person, data, None,
                                     lambda d: _owner_checked(session, clean(d)), actor)
    if not allow_duplicates:
        duplicates.refuse_if_any(duplicates.person_candidates(session, values, actor=actor))
    person = Person(**_scalars(values))
    _set_contacts(person, values)
    created_with = {k: (None, v) for k, v in contact_lists(person).items()}
    return records.create(session, person, actor, related=created_with)


def update(session: Session, person: Person, data: dict, actor=None,
           allow_duplicates: bool = False, expected_version: int | None = None) -> Person:
    """Change a person; lists given (emails, phones, addresses) replace the old ones."""
    values = custom_fields.validated(session, Person, data, person, lambda d: _owner_checked(
        session, clean(d, partial=True)), actor)
    if "first_name" in values or "last_name" in values:
        first = values.get("first_name", person.first_name)
        last = values.get("last_name", person.last_name)
        values["name_key"] = name_key(f"{first} {last}")
    if not allow_duplicates:
        found = duplicates.person_candidates(session, values, person.id, actor)
        duplicates.refuse_if_any(found)
    changed = _contact_changes(person, values)
    records.update(session, person, _scalars(values), actor, expected_version,
                   related=changed)
    _set_contacts(person, {k: values[k] for k in changed})
    session.flush()
    return person


def contact_lists(person: Person) -> dict[str, list[str]]:
    """A person's e-mails, phones and addresses as plain lists: how their changes are
    recorded in the history and announced to plugins."""
    return {"emails": person.contact_values("email"),
            "phones": person.contact_values("phone"),
            "addresses": [_address_text(a) for a in person.addresses]}


def _contact_changes(person: Person, values: dict) -> dict:
    """``{"emails": (old, new), ...}`` for the lists ``values`` really changes."""
    old = contact_lists(person)
    new = {k: values[k] for k in ("emails", "phones") if k in values}
    if "addresses" in values:
        new["addresses"] = [_address_text(a) for a in values["addresses"]]
    return {k: (old[k], v) for k, v in new.items() if v != old[k]}


def _address_text(address) -> str:
    """One line: 'Dom: ul. Długa 1, 62-035 Kórnik, wielkopolskie'; a country other
    than Poland is named at the end."""
    get = address.get if isinstance(address, dict) else lambda k: getattr(address, k)
    town = " ".join(p for p in (get("postal_code"), get("city")) if p)
    abroad = get("country") if get("country") not in (None, "", "PL") else ""
    text = ", ".join(p for p in (get("street"), town, get("region"), abroad) if p)
    return f"{get('label')}: {text}" if get("label") else text


def _scalars(values: dict) -> dict:
    return {k: v for k, v in values.items() if k not in ("emails", "phones", "addresses")}


def _set_contacts(person: Person, values: dict) -> None:
    for kind in ("email", "phone"):
        if f"{kind}s" in values:
            kept = [c for c in person.contacts if c.kind != kind]
            new = [ContactPoint(kind=kind, value=v, is_primary=(i == 0))
                   for i, v in enumerate(values[f"{kind}s"])]
            person.contacts = kept + new
    if "addresses" in values:
        person.addresses = [Address(**a) for a in values["addresses"]]
