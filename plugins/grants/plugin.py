"""Grants: the plugin's hooks, its whole face to the core."""

import core
from core import Manifest, hookimpl
from plugins.grants import permissions, terms

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
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS
