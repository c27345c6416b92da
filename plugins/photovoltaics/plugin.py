"""Photovoltaics: the plugin's hooks, its whole face to the core.

An installer takes a lead through audit, design and offer to a contract the sales
manager approves, an advance invoice, installation in two parts by crews and the final
invoice (``process.py``, PV-1 to PV-4). What the audit and the design find are the
case's fields (``fields.py``); the offer is a calculation priced from the components
price list (``components.py``); the letters are ``documents.py``'s.
"""

import core
from core import Manifest, hookimpl
from plugins.photovoltaics import (
    components,
    demo,
    documents,
    fields,
    permissions,
    process,
    terms,
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
def kartoteka_register_price_lists():
    return components.PRICE_LISTS  # panels, inverters, mounting... the offers are priced from


@hookimpl
def kartoteka_register_templates():
    return documents.TEMPLATES


@hookimpl
def kartoteka_load_demo_data(session):
    demo.load(session)  # the components, and households' installations
