"""Webhooks: what an integrator's address is told about, and the telling written down.

An administrator subscribes an address to events ("person.created", "case.moved" or
"*" for all). When an event happens, a delivery for each subscription is written in
the same transaction (``emit``), so nothing that happened is left untold and nothing
rolled back is told; ``core.webhook_delivery`` then POSTs it, signed.

The record events come from the notifications the core already queues for plugins
(``core.events``): they are turned into deliveries just before the commit. Other
code calls ``emit`` itself (the outbox for "message.delivered").
"""

from __future__ import annotations

import base64
import secrets
import uuid
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from core import audit, events, jobs, records
from core.db import utcnow
from core.errors import ValidationError
from core.models import Webhook, WebhookDelivery
from core.terms import term, upper_first

ALL = "*"
RECORD_ACTIONS = {"created": _l("created"), "updated": _l("changed"),
                  "deleted": _l("deleted"), "restored": _l("restored")}
# Steps of a record other than its creation or change, named "<term>: <step>".
STEPS = {"case.moved": ("case", _l("moved to another phase")),
         "approval.decided": ("approval", _l("decided")),
         "document.generated": ("document", _l("generated"))}
# Other events; plugins add theirs with ``register``.
EVENTS = {
    "message.delivered": _l("An e-mail was handed to the mail server"),
    "message.failed": _l("An e-mail could not be delivered"),
    "webhook.test": _l("A test sent from the webhook's page"),
}
CACHE = "kartoteka_webhooks"  # the session's subscriptions: (id, events), read once


def register(key: str, label) -> None:
    """Offer another event to subscribe to (a plugin's "payment.recorded")."""
    EVENTS[key] = label


def catalogue() -> dict[str, str]:
    """Every event an address can be subscribed to -> what it means, in the user's terms."""
    found = {}
    for record_type in sorted(records.record_types()):
        for action, label in RECORD_ACTIONS.items():
            found[f"{record_type}.{action}"] = f"{_type_label(record_type)}: {label}"
    found.update({key: f"{_type_label(record_type)}: {label}"
                  for key, (record_type, label) in STEPS.items()})
    found.update({key: str(label) for key, label in EVENTS.items()})
    return found


def _type_label(record_type: str) -> str:
    named = term(f"core.{record_type}")
    return record_type if named == f"core.{record_type}" else upper_first(named)


# --------------------------------------------------------------------- subscriptions


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def clean(data: dict) -> dict:
    """The subscription's fields checked, or a ValidationError naming each bad one."""
    errors, values = {}, {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the webhook a name.")
    elif len(name) > 200:
        errors["name"] = _("At most %(n)d characters.", n=200)
    values["name"] = name
    url = str(data.get("url") or "").strip()
    problem = url_problem(url)
    if problem:
        errors["url"] = problem
    values["url"] = url
    wanted = [str(e).strip() for e in data.get("events") or [] if str(e).strip()]
    known = catalogue()
    unknown = [e for e in wanted if e != ALL and e not in known]
    if not wanted:
        errors["events"] = _("Choose at least one event.")
    elif unknown:
        errors["events"] = _("Unknown events: %(events)s.", events=", ".join(unknown))
    values["events"] = sorted(set(wanted))
    values["active"] = bool(data.get("active", True))
    if errors:
        raise ValidationError(errors)
    return values


def url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if not url:
        return _("Give the address the events are sent to.")
    if len(url) > 2000:
        return _("At most %(n)d characters.", n=2000)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Give a whole address starting with https:// (or http://).")
    return None


def create(session: Session, data: dict, actor=None) -> Webhook:
    values = clean(data)
    now = utcnow()
    hook = Webhook(**values, secret=new_secret(), created_at=now, updated_at=now,
                   created_by_id=getattr(actor, "id", None))
    session.add(hook)
    session.flush()
    session.info.pop(CACHE, None)
    audit.write(session, hook, "create", {k: (None, v) for k, v in values.items()}, actor)
    return hook


def update(session: Session, hook: Webhook, data: dict, actor=None,
           expected_version: int | None = None) -> Webhook:
    if expected_version is not None and expected_version != hook.version:
        raise ValidationError({"version": _("Someone else changed this webhook meanwhile; "
                                            "reload it and make your change again.")})
    current = {"name": hook.name, "url": hook.url, "events": hook.events,
               "active": hook.active}
    values = clean({**current, **data})
    changes = {k: (current[k], v) for k, v in values.items() if current[k] != v}
    if changes:
        for key, (_old, new) in changes.items():
            setattr(hook, key, new)
        hook.updated_at = utcnow()
        session.flush()
        session.info.pop(CACHE, None)
        audit.write(session, hook, "update", changes, actor)
    return hook


def rotate_secret(session: Session, hook: Webhook, actor=None) -> Webhook:
    """A new signing secret; deliveries from now on are signed with it."""
    hook.secret = new_secret()
    hook.updated_at = utcnow()
    session.flush()
    audit.write(session, hook, "update", {"secret": ("old", "new")}, actor)
    return hook


def delete(session: Session, hook: Webhook, actor=None) -> None:
    """Remove the subscription and its delivery log."""
    audit.write(session, hook, "purge", {"name": (hook.name, None), "url": (hook.url, None)},
                actor)
    session.delete(hook)
    session.flush()
    session.info.pop(CACHE, None)


def test(session: Session, hook: Webhook, actor=None) -> WebhookDelivery:
    """Send ``webhook.test`` to this one address, whatever it subscribes to."""
    delivery = _delivery(hook.id, "webhook.test", {"webhook_id": hook.id,
                                                "by": _actor(actor)})
    session.add(delivery)
    session.flush()
    _deliver_after_commit(session)
    return delivery


def redeliver(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue the event again (same id, same payload) as a new entry of the log."""
    again = WebhookDelivery(webhook_id=delivery.webhook_id, event_id=delivery.event_id,
                            event=delivery.event, payload=delivery.payload,
                            created_at=utcnow(), next_attempt_at=utcnow())
    session.add(again)
    session.flush()
    _deliver_after_commit(session)
    return again


# --------------------------------------------------------------------- events


def emit(session: Session, key: str, data: dict) -> int:
    """Write a delivery of event ``key`` for each subscription to it; they are sent once
    the transaction commits. Returns how many were written."""
    hooks = [hook_id for hook_id, events in _subscriptions(session)
             if ALL in events or key in events]
    for hook_id in hooks:
        session.add(_delivery(hook_id, key, data))
    if hooks:
        _deliver_after_commit(session)
    return len(hooks)


def wanted(session: Session, key_suffix: str) -> bool:
    """Whether a subscription may want events ending in ``key_suffix``
    (bulk writing asks before it reports each record it creates)."""
    return any(ALL in events or any(e.endswith(key_suffix) for e in events)
               for _id, events in _subscriptions(session))


def _subscriptions(session: Session) -> list[tuple[int, frozenset]]:
    """Every subscription's id and events, paused ones too (their events wait until
    they are resumed). Read once per session: a worker tells a batch of deliveries
    with one query, and a change to a subscription is seen from the next session."""
    if CACHE not in session.info:
        with session.no_autoflush:
            session.info[CACHE] = [(hook_id, frozenset(events)) for hook_id, events
                                   in session.execute(select(Webhook.id, Webhook.events))]
    return session.info[CACHE]


def _delivery(hook_id: int, key: str, data: dict) -> WebhookDelivery:
    now = utcnow()
    return WebhookDelivery(webhook_id=hook_id, event_id=f"evt_{uuid.uuid4().hex}", event=key,
                           payload={"type": key, "timestamp": now.isoformat(), "data": data},
                           created_at=now, next_attempt_at=now)


def _deliver_after_commit(session: Session) -> None:
    jobs.after_commit(session, lambda queue: queue.deliver_webhooks())


def _actor(actor) -> dict | None:
    if actor is None:
        return None
    return {"id": actor.id, "name": actor.full_name or actor.email}


@event.listens_for(Session, "before_commit")
def _from_notifications(session: Session) -> None:
    """The plugins' notifications queued in this transaction, told to subscribers too."""
    pending = session.info.get(events.PENDING)
    if not pending or not _subscriptions(session):
        return
    for hook_name, kwargs in pending:
        told = _told(hook_name, kwargs)
        if told is not None:
            emit(session, *told)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(CACHE, None)


def _told(hook_name: str, kw: dict) -> tuple[str, dict] | None:
    """A notification as an event key and its data, or None if none is told."""
    actor = _actor(kw.get("actor"))
    if hook_name in RECORD_HOOKS:
        record = kw["record"]
        record_type = getattr(type(record), "record_type", None)
        if not isinstance(record_type, str):
            return None
        changes = kw.get("changes") or _values(record)
        if hook_name == "kartoteka_record_deleted":  # purged: what it held, to nothing
            changes = {key: (new, None) for key, (_old, new) in changes.items()}
        action = RECORD_HOOKS[hook_name](changes)
        data = {"type": record_type, "id": record.id, "label": audit.label_of(record),
                "changes": audit.stored_changes(changes), "actor": actor}
        return f"{record_type}.{action}", data
    if hook_name == "kartoteka_case_moved":
        case = kw["case"]
        return "case.moved", {"id": case.id, "label": audit.label_of(case),
                              "process": case.process_key, "from": kw["source"],
                              "to": kw["target"], "actor": actor}
    if hook_name == "kartoteka_approval_decided":
        req = kw["request"]
        return "approval.decided", {"id": req.id, "case_id": req.case_id,
                                    "transition": req.transition, "status": req.status,
                                    "comment": req.comment, "actor": actor}
    if hook_name == "kartoteka_document_generated":
        doc = kw["document"]
        return "document.generated", {"id": doc.id, "number": doc.number, "title": doc.title,
                                      "record_type": doc.record_type,
                                      "record_id": doc.record_id, "actor": actor}
    return None


def _values(record) -> dict:
    """A created record's values as changes from nothing (its deletion's: to nothing)."""
    return {a.key: (None, getattr(record, a.key)) for a in inspect(type(record)).column_attrs
            if getattr(record, a.key) is not None}


def _updated(changes: dict) -> str:
    """A soft deletion and a restore are updates of ``deleted_at``; subscribers hear them
    as what they are."""
    old, new = changes.get("deleted_at", (None, None))
    if old is None and new is not None:
        return "deleted"
    if old is not None and new is None:
        return "restored"
    return "updated"


RECORD_HOOKS = {"kartoteka_record_created": lambda _changes: "created",
                "kartoteka_record_updated": _updated,
                "kartoteka_record_deleted": lambda _changes: "deleted"}
