"""Fundraising: the plugin's hooks, its whole face to the core."""

import core
from core import Manifest, hookimpl
from plugins.fundraising import permissions, terms

manifest = Manifest(
    name="fundraising",
    version=core.__version__,
    title={"pl": "Fundraising", "en": "Fundraising"},
    description={
        "pl": (
            "Darczyńcy i ich historia wpłat, kampanie, polecenia zapłaty, import wyciągów "
            "bankowych i formularze publiczne."
        ),
        "en": (
            "Donors and their giving history, campaigns, direct debits, bank statement import"
            " and public forms."
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
