"""Large-format printing: the plugin's hooks, its whole face to the core."""

from pathlib import Path

import core
from core import Manifest, hookimpl
from plugins.printing import (
    complaint_demo,
    complaint_views,
    complaints,
    demo,
    documents,
    fields,
    permissions,
    price_list,
    print_file_api,
    print_file_views,
    process,
    report_api,
    report_views,
    terms,
)

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
def kartoteka_register_migrations():
    return Path(__file__).parent / "migrations" / "versions"  # printing_print_files


@hookimpl
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS


@hookimpl
def kartoteka_register_fields():
    return fields.FIELDS + complaints.FIELDS  # the project's confirmations; a complaint's


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES + complaints.PROCESSES  # the project; its complaints


@hookimpl
def kartoteka_register_price_lists():
    return price_list.PRICE_LISTS  # media, printing, finishing, mounting, transport


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES


@hookimpl
def kartoteka_register_blueprints():
    # /printing/: uploading, replacing, checking and rejecting print files;
    # /printing/reports/: approvals waiting, win rate, complaints, the reps' sales picture
    # /printing/complaints/: registering a complaint on a delivered project
    return [print_file_views.bp, report_views.bp, complaint_views.bp]


@hookimpl
def kartoteka_register_menu_items():
    return report_views.MENU  # the reports and the sales picture


@hookimpl
def kartoteka_register_api_blueprints():
    # /api/v1/printing/: projects/<id>/print-files, print-files/<id> and its verdicts;
    # reports/...
    return print_file_api.BLUEPRINTS + report_api.BLUEPRINTS


@hookimpl
def kartoteka_case_panels(session, case, viewer):
    # a project's print files and complaints; a complaint's participants
    found = [html for html in (print_file_views.case_panel(session, case, viewer),
                               complaint_views.case_panel(session, case, viewer)) if html]
    return "".join(found) or None


@hookimpl
def kartoteka_before_record_save(record, changes, actor, session):
    complaints.vetted(session, record, changes)  # a complaint only on a delivered project
    fields.confirmed_by_rights(session, record, changes, actor)  # who ticks what


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)
    complaint_demo.load(session)  # a delivered project's complaint, three comments on it
