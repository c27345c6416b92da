"""Unsubscribing: the personal link in every marketing message, and imported lists.

The link carries a signed token naming the person, the consent purpose and the
message; no login is needed to use it. Following the link (a GET, which mail scanners
do too) only shows a page; the POST from that page, or the one-click POST that mail
programs send (RFC 8058), withdraws the consent. The withdrawal is a consent row like
any other, on the person's timeline, and the outbox checks consent just before
sending, so mail already queued is held back.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re

from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit, consents
from core.db import utcnow
from core.errors import ValidationError
from core.models import ContactPoint, OutboxMessage, Person, Suppression

SALT = "kartoteka.unsubscribe"
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_IMPORT_ROWS = 200_000


def token(settings, person_id: int, purpose_key: str, message_id: str) -> str:
    """The serializer's own format, which ``read`` loads; written here without its
    attempt to compress, which never pays on a payload this short and was most of
    the time a mailing of 100,000 spent on links."""
    payload = json.dumps([person_id, purpose_key, message_id], separators=(",", ":"))
    return _signer(settings.secret_key).sign(base64_encode(payload)).decode()


@functools.lru_cache(maxsize=4)
def _signer(secret_key: str):
    serializer = URLSafeSerializer(secret_key, salt=SALT)
    return serializer.make_signer(serializer.salt)


def link(settings, person_id: int, purpose_key: str, message_id: str) -> str:
    return (f"{settings.public_url.rstrip('/')}/unsubscribe/"
            f"{token(settings, person_id, purpose_key, message_id)}")


def headers(url: str) -> dict:
    """The RFC 8058 one-click headers of a marketing message with this unsubscribe link."""
    return {"List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def read(settings, value: str) -> tuple[int, str, str] | None:
    """(person id, purpose key, message id) of a genuine token, or None."""
    try:
        person_id, purpose_key, message_id = URLSafeSerializer(
            settings.secret_key, salt=SALT).loads(value)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(person_id, int) or not isinstance(purpose_key, str):
        return None
    return person_id, purpose_key, str(message_id)


def unsubscribe(session: Session, person_id: int, purpose_key: str, message_id: str) -> bool:
    """Withdraw the person's consent to the purpose; True if there was one to withdraw
    (using the link twice is as good as once)."""
    person = session.get(Person, person_id)
    if person is None:
        return False
    session.execute(update(OutboxMessage).where(
        OutboxMessage.message_id == message_id, OutboxMessage.person_id == person_id,
        OutboxMessage.unsubscribed_at.is_(None)).values(unsubscribed_at=utcnow()))
    if not consents.has_consent(session, person_id, purpose_key):
        return False
    consents.withdraw(session, person, purpose_key, "email",
                      evidence=_("Unsubscribe link in the message %(id)s.", id=message_id))
    return True


# --------------------------------------------------------------------- imported lists


def import_addresses(session: Session, data: bytes | str, purpose_key: str | None,
                     actor=None, note: str = "") -> dict:
    """Addresses unsubscribed in another mailing system (a CSV whose first column, or
    column named "email", holds them): each is suppressed for all marketing mail, and
    the people who have it withdraw their consent to ``purpose_key`` if given.

    Returns {"added": n, "known": n, "withdrawn": n, "invalid": [line numbers]}."""
    if purpose_key is not None and consents.purpose_by_key(session, purpose_key) is None:
        raise ValidationError({"purpose": _("Choose a processing purpose from the register.")})
    addresses, invalid = _addresses(data)
    if not addresses and not invalid:
        raise ValidationError({"file": _("The file holds no addresses.")})
    known = set()
    for start in range(0, len(addresses), 5000):  # bounded IN lists
        known.update(session.scalars(select(Suppression.address).where(
            Suppression.address.in_(addresses[start:start + 5000]))))
    now = utcnow()
    for address in sorted(set(addresses) - known):
        session.add(Suppression(address=address, reason="import", note=note[:300],
                                created_at=now, created_by_id=getattr(actor, "id", None)))
    withdrawn = 0
    if purpose_key is not None:
        for person in _people_with(session, addresses):
            if consents.has_consent(session, person.id, purpose_key):
                consents.withdraw(session, person, purpose_key, "import", actor=actor,
                                  evidence=_("Unsubscribed in another mailing system "
                                             "(imported list)."))
                withdrawn += 1
    session.flush()
    result = {"added": len(set(addresses) - known), "known": len(known),
              "withdrawn": withdrawn, "invalid": invalid}
    # One entry for the list, with counts (each withdrawn consent has its own entry).
    audit.event(session, "import", "suppression", {
        **result, "invalid": len(invalid), "purpose": purpose_key, "note": note[:300]},
        actor, summary=note)
    return result


def _addresses(data: bytes | str) -> tuple[list[str], list[int]]:
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    try:  # newline="": a line may end in \r alone, as old spreadsheets write them
        rows = list(csv.reader(io.StringIO(text, newline="")))[:MAX_IMPORT_ROWS + 1]
    except csv.Error:
        raise ValidationError({"file": _("The file cannot be read as CSV: a cell is too "
                                         "long or a quote is not closed.")}) from None
    column, start = 0, 0
    if rows:
        header = [cell.strip().lower() for cell in rows[0]]
        named = [i for i, cell in enumerate(header) if cell in ("email", "e-mail", "adres")]
        if named or (header and not ADDRESS.match(header[0])):
            column, start = (named[0] if named else 0), 1
    found, invalid = [], []
    for number, row in enumerate(rows[start:], start=start + 1):
        value = row[column].strip().lower() if len(row) > column else ""
        if not value:
            continue
        if ADDRESS.match(value):
            found.append(value)
        else:
            invalid.append(number)
    return list(dict.fromkeys(found)), invalid


def _people_with(session: Session, addresses: list[str]) -> list[Person]:
    found: dict[int, Person] = {}
    for start in range(0, len(addresses), 5000):  # bounded IN lists
        ids = select(ContactPoint.person_id).where(
            ContactPoint.kind == "email",
            func.lower(ContactPoint.value).in_(addresses[start:start + 5000]))
        found.update((p.id, p) for p in session.scalars(select(Person).where(
            Person.id.in_(ids), Person.deleted_at.is_(None))))
    return list(found.values())


def is_suppressed(session: Session, address: str) -> bool:
    return session.get(Suppression, address.strip().lower()) is not None
