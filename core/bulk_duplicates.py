"""Duplicate detection for many rows at once, on the evidence ``core.duplicates`` uses.

An identifier, e-mail address or phone number in common is strong evidence; the same
or a similar name is weak, and only the closest few (``duplicates.WEAK_LIMIT``) count.
``Finder.look_up`` asks the database once per kind of evidence for a whole batch of
rows. Records the import writes meanwhile are kept in the finder, so that each row is
compared with the rows before it, in the file and in the database, as if every row
had been saved on its own.

Names are compared by their folded keys. The keys that share a row's first letters
(``duplicates.PREFIX``) are read once per import and kept, with the lowest ids under
each key, in a cache of bounded size that the import's own writes keep current, so a
common name is not read again for every row that bears it. Records that someone else
creates while an import runs are therefore found by their identifiers, e-mails and
phones, not by their names.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from flask_babel import gettext as _
from sqlalchemy import Select, and_, union_all
from sqlalchemy.orm import Session

from core import records
from core.duplicates import PREFIX, SIMILARITY, WEAK_LIMIT
from core.models import ContactPoint, Organisation, Person

PREFIXES = 1_000  # name prefixes kept per import: a megabyte or two
WINDOW = 8  # keys on either side of a name, in sorted order, that it is compared with
CHUNK = 500  # values in one IN (...)
PREFIX_CHUNK = 100  # ranges of names in one UNION ALL: its compiled form is cached


@dataclass(frozen=True)
class Evidence:
    """One kind of strong evidence: how a row, a stored record and the database show it."""

    label: Callable[[], str]  # "NIP", "e-mail"
    of_values: Callable[[dict], list[str]]  # in a row's cleaned values
    of_record: Callable[[object], list[str]]  # in a record as it is now
    query: Callable[[list[str]], Select]  # (value, id) of visible records having one


@dataclass
class Match:
    """A record a row resembles, and why."""

    id: int
    reasons: list[str] = field(default_factory=list)
    strong: bool = False

    def describe(self) -> dict:
        return {"id": self.id, "reasons": list(self.reasons), "strong": self.strong}


def _column(model: type, column, label: Callable[[], str]) -> Evidence:
    key = column.key
    return Evidence(
        label=label,
        of_values=lambda values: [values[key]] if values.get(key) else [],
        of_record=lambda record: [getattr(record, key)] if getattr(record, key) else [],
        query=lambda wanted: records.visible(model).with_only_columns(column, model.id)
        .where(column.in_(wanted)))


def _contact(kind: str, label: Callable[[], str]) -> Evidence:
    return Evidence(
        label=label,
        of_values=lambda values: [v for v in values.get(f"{kind}s", []) if v],
        of_record=lambda person: person.contact_values(kind),
        query=lambda wanted: records.visible(Person)
        .with_only_columns(ContactPoint.value, Person.id).select_from(Person)
        .join(ContactPoint, ContactPoint.person_id == Person.id)
        .where(ContactPoint.kind == kind, ContactPoint.value.in_(wanted)))


def evidence_of(model: type) -> list[Evidence]:
    """The strong evidence of a record type, in the order its reasons are given."""
    if model is Person:
        return [_column(Person, Person.pesel, lambda: "PESEL"),
                _contact("email", lambda: _("e-mail")),
                _contact("phone", lambda: _("phone"))]
    return [_column(Organisation, column, label) for column, label in (
        (Organisation.nip, lambda: "NIP"), (Organisation.regon, lambda: "REGON"),
        (Organisation.krs, lambda: "KRS"), (Organisation.email, lambda: _("e-mail")),
        (Organisation.phone, lambda: _("phone")))]


class Finder:
    """The likely duplicates of the rows of an import, one batch at a time."""

    def __init__(self, model: type):
        self.model, self.evidence = model, evidence_of(model)
        self.reasons = [_("same %(what)s", what=e.label()) for e in self.evidence]
        self.same_name, self.similar_name = _("same name"), _("similar name")
        self.names = NameCache(model)
        self._stored: dict[tuple[int, str], list[int]] = {}  # as read for the batch
        self._written: dict[tuple[int, str], list[int]] = {}  # written since
        self._changed: set[int] = set()  # stored records written since
        self._keys: dict[int, list[tuple[int, str]]] = {}  # what each written one shows

    def look_up(self, session: Session, rows: list[dict]) -> None:
        """Read the evidence of a batch's rows (cleaned values) from the database."""
        self._stored, self._written, self._changed, self._keys = {}, {}, set(), {}
        for index, evidence in enumerate(self.evidence):
            wanted = sorted({v for values in rows for v in evidence.of_values(values)})
            for chunk in _chunks(wanted):
                for value, record_id in session.execute(evidence.query(chunk)):
                    self._stored.setdefault((index, value), []).append(record_id)
        self.names.load(session, [values.get("name_key") for values in rows])

    def matches(self, values: dict) -> list[Match]:
        """The records a row resembles, the strongest evidence first."""
        found: dict[int, Match] = {}
        for index, evidence in enumerate(self.evidence):
            for value in evidence.of_values(values):
                stored = [i for i in self._stored.get((index, value), ())
                          if i not in self._changed]
                for record_id in stored + self._written.get((index, value), []):
                    _add(found, record_id, self.reasons[index], strong=True)
        for record_id, score in self.names.similar(values.get("name_key")):
            _add(found, record_id, self.same_name if score == 1 else self.similar_name,
                 strong=False)
        return sorted(found.values(), key=lambda m: (not m.strong, -len(m.reasons), m.id))

    def created(self, record_id: int, values: dict) -> None:
        """A row of the batch became a record: the rows after it must see it."""
        self._show(record_id, [(index, value) for index, evidence in enumerate(self.evidence)
                               for value in evidence.of_values(values)])
        self.names.add(values.get("name_key"), record_id)

    def changed(self, record, old_name_key: str | None) -> None:
        """A record was updated: it is now seen as it is, not as it was read."""
        self._changed.add(record.id)
        for key in self._keys.pop(record.id, []):
            self._written[key].remove(record.id)
        self._show(record.id, [(index, value) for index, evidence in enumerate(self.evidence)
                               for value in evidence.of_record(record)])
        if old_name_key != record.name_key:
            self.names.remove(old_name_key, record.id)
            self.names.add(record.name_key, record.id)

    def _show(self, record_id: int, keys: list[tuple[int, str]]) -> None:
        self._keys[record_id] = keys = list(dict.fromkeys(keys))
        for key in keys:
            self._written.setdefault(key, []).append(record_id)


def _add(found: dict[int, Match], record_id: int, reason: str, strong: bool) -> None:
    match = found.setdefault(record_id, Match(record_id))
    if reason not in match.reasons:
        match.reasons.append(reason)
    match.strong = match.strong or strong


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class _Prefix:
    """The name keys that share their first letters, and which of them are alike.

    A key is compared with the WINDOW keys on either side of it in sorted order, where
    names that differ only in their endings or a letter meet; so the work per name
    stays bounded however common its first letters are.
    """

    __slots__ = ("ids", "order", "alike")

    def __init__(self):
        self.ids: dict[str, list[int]] = {}  # stored key -> its lowest ids (WEAK_LIMIT)
        self.order: list[str] = []  # every key stored or asked about, sorted
        self.alike: dict[str, list[tuple[str, float]]] = {}  # key -> stored keys close to it

    def keep(self, key: str, record_id: int) -> None:
        if key not in self.ids:
            self.ids[key] = []
            for known in self._near(key):
                close = self.alike.get(known)
                if close is not None and (score := _score(known, key)) >= SIMILARITY:
                    close.append((key, score))
        ids = self.ids[key]
        if record_id not in ids:
            insort(ids, record_id)
            del ids[WEAK_LIMIT:]

    def close_to(self, key: str) -> list[tuple[str, float]]:
        """The stored keys alike to ``key``: worked out once, then kept by ``keep``."""
        close = self.alike.get(key)
        if close is None:
            close = self.alike[key] = [
                (other, score) for other in self._near(key)
                if other in self.ids and (score := _score(key, other)) >= SIMILARITY]
        return close

    def _near(self, key: str) -> list[str]:
        """``key`` and its neighbours in sorted order (``key`` is added to the order)."""
        at = bisect_left(self.order, key)
        if at == len(self.order) or self.order[at] != key:
            self.order.insert(at, key)
        return self.order[max(0, at - WINDOW):at + WINDOW + 1]


class NameCache:
    """Name keys by their first letters, each with its lowest ids (WEAK_LIMIT of them).

    A prefix is read whole once (``load``) and then kept current by ``add`` and
    ``remove``; the least recently used prefixes are let go past ``PREFIXES``.
    """

    def __init__(self, model: type):
        self.model = model
        self.prefixes: OrderedDict[str, _Prefix] = OrderedDict()

    def load(self, session: Session, keys: Iterable[str | None]) -> None:
        wanted = {key[:PREFIX] for key in keys if key}
        for prefix in wanted & self.prefixes.keys():
            self.prefixes.move_to_end(prefix)
        missing = sorted(wanted - self.prefixes.keys())
        for chunk in _chunks(missing, PREFIX_CHUNK):
            for prefix in chunk:
                self.prefixes[prefix] = _Prefix()
            for record_id, key in session.execute(self._query(chunk)):
                self.prefixes[key[:PREFIX]].keep(key, record_id)
        while len(self.prefixes) > max(PREFIXES, len(wanted)):
            self.prefixes.popitem(last=False)

    def _query(self, prefixes: list[str]):
        model = self.model
        selects = [records.visible(model).with_only_columns(model.id, model.name_key)
                   .where(and_(model.name_key >= prefix, model.name_key < _after(prefix)))
                   for prefix in prefixes]
        return selects[0] if len(selects) == 1 else union_all(*selects)

    def similar(self, key: str | None) -> list[tuple[int, float]]:
        """(id, score) of the closest records, as ``duplicates`` finds them for one row."""
        entry = self.prefixes.get((key or "")[:PREFIX])
        if not key or entry is None:
            return []
        scored = [(record_id, score) for other, score in entry.close_to(key)
                  for record_id in entry.ids[other]]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:WEAK_LIMIT]

    def add(self, key: str | None, record_id: int) -> None:
        if key and (entry := self.prefixes.get(key[:PREFIX])) is not None:
            entry.keep(key, record_id)

    def remove(self, key: str | None, record_id: int) -> None:
        entry = self.prefixes.get((key or "")[:PREFIX])
        ids = entry.ids.get(key, []) if entry is not None else []
        if record_id in ids:
            ids.remove(record_id)


def _score(key: str, other: str) -> float:
    """How alike two name keys are, as ``duplicates`` measures it (0 below SIMILARITY)."""
    if key == other:
        return 1.0
    # The cheap upper bounds first (the first is real_quick_ratio's): most keys fail them.
    if 2 * min(len(key), len(other)) < SIMILARITY * (len(key) + len(other)):
        return 0.0
    matcher = SequenceMatcher(None, key, other)
    if matcher.quick_ratio() < SIMILARITY:
        return 0.0
    return matcher.ratio()


def _after(prefix: str) -> str:
    """The first key past every key starting with ``prefix`` (a range an index serves)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
