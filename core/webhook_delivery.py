"""Delivering webhooks: a signed POST per delivery, retried with growing pauses.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com), so receivers
can check them with its libraries: ``webhook-id`` (the event's id, the same in every
attempt), ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`` with the subscription's secret.

A delivery is taken by a worker for a lease; one whose worker died is taken again
when the lease runs out (a receiver may then see an event twice: the id tells it).
Addresses on this machine or in private networks are refused unless the setting
``webhook_private_addresses`` allows them, so a webhook cannot probe the inside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from flask_babel import gettext as _
from sqlalchemy import select, update

import core
from core import bulk, jobs
from core.db import utcnow
from core.models import Webhook, WebhookDelivery

BATCH = 20
LEASE_MARGIN = timedelta(minutes=1)  # beyond every attempt of a batch timing out
# The pause before each next attempt; after the last the delivery has failed.
PAUSES = [timedelta(seconds=30), timedelta(minutes=5), timedelta(minutes=30),
          timedelta(hours=2), timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]
MAX_RETRY_AFTER = timedelta(hours=12)
KEPT = 2000  # characters of an answer kept in the log


def deliver(rt, worker: str, limit: int | None = None) -> int:
    """Send what is due, batch by batch; returns how many attempts were made."""
    recover(rt)
    attempted = 0
    while limit is None or attempted < limit:
        ids = claim(rt, worker, BATCH if limit is None else min(BATCH, limit - attempted))
        if not ids:
            break
        for delivery_id in ids:
            attempt(rt, delivery_id)
        attempted += len(ids)
    _schedule_next(rt)
    return attempted


def claim(rt, worker: str, n: int) -> list[int]:
    """Take up to ``n`` due deliveries of active subscriptions (a paused one's wait),
    leased for as long as all of them may take, so that none is taken twice."""
    now = utcnow()
    lease = now + n * timedelta(seconds=rt.settings.webhook_timeout_seconds) + LEASE_MARGIN
    with rt.session() as session, session.begin():
        bulk.begin(session)
        ids = list(session.scalars(
            select(WebhookDelivery.id).join(Webhook)
            .where(WebhookDelivery.state == "queued", WebhookDelivery.next_attempt_at <= now,
                   Webhook.active)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(n)
            .with_for_update(of=WebhookDelivery, skip_locked=True)))
        if ids:
            ids = list(session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.state == "queued")
                .values(state="sending", claimed_by=worker, lease_until=lease)
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)))
    return sorted(ids)


def attempt(rt, delivery_id: int) -> str:
    """POST one delivery (outside any transaction) and record the answer; returns the
    delivery's new state."""
    with rt.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # its subscription was deleted meanwhile
            return "deleted"
        hook = session.get(Webhook, delivery.webhook_id)
        url, secret = hook.url, hook.secret
        event_id, body = delivery.event_id, encode(delivery.payload)
    started = time.monotonic()
    outcome = post(rt.settings, url, secret, event_id, body)
    with rt.session() as session, session.begin():
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.state != "sending":  # deleted, or lease lost
            return delivery.state if delivery else "deleted"
        record(delivery, outcome, int((time.monotonic() - started) * 1000))
        return delivery.state


class Outcome:
    """What one POST got: an HTTP answer, or an error before one came."""

    def __init__(self, status: int | None = None, text: str = "", error: str = "",
                 retry_after: timedelta | None = None, final: bool = False):
        self.status, self.text, self.error = status, text, error
        self.retry_after, self.final = retry_after, final

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(settings, url: str, secret: str, event_id: str, body: bytes) -> Outcome:
    refused = address_problem(url, settings.webhook_private_addresses)
    if refused:
        return Outcome(error=refused, final=True)
    headers = {"Content-Type": "application/json",
               "User-Agent": f"Kartoteka-Webhooks/{core.__version__}",
               **signature_headers(secret, event_id, body)}
    try:
        answer = httpx.post(url, content=body, headers=headers, follow_redirects=False,
                            timeout=settings.webhook_timeout_seconds)
    except httpx.HTTPError as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:KEPT])
    return Outcome(answer.status_code, answer.text[:KEPT],
                   retry_after=_retry_after(answer.headers.get("Retry-After")))


def record(delivery: WebhookDelivery, outcome: Outcome, duration_ms: int) -> None:
    now = utcnow()
    delivery.attempts += 1
    delivery.attempted_at, delivery.duration_ms = now, duration_ms
    delivery.status_code, delivery.response = outcome.status, outcome.text
    delivery.error = outcome.error or ("" if outcome.ok else _(
        "The receiver answered %(status)s; only 2xx counts as received.",
        status=outcome.status))
    delivery.claimed_by, delivery.lease_until = "", None
    if outcome.ok:
        delivery.state, delivery.delivered_at = "delivered", now
    elif outcome.final or delivery.attempts > len(PAUSES):
        delivery.state = "failed"
    else:
        pause = max(PAUSES[delivery.attempts - 1], outcome.retry_after or timedelta())
        delivery.state, delivery.next_attempt_at = "queued", now + pause


def recover(rt, now: datetime | None = None) -> int:
    """Queue again the deliveries whose worker's lease ran out."""
    with rt.session() as session, session.begin():
        return session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.state == "sending",
                   WebhookDelivery.lease_until < (now or utcnow()))
            .values(state="queued", claimed_by="", lease_until=None)).rowcount


def _schedule_next(rt) -> None:
    """Ask for delivery when the earliest retry is due (the minutely sweep is the net)."""
    with rt.session() as session:
        due = session.scalar(select(WebhookDelivery.next_attempt_at).join(Webhook).where(
            WebhookDelivery.state == "queued", Webhook.active)
            .order_by(WebhookDelivery.next_attempt_at).limit(1))
    if due is not None:
        wait = (due - utcnow()).total_seconds()
        if 0 < wait < 60:
            rt.jobs.deliver_webhooks(delay=wait + 1)


# --------------------------------------------------------------------- the wire


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature_headers(secret: str, event_id: str, body: bytes,
                      timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{digest}"}


def address_problem(url: str, private_allowed: bool) -> str | None:
    """Why ``url`` may not be called, or None. Every address the name resolves to is
    checked at the moment of sending, so a name cannot be pointed inside later."""
    if private_allowed:
        return None
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return _("The address's host name cannot be resolved (%(error)s).", error=exc)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return _("The address leads to %(address)s, a private or local network; the "
                     "setting webhook_private_addresses allows such addresses.",
                     address=address)
    return None


def _retry_after(value: str | None) -> timedelta | None:
    """A receiver's Retry-After in seconds (its date form is rare and ignored)."""
    if value and value.strip().isdigit():
        return min(timedelta(seconds=int(value.strip())), MAX_RETRY_AFTER)
    return None


jobs.every_minute("webhooks.deliver")(lambda rt: rt.jobs.deliver_webhooks())
