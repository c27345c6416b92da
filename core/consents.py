"""Consents people give or withdraw, for the purposes in the register of processing.

The register (``ProcessingPurpose``) is the data protection officer's list of why data
is processed: a key, a name, the legal basis, the categories of data and how long the
data may be kept. A consent row records one person's consent given or withdrawn for one
purpose, with its source and evidence (the exact wording agreed to). Rows are not
changed (only anonymisation erases their notes): a withdrawal or a renewal is a new row,
and the newest row of a person and purpose is the state. For a purpose with another
legal basis (a contract, say), "given" and "withdrawn" mark when that basis began and
ended.

A consent is *valid* while its newest row is "given", the purpose is active and, if the
purpose has a retention period, fewer days than that have passed since it was given.
``valid_consent`` is that rule as one SQL condition, used by ``has_consent``, by the
filter language (``{"consent": "newsletter"}``) and so by segments and mailing
audiences; nothing is decided in Python.

Every change goes through ``core.records`` (vetoable, audited, announced) and is a
system event on the person's timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import ColumnElement, Float, and_, exists, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from core import records, timeline, validation
from core.db import UTCDateTime, utcnow
from core.errors import ValidationError
from core.models import Consent, Person, ProcessingPurpose
from core.models.consent import LEGAL_BASES, SOURCES, STATES

KEY = re.compile(r"[a-z0-9_]{1,64}")
MAX_EVIDENCE = 20000
MAX_NOTE = 2000
MAX_RETENTION_DAYS = 36500

LEGAL_BASIS_LABELS = {
    "consent": _l("Consent"), "contract": _l("Contract"),
    "legal_obligation": _l("Legal obligation"), "vital_interests": _l("Vital interests"),
    "public_task": _l("Public task"), "legitimate_interest": _l("Legitimate interest"),
}
SOURCE_LABELS = {"form": _l("Web form"), "import": _l("Import"), "staff": _l("Staff"),
                 "portal": _l("Portal"), "api": "API", "email": _l("Link in an e-mail")}
STATE_LABELS = {"given": _l("Given"), "withdrawn": _l("Withdrawn")}

timeline.EVENT_LABELS.update({"consent_given": _l("Consent given"),
                              "consent_withdrawn": _l("Consent withdrawn")})


# --------------------------------------------------------------------- the register


class PurposeSchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True)
    name = fields.String(required=True, validate=validation.max_length(200))
    legal_basis = fields.String(required=True)
    description = fields.String(load_default="", validate=validation.max_length(5000))
    retention_days = fields.Integer(load_default=None, allow_none=True, strict=True)
    data_categories = fields.List(fields.String(validate=validation.max_length(100)),
                                  load_default=list, validate=validate.Length(max=50))
    active = fields.Boolean(load_default=True)


def purposes(session: Session, active_only: bool = False) -> list[ProcessingPurpose]:
    """The register, active purposes first, each group by name."""
    query = select(ProcessingPurpose).order_by(ProcessingPurpose.active.desc(),
                                               ProcessingPurpose.name, ProcessingPurpose.id)
    if active_only:
        query = query.where(ProcessingPurpose.active.is_(True))
    return list(session.scalars(query))


def purpose_by_key(session: Session, key: str) -> ProcessingPurpose | None:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        return None
    return session.scalar(select(ProcessingPurpose).where(ProcessingPurpose.key == key))


def create_purpose(session: Session, data: dict, actor=None) -> ProcessingPurpose:
    values = _clean_purpose(session, data, None)
    return records.create(session, ProcessingPurpose(**values), actor)


def update_purpose(session: Session, purpose: ProcessingPurpose, data: dict,
                   actor=None) -> ProcessingPurpose:
    """Change a purpose; its key stays, since consents and filters refer to it."""
    values = _clean_purpose(session, {**data, "key": purpose.key}, purpose)
    values.pop("key")
    return records.update(session, purpose, values, actor)


def deactivate_purpose(session: Session, purpose: ProcessingPurpose, actor=None):
    """No new consents for it; its consents stop being valid, and their history stays."""
    return records.update(session, purpose, {"active": False}, actor)


def _clean_purpose(session: Session, data: dict, purpose: ProcessingPurpose | None) -> dict:
    values, errors = validation.load_collecting(PurposeSchema(), data)
    for name in ("key", "name", "description"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    if "name" in values and not values["name"]:
        errors["name"] = _("Enter a name.")
    key = values.get("key")
    if "key" in values and not KEY.fullmatch(key or ""):
        errors["key"] = _("Use 1 to 64 small letters, digits and underscores.")
    elif purpose is None and key and purpose_by_key(session, key) is not None:
        errors["key"] = _("Another purpose already has this key.")
    if "legal_basis" in values and values["legal_basis"] not in LEGAL_BASES:
        errors["legal_basis"] = _("Choose a legal basis from the list.")
    days = values.get("retention_days")
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        errors["retention_days"] = _("Give a number of days from 1 to %(max)d, or leave it "
                                     "empty for no limit.", max=MAX_RETENTION_DAYS)
    if errors:
        raise ValidationError(errors)
    values["data_categories"] = list(dict.fromkeys(
        c.strip() for c in values.get("data_categories", []) if c.strip()))
    return values


# --------------------------------------------------------------------- consents


@dataclass
class State:
    """Where a person stands on one purpose: the newest row, and whether it is valid."""

    purpose: ProcessingPurpose
    consent: Consent
    valid: bool


def give(session: Session, person: Person, purpose, source: str, evidence: str, actor=None,
         at: datetime | None = None, note: str = "") -> Consent:
    """Record that ``person`` consented to ``purpose`` (a key or a purpose) on the
    wording ``evidence``; giving it again renews it."""
    return _record(session, person, purpose, "given", source, evidence, actor, at, note)


def withdraw(session: Session, person: Person, purpose, source: str, evidence: str = "",
             actor=None, at: datetime | None = None, note: str = "") -> Consent:
    """Record that ``person`` withdrew a consent they had given; ``evidence`` says how."""
    return _record(session, person, purpose, "withdrawn", source, evidence, actor, at, note)


def change(session: Session, person: Person, state: str, purpose, source: str,
           evidence: str, actor=None, at: datetime | None = None, note: str = "") -> Consent:
    """``give`` or ``withdraw`` as ``state`` says (for forms and the API)."""
    if state not in STATES:
        raise ValidationError({"state": _("Choose whether the consent is given or "
                                          "withdrawn.")})
    return _record(session, person, purpose, state, source, evidence, actor, at, note)


def _record(session, person, purpose, state, source, evidence, actor, at, note) -> Consent:
    found, values = _checked(session, person, purpose, state, source, evidence, at, note)
    consent = records.create(session, Consent(
        person_id=person.id, purpose_id=found.id, state=state, actor_id=getattr(actor, "id", None),
        **values), actor)
    timeline.record_event(session, f"consent_{state}", [person], subject=found.name,
                          actor=actor, data={"consent_id": consent.id, "purpose": found.key,
                                             "source": values["source"]})
    return consent


def _checked(session, person, purpose, state, source, evidence, at, note):
    """The purpose and the row's values, or every problem at once, keyed by field."""
    errors = {}
    found = purpose if isinstance(purpose, ProcessingPurpose) else purpose_by_key(session,
                                                                                  purpose)
    if found is None:
        errors["purpose"] = _("Choose a processing purpose from the register.")
    elif state == "given" and not found.active:
        errors["purpose"] = _("This purpose is no longer in use; consent to it cannot be "
                              "given.")
    if source not in SOURCES:
        errors["source"] = _("Choose where the consent comes from.")
    evidence = evidence.strip() if isinstance(evidence, str) else ""
    note = note.strip() if isinstance(note, str) else ""
    if state == "given" and not evidence:
        errors["evidence"] = _("Give the exact wording the person agreed to.")
    elif len(evidence) > MAX_EVIDENCE:
        errors["evidence"] = _("At most %(n)d characters.", n=MAX_EVIDENCE)
    if len(note) > MAX_NOTE:
        errors["note"] = _("At most %(n)d characters.", n=MAX_NOTE)
    if at is not None and (at.tzinfo is None or at > utcnow()):
        errors["at"] = _("Give a moment that has already passed.")
    if state == "withdrawn" and found is not None and "purpose" not in errors:
        newest = _newest_row(session, person.id, found.id)
        if newest is None or newest.state != "given":
            errors["purpose"] = _("There is no consent to this purpose to withdraw.")
    if errors:
        raise ValidationError(errors)
    return found, {"source": source, "evidence": evidence, "note": note,
                   "at": at or utcnow()}


def history(session: Session, person: Person) -> list[Consent]:
    """Every row of a person, newest first."""
    return list(session.scalars(
        select(Consent).where(Consent.person_id == person.id)
        .order_by(Consent.at.desc(), Consent.id.desc())))


def current(session: Session, person: Person) -> dict[str, State]:
    """Purpose key -> the person's state on it, for every purpose they have a row for."""
    return current_of(session, [person.id]).get(person.id, {})


def current_of(session: Session, person_ids: list[int]) -> dict[int, dict[str, State]]:
    """``current`` for several people at once (a page of a report), in one query."""
    c, p = aliased(Consent), aliased(ProcessingPurpose)
    rows = session.execute(
        select(c, p, valid_row(c, p)).join(p, p.id == c.purpose_id)
        .where(c.person_id.in_(person_ids), newest(c)).order_by(p.name, p.id)).all()
    found: dict[int, dict[str, State]] = {}
    for consent, purpose, valid in rows:
        found.setdefault(consent.person_id, {})[purpose.key] = State(purpose, consent,
                                                                     bool(valid))
    return found


def has_consent(session: Session, person_id: int, purpose_key: str) -> bool:
    """Whether the person has a valid consent to the purpose (the filters' rule)."""
    return bool(session.scalar(select(valid_consent(literal(person_id), purpose_key))))


def valid_among(session: Session, person_ids: list[int], purpose_key: str) -> set[int]:
    """Those of ``person_ids`` with a valid consent to the purpose, read from each one's
    rows along the index (a page of a mailing's audience in one query; the filter form
    ``valid_consent`` makes PostgreSQL scan every consent)."""
    c, p = aliased(Consent), aliased(ProcessingPurpose)
    return set(session.scalars(
        select(c.person_id).join(p, p.id == c.purpose_id)
        .where(c.person_id.in_(person_ids), p.key == purpose_key, newest(c),
               valid_row(c, p))))


def _newest_row(session: Session, person_id: int, purpose_id: int) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.person_id == person_id,
                                                Consent.purpose_id == purpose_id)
                          .order_by(Consent.at.desc(), Consent.id.desc()).limit(1))


# --------------------------------------------------------------------- SQL


class DaysSince(FunctionElement):
    """Days (with fractions) from a stored moment to ``now``: julianday() on SQLite,
    the seconds of the interval on PostgreSQL."""

    type = Float()
    name = "days_since"
    inherit_cache = True


@compiles(DaysSince, "sqlite")
def _days_since_sqlite(element, compiler, **kw):
    moment, now = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({now}) - julianday({moment}))"


@compiles(DaysSince, "postgresql")
def _days_since_postgresql(element, compiler, **kw):
    moment, now = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({now} - {moment})) / 86400.0)"


def days_since(moment, now: datetime | None = None) -> DaysSince:
    return DaysSince(moment, literal(now or utcnow(), UTCDateTime))


def newest(c) -> ColumnElement:
    """``c`` (an alias of Consent) is the newest row of its person and purpose."""
    newer = aliased(Consent)
    return ~exists().where(newer.person_id == c.person_id, newer.purpose_id == c.purpose_id,
                           or_(newer.at > c.at, and_(newer.at == c.at, newer.id > c.id)))


def valid_row(c, p, now: datetime | None = None) -> ColumnElement:
    """The row ``c`` of purpose ``p`` is a consent that stands (newness apart)."""
    return and_(c.state == "given", p.active.is_(True),
                or_(p.retention_days.is_(None), days_since(c.at, now) < p.retention_days))


def holds(c, p, now: datetime | None = None) -> ColumnElement:
    """The newest row ``c`` of purpose ``p`` still justifies keeping the person's data:
    a consent that stands, or one given or withdrawn less than the retention ago."""
    return and_(p.active.is_(True), or_(
        and_(c.state == "given", p.retention_days.is_(None)),
        and_(p.retention_days.is_not(None), days_since(c.at, now) < p.retention_days)))


def valid_consent(person_id, purpose_key: str, now: datetime | None = None) -> ColumnElement:
    """The person (an id column or value) has a valid consent to the purpose."""
    c, p = aliased(Consent), aliased(ProcessingPurpose)
    return exists().where(c.person_id == person_id, c.purpose_id == p.id,
                          p.key == purpose_key, newest(c), valid_row(c, p, now))


def filter_condition(person_id, spec, path: str) -> ColumnElement:
    """The filter language's ``{"consent": "newsletter"}`` (or ``{"consent": {"purpose":
    "newsletter"}}``): people with a valid consent to that purpose."""
    key = spec.get("purpose") if isinstance(spec, dict) and set(spec) == {"purpose"} else spec
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValidationError({path: _("Give the key of a processing purpose, e.g. "
                                       "{\"consent\": \"newsletter\"}.")})
    if has_app_context() and "kartoteka" in current_app.extensions:
        from core.web.db import db

        if purpose_by_key(db(), key) is None:
            raise ValidationError({path: _("There is no processing purpose '%(key)s'.",
                                           key=key)})
    return valid_consent(person_id, key)
