"""Permissions of the grants plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("grants.manage", {"pl": "Zarządzanie dotacjami", "en": "Manage grants"}),
]
