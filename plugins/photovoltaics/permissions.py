"""Permissions of the photovoltaics plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    Permission("photovoltaics.approve_contract",
               {"pl": "Zatwierdzanie umów", "en": "Approve contracts"}),
    Permission("photovoltaics.plan_crews", {"pl": "Planowanie ekip", "en": "Plan crews"}),
    # Installers with accounts report their own crew's jobs without it.
    Permission("photovoltaics.report_work",
               {"pl": "Zgłaszanie wykonania montaży", "en": "Report installation jobs done"}),
    Permission("photovoltaics.reports",
               {"pl": "Raporty fotowoltaiki: lejek, ekipy, konwersja",
                "en": "Photovoltaics reports: pipeline, crews, conversion"}),
    Permission("photovoltaics.price_components",
               {"pl": "Cennik komponentów", "en": "Price the components"}),
    # The sales queues (PV-6): the manager keeps reps and rules and plans; a rep works
    # their own queue.
    Permission("photovoltaics.manage_queues",
               {"pl": "Kolejki sprzedaży: handlowcy, reguły, planowanie",
                "en": "Sales queues: reps, rules, planning"}),
    Permission("photovoltaics.work_queue",
               {"pl": "Praca z własną kolejką sprzedaży", "en": "Work one's own sales queue"}),
]
