"""Webhooks through the API: subscriptions, the events on offer, the delivery log.

Everything here needs the ``core.manage_webhooks`` permission. A subscription's secret
is shown when it is created and when it is renewed, never in lists. Updates need
``If-Match`` with the subscription's ETag, as records do.
"""

from __future__ import annotations

import functools

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from core import permissions, webhooks
from core.api import records, schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import ValidationError
from core.models import Webhook, WebhookDelivery
from core.models.webhook import STATES
from core.web.db import db

MANAGE = "core.manage_webhooks"


class WebhookSchema(schemas.Strict):
    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(max=200))
    url = fields.String(required=True, validate=validate.Length(max=2000), metadata={
        "description": "Where events are POSTed: an https:// (or http://) address."})
    events = fields.List(fields.String(), required=True, metadata={
        "description": "Event keys from /webhooks/events, or \"*\" for every event."})
    active = fields.Boolean(load_default=True, metadata={
        "description": "A paused subscription keeps its events queued until resumed."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "Signs every delivery (Standard Webhooks: webhook-signature). "
                       "Shown only now; keep it."})


class EventSchema(Schema):
    key = fields.String()
    label = fields.String()


class DeliverySchema(Schema):
    id = fields.Integer()
    webhook_id = fields.Integer()
    event_id = fields.String(metadata={"description": "The webhook-id header: the same in "
                                                      "every attempt of one event."})
    event = fields.String()
    state = fields.String(metadata={"description": ", ".join(STATES)})
    attempts = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    response = fields.String(metadata={"description": "The start of the receiver's answer."})
    error = fields.String()
    duration_ms = fields.Integer(allow_none=True)
    payload = fields.Dict()
    created_at = fields.DateTime()
    attempted_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class DeliveryArgs(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    before = fields.Integer(metadata={"description": "Only deliveries older than this id "
                                                     "(the next page)."})


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_webhooks", __name__, url_prefix="/webhooks",
                   description="Webhooks: events POSTed, signed, to integrators' addresses")

    @bp.route("/")
    class Collection(MethodView):
        decorators = [_managers_only]

        @bp.response(200, WebhookSchema(many=True))
        def get(self):
            """Every subscription."""
            return db().scalars(select(Webhook).order_by(Webhook.name, Webhook.id)).all()

        @bp.arguments(WebhookSchema)
        @bp.response(201, WebhookWithSecretSchema)
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Subscribe an address to events; the answer holds the signing secret."""
            session = db()
            try:
                hook = webhooks.create(session, data, actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return hook, 201, {"ETag": records._etag(hook),
                               "Location": f"{request.base_url.rstrip('/')}/{hook.id}"}

    @bp.route("/events")
    class Events(MethodView):
        decorators = [_managers_only]

        @bp.response(200, EventSchema(many=True))
        def get(self):
            """The events an address can be subscribed to, in this installation's terms."""
            return [{"key": k, "label": v} for k, v in webhooks.catalogue().items()]

    @bp.route("/<int:webhook_id>")
    class Item(MethodView):
        decorators = [_managers_only]

        @bp.response(200, WebhookSchema)
        def get(self, webhook_id):
            """One subscription."""
            hook = _hook(webhook_id)
            return hook, 200, {"ETag": records._etag(hook)}

        @bp.arguments(WebhookSchema(partial=True))
        @bp.response(200, WebhookSchema)
        @bp.alt_response(412, description="The subscription changed since the ETag was read.")
        @bp.alt_response(428, description="If-Match is missing.")
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, webhook_id):
            """Change a subscription; send the ETag you read in If-Match."""
            session, hook = db(), _hook(webhook_id)
            version = records._if_match(hook)
            if isinstance(version, tuple):
                return version[0]
            try:
                webhooks.update(session, hook, data, actor(), version)
                session.commit()
            except ValidationError as exc:
                session.rollback()
                if "version" in exc.errors:
                    return problem(412, exc.errors["version"])
                return refused(exc.errors)
            return hook, 200, {"ETag": records._etag(hook)}

        @bp.response(204)
        def delete(self, webhook_id):
            """Remove the subscription and its delivery log."""
            session = db()
            webhooks.delete(session, _hook(webhook_id), actor())
            session.commit()
            return "", 204

    @bp.route("/<int:webhook_id>/secret")
    class Secret(MethodView):
        decorators = [_managers_only]

        @bp.response(200, WebhookWithSecretSchema)
        def post(self, webhook_id):
            """Renew the signing secret; deliveries from now on are signed with the new one."""
            session, hook = db(), _hook(webhook_id)
            webhooks.rotate_secret(session, hook, actor())
            session.commit()
            return hook, 200, {"ETag": records._etag(hook)}

    @bp.route("/<int:webhook_id>/test")
    class Test(MethodView):
        decorators = [_managers_only]

        @bp.response(202, DeliverySchema)
        def post(self, webhook_id):
            """Send a ``webhook.test`` event to this address now."""
            session = db()
            delivery = webhooks.test(session, _hook(webhook_id), actor())
            session.commit()
            return _fresh(delivery), 202

    @bp.route("/<int:webhook_id>/deliveries")
    class Deliveries(MethodView):
        decorators = [_managers_only]

        @bp.arguments(DeliveryArgs, location="query")
        @bp.response(200, DeliverySchema(many=True))
        def get(self, args, webhook_id):
            """The delivery log, newest first: each attempt's answer, status and time."""
            hook = _hook(webhook_id)
            query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
            if args.get("state"):
                query = query.where(WebhookDelivery.state == args["state"])
            if args.get("before"):
                query = query.where(WebhookDelivery.id < args["before"])
            return db().scalars(query.order_by(WebhookDelivery.id.desc())
                                .limit(args["limit"])).all()

    @bp.route("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
    class Redeliver(MethodView):
        decorators = [_managers_only]

        @bp.response(202, DeliverySchema)
        def post(self, webhook_id, delivery_id):
            """Send the event again, with its id and payload, as a new entry of the log."""
            session = db()
            found = session.get(WebhookDelivery, delivery_id)
            if found is None or found.webhook_id != _hook(webhook_id).id:
                abort(404)
            again = webhooks.redeliver(session, found)
            session.commit()
            return _fresh(again), 202

    return [bp]


def _managers_only(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not permissions.can(actor(), MANAGE):
            return problem(403, _("Your role does not allow managing webhooks."))
        return view(*args, **kwargs)

    return checked


def _hook(webhook_id: int) -> Webhook:
    hook = db().get(Webhook, webhook_id)
    if hook is None:
        abort(404)
    return hook


def _fresh(delivery: WebhookDelivery) -> WebhookDelivery:
    """The delivery as it is now: with immediate jobs it was already attempted."""
    session = db()
    session.expire(delivery)
    return session.get(WebhookDelivery, delivery.id)

