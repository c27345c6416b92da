"""Price lists through the API: the lists plugins register, and their items.

Every call goes through ``core.price_lists``, the service of the staff pages. Any staff
account reads a list; adding, changing and retiring its items needs the list's
permission (403). A refusal answers 422 with a message per field and writes nothing;
a change sends the ETag it read in If-Match (428 without, 412 when stale). An item is
never deleted: DELETE retires it, and calculations made with it keep their lines.
"""

from __future__ import annotations

from flask import abort as http_abort
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import price_lists
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor, staff_only
from core.api.crud import refusal
from core.api.invoices import decimal_in, decimal_out, rate_in, rate_out
from core.errors import Forbidden, ValidationError
from core.models import PriceItem
from core.price_lists import PriceList
from core.validation import max_length
from core.web.db import db
from core.web.i18n import current_locale

_ITEM = price_lists.PriceItemSchema._declared_fields


class PriceListCategorySchema(Schema):
    key = fields.String(metadata={"description": "What an item's ``category`` holds."})
    title = fields.String(metadata={"description": "In the language the request asks for."})


class PriceListSchema(Schema):
    """A list a plugin registers."""

    key = fields.String(metadata={"description": "Its plugin's name, a dot and its own."})
    title = fields.String(metadata={"description": "In the language the request asks for."})
    categories = fields.List(fields.Nested(PriceListCategorySchema), metadata={
        "description": "Its categories of items, in the order the list gives them."})
    permission = fields.String(metadata={"description": "The permission of those who keep "
                                                        "its items."})


class PriceItemInSchema(price_lists.PriceItemSchema):
    """An item as it is written; ``category`` is one of the list's."""

    net_price = decimal_in(_ITEM["net_price"], "1234.50", "Net, in PLN, per unit; up to "
                                                          "four decimal places.")
    vat_rate = rate_in(_ITEM["vat_rate"])


class PriceItemSchema(Schema):
    """An item of a price list; ``version`` is its ETag."""

    id = fields.Integer()
    list_key = fields.String(metadata={"description": "The price list it is on."})
    code = fields.String()
    name = fields.String()
    category = fields.String()
    unit = fields.String()
    net_price = decimal_out(4, "Net, in PLN, per unit.", example="1234.5000")
    vat_rate = rate_out()
    details = fields.Dict(keys=fields.String())
    notes = fields.String()
    active = fields.Boolean(metadata={"description": "False: retired, no longer offered for "
                                                    "new calculations."})
    version = fields.Integer(metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    updated_by_id = fields.Integer(allow_none=True)


class PriceItemListArgs(schemas.Strict):
    category = fields.String(validate=max_length(64), metadata={
        "description": "Only the items of this category."})
    retired = fields.Boolean(load_default=False, metadata={
        "description": "true: the retired items too."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_price-lists", __name__, url_prefix="/price-lists",
                   description="Price lists: the items calculations take their prices from")

    @bp.route("/")
    class Lists(MethodView):
        decorators = [staff_only]

        @bp.response(200, PriceListSchema(many=True))
        def get(self):
            """The price lists the enabled plugins register, by key."""
            registered = current_app.extensions["kartoteka"].host.price_lists
            return [_described(registered[key]) for key in sorted(registered)]

    @bp.route("/<key>/items")
    class Items(MethodView):
        decorators = [staff_only]

        @bp.arguments(PriceItemListArgs, location="query")
        @bp.response(200, PriceItemSchema(many=True))
        def get(self, args, key):
            """The list's items, by category and name.

            Those in use; with ``retired``, the retired ones too."""
            return price_lists.items(db(), _price_list(key), with_retired=args["retired"],
                                     category=args.get("category"))

        @bp.arguments(PriceItemInSchema)
        @bp.response(201, PriceItemSchema)
        @bp.alt_response(403, description="The caller does not keep this list.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data, key):
            """Add an item to the list."""
            price_list = _kept(key)
            session = db()
            try:
                item = price_lists.create(session, price_list, _body(), actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return item, 201, {"ETag": api_records._etag(item),
                               "Location": f"{request.base_url.rstrip('/')}/{item.id}"}

    @bp.route("/<key>/items/<int:item_id>")
    class Item(MethodView):
        decorators = [staff_only]

        @bp.response(200, PriceItemSchema)
        def get(self, key, item_id):
            """Read one item."""
            item = _item(_price_list(key), item_id)
            return item, 200, {"ETag": api_records._etag(item)}

        @bp.arguments(PriceItemInSchema(partial=True))
        @bp.response(200, PriceItemSchema)
        @bp.alt_response(403, description="The caller does not keep this list.")
        @bp.alt_response(412, description="The item changed since the ETag was read.")
        @bp.alt_response(422, description="Field-level errors.")
        @bp.alt_response(428, description="If-Match is missing.")
        def patch(self, data, key, item_id):
            """Change some fields; send the ETag you read in If-Match.

            Calculations made before keep the price of their day."""
            price_list = _kept(key)
            item, session = _item(price_list, item_id), db()
            version = api_records._if_match(item)
            if isinstance(version, tuple):
                return version[0]
            try:
                price_lists.update(session, price_list, item, _body(), actor(), version)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return item, 200, {"ETag": api_records._etag(item)}

        @bp.response(204)
        @bp.alt_response(403, description="The caller does not keep this list.")
        def delete(self, key, item_id):
            """Retire the item (it is never deleted).

            It is no longer offered for new calculations; those made with it keep it.
            PATCH ``{"active": true}`` offers it again."""
            price_list = _kept(key)
            item, session = _item(price_list, item_id), db()
            try:
                price_lists.retire(session, price_list, item, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return None

    return [bp]


def _described(price_list: PriceList) -> dict:
    locale = current_locale()
    return {"key": price_list.key, "title": price_list.label(locale),
            "permission": price_list.permission,
            "categories": [{"key": key, "title": title} for key, title
                           in price_list.category_labels(locale).items()]}


def _body() -> dict:
    """The fields as sent, for the service's own checks and messages."""
    return dict(request.get_json())


def _price_list(key: str) -> PriceList:
    found = price_lists.get_list(current_app.extensions["kartoteka"].host, key)
    if found is None:
        abort(404)
    return found


def _kept(key: str) -> PriceList:
    """A list the caller keeps: 404 for an unknown one, 403 for one they only read."""
    found = _price_list(key)
    try:
        price_lists.require(actor(), found)
    except Forbidden as exc:
        http_abort(403, str(exc))
    return found


def _item(price_list: PriceList, item_id: int) -> PriceItem:
    """An item of this list; one of another list is 404 here."""
    found = price_lists.get(db(), price_list, item_id)
    if found is None:
        abort(404)
    return found
