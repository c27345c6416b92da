"""Creating many records at once: the bulk form of ``records.create``.

An import of a million rows cannot afford an ORM object, a flush and a round trip per
record, yet it must not become a second write path that forgets something. So every
new record still passes the plugins' veto (``kartoteka_before_record_save``), gets its
entry in the audit trail and, after the commit, is announced with
``kartoteka_record_created``; only the writing is done in bulk: one multi-row INSERT
per table and batch (COPY on PostgreSQL). Triggers, such as the ones that keep search
current, fire for these rows as for any other.

Ids are handed out before the rows are written (``IdBlock``), so that rows later in
the same batch can point at a record not yet written. The ORM objects given to plugins
are built with their owned rows only when a plugin listens.
"""

from __future__ import annotations

import copy
import gc
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import any_, bindparam, func, inspect, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core import audit, events, permissions, webhooks
from core.db import utcnow
from core.models import AuditEntry

VETO = "kartoteka_before_record_save"
CREATED = "kartoteka_record_created"
TRAIL = AuditEntry.__table__
BULK_GC_THRESHOLD = 50_000  # new objects between two passes of the cycle collector
_DEFAULT_GC_THRESHOLD = gc.get_threshold()[0]


@dataclass
class NewRecord:
    """A record to create: its column values and the rows it owns."""

    model: type
    values: dict  # column -> value, as the service's clean() gives them
    owned: dict[str, list[dict]] = field(default_factory=dict)  # relationship -> rows
    # The owned rows as the service reports them to the veto and the trail:
    # {"emails": (None, [...]), ...}
    related: dict = field(default_factory=dict)
    id: int | None = None
    record: object | None = None  # what plugins and the trail are given

    def changes(self, actor) -> dict:
        """``{attribute: (None, value)}``, as ``records.create`` gives them."""
        values = _stamped(self.values, self.model, actor)
        return {**{k: (None, v) for k, v in values.items() if v is not None},
                **self.related}


def listened(session: Session, hook_name: str) -> bool:
    """Whether any enabled plugin implements ``hook_name``."""
    host = events.host_of(session)
    if hook_name == CREATED and webhooks.wanted(session, ".created"):
        return True
    return host is not None and bool(getattr(host.pm.hook, hook_name).get_hookimpls())


def begin(session: Session) -> None:
    """Open the session's transaction, on SQLite with the write lock taken at once.

    SQLite's Python driver sends BEGIN only before its first INSERT or UPDATE, so a
    SAVEPOINT sent first would itself open the transaction, and its RELEASE would
    commit it. Taking the lock at the start (IMMEDIATE) also makes the ids that
    ``IdBlock`` hands out safe from other writers until the commit.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and \
            not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def analyse(session: Session, model: type) -> None:
    """Bring the planner's statistics of ``model``'s table, and of its owned rows', up
    to date.

    Without them (a table never analysed, or one an import has since filled many times
    over) both databases take the index on ``deleted_at``, NULL in nearly every row,
    for the one that narrows a look-up, and read the whole table for every batch.
    SQLite samples a thousand rows per index, so this costs milliseconds.
    """
    connection = session.connection()
    tables = [model.__table__, *(r.mapper.local_table
                                 for r in inspect(model).relationships.values())]
    names = [connection.dialect.identifier_preparer.format_table(t) for t in tables]
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
        for name in names:
            connection.exec_driver_sql(f"ANALYZE {name}")
    else:
        connection.exec_driver_sql(f"ANALYZE {', '.join(names)}")


_collecting = threading.Lock()
_bulk_work = 0  # how many threads are inside ``fewer_collections``


@contextmanager
def fewer_collections():
    """Let the cycle collector wait longer while bulk work runs. Such work makes
    millions of short-lived objects; at the default pace (a pass every 700 new
    objects, a full pass every 70,000) the collector costs it a fifth of its time,
    walking the same long-lived objects again and again."""
    global _bulk_work
    with _collecting:
        _bulk_work += 1
        if _bulk_work == 1:
            gc.set_threshold(BULK_GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        yield
    finally:
        with _collecting:
            _bulk_work -= 1
            if _bulk_work == 0:
                gc.set_threshold(_DEFAULT_GC_THRESHOLD, *gc.get_threshold()[1:])


def among(session: Session, column, values) -> object:
    """``column IN values`` for hundreds of values at a time. On PostgreSQL as one array
    (``= ANY``): a list of 500 parameters costs its planner tens of milliseconds a query,
    an array a fraction of one."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


class IdBlock:
    """Ids for new rows of one table, handed out before the rows are written.

    PostgreSQL takes them from the table's sequence, a block at a time (ids left
    unused are gaps, as after any rollback). SQLite numbers on from the highest id,
    which is safe because ``begin`` holds the write lock until the commit.
    """

    def __init__(self, session: Session, model: type):
        self.session, self.table = session, model.__table__
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.free: list[int] = []
        self.next_id: int | None = None

    def take(self, at_least: int = 1) -> int:
        """The next id; ``at_least`` is how many may still be wanted, to fetch at once."""
        if self.postgresql:
            if not self.free:
                self.free = self._reserve(max(1, at_least))[::-1]
            return self.free.pop()
        if self.next_id is None:
            highest = self.session.scalar(select(func.max(self.table.c.id)))
            self.next_id = (highest or 0) + 1
        self.next_id += 1
        return self.next_id - 1

    def take_many(self, count: int) -> list[int]:
        """The next ``count`` ids, in order."""
        return [self.take(count - n) for n in range(count)]

    def _reserve(self, count: int) -> list[int]:
        return self.session.scalars(
            text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)"),
            {"sequence": self._sequence(), "count": count}).all()

    def _sequence(self) -> str:
        """The table's sequence, looked up once a session: looked up with each id, it
        would cost three times what taking the id does."""
        known = self.session.info.setdefault("bulk.sequences", {})
        if self.table.name not in known:
            known[self.table.name] = self.session.scalar(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": self.table.name})
        return known[self.table.name]


def check(session: Session, new: NewRecord, actor) -> None:
    """The actor's right to create it and the plugins' veto on one new record: a
    ValidationError or Forbidden refuses it."""
    if not permissions.grants(actor).admin:
        permissions.require(session, actor, _record(new, actor), "create")
    if listened(session, VETO):
        events.before_save(session, _record(new, actor), new.changes(actor), actor)


def write(session: Session, new_records: list[NewRecord], actor) -> None:
    """Write checked records, whose ids are set, with their owned rows and trail
    entries; plugins hear of each one once the transaction commits."""
    if not new_records:
        return
    model = new_records[0].model
    defaults = _defaults(model.__table__)
    _insert(session, model.__table__,
            [{**defaults, **_stamped(new.values, model, actor), "id": new.id}
             for new in new_records])
    for name, relationship in inspect(model).relationships.items():
        table, owner = relationship.mapper.local_table, _owner_column(relationship)
        owned_defaults = _defaults(table)
        _insert(session, table, [{**owned_defaults, **row, owner: new.id}
                                 for new in new_records for row in new.owned.get(name, ())])
    _write_trail(session, new_records, actor)
    if listened(session, CREATED):
        for new in new_records:
            events.after_commit(session, CREATED, record=_written(new, actor, defaults),
                                actor=actor)


def _write_trail(session: Session, new_records: list[NewRecord], actor) -> None:
    """One entry per record, with the values ``audit.write`` gives an entry (a test holds
    the two alike), written in bulk: an ORM object per entry would double the cost."""
    now, door = utcnow(), audit.current_door()
    entries = []
    for new in new_records:
        record = new.record or new.model(**_stamped(new.values, new.model, actor))
        entries.append({
            "at": now, "actor_id": getattr(actor, "id", None), "door": door,
            "action": "create", "record_type": audit.record_type_of(record),
            "record_id": new.id, "changes": audit.stored_changes(new.changes(actor)),
            "summary": audit.label_of(record)[:300]})
    defaults = _defaults(TRAIL)
    _insert(session, TRAIL, [{**defaults, **entry} for entry in entries])


def _record(new: NewRecord, actor):
    """The ORM object of a new record with its owned rows, never added to the session."""
    if new.record is None:
        record = new.model(**_stamped(new.values, new.model, actor))
        for name, relationship in inspect(new.model).relationships.items():
            if new.owned.get(name):
                setattr(record, name, [relationship.mapper.class_(**row)
                                       for row in new.owned[name]])
        new.record = record
    new.record.id = new.id
    return new.record


def _written(new: NewRecord, actor, defaults: dict):
    """The ORM object as written: with its id and the defaults its row was given."""
    record = _record(new, actor)
    for key, value in defaults.items():
        if getattr(record, key) is None:
            setattr(record, key, copy.copy(value))  # each its own {} for ``custom``
    return record


def _stamped(values: dict, model: type, actor) -> dict:
    if actor is None or not hasattr(model, "created_by_id"):
        return values
    return {**values, "created_by_id": actor.id, "updated_by_id": actor.id}


def _owner_column(relationship) -> str:
    """The column of an owned row that points at its record (``person_id``)."""
    [column] = relationship.remote_side
    return column.key


def _defaults(table) -> dict:
    """Every column's value when none is given (its default, or NULL), but the id's.

    A callable default (the time, an empty dict) is called once for a whole batch.
    """
    found = {}
    for column in table.columns:
        if column.primary_key:
            continue
        default = column.default
        if default is None:
            found[column.key] = None
        else:
            found[column.key] = default.arg if default.is_scalar else default.arg(None)
    return found


def add_rows(session: Session, model: type, rows: list[dict]) -> list[int]:
    """Write plain rows of one table (no veto, no trail: the outbox, the timeline) in
    bulk, with the columns' defaults; their ids, in order (none for a table without an
    ``id``). The ids are handed out first (``IdBlock``, under SQLite's write lock) so
    that the rows go in without RETURNING: by COPY on PostgreSQL, where psycopg would
    otherwise parse a multi-row INSERT's text anew each time, and by the driver's own
    loop on SQLite."""
    if not rows:
        return []
    table = model.__table__
    defaults = _defaults(table)
    rows = [{**defaults, **row} for row in rows]
    ids = []
    if "id" in table.c:
        begin(session)
        ids = IdBlock(session, model).take_many(len(rows))
        for id_, row in zip(ids, rows, strict=True):
            row["id"] = id_
    _insert(session, table, rows)
    return ids


def _insert(session: Session, table, rows: list[dict]) -> None:
    """Hand the rows to the driver itself: SQLAlchemy's work per row (a dict of
    parameters built, each value processed) would cost more than the database's."""
    if not rows:
        return
    connection = session.connection()
    dialect, names = connection.dialect, _filled_columns(table, rows)
    values = _driver_values(dialect, table, names, rows)
    quote = dialect.identifier_preparer.quote
    into = f"{dialect.identifier_preparer.format_table(table)} " \
        f"({', '.join(quote(name) for name in names)})"
    raw = connection.connection.dbapi_connection
    if dialect.name == "postgresql":
        # COPY: on PostgreSQL several times faster than a multi-row INSERT
        with raw.cursor() as cursor, cursor.copy(f"COPY {into} FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    else:
        cursor = raw.cursor()
        try:
            cursor.executemany(f"INSERT INTO {into} VALUES ({', '.join('?' for _ in names)})",
                               values)
        finally:
            cursor.close()


def _filled_columns(table, rows: list[dict]) -> list[str]:
    """The columns worth sending: one NULL in every row (a draft's number, an invoice's
    dates to come) is left to the database, which makes it NULL itself."""
    return [name for name in rows[0] if table.c[name].server_default is not None
            or any(row[name] is not None for row in rows)]


def _driver_values(dialect, table, names: list[str], rows: list[dict]):
    """Each row's values in ``names``' order, as the column types hand them to the
    driver (a date as text for SQLite, a dict as JSON); None is NULL."""
    converters = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names]
    pairs = list(zip(names, converters, strict=True))
    for row in rows:
        yield [row[name] if convert is None or row[name] is None else convert(row[name])
               for name, convert in pairs]
