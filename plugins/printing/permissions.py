"""Permissions of the printing plugin, granted to roles by administrators."""

from core import Permission

PERMISSIONS = [
    # Customer service: the client's registration documents are in (PR-5).
    Permission("printing.confirm_documents",
               {"pl": "Potwierdzanie dokumentów rejestrowych klienta",
                "en": "Confirm the client's registration documents"}),
    Permission("printing.price_products",
               {"pl": "Prowadzenie cennika produktów", "en": "Keep the product price list"}),
    Permission("printing.production", {"pl": "Realizacja produkcji", "en": "Run production"}),
    # Prepress: a customer's print file checked, or rejected with a reason (PR-9).
    Permission("printing.check_print_files",
               {"pl": "Sprawdzanie i odrzucanie plików do druku",
                "en": "Check and reject print files"}),
    # Read over the projects the holder may see: approvals waiting, win rate, complaints,
    # the reps' sales picture.
    Permission("printing.reports",
               {"pl": "Raporty drukarni i obraz sprzedaży handlowców",
                "en": "Printing reports and the reps' sales picture"}),
]
