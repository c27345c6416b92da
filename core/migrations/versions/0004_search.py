"""Full-text search: a document per organisation and person, kept current by triggers.

``search_documents`` holds one row per record: its searchable text (names, identifiers,
e-mails, phones, city, notes). Triggers on ``organisations``, ``people`` and
``contact_points`` rewrite a record's row whenever that text changes, so every write
path (services, imports, plain SQL) keeps search current.

* SQLite: ``search_index`` is an FTS5 index over ``search_documents.body`` (external
  content) with the ``unicode61 remove_diacritics 2`` tokenizer and prefix indexes,
  so "korn" and "Kórn" both find "Kórnik" as you type. The tokenizer does not fold
  "ł", which the triggers replace.
* PostgreSQL: the body is folded in SQL (lower case, Polish and other Latin letters
  without diacritics, punctuation as spaces) and ``document`` is its ``tsvector`` in
  the 'simple' configuration (no stemming, no stop words) with a GIN index; a prefix
  query (``'korn':*``) is answered from that index. It needs no extension, so it works
  in any schema and the downgrade removes everything the upgrade created.

Note: SQLite batch migrations that rebuild these tables drop their triggers; such a
migration must create the triggers again.

Revision ID: 0004_search
Revises: 0003_planning
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_search"
down_revision = "0003_planning"
branch_labels = None
depends_on = None

ORGANISATION_TEXT = ("name", "short_name", "nip", "regon", "krs", "email", "phone", "city",
                     "notes")
PERSON_TEXT = ("first_name", "last_name", "pesel", "notes")
# Letters with diacritics and their plain counterparts, for PostgreSQL's translate().
FOLD_FROM = ("ąćęłńóśźżĄĆĘŁŃÓŚŹŻáàâäãåçčďéèêëěíìîïĺľňñòôöõőřŕšťúùûüůűýÿž"
             "ÁÀÂÄÃÅÇČĎÉÈÊËĚÍÌÎÏĹĽŇÑÒÔÖÕŐŘŔŠŤÚÙÛÜŮŰÝŸŽ")
FOLD_TO = ("acelnoszzacelnoszzaaaaaaccdeeeeeiiiillnnooooorrstuuuuuuyyz"
           "aaaaaaccdeeeeeiiiillnnooooorrstuuuuuuyyz")
TRIGGER_TABLES = ("organisations", "people", "contact_points")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    columns = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    ]
    if dialect == "postgresql":
        columns.append(sa.Column("document", postgresql.TSVECTOR(), sa.Computed(
            "to_tsvector('simple'::regconfig, body)", persisted=True)))
    op.create_table(
        "search_documents", *columns,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("record_type", "record_id", name="uq_search_documents_record"),
    )
    if dialect == "postgresql":
        op.create_index("ix_search_documents_document", "search_documents", ["document"],
                        postgresql_using="gin")
        statements = _postgresql_objects()
    else:
        statements = _sqlite_objects()
    for statement in statements:
        op.execute(statement)
    op.execute(_fill("organisation"))
    op.execute(_fill("person"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS search_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS search_{table}_changed()")
        op.execute("DROP FUNCTION IF EXISTS search_refresh_organisation(integer)")
        op.execute("DROP FUNCTION IF EXISTS search_refresh_person(integer)")
        op.execute("DROP FUNCTION IF EXISTS search_fold(text)")
    else:
        for table in (*TRIGGER_TABLES, "search_documents"):
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{change}")
        op.execute("DROP TABLE IF EXISTS search_index")
    op.drop_table("search_documents")


# --------------------------------------------------------------------- the documents


def _concat(alias: str, columns: tuple[str, ...], dialect: str) -> str:
    if dialect == "postgresql":
        return "concat_ws(' ', " + ", ".join(f"{alias}.{c}" for c in columns) + ")"
    return " || ' ' || ".join(f"coalesce({alias}.{c}, '')" for c in columns)


def _phones(column: str) -> str:
    """A Polish number also without +48, as people type it."""
    return f"CASE WHEN {column} LIKE '+48%' THEN substr({column}, 4) ELSE '' END"


def _organisation_body(dialect: str) -> str:
    text = _concat("o", ORGANISATION_TEXT, dialect)
    text = f"{text} || ' ' || {_phones('o.phone')}"
    return f"search_fold({text})" if dialect == "postgresql" else _sqlite_fold(text)


def _person_body(dialect: str) -> str:
    contact = f"c.value || ' ' || {_phones('c.value')}"
    if dialect == "postgresql":
        contacts = f"string_agg({contact}, ' ')"
    else:
        contacts = f"group_concat({contact}, ' ')"
    text = (f"{_concat('p', PERSON_TEXT, dialect)} || ' ' || coalesce((SELECT {contacts} "
            "FROM contact_points c WHERE c.person_id = p.id), '')")
    return f"search_fold({text})" if dialect == "postgresql" else _sqlite_fold(text)


def _sqlite_fold(text: str) -> str:
    """FTS5's unicode61 folds case and diacritics, except the letter ł."""
    return f"replace(replace({text}, 'ł', 'l'), 'Ł', 'L')"


def _select(record_type: str, dialect: str) -> str:
    """SELECT of the document rows of a record type (of all its records)."""
    if record_type == "organisation":
        return (f"SELECT 'organisation', o.id, {_organisation_body(dialect)} "
                "FROM organisations o")
    return f"SELECT 'person', p.id, {_person_body(dialect)} FROM people p"


def _fill(record_type: str) -> str:
    dialect = op.get_bind().dialect.name
    return ("INSERT INTO search_documents (record_type, record_id, body) "
            + _select(record_type, dialect))


def _refresh(record_type: str, record_id: str, dialect: str) -> str:
    """Statements that rewrite one record's document (none if the record is gone)."""
    alias = "o" if record_type == "organisation" else "p"
    return (f"DELETE FROM search_documents WHERE record_type = '{record_type}' "
            f"AND record_id = {record_id};\n"
            "INSERT INTO search_documents (record_type, record_id, body) "
            f"{_select(record_type, dialect)} WHERE {alias}.id = {record_id};")


# --------------------------------------------------------------------- SQLite


def _sqlite_objects() -> list[str]:
    statements = [
        "CREATE VIRTUAL TABLE search_index USING fts5(body, content='search_documents', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
        # Keep the FTS5 index in step with its external content.
        "CREATE TRIGGER search_search_documents_insert AFTER INSERT ON search_documents "
        "BEGIN INSERT INTO search_index (rowid, body) VALUES (new.id, new.body); END",
        "CREATE TRIGGER search_search_documents_delete AFTER DELETE ON search_documents "
        "BEGIN INSERT INTO search_index (search_index, rowid, body) "
        "VALUES ('delete', old.id, old.body); END",
        "CREATE TRIGGER search_search_documents_update AFTER UPDATE ON search_documents "
        "BEGIN INSERT INTO search_index (search_index, rowid, body) "
        "VALUES ('delete', old.id, old.body); "
        "INSERT INTO search_index (rowid, body) VALUES (new.id, new.body); END",
    ]
    for table, record_type, columns in (
            ("organisations", "organisation", ORGANISATION_TEXT),
            ("people", "person", PERSON_TEXT)):
        statements += [
            f"CREATE TRIGGER search_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {_refresh(record_type, 'new.id', 'sqlite')} END",
            f"CREATE TRIGGER search_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} BEGIN {_refresh(record_type, 'new.id', 'sqlite')} END",
            f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN DELETE FROM search_documents WHERE record_type = '{record_type}' "
            "AND record_id = old.id; END",
        ]
    statements += [
        "CREATE TRIGGER search_contact_points_insert AFTER INSERT ON contact_points "
        f"BEGIN {_refresh('person', 'new.person_id', 'sqlite')} END",
        "CREATE TRIGGER search_contact_points_update AFTER UPDATE ON contact_points "
        f"BEGIN {_refresh('person', 'old.person_id', 'sqlite')} "
        f"{_refresh('person', 'new.person_id', 'sqlite')} END",
        "CREATE TRIGGER search_contact_points_delete AFTER DELETE ON contact_points "
        f"BEGIN {_refresh('person', 'old.person_id', 'sqlite')} END",
    ]
    return statements


# --------------------------------------------------------------------- PostgreSQL


def _postgresql_objects() -> list[str]:
    # SET search_path FROM CURRENT: the functions find this schema's tables whatever
    # the search path of the session that fires them.
    header = "LANGUAGE plpgsql SET search_path FROM CURRENT AS $$\nBEGIN\n"
    statements = [
        "CREATE FUNCTION search_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT regexp_replace(lower(translate(value, "
        f"'{FOLD_FROM}', '{FOLD_TO}')), '[[:punct:][:space:]]+', ' ', 'g') $$",
        "CREATE FUNCTION search_refresh_organisation(wanted_id integer) RETURNS void "
        f"{header}{_refresh('organisation', 'wanted_id', 'postgresql')}\nEND $$",
        "CREATE FUNCTION search_refresh_person(wanted_id integer) RETURNS void "
        f"{header}{_refresh('person', 'wanted_id', 'postgresql')}\nEND $$",
        "CREATE FUNCTION search_organisations_changed() RETURNS trigger "
        f"{header}IF TG_OP = 'DELETE' THEN PERFORM search_refresh_organisation(OLD.id);\n"
        "ELSE PERFORM search_refresh_organisation(NEW.id); END IF;\nRETURN NULL;\nEND $$",
        "CREATE FUNCTION search_people_changed() RETURNS trigger "
        f"{header}IF TG_OP = 'DELETE' THEN PERFORM search_refresh_person(OLD.id);\n"
        "ELSE PERFORM search_refresh_person(NEW.id); END IF;\nRETURN NULL;\nEND $$",
        "CREATE FUNCTION search_contact_points_changed() RETURNS trigger "
        f"{header}IF TG_OP <> 'INSERT' THEN PERFORM search_refresh_person(OLD.person_id);"
        "\nEND IF;\nIF TG_OP <> 'DELETE' THEN PERFORM search_refresh_person(NEW.person_id);"
        "\nEND IF;\nRETURN NULL;\nEND $$",
    ]
    watched = {"organisations": ORGANISATION_TEXT, "people": PERSON_TEXT,
               "contact_points": ("person_id", "kind", "value")}
    for table, columns in watched.items():
        statements.append(
            f"CREATE TRIGGER search_{table} AFTER INSERT OR DELETE OR UPDATE OF "
            f"{', '.join(columns)} ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION search_{table}_changed()")
    return statements
