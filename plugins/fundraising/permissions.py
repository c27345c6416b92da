"""Permissions of the fundraising plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("fundraising.manage_donations",
               {"pl": "Zarządzanie darowiznami", "en": "Manage donations"}),
]
