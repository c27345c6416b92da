"""Permissions of the printing plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("printing.approve_calculation",
               {"pl": "Akceptacja kalkulacji", "en": "Approve calculations"}),
    Permission("printing.production", {"pl": "Realizacja produkcji", "en": "Run production"}),
]
