"""Kartoteka core: the public face for plugin authors.

A plugin needs only what is imported here::

    from core import CustomField, FieldType, Manifest, Permission, Term, ValidationError
    from core import Forbidden, forms, hookimpl
    from core import db_session, pass_runtime, permissions, records
    from core import jobs, outbox  # background work and mail (kartoteka_register_jobs)
    from core import MenuItem  # menu entries (kartoteka_register_menu_items)
    from core.api import crud  # resources in the REST API (kartoteka_register_api_blueprints)

Everything else in ``core`` is internal and may change between releases.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("kartoteka")

from core.errors import Forbidden, ValidationError  # noqa: E402
from core.fields import CustomField  # noqa: E402
from core.fieldtypes import FieldType  # noqa: E402
from core.manifest import Manifest  # noqa: E402
from core.organisations import OrgType  # noqa: E402
from core.permissions import Permission  # noqa: E402
from core.terms import Term, forms, term  # noqa: E402

__all__ = ["CustomField", "FieldType", "Forbidden", "Manifest", "MenuItem", "OrgType",
           "Permission", "Term", "ValidationError", "__version__", "db_session", "forms",
           "hookimpl", "jobs", "outbox", "pass_runtime", "permissions", "records", "term"]


def __getattr__(name: str):
    # Loaded on first use, so that importing ``core`` stays light for a plugin module.
    if name in ("records", "jobs", "outbox"):
        import importlib

        return importlib.import_module(f"core.{name}")
    if name == "MenuItem":
        from core.menu import MenuItem

        return MenuItem
    if name == "db_session":
        from core.web.db import db

        return db
    if name == "pass_runtime":
        from core.cli import pass_runtime

        return pass_runtime
    raise AttributeError(f"module 'core' has no attribute '{name}'")
