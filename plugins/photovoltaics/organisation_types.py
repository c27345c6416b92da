"""The firms that install for the installer, beside the core's kinds of organisation."""

from core import OrgType

SUBCONTRACTOR = "photovoltaics.subcontractor"

ORGANISATION_TYPES = [
    OrgType(SUBCONTRACTOR, {"pl": "Podwykonawca montażu", "en": "Installation subcontractor"}),
]
