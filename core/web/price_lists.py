"""Staff pages of the price lists plugins register (``core.price_lists``): the lists, a
list's items by category, and the form that adds or changes an item. An item in use is
retired rather than deleted: calculations made with it keep their lines.

Anyone on the staff reads a list; adding, changing and retiring its items needs the
list's permission (403, and no such controls shown). A refused form comes back with each
message under its field and what was typed kept, and nothing of it is written.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import permissions, price_lists
from core.menu import MenuItem
from core.models import PriceItem
from core.price_lists import PriceList
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int
from core.web.i18n import current_locale
from core.web.invoices import RATE_LABELS, plain

bp = Blueprint("price_lists", __name__, url_prefix="/price-lists")

PERMISSION = "core.manage_price_lists"
FIELDS = ("code", "name", "category", "unit", "net_price", "vat_rate", "notes")
NEW_ITEM = {**dict.fromkeys(FIELDS, ""), "unit": "szt.", "vat_rate": "23"}


class _CoreEntry(MenuItem):
    """The menu entry: a core one, so its label is a message of the core's catalogue."""

    def text(self) -> str:
        return _("Price lists")


def menu(host) -> list[MenuItem]:
    """The entry, for whoever keeps any of the registered lists."""
    keys = tuple(sorted({PERMISSION, *(pl.permission for pl in host.price_lists.values())}))
    return [_CoreEntry("price_lists.index", permission=keys, section=("price_lists",))]


@bp.get("/")
@login_required
def index():
    lists = sorted(_host().price_lists.values(), key=lambda pl: pl.label(current_locale()))
    if not _keeps_any(lists):
        abort(403)
    return render_template("core/price_lists/index.html", lists=lists,
                           counts=_counts(), locale=current_locale())


@bp.get("/<key>/")
@login_required
def items(key: str):
    price_list = _price_list(key)
    retired = request.args.get("retired") == "1"
    rows = price_lists.items(db(), price_list, with_retired=retired)
    return render_template(
        "core/price_lists/items.html", price_list=price_list, retired=retired,
        groups=_grouped(price_list, rows), rates=RATE_LABELS, money=money,
        may_keep=price_lists.may_keep(current_user, price_list),
        title=price_list.label(current_locale()))


@bp.route("/<key>/new", methods=["GET", "POST"])
@login_required
def new_item(key: str):
    return _form(_kept(key), None)


@bp.route("/<key>/<int:item_id>", methods=["GET", "POST"])
@login_required
def edit_item(key: str, item_id: int):
    price_list = _kept(key)
    return _form(price_list, _item(price_list, item_id))


@bp.post("/<key>/<int:item_id>/retire")
@login_required
def retire_item(key: str, item_id: int):
    price_list = _kept(key)
    item, version = _item(price_list, item_id), optional_int(request.form.get("version"))
    if commit_or_flash(db(), lambda: price_lists.retire(db(), price_list, item, current_user,
                                                        version)):
        flash(_("“%(name)s” is retired: it is no longer offered for new calculations.",
                name=item.name))
    return redirect(url_for(".items", key=key, retired=1))


@bp.post("/<key>/<int:item_id>/reactivate")
@login_required
def reactivate_item(key: str, item_id: int):
    price_list = _kept(key)
    item, version = _item(price_list, item_id), optional_int(request.form.get("version"))
    if commit_or_flash(db(), lambda: price_lists.update(db(), price_list, item, {"active": True},
                                                        current_user, version)):
        flash(_("“%(name)s” is offered again for new calculations.", name=item.name))
    return redirect(url_for(".items", key=key, retired=1))


def _form(price_list: PriceList, item: PriceItem | None):
    session, errors = db(), {}
    values = _values(item) if item is not None else dict(NEW_ITEM)
    if request.method == "POST":
        values = data = {name: request.form.get(name, "") for name in FIELDS}
        version = optional_int(request.form.get("version"))

        def write():
            if item is None:
                return price_lists.create(session, price_list, data, current_user)
            return price_lists.update(session, price_list, item, data, current_user, version)

        _saved, errors = commit_or_errors(session, write)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for(".items", key=price_list.key))
        if "version" in errors:
            values = _values(item)  # someone saved meanwhile: show what is stored now
    return render_template(
        "core/price_lists/form.html", price_list=price_list, item=item, values=values,
        errors=errors, title=price_list.label(current_locale()), rates=RATE_LABELS,
        categories=list(price_list.category_labels(current_locale()).items()))


def _values(item: PriceItem) -> dict:
    values = {name: getattr(item, name) or "" for name in FIELDS}
    return {**values, "net_price": plain(item.net_price, 2)}


def _grouped(price_list: PriceList, rows: list[PriceItem]) -> list[tuple[str, list]]:
    """The items under their categories, in the order the list declares them; those of
    no category (or of one the list no longer has) last."""
    labels = price_list.category_labels(current_locale())
    if not labels:
        return [("", rows)] if rows else []
    groups = {key: [] for key in labels}
    for row in rows:
        groups.setdefault(row.category if row.category in labels else "", []).append(row)
    return [(labels.get(key, _("Other")), found) for key, found in groups.items() if found]


def money(value) -> str:
    """A net price in the user's language: "1 234,50 zł", and its third and fourth
    places only when it has them ("0,0450 zł")."""
    return format_currency(Decimal(value).normalize(), "PLN", locale=current_locale(),
                           decimal_quantization=False)


def _counts() -> dict[str, int]:
    """The items in use of each list."""
    query = select(PriceItem.list_key, func.count()).where(
        PriceItem.active.is_(True), PriceItem.deleted_at.is_(None)).group_by(PriceItem.list_key)
    return dict(db().execute(query).all())


def _host():
    return current_app.extensions["kartoteka"].host


def _keeps_any(lists: list[PriceList]) -> bool:
    """Who keeps a list, or may keep the lists a plugin may yet bring, sees them all."""
    return permissions.can(current_user, PERMISSION) or any(
        price_lists.may_keep(current_user, pl) for pl in lists)


def _price_list(key: str) -> PriceList:
    found = price_lists.get_list(_host(), key)
    if found is None:
        abort(404)
    return found


def _kept(key: str) -> PriceList:
    """A list the user keeps; 403 for one they only read."""
    found = _price_list(key)
    if not price_lists.may_keep(current_user, found):
        abort(403)
    return found


def _item(price_list: PriceList, item_id: int) -> PriceItem:
    found = price_lists.get(db(), price_list, item_id)
    if found is None:
        abort(404)
    return found
