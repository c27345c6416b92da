"""Expert opinions: the plugin's hooks, its whole face to the core."""

from pathlib import Path

import core
from core import Manifest, OrgType, hookimpl
from plugins.expertise import (
    client_api,
    client_views,
    deadlines,
    demo,
    documents,
    inquiries,
    inquiry_api,
    inquiry_views,
    permissions,
    process,
    registry_api,
    registry_views,
    report_api,
    report_views,
    terms,
)

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
    return permissions.PERMISSIONS  # keep the register, route inquiries, read the reports


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
def kartoteka_register_jobs():
    return deadlines.JOBS  # daily: warn of the opinions' deadlines


@hookimpl
def kartoteka_register_blueprints():
    # /expertise/departments/, /expertise/specialisations/, /expertise/experts/;
    # /expertise/inquiries/: the forms of an inquiry's section on its card;
    # /expertise/clients/: the 360° view of a client; /expertise/reports/
    return [registry_views.bp, inquiry_views.bp, client_views.bp, report_views.bp]


@hookimpl
def kartoteka_register_menu_items():
    return registry_views.MENU + report_views.MENU


@hookimpl
def kartoteka_register_api_blueprints():
    # /api/v1/expertise/: specialisations, departments, experts; an inquiry's details,
    # routing, candidates and estimate; a client's 360° view; reports
    return (registry_api.BLUEPRINTS + inquiry_api.BLUEPRINTS + client_api.BLUEPRINTS
            + report_api.BLUEPRINTS)


@hookimpl
def kartoteka_case_panels(session, case, viewer):
    # an inquiry's details, routing, experts and estimate; the way to its client's view
    found = [html for html in (inquiry_views.case_panel(session, case, viewer),
                               client_views.case_panel(session, case, viewer)) if html]
    return "".join(found) or None


@hookimpl
def kartoteka_record_panels(session, record, viewer):
    return client_views.record_panel(session, record, viewer)  # the way to the 360° view


@hookimpl
def kartoteka_document_context(session, record, actor):
    # an inquiry's department, court, deadline, experts and parties: {{ expertise.* }}
    return inquiries.document_context(session, record) if inquiries.is_inquiry(record) \
        else None


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)  # staff, departments, experts, courts, clients; inquiries at every phase
