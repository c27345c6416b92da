"""Permissions of the photovoltaics plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("photovoltaics.approve_contract",
               {"pl": "Zatwierdzanie umów", "en": "Approve contracts"}),
    Permission("photovoltaics.plan_crews", {"pl": "Planowanie ekip", "en": "Plan crews"}),
    Permission("photovoltaics.price_components",
               {"pl": "Cennik komponentów", "en": "Price the components"}),
]
