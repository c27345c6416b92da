"""Full-text search over organisations and people, answering as you type.

Each record has one document (names, identifiers, e-mails, phones, city, notes) kept
current by the triggers of migration 0004_search. What a user types is folded (lower
case, no diacritics: "Kórn" and "korn" are the same), digits split by spaces or dashes
are joined ("525-000-12-34" is the NIP 5250001234), and each remaining word must be the
start of a word in the document, so results narrow with every key pressed.

SQLite answers from an FTS5 index with prefix indexes; PostgreSQL from a GIN index on a
'simple' ``tsvector`` (prefix queries ``'korn':*``). Both match word prefixes the same
way, and the PostgreSQL side needs no extension (pg_trgm would add substring matching,
which as-you-type search does not need, at the price of an extension shared by every
schema of the database). Words are sent only as quoted prefix terms built from letters
and digits, so quotes, asterisks, NEAR, AND/OR, parentheses or a lone "-" typed by a
user are plain text, never query syntax.

Speed: a short word matches a large part of a million records, and scoring every
match (bm25, ts_rank) is what made typing slow. The index is instead asked for a
bounded number of candidates in its cheapest order (FTS5: newest rowid first;
PostgreSQL: the newest few thousand documents, then the GIN index through
``search_matches``, see migration 0006_search_speed), first those with every typed
word as a whole word, then those with prefixes. Only the candidates are ranked, by what
a user notices: the whole name typed, then whole words of the name, then starts of
words of the name, then matches elsewhere (e-mail, NIP, notes), each alphabetically.
Candidates pass through ``records.visible``, so soft-deleted records never appear; when
it removes too many, more candidates are fetched until the index has no more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Column, Integer, MetaData, Select, String, Table, Text, select, text
from sqlalchemy.dialects.postgresql import TSVECTOR, to_tsquery
from sqlalchemy.orm import Session, selectinload

from core import identifiers, records
from core.errors import ValidationError
from core.models import Organisation, Person
from core.text import fold

SEARCHABLE = {"organisation": Organisation, "person": Person}
# The columns a record's name is made of, for ranking.
NAME_COLUMNS = {"organisation": ("name", "short_name"), "person": ("first_name", "last_name")}
MAX_WORDS = 8
MAX_LIMIT = 100
EXCERPT = 80
CANDIDATES = 100  # at least this many candidates are ranked (four times the limit if more)
PROBE = 4000  # PostgreSQL: the newest documents looked through before the GIN index
# Ranks of a candidate: the whole name typed, whole words of the name, starts of words
# of the name, a match elsewhere in the document.
WHOLE_NAME, NAME_WORDS, NAME_PREFIXES, ELSEWHERE = range(4)

_WORD = re.compile(r"[^\W_]+")
# Digits that people split with spaces or dashes: "525-000-12-34", "600 100 200".
_DIGIT_GROUPS = re.compile(r"(?<=\d)[\s\-\u2010-\u2015]+(?=\d)")

_metadata = MetaData()  # not the models' metadata: these tables belong to the migration
documents = Table("search_documents", _metadata,
                  Column("id", Integer, primary_key=True), Column("record_type", String(50)),
                  Column("record_id", Integer), Column("body", Text),
                  Column("document", TSVECTOR))
fts_index = Table("search_index", _metadata, Column("rowid", Integer), Column("body", Text))
_GIN_MATCHES = text("SELECT record_type, record_id FROM search_matches("
                    "to_tsquery('simple', :query), CAST(:kinds AS text[]), :how_many)")


@dataclass(frozen=True)
class Hit:
    record_type: str
    record_id: int
    label: str
    snippet: str  # the matching detail (e-mail, NIP, part of the notes) or some context


@dataclass(frozen=True)
class Candidate:
    record_type: str
    record_id: int
    label: str
    rank: int  # WHOLE_NAME ... ELSEWHERE

    def order(self) -> tuple:
        return self.rank, fold(self.label), self.record_type, self.record_id


def words(text: str) -> list[str]:
    """The words to match: folded, digits joined, each once, at most MAX_WORDS."""
    text = _DIGIT_GROUPS.sub("", (text or "")[:200])
    return list(dict.fromkeys(_WORD.findall(fold(text))))[:MAX_WORDS]


def search(session: Session, text: str, actor=None,
           types: tuple[str, ...] = ("organisation", "person"), limit: int = 20) -> list[Hit]:
    """The best matches for ``text`` among the records ``actor`` may see."""
    types = tuple(dict.fromkeys(types))
    for record_type in types:
        if record_type not in SEARCHABLE:
            raise ValidationError({"types": _("Unknown kind of record '%(type)s'.",
                                              type=str(record_type)[:40])})
    limit = max(1, min(int(limit), MAX_LIMIT))
    typed = words(text)
    if not typed:
        return []
    best = _ranked(session, typed, types, actor, limit)[:limit]
    return _hits(session, best, typed, actor)


def _ranked(session: Session, typed: list[str], types: tuple[str, ...], actor,
            limit: int) -> list[Candidate]:
    """Visible candidates, best first: whole typed words first; prefixes only when
    those do not give ``limit`` records with the typed words in their names."""
    found: dict[tuple[str, int], Candidate] = {}
    for whole_words in (True, False):
        _collect(session, typed, types, actor, limit, whole_words, found)
        if sum(c.rank <= NAME_WORDS for c in found.values()) >= limit:
            break
    return sorted(found.values(), key=Candidate.order)


def _collect(session: Session, typed: list[str], types: tuple[str, ...], actor, limit: int,
             whole_words: bool, found: dict) -> None:
    """Add to ``found`` candidates of one kind of match, fetching more while records
    the actor may not see leave fewer than ``limit`` and the index has more."""
    size, hidden, first = max(CANDIDATES, 4 * limit), set(), True
    while True:
        keys, complete = _matches(session, typed, types, whole_words, size, limit, first)
        fresh = [key for key in keys if key not in found and key not in hidden]
        shown = _candidates(session, fresh, typed, actor)
        found.update(shown)
        hidden.update(key for key in fresh if key not in shown)
        if complete or sum(key in found for key in keys) >= limit:
            return
        size, first = size * 4, False


def _matches(session: Session, typed: list[str], types: tuple[str, ...], whole_words: bool,
             size: int, enough: int, probe: bool) -> tuple[list[tuple[str, int]], bool]:
    """Up to ``size`` matching (record type, id) in the index's cheapest order, and
    whether that is all of them."""
    if session.get_bind().dialect.name == "postgresql":
        query = " & ".join(f"'{w}'" if whole_words else f"'{w}':*" for w in typed)
        if probe:
            keys = _recent_matches(session, query, types, size)
            if len(keys) >= enough:
                return keys, False
        keys = [tuple(row) for row in session.execute(_GIN_MATCHES, {
            "query": query, "kinds": list(types), "how_many": size})]
    else:
        match = " ".join(f'"{w}"' if whole_words else f'"{w}"*' for w in typed)
        keys = [tuple(row) for row in session.execute(_fts5_matches(match, types, size))]
    return keys, len(keys) < size


def _fts5_matches(match: str, types: tuple[str, ...], size: int) -> Select:
    """FTS5 reads matches in rowid order and stops at the LIMIT; ``ORDER BY rank``
    would score every match first."""
    return (select(documents.c.record_type, documents.c.record_id)
            .select_from(fts_index.join(documents, documents.c.id == fts_index.c.rowid))
            .where(fts_index.c.body.match(match), documents.c.record_type.in_(types))
            .order_by(fts_index.c.rowid.desc()).limit(size))


def _recent_matches(session: Session, query: str, types: tuple[str, ...],
                    size: int) -> list[tuple[str, int]]:
    """Matches among the newest PROBE documents: a word common enough to fill the
    list is found here in a few milliseconds, without building the GIN index's
    bitmap of hundreds of thousands of rows."""
    recent = (select(documents.c.record_type, documents.c.record_id, documents.c.document)
              .order_by(documents.c.id.desc()).limit(PROBE).subquery())
    found = (select(recent.c.record_type, recent.c.record_id)
             .where(recent.c.document.bool_op("@@")(to_tsquery("simple", query)),
                    recent.c.record_type.in_(types)).limit(size))
    return [tuple(row) for row in session.execute(found)]


def _candidates(session: Session, keys: list[tuple[str, int]], typed: list[str],
                actor) -> dict[tuple[str, int], Candidate]:
    """The visible records among ``keys``, with their labels and ranks."""
    out = {}
    for record_type, model in SEARCHABLE.items():
        ids = [record_id for kind, record_id in keys if kind == record_type]
        if not ids:
            continue
        columns = [getattr(model, name) for name in NAME_COLUMNS[record_type]]
        query = records.visible(model, actor).where(model.id.in_(ids)) \
            .with_only_columns(model.id, *columns)
        for record_id, *names in session.execute(query):
            # An organisation is listed by its name; its short name still ranks it.
            label = names[0] if record_type == "organisation" else " ".join(names).strip()
            out[(record_type, record_id)] = Candidate(
                record_type, record_id, label, _rank(typed, " ".join(names), label))
    return out


def _rank(typed: list[str], name: str, label: str) -> int:
    """How well the typed words match a record's name (see WHOLE_NAME ...)."""
    name_words = words(name)
    if sorted(typed) in (sorted(words(label)), sorted(name_words)):
        return WHOLE_NAME
    if all(t in name_words for t in typed):
        return NAME_WORDS
    if all(any(w.startswith(t) for w in name_words) for t in typed):
        return NAME_PREFIXES
    return ELSEWHERE


def _hits(session: Session, best: list[Candidate], typed: list[str], actor) -> list[Hit]:
    loaded = {}
    for record_type, model in SEARCHABLE.items():
        ids = [c.record_id for c in best if c.record_type == record_type]
        if not ids:
            continue
        query = records.visible(model, actor).where(model.id.in_(ids))
        if model is Person:
            query = query.options(selectinload(Person.contacts))
        loaded.update({(record_type, r.id): r for r in session.scalars(query)})
    return [_hit(loaded[(c.record_type, c.record_id)], typed) for c in best
            if (c.record_type, c.record_id) in loaded]


# --------------------------------------------------------------------- what to show


def _hit(record, typed: list[str]) -> Hit:
    if isinstance(record, Organisation):
        label, context = record.name, record.city
        details = [(record.short_name, record.short_name),
                   (record.nip, identifiers.format("nip", record.nip)),
                   (record.regon, record.regon), (record.krs, record.krs),
                   (record.email, record.email),
                   (record.phone, identifiers.format("phone", record.phone)),
                   (record.city, record.city), (record.notes, record.notes)]
    else:
        label = record.full_name
        emails = record.contact_values("email")
        context = emails[0] if emails else ""
        details = [(v, v) for v in emails]
        details += [(v, identifiers.format("phone", v)) for v in record.contact_values("phone")]
        details += [(record.pesel, record.pesel), (record.notes, record.notes)]
    snippet = next((_excerpt(shown, typed) for stored, shown in details
                    if stored and _mentions(stored, typed)), context)
    return Hit(type(record).record_type, record.id, label, snippet)


def _mentions(value: str, typed: list[str]) -> bool:
    """Whether a word of ``value`` starts with one of the typed words."""
    found = _WORD.findall(fold(value))
    if value.startswith("+48"):
        found.append(value[3:])
    return any(w.startswith(t) for w in found for t in typed)


def _excerpt(value: str, typed: list[str]) -> str:
    """A long text cut to about EXCERPT characters around the first typed word."""
    value = " ".join(value.split())
    if len(value) <= EXCERPT:
        return value
    folded = fold(value)
    positions = [m.start() for t in typed
                 for m in [re.search(rf"(?<![^\W_]){re.escape(t)}", folded)] if m]
    start = max(0, min(positions, default=0) - EXCERPT // 3)
    piece = value[start:start + EXCERPT]
    return ("…" if start else "") + piece + ("…" if start + EXCERPT < len(value) else "")
