"""Search as you type at a million records: bounded reads of the full-text indexes.

Search asks the index for a bounded number of candidates instead of scoring every
match (see ``core/search.py``). Two things made that bound expensive:

* SQLite: the FTS5 index had prefix indexes for two and three letters only; any other
  prefix ("k", "kowal") is answered by merging the whole lists of every word starting
  with it (at a million people, 30 ms for "kowal"), while a prefix index is read in
  rowid order and stops at the LIMIT. The index is rebuilt with prefix indexes for one
  to six letters (half as large again); a longer word is usually whole by then and
  found by the whole-word query first. A rebuild also compacts the index.
* PostgreSQL: while its statistics hold fewer than a hundred frequent words, the
  planner takes any prefix query (``'xyz':*``) to match 2 % of the rows, and with a
  LIMIT it scanned the table, or an unrelated index in order, which reads everything
  for a rare word. ``search_matches(query, kinds, how_many)`` runs the one
  statement with sequential and plain index scans switched off, so it always reads the
  GIN index's bitmap; search calls it only after a short look through the newest
  documents has not found enough (a common word). The GIN index keeps its list of
  pending insertions, which every search reads through, at 512 kB instead of 4 MB.

No extension is needed and the downgrade restores revision 0005_fields_terms_audit.

Revision ID: 0006_search_speed
Revises: 0005_fields_terms_audit
"""

from alembic import op

revision = "0006_search_speed"
down_revision = "0005_fields_terms_audit"
branch_labels = None
depends_on = None

GIN_INDEX = "ix_search_documents_document"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {GIN_INDEX} SET (gin_pending_list_limit = 512)")
        op.execute(
            "CREATE FUNCTION search_matches(wanted tsquery, kinds text[], how_many integer) "
            "RETURNS TABLE (record_type varchar, record_id integer) LANGUAGE sql STABLE "
            "SET enable_seqscan = off SET enable_indexscan = off "
            "SET search_path FROM CURRENT AS $$ "
            "SELECT d.record_type, d.record_id FROM search_documents d "
            "WHERE d.document @@ wanted AND d.record_type = ANY (kinds) LIMIT how_many $$")
    else:
        _sqlite_index("1 2 3 4 5 6")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS search_matches(tsquery, text[], integer)")
        op.execute(f"ALTER INDEX {GIN_INDEX} RESET (gin_pending_list_limit)")
    else:
        _sqlite_index("2 3")


def _sqlite_index(prefixes: str) -> None:
    """The FTS5 index over ``search_documents`` with the given prefix indexes, filled.

    Its triggers on ``search_documents`` name it and so keep working."""
    op.execute("DROP TABLE search_index")
    op.execute("CREATE VIRTUAL TABLE search_index USING fts5(body, content='search_documents', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 2', "
               f"prefix='{prefixes}')")
    op.execute("INSERT INTO search_index (search_index) VALUES ('rebuild')")
