"""The components price list (PV-1): panels, inverters, mounting, cabling, storage and
labour with their net prices, from which the design department prices an installation.
The offer is a calculation of the installation's case (``core.calculations``): its
lines are components and their quantities, priced with the margin, and each change to
it is a new version the customer sees."""

from core.calculations import accepted_check
from core.price_lists import PriceList

KEY = "photovoltaics.components"

COMPONENTS = PriceList(KEY, {"pl": "Komponenty instalacji", "en": "Installation components"}, {
    "panel": {"pl": "Panele", "en": "Panels"},
    "inverter": {"pl": "Falowniki", "en": "Inverters"},
    "mounting": {"pl": "Konstrukcja montażowa", "en": "Mounting"},
    "cabling": {"pl": "Okablowanie i zabezpieczenia", "en": "Cabling and protection"},
    "storage": {"pl": "Magazyny energii", "en": "Energy storage"},
    "labour": {"pl": "Robocizna", "en": "Labour"},
}, permission="photovoltaics.price_components")

PRICE_LISTS = [COMPONENTS]

# The contract is made from the offer the customer accepted.
OFFER_ACCEPTED = accepted_check(
    "photovoltaics.offer_accepted", {"pl": "Oferta przyjęta", "en": "Offer accepted"},
    {"pl": "Klient nie przyjął jeszcze żadnej wersji oferty.",
     "en": "The customer has not accepted a version of the offer yet."})
