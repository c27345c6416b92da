"""The product price list (PR-3): media, printing, finishing, mounting and transport with
their units and net prices. A project's calculation (``core.calculations``) lists the
project's items at these prices by default, each line editable, with its totals net and
gross; approval follows the calculation's total (``process.CALCULATION_APPROVAL``)."""

from core.price_lists import PriceList

KEY = "printing.products"

PRODUCTS = PriceList(KEY, {"pl": "Cennik produktów", "en": "Product price list"}, {
    "media": {"pl": "Media (podłoża)", "en": "Media"},
    "print": {"pl": "Druk", "en": "Printing"},
    "finishing": {"pl": "Wykończenie", "en": "Finishing"},
    "mounting": {"pl": "Montaż", "en": "Mounting"},
    "transport": {"pl": "Transport", "en": "Transport"},
}, permission="printing.price_products")

PRICE_LISTS = [PRODUCTS]
