"""Grants: the plugin's hooks, its whole face to the core."""

from pathlib import Path

import core
from core import Manifest, hookimpl
from plugins.grants import (
    call_api,
    call_views,
    checklist_views,
    deadline_views,
    deadlines,
    demo,
    durability,
    durability_api,
    durability_views,
    fields,
    payment_request_api,
    payment_request_views,
    payment_requests,
    permissions,
    process,
    report_api,
    report_views,
    schedule_api,
    schedule_views,
    terms,
)

manifest = Manifest(
    name="grants",
    version=core.__version__,
    title={"pl": "Dotacje", "en": "Grants"},
    description={
        "pl": (
            "Umowy o współpracy z harmonogramem płatności, wnioski o dofinansowanie i o "
            "płatność, okres trwałości projektu."
        ),
        "en": (
            "Cooperation contracts with payment schedules, grant applications and payment "
            "requests, the project durability period."
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
def kartoteka_register_fields():
    return fields.FIELDS  # why an opportunity was lost; an application's amounts and agreement


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES  # the opportunity; the grant application


@hookimpl
def kartoteka_register_templates():
    # a payment request's cover letter to the grantor; a durability report
    return [payment_requests.TEMPLATE, durability.TEMPLATE]


@hookimpl
def kartoteka_register_jobs():
    return deadlines.JOBS  # reminders and escalations of every dated obligation


@hookimpl
def kartoteka_register_blueprints():
    # /grants/opportunities/: the schedule offered; /grants/calls/: calls for proposals
    # and applying; /grants/applications/: the checklist; /grants/payment-requests/;
    # /grants/durability/: indicators and reports; /grants/deadlines/; /grants/reports/
    return [schedule_views.bp, call_views.bp, checklist_views.bp, payment_request_views.bp,
            durability_views.bp, deadline_views.bp, report_views.bp]


@hookimpl
def kartoteka_register_menu_items():
    return call_views.MENU + deadline_views.MENU + report_views.MENU + durability_views.MENU


@hookimpl
def kartoteka_register_api_blueprints():
    # /api/v1/grants/: opportunities' schedules, calls and applying, checklists, payment
    # requests, indicators and durability reports, reports and deadlines
    return (schedule_api.BLUEPRINTS + call_api.BLUEPRINTS + payment_request_api.BLUEPRINTS
            + durability_api.BLUEPRINTS + report_api.BLUEPRINTS)


@hookimpl
def kartoteka_case_panels(session, case, viewer):
    # an opportunity's schedule; an application's checklist, payment requests, durability
    found = [html for html in (view.case_panel(session, case, viewer) for view in (
        schedule_views, checklist_views, payment_request_views, durability_views)) if html]
    return "".join(found) or None


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)  # staff, grantors, calls, clients; opportunities and applications
