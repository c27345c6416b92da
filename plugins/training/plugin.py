"""Training: the plugin's hooks, its whole face to the core.

An association of municipalities trains its member units' staff (TR-1 to TR-9): each
training is a case of the process in ``process.py``, planned with the fields of
``fields.py`` at a venue of the registry (``venues.py``); people are enrolled, wait
for a place and are marked present in ``enrolments.py``, and told of it by
``notices.py``. Member units are invited by ``invitations.py``; a settled training's
fees are owed through ``settlement.py`` and its attendees' certificates made by
``certificates.py``, from the letters of ``documents.py``. The staff keep it all on the
pages of ``views.py`` and through ``api.py``; the units enrol on ``portal.py``.
"""

from pathlib import Path

import core
from core import Manifest, hookimpl
from core.jobs import JobKind
from plugins.training import (
    api,
    certificates,
    demo,
    documents,
    fields,
    organisation_types,
    permissions,
    portal,
    process,
    publication_pages,
    terms,
    views,
)

manifest = Manifest(
    name="training",
    version=core.__version__,
    title={"pl": "Szkolenia", "en": "Training"},
    description={
        "pl": (
            "Oferta szkoleń dla jednostek członkowskich: zaproszenia, zapisy w portalu, "
            "rozliczenia, zaświadczenia i umowy członkowskie."
        ),
        "en": (
            "Training offer for member units: invitations, portal enrolment, settlements, "
            "certificates and membership contracts."
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
    return organisation_types.ORGANISATION_TYPES


@hookimpl
def kartoteka_register_fields():
    return fields.FIELDS


@hookimpl
def kartoteka_register_processes():
    return process.PROCESSES


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES  # the invitation, the enrolment messages, the certificate


@hookimpl
def kartoteka_register_jobs():
    return [JobKind(certificates.JOB, certificates.run)]


@hookimpl
def kartoteka_register_blueprints():
    # /training/: the trainings, their participants, the venues, reports; publications
    return [views.bp, publication_pages.staff_bp]


@hookimpl
def kartoteka_register_api_blueprints():
    return api.BLUEPRINTS  # /api/v1/training/: venues, a training's enrolments


@hookimpl
def kartoteka_register_portal_blueprints():
    # /portal/training/: the offer, enrolling, the history; news and publications
    return [portal.bp, publication_pages.portal_bp]


@hookimpl
def kartoteka_register_menu_items():
    return views.MENU + portal.MENU + publication_pages.MENU


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)  # venues, contracts, trainings past and coming
