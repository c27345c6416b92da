"""Yes/no fields on a print project that the confirming departments tick (PR-5 to PR-7);
only print projects have them."""

from core import CustomField
from plugins.printing.process import PROJECT


def _flag(key: str, pl: str, en: str, position: int) -> CustomField:
    return CustomField("case", key, "boolean", {"pl": pl, "en": en}, group="Druk",
                       position=position, processes=(PROJECT.key,))


FIELDS = [
    _flag("printing_no_overdue", "Brak zaległych płatności (księgowość)",
          "No overdue payments (accounting)", 1),
    _flag("printing_documents_received", "Dokumenty rejestrowe otrzymane (obsługa klienta)",
          "Registration documents received (customer service)", 2),
    _flag("printing_signed_order", "Podpisane zamówienie wróciło",
          "Signed order received", 3),
    _flag("printing_delivered", "Towar i faktura dotarły do klienta (księgowość)",
          "Goods and invoice reached the client (accounting)", 4),
]
