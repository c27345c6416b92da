"""Duplicate detection: shown to the user before a record is saved or imported.

Identifiers, e-mail addresses and phone numbers that match are strong evidence; a
similar name alone is weak evidence and is reported as such. Candidates are found by
indexed equality or a name-key prefix in SQL; only that short list is compared in
Python for similarity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import records
from core.errors import KartotekaError
from core.models import ContactPoint, Organisation, Person

SIMILARITY = 0.85
PREFIX = 8  # long enough that "gmina ..." does not match every municipality
LIMIT = 200
WEAK_LIMIT = 10


@dataclass
class Candidate:
    record: object
    reasons: list[str] = field(default_factory=list)
    strong: bool = False


class DuplicateFound(KartotekaError):
    """Likely duplicates exist; the caller shows them and may save anyway."""

    def __init__(self, candidates: list[Candidate]):
        super().__init__(_("Similar records already exist: check them before saving."))
        self.candidates = candidates


def refuse_if_any(candidates: list[Candidate]) -> None:
    if candidates:
        raise DuplicateFound(candidates)


def organisation_candidates(session: Session, values: dict, exclude_id: int | None = None,
                            actor=None) -> list[Candidate]:
    """Organisations like ``values`` among those ``actor`` may see: a record someone
    may not see is never revealed, not even as a duplicate."""
    found: dict[int, Candidate] = {}
    for column, label in ((Organisation.nip, "NIP"), (Organisation.regon, "REGON"),
                          (Organisation.krs, "KRS"), (Organisation.email, _("e-mail")),
                          (Organisation.phone, _("phone"))):
        value = values.get(column.key)
        if value:
            for org in _visible(session, Organisation, column == value, exclude_id, actor):
                _add(found, org, _("same %(what)s", what=label), strong=True)
    for org, score in _similar_names(session, Organisation, values.get("name_key"), exclude_id,
                                      actor):
        _add(found, org, _name_reason(score), strong=False)
    return _ordered(found)


def person_candidates(session: Session, values: dict, exclude_id: int | None = None,
                      actor=None) -> list[Candidate]:
    found: dict[int, Candidate] = {}
    if values.get("pesel"):
        for person in _visible(session, Person, Person.pesel == values["pesel"], exclude_id, actor):
            _add(found, person, _("same %(what)s", what="PESEL"), strong=True)
    for kind, label in (("email", _("e-mail")), ("phone", _("phone"))):
        wanted = [v for v in values.get(f"{kind}s", []) if v]
        if wanted:
            owners = select(ContactPoint.person_id).where(ContactPoint.kind == kind,
                                                          ContactPoint.value.in_(wanted))
            for person in _visible(session, Person, Person.id.in_(owners), exclude_id, actor):
                _add(found, person, _("same %(what)s", what=label), strong=True)
    for person, score in _similar_names(session, Person, values.get("name_key"), exclude_id, actor):
        _add(found, person, _name_reason(score), strong=False)
    return _ordered(found)


def _visible(session, model, condition, exclude_id, actor):
    query = records.visible(model, actor).where(condition)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    return session.scalars(query.limit(LIMIT)).all()


def _similar_names(session, model, key: str | None, exclude_id, actor):
    """Records whose folded name is the same or nearly the same as ``key``.

    Only ids and name keys are read for the candidates sharing the key's first letters;
    whole records are loaded for the few that are similar enough.
    """
    if not key:
        return []
    prefix = key[:PREFIX]
    # A range, not LIKE: an index on name_key serves it on SQLite and PostgreSQL alike.
    after_prefix = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    query = records.visible(model, actor).with_only_columns(model.id, model.name_key).where(
        or_(model.name_key == key,
            and_(model.name_key >= prefix, model.name_key < after_prefix)))
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    scores = {}
    for record_id, other in session.execute(query.limit(LIMIT)):
        matcher = SequenceMatcher(None, key, other)
        # The cheap upper bounds first: most candidates fail them.
        if matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY:
            score = matcher.ratio()
            if score >= SIMILARITY:
                scores[record_id] = score
    # A similar name is weak evidence: show the closest few, not every namesake.
    scores = dict(sorted(scores.items(), key=lambda kv: -kv[1])[:WEAK_LIMIT])
    if not scores:
        return []
    found = session.scalars(records.visible(model).where(model.id.in_(scores))).all()
    return [(record, scores[record.id]) for record in found]


def _name_reason(score: float) -> str:
    return _("same name") if score == 1 else _("similar name")


def _add(found: dict, record, reason: str, strong: bool) -> None:
    candidate = found.setdefault(record.id, Candidate(record))
    if reason not in candidate.reasons:
        candidate.reasons.append(reason)
    candidate.strong = candidate.strong or strong


def _ordered(found: dict) -> list[Candidate]:
    return sorted(found.values(), key=lambda c: (not c.strong, -len(c.reasons), c.record.id))
