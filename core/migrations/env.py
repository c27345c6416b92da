"""The one Alembic environment, for the core and for every plugin's branch.

``core.migrate`` passes the branch and a connection in ``config.attributes``; this
file picks the branch's version table and limits autogenerate to its own tables.
"""

from alembic import context
from sqlalchemy.types import TypeDecorator

import core.models  # noqa: F401  (registers the core's tables on the metadata)
from core.db import Base

config = context.config
branch = config.attributes["branch"]
plugin_names = config.attributes.get("plugin_names", ())


def owns(table_name: str) -> bool:
    if branch.name == "core":
        return not any(table_name.startswith(f"{p}_") for p in plugin_names)
    return table_name.startswith(f"{branch.name}_")


def include_object(obj, name, type_, reflected, compare_to):
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table is None:
        return True
    if table.startswith("alembic_version"):
        return False
    if type_ == "table" and reflected and compare_to is None:
        # A table in the database that no loaded model describes: never drop it.
        return False
    return owns(table)


def render_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy ones, so revisions import nothing of ours."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


context.configure(
    render_item=render_item,
    connection=config.attributes["connection"],
    target_metadata=Base.metadata,
    version_table=branch.version_table,
    include_object=include_object,
    render_as_batch=True,
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
