"""Changing many records at once, as chosen on a list: tag, untag, give an owner.

Each function takes the chosen ids and the actor and changes the records one by one
through the services a record's own page uses (``core.tags``, ``core.people``,
``core.organisations``), so permissions, the audit trail, versions and plugin hooks
apply to each. It works in the caller's transaction (one commit per call), each record
in a savepoint of its own: a record the actor may not see or change, or one a plugin
refuses, is skipped and reported, never changed. Input wrong for every record (no ids,
too many, a bad tag, an owner out of reach) is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit, bulk, organisations, people, permissions, records, tags
from core.duplicates import DuplicateFound
from core.errors import Forbidden, ValidationError
from core.models import Membership, Organisation, Person, User
from core.validation import MAX_ID

MAX_IDS = 1_000  # records one call may change


@dataclass(frozen=True)
class Skipped:
    id: int
    label: str  # the record's name; "" for one the actor may not see
    reason: str


@dataclass
class Outcome:
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # already as asked
    skipped: list[Skipped] = field(default_factory=list)


def chosen(values: Iterable) -> list[int]:
    """The ids given (numbers or their text), each once, in order; refuses none, one
    that is no record's number, or more than ``MAX_IDS``."""
    ids = []
    for value in values:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            raise ValidationError({"ids": _("Not a record's number: %(value)s",
                                            value=str(value)[:20])})
        ids.append(value)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationError({"ids": _("Nothing was chosen: tick the rows to act on.")})
    if len(ids) > MAX_IDS:
        raise ValidationError({"ids": _("At most %(n)d records at a time.", n=MAX_IDS)})
    return ids


def tag(session: Session, model: type, ids: Iterable, name: str, actor) -> Outcome:
    name = tags.clean_name(name)
    return _each(session, model, chosen(ids), actor,
                 lambda record: _changes_tags(session, record, name, actor, tags.tag))


def untag(session: Session, model: type, ids: Iterable, name: str, actor) -> Outcome:
    name = tags.clean_name(name)
    return _each(session, model, chosen(ids), actor,
                 lambda record: _changes_tags(session, record, name, actor, tags.untag))


def _changes_tags(session: Session, record, name: str, actor, change: Callable) -> bool:
    before = tags.tags_of(session, record)
    change(session, record, name, actor)
    return tags.tags_of(session, record) != before


def assign_owner(session: Session, host, model: type, ids: Iterable, owner_id, actor) \
        -> Outcome:
    """Give the records to ``owner_id``: an active staff member the actor may give
    this record type to (``owners``)."""
    ids = chosen(ids)
    if owner_id not in {u.id for u in owners(session, actor, model.record_type)}:
        raise ValidationError({"owner_id": _("Choose an owner from the list: an active "
                                             "staff member you may give these records "
                                             "to.")})

    def give(record) -> bool:
        if record.owner_id == owner_id:
            return False
        if isinstance(record, Organisation):
            organisations.update(session, host, record, {"owner_id": owner_id}, actor,
                                 allow_duplicates=True)
        else:
            people.update(session, record, {"owner_id": owner_id}, actor,
                          allow_duplicates=True)
        return True

    return _each(session, model, ids, actor, give)


def owners(session: Session, actor, record_type: str) -> list[User]:
    """The active staff members ``actor`` may give records of ``record_type`` to, as the
    services allow (``permissions.require``): anyone with access to all, their team's
    with the team's, themselves with their own."""
    query = select(User).where(User.active, User.kind == "staff")
    found = permissions.grants(actor, session)
    if not found.admin:
        reach = found.level(record_type, "edit")
        if reach == "none" or found.portal_organisation is not None:
            return []
        if reach != "all":
            query = query.where(User.id.in_([found.user_id] if reach == "own"
                                            else list(found.teammates)))
    return list(session.scalars(query.order_by(User.full_name, User.email)))


def visible(session: Session, model: type, ids: Iterable, actor) -> tuple[list, list[Skipped]]:
    """The chosen records the actor may see, in the order chosen, and the rest."""
    ids = chosen(ids)
    found = {r.id: r for r in session.scalars(
        records.visible(model, actor).where(bulk.among(session, model.id, ids)))}
    missing = [Skipped(i, "", _("it does not exist or you may not see it"))
               for i in ids if i not in found]
    return [found[i] for i in ids if i in found], missing


def members(session: Session, organisation_ids: Iterable, actor, on: date | None = None) \
        -> tuple[list[int], list[Skipped]]:
    """The people who are members of the chosen organisations on ``on`` (today), those
    the actor may see, each once; and the organisations skipped."""
    found, skipped = visible(session, Organisation, organisation_ids, actor)
    on = on or date.today()
    query = records.visible(Person, actor).join(
        Membership, Membership.person_id == Person.id).where(
        bulk.among(session, Membership.organisation_id, [o.id for o in found]),
        or_(Membership.start_date.is_(None), Membership.start_date <= on),
        or_(Membership.end_date.is_(None), Membership.end_date >= on))
    people_ids = session.scalars(query.with_only_columns(Person.id).distinct()
                                 .order_by(Person.id)) if found else []
    return list(people_ids), skipped


def _each(session: Session, model: type, ids: list[int], actor,
          change: Callable[[object], bool]) -> Outcome:
    """``change(record)`` for each chosen record, in a savepoint of its own; it says
    whether it changed anything."""
    bulk.begin(session)  # on SQLite the savepoints must come inside a transaction
    outcome = Outcome()
    found, outcome.skipped = visible(session, model, ids, actor)
    editable = _editable(session, model, [r.id for r in found], actor)
    for record in found:
        if record.id not in editable:
            outcome.skipped.append(Skipped(record.id, audit.label_of(record),
                                           _("you may not change it")))
            continue
        reason = _in_savepoint(session, lambda r=record: change(r))
        if isinstance(reason, str):
            outcome.skipped.append(Skipped(record.id, audit.label_of(record), reason))
        else:
            (outcome.changed if reason else outcome.unchanged).append(record.id)
    order = {record_id: n for n, record_id in enumerate(ids)}
    outcome.skipped.sort(key=lambda s: order[s.id])
    return outcome


def _editable(session: Session, model: type, ids: list[int], actor) -> set[int]:
    """Those of ``ids`` the actor may edit (the services check each again)."""
    if not ids:
        return set()
    query = select(model.id).where(bulk.among(session, model.id, ids))
    reach = permissions.scope(model, actor, "edit")
    return set(session.scalars(query.where(reach) if reach is not None else query))


def _in_savepoint(session: Session, work: Callable[[], bool]) -> bool | str:
    """``work()``'s answer, or why it was refused, its writes (and the notifications it
    queued, see ``core.events``) undone."""
    try:
        with session.begin_nested():
            return work()
    except Forbidden:
        return _("you may not change it")
    except ValidationError as exc:
        return " ".join(str(m) for m in exc.errors.values())
    except DuplicateFound as exc:
        return str(exc)
