"""Yes/no fields on a print project that the confirming departments tick (PR-5 to PR-7);
only print projects have them, and only those who confirm may tick or untick them."""

from flask_babel import gettext as _

from core import CustomField, ValidationError, events, permissions
from core.models import Case
from core.terms import _locale
from plugins.printing.process import PROJECT

DOCUMENTS, SIGNED, DELIVERED = ("printing_documents_received", "printing_signed_order",
                                "printing_delivered")


def _flag(key: str, pl: str, en: str, position: int) -> CustomField:
    return CustomField("case", key, "boolean", {"pl": pl, "en": en}, group="Druk",
                       position=position, processes=(PROJECT.key,))


FIELDS = [
    _flag(DOCUMENTS, "Dokumenty rejestrowe otrzymane (obsługa klienta)",
          "Registration documents received (customer service)", 1),
    _flag(SIGNED, "Podpisane zamówienie wróciło", "Signed order received", 2),
    _flag(DELIVERED, "Towar i faktura dotarły do klienta (księgowość)",
          "Goods and invoice reached the client (accounting)", 3),
]
LABELS = {f.key: f.label for f in FIELDS}
# the permission of those who confirm each: customer service, accounting
CONFIRMED_BY = {DOCUMENTS: "printing.confirm_documents", DELIVERED: "core.billing"}


def confirmed_by_rights(session, record, changes: dict, actor) -> None:
    """Refuse a confirmation ticked or unticked by someone who does not confirm it,
    however the project is written (its form, the API, an import)."""
    if not isinstance(record, Case) or record.process_key != PROJECT.key or actor is None:
        return
    old, new = changes.get("custom", (None, None))
    old, new = old or {}, new or {}
    known = events.host_of(session).permissions
    errors = {f"custom.{key}": _(
        "“%(field)s” is confirmed by those with the permission “%(permission)s”.",
        field=LABELS[key].get(_locale(), LABELS[key]["en"]),
        permission=known[permission].label(_locale()) if permission in known else permission)
        for key, permission in CONFIRMED_BY.items()
        if bool(old.get(key)) != bool(new.get(key)) and not permissions.can(actor, permission)}
    if errors:
        raise ValidationError(errors)
