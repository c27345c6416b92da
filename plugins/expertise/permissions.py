"""Permissions of the expertise plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("expertise.route_inquiries",
               {"pl": "Kierowanie zapytań do działów", "en": "Route inquiries to departments"}),
    Permission("expertise.approve_offer", {"pl": "Akceptacja ofert", "en": "Approve offers"}),
]
