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
user are plain text, never query syntax. Records come from ``records.visible``, so
soft-deleted ones never appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Column, Float, Integer, MetaData, Select, String, Table, Text, func, select
from sqlalchemy.dialects.postgresql import TSVECTOR, to_tsquery
from sqlalchemy.orm import Session, selectinload

from core import identifiers, records
from core.errors import ValidationError
from core.models import Organisation, Person
from core.text import fold

SEARCHABLE = {"organisation": Organisation, "person": Person}
MAX_WORDS = 8
MAX_LIMIT = 100
EXCERPT = 80

_WORD = re.compile(r"[^\W_]+")
# Digits that people split with spaces or dashes: "525-000-12-34", "600 100 200".
_DIGIT_GROUPS = re.compile(r"(?<=\d)[\s\-\u2010-\u2015]+(?=\d)")

_metadata = MetaData()  # not the models' metadata: these tables belong to the migration
documents = Table("search_documents", _metadata,
                  Column("id", Integer, primary_key=True), Column("record_type", String(50)),
                  Column("record_id", Integer), Column("body", Text),
                  Column("document", TSVECTOR))
fts_index = Table("search_index", _metadata, Column("rowid", Integer), Column("body", Text),
                  Column("rank", Float))


@dataclass(frozen=True)
class Hit:
    record_type: str
    record_id: int
    label: str
    snippet: str  # the matching detail (e-mail, NIP, part of the notes) or some context


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
    dialect = session.get_bind().dialect.name
    scored = []
    for record_type in types:
        model = SEARCHABLE[record_type]
        matches = _matches(dialect, record_type, typed).subquery()
        query = (records.visible(model, actor)
                 .join(matches, matches.c.record_id == model.id)
                 .add_columns(matches.c.score)
                 .order_by(matches.c.score.desc(), model.name_key, model.id)
                 .limit(limit))
        if model is Person:
            query = query.options(selectinload(Person.contacts))
        scored += [(score, _hit(record, typed)) for record, score in session.execute(query)]
    scored.sort(key=lambda pair: (-pair[0], fold(pair[1].label), pair[1].record_type,
                                  pair[1].record_id))
    return [hit for _score, hit in scored[:limit]]


def _matches(dialect: str, record_type: str, typed: list[str]) -> Select:
    """(record_id, score) of the documents in which every word starts some word."""
    if dialect == "postgresql":
        query = to_tsquery("simple", " & ".join(f"'{w}':*" for w in typed))
        return select(documents.c.record_id,
                      func.ts_rank(documents.c.document, query).label("score")).where(
            documents.c.record_type == record_type, documents.c.document.bool_op("@@")(query))
    return (select(documents.c.record_id, (-fts_index.c.rank).label("score"))
            .select_from(fts_index.join(documents, documents.c.id == fts_index.c.rowid))
            .where(fts_index.c.body.match(" ".join(f'"{w}"*' for w in typed)),
                   documents.c.record_type == record_type))


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
