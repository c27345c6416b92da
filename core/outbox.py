"""The outbox: e-mail written in the transaction that causes it, delivered by jobs.

``queue`` writes messages (and their entries on the recipients' timelines) in the
caller's transaction; after the commit the queue is asked to ``deliver``. Delivery
claims due messages (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite one writer
at a time does the same), and for each one records ``sending`` just before handing it
to the SMTP server and ``sent`` just after, so that a worker killed in between leaves
a message whose fate is known to be unknown. ``recover`` settles those by policy:
bulk (marketing) mail is marked ``uncertain`` and never sent again; service mail is
sent again under the same Message-ID, which receiving systems use to drop the copy.

A marketing message goes out only if, at the moment of sending, its person still has a
valid consent to its purpose and its address is not suppressed: a withdrawal reaches
mail already queued.
"""

from __future__ import annotations

import contextvars
import logging
import smtplib
import ssl
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import encoders
from email.errors import MessageError
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased, load_only
from sqlalchemy.orm.attributes import set_committed_value

from core import attachments, bulk, consents, jobs, timeline, webhooks
from core.db import utcnow
from core.models import (
    Activity,
    ActivityLink,
    Attachment,
    Consent,
    Membership,
    OutboxMessage,
    ProcessingPurpose,
    Suppression,
)

log = logging.getLogger(__name__)



class _Wire(Compat32):
    """compat32 on the wire, without a Header object for each header that needs no
    folding or encoding: building those was a third of the cost of a message."""

    def fold_binary(self, name, value):
        if (isinstance(value, str) and value.isascii() and "\r" not in value
                and "\n" not in value and len(name) + len(value) + 2 <= self.max_line_length):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = _Wire(linesep="\r\n", max_line_length=998)
BATCH = 50
BACKOFF_SECONDS = 60  # after the first temporary failure; doubled after each next one
MAX_BACKOFF = timedelta(hours=6)

timeline.EVENT_LABELS.update({"mail": _l("E-mail")})
TOLD = {"sent": "message.delivered", "failed": "message.failed"}  # to webhooks
STATE_LABELS = {"queued": _l("queued"), "claimed": _l("being sent"),
                "sending": _l("being sent"), "sent": _l("sent"), "failed": _l("failed"),
                "uncertain": _l("uncertain"), "skipped": _l("not sent")}
timeline.STATE_LABELS["mail"] = STATE_LABELS


# Called with the runtime after each round of delivery (a mailing marks itself sent).
AFTER_DELIVERY: list = []


@dataclass
class Draft:
    """One message to queue: to whom, what, under which rule, about which records."""

    to_address: str
    subject: str
    text_body: str
    html_body: str = ""
    to_name: str = ""
    kind: str = "service"  # service | marketing
    purpose_key: str | None = None
    person_id: int | None = None
    case_id: int | None = None
    mailing_id: int | None = None
    attachments: list[int] = field(default_factory=list)
    about: list[tuple[str, int]] = field(default_factory=list)  # (record type, id)
    message_id: str = ""
    headers: dict = field(default_factory=dict)


# --------------------------------------------------------------------- writing


def new_message_id(settings) -> str:
    return f"<{uuid.uuid4().hex}@{_domain(settings)}>"


def queue(session: Session, drafts: list[Draft], actor=None) -> list[int]:
    """Write the messages and their timeline entries in the caller's transaction, in a
    few statements however many there are; delivery starts after the commit."""
    if not drafts:
        return []
    now = utcnow()
    settings = session.info["jobs"].rt.settings if "jobs" in session.info else None
    for draft in drafts:
        draft.message_id = draft.message_id or new_message_id(settings)
        # A line break in a name or subject would start a header of its own (Bcc: ...).
        draft.to_name, draft.subject = _one_line(draft.to_name), _one_line(draft.subject)
        draft.to_address = draft.to_address.strip()
    actor_id = getattr(actor, "id", None)
    activity_ids = bulk.add_rows(session, Activity, [
        {"kind": "email_out", "event": "mail", "subject": d.subject[:300],
         "body": d.text_body, "occurred_at": now, "created_at": now,
         "created_by_id": actor_id, "data": _activity_data(d, "queued")} for d in drafts])
    bulk.add_rows(session, ActivityLink, [
        {"activity_id": a, "record_type": t, "record_id": i, "occurred_at": now}
        for a, d in zip(activity_ids, drafts, strict=True) for t, i in dict.fromkeys(d.about)])
    ids = bulk.add_rows(session, OutboxMessage, [
        {"message_id": d.message_id, "kind": d.kind, "purpose_key": d.purpose_key,
         "mailing_id": d.mailing_id, "person_id": d.person_id, "case_id": d.case_id,
         "activity_id": a, "to_address": d.to_address, "to_name": d.to_name[:300],
         "subject": d.subject[:300], "text_body": d.text_body, "html_body": d.html_body,
         "headers": d.headers, "attachments": list(d.attachments), "state": "queued",
         "attempts": 0, "next_attempt_at": now, "claimed_by": "", "error": "",
         "consent": {}, "created_at": now, "created_by_id": actor_id}
        for a, d in zip(activity_ids, drafts, strict=True)])
    jobs.after_commit(session, lambda q: q.deliver())
    return ids


def notify(session: Session, users: list, subject: str, body: str, about: list = (),
           actor=None) -> list[int]:
    """Mail staff accounts (a new donor from the web form, an approval waiting): service
    mail, on the timelines of the records in ``about``. Inactive accounts are skipped."""
    from core import records

    refs = [records.ref(r) for r in about]
    return queue(session, [Draft(u.email, subject, body, to_name=u.full_name or "",
                                 about=refs) for u in users if u.is_active], actor)


def hold_back(session: Session, mailing_id: int, reason: str) -> int:
    """Settle a mailing's messages not yet taken by a worker as not sent; a message a
    worker holds goes its way. Returns how many were held back."""
    held = session.scalars(select(OutboxMessage).where(
        OutboxMessage.mailing_id == mailing_id, OutboxMessage.state == "queued")
        .with_for_update(skip_locked=True)).all()
    for message in held:
        _finish(session, message, "skipped", reason)
    return len(held)


def about_people(session: Session, person_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """The timelines a message to each person belongs on: theirs and their current
    organisations'."""
    today = utcnow().date()
    found = {i: [("person", i)] for i in person_ids}
    for person_id, org_id in session.execute(
            select(Membership.person_id, Membership.organisation_id).distinct().where(
                Membership.person_id.in_(person_ids),
                (Membership.end_date.is_(None)) | (Membership.end_date >= today))):
        found[person_id].append(("organisation", org_id))
    return found


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _activity_data(message, state: str, error: str = "", consent: dict | None = None) -> dict:
    return {"message_id": message.message_id, "mailing_id": message.mailing_id,
            "kind": message.kind, "to": message.to_address, "state": state,
            "error": error, "consent": consent or {}}


# --------------------------------------------------------------------- delivering


class Temporary(Exception):
    """Not handed over; try again later."""


class Permanent(Exception):
    """Refused for good (an unknown mailbox, say)."""


class Unknown(Exception):
    """The connection broke while the message was being handed over."""


def deliver(rt, worker: str, limit: int | None = None) -> int:
    """Send what is due, batch by batch, until nothing is or the rate limit is
    reached; returns how many messages were handed over."""
    settings = rt.settings
    if not settings.smtp_host:
        return 0
    recover(rt)
    # A rate-limited installation is not short of speed: one connection keeps count.
    lanes = 1 if settings.mail_rate_per_minute else max(1, settings.mail_connections)
    with bulk.fewer_collections():
        if lanes == 1:
            handed = _lane(rt, worker, limit)
        else:  # most of a message's time is waiting for the database and the mail server
            shares = [None if limit is None else limit // lanes + (n < limit % lanes)
                      for n in range(lanes)]
            with ThreadPoolExecutor(lanes) as pool:
                handed = sum(pool.map(
                    lambda n: contextvars.copy_context().run(
                        _lane, rt, f"{worker}/{n + 1}", shares[n]), range(lanes)))
    _schedule_next(rt)
    for listener in AFTER_DELIVERY:
        listener(rt)
    return handed


def _lane(rt, worker: str, limit: int | None) -> int:
    """One SMTP connection's share of the work: batches until nothing is due, the
    rate limit is reached or ``limit`` messages went."""
    handed = 0
    while limit is None or handed < limit:
        room = _room(rt)
        if room <= 0:
            rt.jobs.deliver(delay=60)
            break
        ids = claim(rt, worker, min(BATCH, room, (limit - handed) if limit else BATCH))
        if not ids:
            break
        handed += _send_batch(rt, worker, ids)
    return handed


def claim(rt, worker: str, n: int) -> list[int]:
    """Take up to ``n`` due messages for ``worker``; no two workers take the same one.
    The rows are read (locked on PostgreSQL) and then marked if still queued, rather
    than in one UPDATE: PostgreSQL may run a LIMIT inside ``IN (...)`` more than once,
    taking more rows than asked for."""
    now = utcnow()
    with rt.session() as session, session.begin():
        bulk.begin(session)  # on SQLite the write lock first: the read is then the claim
        ids = list(session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == "queued", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(n)
            .with_for_update(skip_locked=True)))
        if ids:  # still queued: on SQLite another worker may have taken some since
            ids = list(session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.state == "queued")
                .values(state="claimed", claimed_by=worker,
                        lease_until=now + timedelta(seconds=rt.settings.mail_lease_seconds))
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)))
    return sorted(ids)


def _send_batch(rt, worker: str, ids: list[int]) -> int:
    handed = 0
    try:
        conn = _connect(rt.settings)
    except Temporary as exc:
        with rt.session() as session, session.begin():
            for message in session.scalars(select(OutboxMessage).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker,
                    OutboxMessage.state == "claimed")):
                _retry(session, rt.settings, message, str(exc))
        return 0
    with rt.session() as session:
        try:
            messages = list(session.scalars(select(OutboxMessage).where(
                OutboxMessage.id.in_(ids), OutboxMessage.state == "claimed",
                OutboxMessage.claimed_by == worker).order_by(OutboxMessage.id)))
            standing = _standing(session, messages)
            # Held for the batch: the session keeps loaded rows only while referenced.
            session.info["timeline_entries"] = session.scalars(
                select(Activity).options(_ACTIVITY_DATA).where(Activity.id.in_(
                    [m.activity_id for m in messages if m.activity_id]))).all()
            for n, message in enumerate(messages):
                try:
                    handed += _send_one(rt, session, conn, worker, message,
                                        *standing[message.id])
                except Unknown:
                    _release(session, worker, [m.id for m in messages[n + 1:]])
                    break
            session.commit()
        finally:
            _quit(conn)
    return handed


def _send_one(rt, session: Session, conn, worker: str, message: OutboxMessage,
              refusal: str, consent: dict) -> bool:
    """One message over an open connection; True if the server took it."""
    settings = rt.settings
    try:
        if refusal:
            raise Permanent(refusal)
        try:
            email = build(rt, session, message)
        except (MessageError, ValueError) as exc:  # e.g. an address no header can carry
            raise Permanent(_("The message cannot be built: %(error)s", error=exc)) from exc
        _envelope(conn, settings, message.to_address)
    except Permanent as exc:
        _finish(session, message, "skipped" if refusal else "failed", str(exc))
        session.commit()
        return False
    except Temporary as exc:
        _retry(session, settings, message, str(exc))
        session.commit()
        return False
    if not _mark_sending(session, settings, worker, message, consent):
        session.commit()
        return False
    try:
        _data(conn, email)
    except Permanent as exc:
        _finish(session, message, "failed", str(exc))
    except Temporary as exc:
        _retry(session, settings, message, str(exc))
    except Unknown as exc:
        _settle_unknown(session, message, str(exc))
        session.commit()
        raise
    else:
        message.sent_at = utcnow()
        _finish(session, message, "sent")
        return True
    return False


def _mark_sending(session: Session, settings, worker: str, message: OutboxMessage,
                  consent: dict) -> bool:
    """Record the hand-over about to happen (committing the previous message's "sent"
    with it), if the message is still this worker's."""
    lease = utcnow() + timedelta(seconds=settings.mail_lease_seconds)
    taken = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.state == "claimed",
               OutboxMessage.claimed_by == worker)
        .values(state="sending", attempts=message.attempts + 1, consent=consent,
                lease_until=lease)
        .execution_options(synchronize_session=False)).rowcount == 1
    session.commit()
    if taken:
        for name, value in (("state", "sending"), ("attempts", message.attempts + 1),
                            ("consent", consent), ("lease_until", lease)):
            set_committed_value(message, name, value)
    return taken


def _release(session: Session, worker: str, ids: list[int]) -> None:
    """Give back messages taken but not tried (the connection broke)."""
    if ids:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.state == "claimed",
            OutboxMessage.claimed_by == worker).values(state="queued", claimed_by="",
                                                       lease_until=None))


def _standing(session: Session, messages: list[OutboxMessage]) -> dict[int, tuple[str, dict]]:
    """For each message of a batch, just before it is sent: why it may not go out
    ("" if it may) and the consent it goes out under. Marketing mail needs a valid
    consent to its purpose and an address not on the no-marketing list."""
    marketing = [m for m in messages if m.kind == "marketing"]
    suppressed = set(session.scalars(select(Suppression.address).where(
        Suppression.address.in_([m.to_address.lower() for m in marketing])))) \
        if marketing else set()
    c, p = aliased(Consent), aliased(ProcessingPurpose)
    rows = session.execute(
        select(c.person_id, p.key, c.id, c.at, consents.valid_row(c, p))
        .join(p, p.id == c.purpose_id)
        .where(c.person_id.in_({m.person_id for m in marketing if m.person_id}),
               p.key.in_({m.purpose_key for m in marketing if m.purpose_key}),
               consents.newest(c))).all() if marketing else []
    found = {(r[0], r[1]): r for r in rows}
    standing = {}
    for m in messages:
        if m.kind != "marketing":
            standing[m.id] = ("", {"basis": m.kind})
            continue
        row = found.get((m.person_id, m.purpose_key))
        consent = {"basis": "consent", "purpose": m.purpose_key,
                   "consent_id": row.id if row else None,
                   "given_at": row.at.isoformat() if row else None}
        if m.to_address.lower() in suppressed:
            refusal = _("The address is on the list of addresses that get no marketing "
                        "mail.")
        elif row is None or not row[4]:
            refusal = _("No valid consent to “%(purpose)s” when the message was to be "
                        "sent.", purpose=m.purpose_key or "")
        else:
            refusal = ""
        standing[m.id] = (refusal, consent)
    return standing


def _finish(session: Session, message: OutboxMessage, state: str, error: str | None = None
            ) -> None:
    """Settle a message; without ``error`` the last problem noted stays (a service
    message sent again says so after it is sent)."""
    message.state = state
    if error is not None:
        message.error = error[:2000]
    message.claimed_by, message.lease_until = "", None
    _record(session, message)
    if state in TOLD:
        webhooks.emit(session, TOLD[state], {
            "id": message.id, "message_id": message.message_id, "kind": message.kind,
            "mailing_id": message.mailing_id, "person_id": message.person_id,
            "case_id": message.case_id, "to": message.to_address,
            "subject": message.subject, "error": message.error if state == "failed" else ""})


def _retry(session: Session, settings, message: OutboxMessage, error: str) -> None:
    """A temporary failure: again later, after a pause that doubles each time, until
    the attempts run out."""
    if message.state == "claimed":  # not yet counted: it never reached DATA
        message.attempts += 1
    attempts = message.attempts
    if attempts >= settings.mail_max_attempts:
        _finish(session, message, "failed", error)
        return
    pause = min(timedelta(seconds=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    message.state, message.error = "queued", error[:2000]
    message.claimed_by, message.lease_until = "", None
    message.next_attempt_at = utcnow() + pause
    _record(session, message)


def _settle_unknown(session: Session, message: OutboxMessage, error: str) -> None:
    """The hand-over broke off: bulk mail is uncertain for good; service mail goes
    again with the same Message-ID."""
    if message.kind == "marketing":
        _finish(session, message, "uncertain", _(
            "The message may or may not have reached the mail server (%(error)s); bulk "
            "mail is not sent twice.", error=error))
    else:
        message.state, message.claimed_by, message.lease_until = "queued", "", None
        message.next_attempt_at = utcnow()
        message.error = _("Sent again with the same Message-ID: the first hand-over may "
                          "have reached the mail server (%(error)s).", error=error)
        _record(session, message)


def _record(session: Session, message: OutboxMessage) -> None:
    """The message's state on the recipients' timelines, written with the message's
    own next change (a batch reads its entries beforehand)."""
    activity = session.get(Activity, message.activity_id, options=[_ACTIVITY_DATA]) \
        if message.activity_id is not None else None
    if activity is not None:
        activity.data = _activity_data(message, message.state, message.error,
                                       message.consent)


_ACTIVITY_DATA = load_only(Activity.id, Activity.data)


def recover(rt, now: datetime | None = None) -> int:
    """Settle messages whose worker's lease ran out: never handed over -> queued again;
    caught in the hand-over -> by policy. Returns how many were settled."""
    now = now or utcnow()
    with rt.session() as session, session.begin():
        taken = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "claimed", OutboxMessage.lease_until < now)
            .values(state="queued", claimed_by="", lease_until=None)).rowcount
        caught = list(session.scalars(
            select(OutboxMessage).where(OutboxMessage.state == "sending",
                                        OutboxMessage.lease_until < now)
            .with_for_update(skip_locked=True)))
        for message in caught:
            _settle_unknown(session, message, _("the worker stopped"))
    return taken + len(caught)


jobs.every_minute("outbox.deliver")(lambda rt: rt.jobs.deliver())


def _room(rt) -> int:
    """How many more messages the installation's rate limit allows this minute."""
    limit = rt.settings.mail_rate_per_minute
    if not limit:
        return BATCH
    with rt.session() as session:
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state.in_(("sending", "sent")),
            OutboxMessage.sent_at >= utcnow() - timedelta(minutes=1)))
    return limit - sent


def _schedule_next(rt) -> None:
    """Ask for delivery when the earliest retry is due (the minutely sweep is the net)."""
    with rt.session() as session:
        due = session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.state == "queued"))
    if due is not None:
        wait = (due - utcnow()).total_seconds()
        if 0 < wait < 60:
            rt.jobs.deliver(delay=wait + 1)


# --------------------------------------------------------------------- SMTP


def _connect(settings):
    try:
        if settings.smtp_security == "tls":
            conn = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
            if settings.smtp_security == "starttls":
                conn.starttls(context=ssl.create_default_context())
        conn.ehlo_or_helo_if_needed()
        if settings.smtp_user:
            conn.login(settings.smtp_user, settings.smtp_password)
    except (OSError, smtplib.SMTPException) as exc:
        raise Temporary(_("The mail server cannot be reached: %(error)s", error=exc)) from exc
    return conn


def _quit(conn) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def _envelope(conn, settings, to_address: str) -> None:
    """MAIL FROM and RCPT TO: refusals here are certain, nothing was handed over."""
    try:
        code, reply = conn.mail(parseaddr(sender(settings))[1])
        if code == 250:
            code, reply = conn.rcpt(to_address)
            if code in (250, 251):
                return
        conn.rset()
    except (OSError, smtplib.SMTPException) as exc:
        raise Temporary(str(exc)) from exc
    text = f"{code} {reply.decode(errors='replace')}"
    raise Permanent(text) if 500 <= code < 600 else Temporary(text)


def _data(conn, message: bytes) -> None:
    """DATA: the hand-over. A broken connection here leaves the outcome unknown."""
    try:
        code, reply = conn.data(message)
    except smtplib.SMTPDataError as exc:
        text = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
        raise Permanent(text) if 500 <= exc.smtp_code < 600 else Temporary(text) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise Unknown(str(exc) or type(exc).__name__) from exc
    if code != 250:
        raise Temporary(f"{code} {reply.decode(errors='replace')}")


def build(rt, session: Session, message: OutboxMessage) -> bytes:
    """The message as it goes over the wire. The email package's older MIME classes
    build it about three times faster than EmailMessage, which counts at hundreds of
    messages a second."""
    settings = rt.settings
    if not message.to_address or any(c.isspace() for c in message.to_address):
        raise ValueError(_("the address %(address)r is not one", address=message.to_address))
    body = MIMEText(message.text_body or " ", "plain", "utf-8")
    if message.html_body:
        body = MIMEMultipart("alternative", _subparts=[
            body, MIMEText(message.html_body, "html", "utf-8")])
    files = _attachments(session, message.attachments)
    email = MIMEMultipart("mixed", _subparts=[body]) if files else body
    email["From"] = _address_header(sender(settings))
    email["To"] = _address_header(formataddr((message.to_name, message.to_address))
                                  if message.to_name else message.to_address)
    email["Subject"] = Header(message.subject, "utf-8").encode()
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    for name, value in (message.headers or {}).items():
        email[name] = value
    for attachment in files:
        maintype, _slash, subtype = attachment.content_type.partition("/")
        try:
            content = attachments.path_of(settings, attachment).read_bytes()
        except OSError as exc:
            raise Permanent(_("The attached file %(name)s cannot be read.",
                              name=attachment.filename)) from exc
        part = MIMEBase(maintype, subtype or "octet-stream")
        part.set_payload(content)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment",
                        filename=("utf-8", "", attachment.filename))
        email.attach(part)
    return email.as_bytes(policy=WIRE)


def _address_header(value: str) -> str:
    """"Name <address>" with the name encoded if it is not ASCII (Łukasz)."""
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def _attachments(session: Session, ids: list) -> list[Attachment]:
    if not ids:
        return []
    found = {a.id: a for a in session.scalars(select(Attachment).where(
        Attachment.id.in_(ids), Attachment.deleted_at.is_(None)))}
    return [found[i] for i in ids if i in found]


def sender(settings) -> str:
    return settings.mail_from or f"Kartoteka <no-reply@{_domain(settings)}>"


def _domain(settings) -> str:
    address = parseaddr(settings.mail_from)[1] if settings and settings.mail_from else ""
    if "@" in address:
        return address.rsplit("@", 1)[1]
    host = urlsplit(settings.public_url).hostname if settings else None
    return host or "localhost"


# --------------------------------------------------------------------- reading


def counts(session: Session, mailing_id: int) -> dict[str, int]:
    """A mailing's messages by state, and how many recipients unsubscribed through it."""
    rows = session.execute(select(OutboxMessage.state, func.count())
                           .where(OutboxMessage.mailing_id == mailing_id)
                           .group_by(OutboxMessage.state)).all()
    found = {state: n for state, n in rows}
    found["unsubscribed"] = session.scalar(select(func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.mailing_id == mailing_id,
                                                  OutboxMessage.unsubscribed_at.is_not(None)))
    found["recipients"] = sum(n for s, n in rows)
    return found
