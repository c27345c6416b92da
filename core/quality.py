"""Data-quality rules: required fields, completeness and records gone stale.

An administrator sets, per record type, which fields must be filled and after how
many days without any activity or change a record counts as stale. The report is
one SQL query per record type, so it stays fast on a large card index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from core import audit, records
from core.db import utcnow
from core.errors import ValidationError
from core.models import ActivityLink, QualityRule

CHECKABLE = {
    "organisation": ("short_name", "nip", "regon", "krs", "email", "phone", "website", "street",
                     "postal_code", "city", "region", "owner_id"),
    "person": ("pesel", "notes", "owner_id"),
}


def set_rule(session: Session, record_type: str, required: list[str],
             stale_days: int | None, actor=None) -> QualityRule:
    allowed = CHECKABLE.get(record_type)
    if allowed is None:
        raise ValidationError({"record_type": _("Quality rules are not available for this "
                                                "kind of record.")})
    unknown = [f for f in required if f not in allowed and not f.startswith("custom.")]
    if unknown:
        raise ValidationError({"required": _("Unknown fields: %(fields)s",
                                             fields=", ".join(unknown))})
    if stale_days is not None and not 1 <= stale_days <= 36500:
        raise ValidationError({"stale_days": _("Give a number of days from 1 to 36500.")})
    rule = session.get(QualityRule, record_type)
    before = (list(rule.required or []), rule.stale_days) if rule else (None, None)
    rule = rule or QualityRule(record_type=record_type)
    rule.required, rule.stale_days = list(dict.fromkeys(required)), stale_days
    session.add(rule)
    session.flush()
    changes = {"required": (before[0], rule.required), "stale_days": (before[1], stale_days)}
    # The rule has no id of its own: the summary names the record type it is for.
    audit.write(session, rule, "update" if before[0] is not None else "create",
                {k: v for k, v in changes.items() if v[0] != v[1]}, actor, summary=record_type)
    return rule


def _missing(model, field: str):
    """SQL: the field is empty on the record."""
    if field.startswith("custom."):
        value = model.custom[field.removeprefix("custom.")].as_string()
        return or_(value.is_(None), value == "")
    column = getattr(model, field)
    if column.type.python_type is str:
        return or_(column.is_(None), column == "")
    return column.is_(None)


def _stale(model, record_type: str, days: int):
    since = utcnow() - timedelta(days=days)
    recent = exists().where(ActivityLink.record_type == record_type,
                            ActivityLink.record_id == model.id,
                            ActivityLink.occurred_at >= since)
    return and_(model.updated_at < since, ~recent)


@dataclass
class Finding:
    record: object
    missing: list[str]
    stale: bool
    completeness: int  # per cent of required fields filled


def report(session: Session, record_type: str, actor=None, limit: int = 200) -> list[Finding]:
    """Records that break their type's rule: missing required fields or stale."""
    rule, query = _breaking(session, record_type, actor)
    if query is None:
        return []
    findings = []
    model = records.record_types()[record_type]
    query = query.order_by(model.id).limit(limit)
    for row in session.scalars(query):
        missing = [f for f in rule.required if _is_empty(row, f)]
        filled = len(rule.required) - len(missing)
        stale = bool(rule.stale_days) and _row_is_stale(session, row, record_type,
                                                        rule.stale_days)
        findings.append(Finding(row, missing, stale,
                                100 if not rule.required else filled * 100 // len(rule.required)))
    return findings


def count(session: Session, record_type: str, actor=None) -> int:
    _rule, query = _breaking(session, record_type, actor)
    if query is None:
        return 0
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _breaking(session: Session, record_type: str, actor):
    """The rule and a query for the records that break it (None without a rule)."""
    rule = session.get(QualityRule, record_type)
    if rule is None or (not rule.required and not rule.stale_days):
        return rule, None
    model = records.record_types()[record_type]
    problems = [_missing(model, f) for f in rule.required]
    if rule.stale_days:
        problems.append(_stale(model, record_type, rule.stale_days))
    return rule, records.visible(model, actor).where(or_(*problems))


def _is_empty(row, field: str) -> bool:
    if field.startswith("custom."):
        return (row.custom or {}).get(field.removeprefix("custom.")) in (None, "")
    return getattr(row, field) in (None, "")


def _row_is_stale(session, row, record_type: str, days: int) -> bool:
    model = type(row)
    query = select(model.id).where(model.id == row.id, _stale(model, record_type, days))
    return session.scalar(query) is not None
