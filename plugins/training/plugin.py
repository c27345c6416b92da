"""Training: the plugin's hooks, its whole face to the core."""

import core
from core import Manifest, hookimpl
from plugins.training import permissions, terms

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
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS
