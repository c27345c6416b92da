"""Permissions of the training plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("training.manage", {"pl": "Zarządzanie szkoleniami", "en": "Manage trainings"}),
    Permission("training.enrol", {"pl": "Zapisywanie uczestników", "en": "Enrol participants"}),
]
