"""Photovoltaics: the plugin's hooks, its whole face to the core.

An installer takes a lead through audit, design and offer to a contract the sales
manager approves, an advance invoice, installation in two parts by crews and the final
invoice (``process.py``, PV-1 to PV-4). What the audit and the design find are the
case's fields (``fields.py``); the offer is a calculation priced from the components
price list (``components.py``); the letters are ``documents.py``'s.

The parts of an installation are given to crews (``crews.py``, own or subcontracted)
for some days (``assignments.py``) on the schedule of ``views.py``; each crew has a
calendar feed (``feeds.py``) and pages at a secret URL (``crew_pages.py``), where its
installers, with or without an account, report their job done with photos.

New leads are queued for phone and field reps by the rules of ``queues.py``;
``queue_planning.py`` plans each rep's calls and meetings in their hours and travel area,
and ``queue_outcomes.py`` records what came of them (PV-6), on the pages of
``queue_views.py``, through ``queue_api.py`` and with ``kartoteka photovoltaics
plan-queues`` (``commands.py``).
"""

from pathlib import Path

import core
from core import Manifest, hookimpl
from plugins.photovoltaics import (
    api,
    commands,
    components,
    crew_pages,
    demo,
    documents,
    fields,
    organisation_types,
    permissions,
    process,
    queue_api,
    queue_views,
    terms,
    views,
)

manifest = Manifest(
    name="photovoltaics",
    version=core.__version__,
    title={"pl": "Fotowoltaika", "en": "Photovoltaics"},
    description={
        "pl": (
            "Od leada przez audyt, projekt i ofertę do umowy, montażu przez ekipy i "
            "rozliczenia zaliczki i końcowego."
        ),
        "en": (
            "From lead through audit, design and offer to contract, installation by crews, "
            "and advance and final billing."
        ),
    },
    requires_core=">=0.1,<0.2",
)


@hookimpl
def kartoteka_register_migrations():
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS


@hookimpl
def kartoteka_register_organisation_types():
    return organisation_types.ORGANISATION_TYPES  # the subcontracting firms


@hookimpl
def kartoteka_register_field_types():
    return fields.FIELD_TYPES


@hookimpl
def kartoteka_register_fields():
    return fields.FIELDS


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES


@hookimpl
def kartoteka_register_price_lists():
    return components.PRICE_LISTS  # panels, inverters, mounting... the offers are priced from


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES  # the offer, the contract, the grid operator's notice


@hookimpl
def kartoteka_register_blueprints():
    # /photovoltaics/: crews, the schedule, reports, installers' reports; a crew's secret
    # pages; /photovoltaics/queues/: the sales queues
    return [views.bp, crew_pages.bp, queue_views.bp]


@hookimpl
def kartoteka_register_menu_items():
    return views.MENU + queue_views.MENU


@hookimpl
def kartoteka_register_api_blueprints():
    # /api/v1/photovoltaics/: crews, parts' crews, jobs, reports; reps, rules, queue
    # entries, plans
    return api.BLUEPRINTS + queue_api.BLUEPRINTS


@hookimpl
def kartoteka_register_commands(cli):
    cli.add_command(commands.group)  # kartoteka photovoltaics plan-queues


@hookimpl
def kartoteka_case_panels(session, case, viewer):
    return views.case_panel(session, case, viewer)  # the crews of an installation's parts


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)  # staff, crews, the form, installations at every phase, queues
