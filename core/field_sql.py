"""The SQL of one custom value, written the same way in filters, sorts and indexes.

An expression index is used only when a query repeats its expression exactly, so
``value_sql`` is the single spelling of "custom value ``key`` as a ``kind``" for both
``CREATE INDEX`` and the filter language. Keys are checked against ``KEY`` before they
reach SQL; they are never taken from a request without that check.
"""

from __future__ import annotations

import re

from sqlalchemy import Boolean, Numeric, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Kinds whose values can be indexed and sorted (one scalar per record).
SCALAR = ("text", "key", "number", "date", "datetime", "boolean", "money", "relation")


def value_sql(dialect: str, column: str, key: str, kind: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a custom field key: {key!r}")
    if dialect == "sqlite":
        if kind == "money":  # the amount is decimal text: compare it as a number
            return f"CAST(json_extract({column}, '$.{key}.amount') AS NUMERIC)"
        return f"json_extract({column}, '$.{key}')"
    if kind == "money":
        return f"((({column} -> '{key}') ->> 'amount')::numeric)"
    if kind in ("number", "relation"):
        return f"(({column} ->> '{key}')::numeric)"
    if kind == "boolean":
        return f"(({column} ->> '{key}')::boolean)"
    return f"({column} ->> '{key}')"


class CustomValue(FunctionElement):
    """``custom[key]`` as a SQL value of ``kind`` (see ``value_sql``)."""

    inherit_cache = False

    def __init__(self, column, key: str, kind: str):
        self.key, self.kind = key, kind
        self.type = {"number": Numeric(), "money": Numeric(), "relation": Numeric(),
                     "boolean": Boolean()}.get(kind, String())
        super().__init__(column)


@compiles(CustomValue)
def _compile(element, compiler, **kw):
    (column,) = element.clauses
    return value_sql(compiler.dialect.name, compiler.process(column, **kw), element.key,
                     element.kind)


def index_name(table: str, key: str) -> str:
    return f"ix_cf_{table}_{key}"[:63]


def create_index_sql(dialect: str, table: str, key: str, kind: str) -> str:
    expression = value_sql(dialect, "custom", key, kind)
    if dialect == "postgresql":
        expression = f"({expression})"
    return f"CREATE INDEX IF NOT EXISTS {index_name(table, key)} ON {table} ({expression})"


def drop_index_sql(table: str, key: str) -> str:
    return f"DROP INDEX IF EXISTS {index_name(table, key)}"
