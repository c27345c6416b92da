"""Photovoltaics: the plugin's hooks, its whole face to the core."""

import core
from core import Manifest, hookimpl
from plugins.photovoltaics import documents, fields, permissions, process, terms

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
def kartoteka_register_terms():
    return terms.TERMS


@hookimpl
def kartoteka_register_permissions():
    return permissions.PERMISSIONS


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
def kartoteka_register_templates():
    return documents.TEMPLATES
