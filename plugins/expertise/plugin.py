"""Expert opinions: the plugin's hooks, its whole face to the core."""

from pathlib import Path

import core
from core import Manifest, OrgType, hookimpl
from plugins.expertise import documents, inquiries, permissions, process, terms

manifest = Manifest(
    name="expertise",
    version=core.__version__,
    title={"pl": "Ekspertyzy", "en": "Expert opinions"},
    description={
        "pl": (
            "Spotkania i zapytania kierowane do działów według specjalizacji, biegli, oferty "
            "z akceptacją marży."
        ),
        "en": (
            "Meetings and inquiries routed to departments by specialisation, experts, offers "
            "with margin approval."
        ),
    },
    requires_core=">=0.1,<0.2",
)


@hookimpl
def kartoteka_register_migrations():
    return Path(__file__).parent / "migrations" / "versions"  # models.py


@hookimpl
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS


@hookimpl
def kartoteka_register_organisation_types():
    return [OrgType(inquiries.COURT, {"pl": "Sąd", "en": "Court"})]


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES  # the inquiry, from a meeting to the invoiced opinion


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES  # the offer


@hookimpl
def kartoteka_document_context(session, record, actor):
    # an inquiry's department, court, deadline, experts and parties: {{ expertise.* }}
    return inquiries.document_context(session, record) if inquiries.is_inquiry(record) \
        else None
