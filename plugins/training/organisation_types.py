"""Kinds of member unit beyond the core's municipality (gmina) and county (powiat)."""

from core import OrgType

ORGANISATION_TYPES = [
    OrgType("training.city_county", {"pl": "Miasto na prawach powiatu",
                                     "en": "City with county rights"}),
    OrgType("training.association_office", {"pl": "Biuro związku",
                                            "en": "Association office"}),
]
