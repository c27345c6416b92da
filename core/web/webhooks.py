"""Administrators' webhook pages: subscriptions, their signing secrets, a test, and
the delivery log with each attempt's answer and a button to send an event again."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from core import webhooks
from core.models import Webhook, WebhookDelivery
from core.models.webhook import STATES
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
manage = permission_required("core.manage_webhooks")
STATE_LABELS = {"queued": _l("waiting"), "sending": _l("being sent"),
                "delivered": _l("delivered"), "failed": _l("failed")}
LOG_SIZE = 50


@bp.get("/")
@manage
def index():
    session = db()
    hooks = session.scalars(select(Webhook).order_by(Webhook.name, Webhook.id)).all()
    counts = {}
    for hook_id, state, n in session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.state, func.count())
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.state)):
        counts.setdefault(hook_id, {})[state] = n
    return render_template("core/admin/webhooks.html", hooks=hooks, counts=counts,
                           states=STATE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@manage
def new():
    values, errors = {"name": "", "url": "", "events": [], "active": True}, {}
    if request.method == "POST":
        values = _posted()
        hook, errors = commit_or_errors(db(), lambda: webhooks.create(db(), values,
                                                                      current_user))
        if not errors:
            flash(_("Webhook %(name)s added. Give the receiver its signing secret (below).",
                    name=hook.name))
            return redirect(url_for("webhooks.edit", webhook_id=hook.id, secret=1))
    return render_template("core/admin/webhooks_form.html", hook=None, values=values,
                           errors=errors, catalogue=webhooks.catalogue())


@bp.route("/<int:webhook_id>", methods=["GET", "POST"])
@manage
def edit(webhook_id: int):
    session, hook, errors = db(), _hook(webhook_id), {}
    values = {"name": hook.name, "url": hook.url, "events": hook.events,
              "active": hook.active}
    if request.method == "POST":
        values = _posted()
        version = optional_int(request.form.get("version"))
        _saved, errors = commit_or_errors(session, lambda: webhooks.update(
            session, hook, values, current_user, version))
        if not errors:
            flash(_("Webhook %(name)s saved.", name=hook.name))
            return redirect(url_for("webhooks.edit", webhook_id=hook.id))
    state = request.args.get("state") if request.args.get("state") in STATES else None
    return render_template("core/admin/webhooks_form.html", hook=hook, values=values,
                           errors=errors, catalogue=webhooks.catalogue(),
                           log=_log(hook, state), state=state, states=STATE_LABELS,
                           show_secret=request.args.get("secret") == "1")


@bp.post("/<int:webhook_id>/test")
@manage
def test(webhook_id: int):
    session = db()
    if commit_or_flash(session, lambda: webhooks.test(session, _hook(webhook_id),
                                                       current_user)):
        flash(_("A test event was sent; its answer is in the log below."))
    return redirect(url_for("webhooks.edit", webhook_id=webhook_id))


@bp.post("/<int:webhook_id>/secret")
@manage
def secret(webhook_id: int):
    session = db()
    commit_or_flash(session, lambda: webhooks.rotate_secret(session, _hook(webhook_id),
                                                             current_user))
    flash(_("A new signing secret was made; deliveries from now on are signed with it. "
            "Give it to the receiver."))
    return redirect(url_for("webhooks.edit", webhook_id=webhook_id, secret=1))


@bp.post("/<int:webhook_id>/delete")
@manage
def delete(webhook_id: int):
    session, hook = db(), _hook(webhook_id)
    name = hook.name
    commit_or_flash(session, lambda: webhooks.delete(session, hook, current_user))
    flash(_("Webhook %(name)s and its delivery log were deleted.", name=name))
    return redirect(url_for("webhooks.index"))


@bp.get("/<int:webhook_id>/deliveries/<int:delivery_id>")
@manage
def delivery(webhook_id: int, delivery_id: int):
    hook, found = _hook(webhook_id), _delivery(webhook_id, delivery_id)
    return render_template("core/admin/webhooks_delivery.html", hook=hook, delivery=found,
                           states=STATE_LABELS,
                           payload=json.dumps(found.payload, indent=2, ensure_ascii=False))


@bp.post("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@manage
def redeliver(webhook_id: int, delivery_id: int):
    session, found = db(), _delivery(webhook_id, delivery_id)
    again = commit_or_flash(session, lambda: webhooks.redeliver(session, found))
    if again is not None:
        flash(_("The event was queued again; its new attempt is at the top of the log."))
    return redirect(url_for("webhooks.edit", webhook_id=webhook_id))


def _posted() -> dict:
    return {"name": request.form.get("name", ""), "url": request.form.get("url", ""),
            "events": request.form.getlist("events"),
            "active": request.form.get("active") == "1"}


def _hook(webhook_id: int) -> Webhook:
    hook = db().get(Webhook, webhook_id)
    if hook is None:
        abort(404)
    return hook


def _delivery(webhook_id: int, delivery_id: int) -> WebhookDelivery:
    found = db().get(WebhookDelivery, delivery_id)
    if found is None or found.webhook_id != webhook_id:
        abort(404)
    return found


def _log(hook: Webhook, state: str | None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return db().scalars(query.order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)).all()
