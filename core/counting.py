"""How many records a list holds: exact while counting is cheap, estimated beyond.

Counting every row a filter matches takes time in proportion to the rows (a million
people: about 100 ms on PostgreSQL), so lists and segments never count more than
``cap + 1`` rows. Past the cap the count is labelled as not exact: on PostgreSQL it is
the planner's row estimate for the same query, "about 120,000" (for an unfiltered list
that estimate is the table's ``pg_class.reltuples``); SQLite keeps no estimate worth
showing, so it says "more than 1,000".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ClauseElement, Executable, Select, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

CAP = 1_000
EXACT, ABOUT, MORE_THAN = "exact", "about", "more than"


@dataclass(frozen=True)
class Count:
    value: int
    kind: str  # EXACT, ABOUT (an estimate) or MORE_THAN (the cap was passed)

    @property
    def exact(self) -> bool:
        return self.kind == EXACT

    def text(self, noun: str) -> str:
        """The count in words, "3 organisations" or "about 120,000 people"; ``noun`` is
        the term key of what is counted."""
        from flask_babel import format_decimal
        from flask_babel import gettext as _

        from core.terms import term

        number = format_decimal(self.value)
        if self.kind == ABOUT:
            # Polish "około" takes the genitive: "około 120 000 organizacji".
            return _("about %(count)s %(what)s", count=number,
                     what=term(noun, case="gen", plural=True))
        if self.kind == MORE_THAN:
            return _("more than %(count)s %(what)s", count=number,
                     what=term(noun, case="acc", count=self.value))
        return _("%(count)s %(what)s", count=number, what=term(noun, count=self.value))


def count(session: Session, query: Select, cap: int = CAP) -> Count:
    """How many rows ``query`` returns: exact up to ``cap``, estimated above it."""
    counted = session.scalar(select(func.count()).select_from(_rows(query).limit(cap + 1)
                                                              .subquery()))
    if counted <= cap:
        return Count(counted, EXACT)
    if session.get_bind().dialect.name == "postgresql":
        estimate = planned_rows(session, query)
        if estimate > cap:
            return Count(_round(estimate), ABOUT)
    return Count(cap, MORE_THAN)


def planned_rows(session: Session, query: Select) -> int:
    """PostgreSQL's estimate of the rows ``query`` returns, from its plan alone."""
    plan = session.execute(_Explain(_rows(query))).scalar()
    return int(plan[0]["Plan"]["Plan Rows"])


def _rows(query: Select) -> Select:
    """The query reduced to what counting needs: its rows, no columns, no order."""
    return query.with_only_columns(literal_column("1"), maintain_column_froms=True) \
        .order_by(None)


def _round(value: int) -> int:
    """Two significant digits, as an estimate deserves: 123,456 -> 120,000."""
    digits = len(str(value))
    return int(round(value, 2 - digits)) if digits > 2 else value


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <query>``, with the query's parameters bound as usual."""

    inherit_cache = False

    def __init__(self, query: Select):
        self.query = query


@compiles(_Explain, "postgresql")
def _explain(element: _Explain, compiler, **kw) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.query, **kw)
