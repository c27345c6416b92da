"""Large-format printing: the plugin's hooks, its whole face to the core."""

import core
from core import Manifest, hookimpl
from plugins.printing import demo, documents, fields, permissions, process, terms

manifest = Manifest(
    name="printing",
    version=core.__version__,
    title={"pl": "Druk wielkoformatowy", "en": "Large-format printing"},
    description={
        "pl": (
            "Projekty z kalkulacją cen, akceptacje progowe, zamówienia, zlecenia produkcyjne "
            "i reklamacje."
        ),
        "en": (
            "Projects with price calculations, threshold approvals, orders, production orders"
            " and complaints."
        ),
    },
    requires_core=">=0.1,<0.2",
)


@hookimpl
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS


@hookimpl
def kartoteka_register_fields():
    return fields.FIELDS


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)
