"""Staff pages of billable items: what is owed and not invoiced yet, an item added by
hand or taken back, and a draft invoice made of the items chosen.

Everything goes through ``core.billing``; the items of one invoice must be one
buyer's, in one currency and one kind of price, and a refusal says so with nothing
written. Every page needs ``core.billing``.
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import billing, invoices, records, vat
from core.filters import today as local_today
from core.models import BillableItem, Case
from core.models.billing import KINDS
from core.web.db import db
from core.web.forms import form_id
from core.web.invoices import (
    CHOICES_LIMIT,
    PAGE,
    attempt,
    billing_only,
    form_errors,
    party_choices,
    party_fields,
    party_key,
    party_names,
)

bp = Blueprint("billable_items", __name__, url_prefix="/billing/items")
FIELDS = ("buyer", "description", "quantity", "unit", "unit_price", "price_basis",
          "vat_rate", "currency", "earned_on")


def _scope() -> list:
    """The condition of the items whose client the user may see (none for all)."""
    condition = invoices.party_scope(BillableItem, current_user)
    return [] if condition is None else [condition]


def _unbilled():
    """Items no invoice takes yet, of the clients the user may see."""
    return select(BillableItem).where(BillableItem.invoice_line_id.is_(None), *_scope())


@bp.get("/")
@billing_only
def index():
    return _list(request.args.get("buyer", ""), form_id(request.args.get("page")) or 0,
                 case_id=form_id(request.args.get("case")))


def _list(buyer: str, page: int = 0, errors: dict | None = None, chosen: tuple = (),
          typed: dict | None = None, case_id: int | None = None):
    session, errors = db(), dict(errors or {})
    query = _unbilled()
    case = records.get(session, Case, case_id, current_user) if case_id else None
    if case_id and case is None:
        abort(404)
    if case is not None:  # billing one case: what it made owed, whoever owes it
        query = query.where(BillableItem.case_id == case.id)
    party = party_fields(buyer)
    if party is None:
        errors.setdefault("buyer", _("Choose from the list."))
    for key, value in (party or {}).items():
        query = query.where(getattr(BillableItem, key) == value)
    rows = list(session.scalars(query.options(selectinload(BillableItem.people))
                                .order_by(BillableItem.earned_on, BillableItem.id)
                                .offset(page * PAGE).limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    cases = {c.id: c for c in session.scalars(records.visible(Case, current_user).where(
        Case.id.in_({r.case_id for r in rows if r.case_id})))} if any(
        r.case_id for r in rows) else {}
    return render_template(
        "core/billing/items.html", rows=rows, more=more, page=page, buyer=buyer, case=case,
        errors=errors, chosen={str(c) for c in chosen}, typed=typed or {"kind": "invoice",
                                                                         "payment_days": "14"},
        names=party_names(session, rows), buyers=_buyers(session), cases=cases,
        values={r.id: vat.Line(r.quantity, r.unit_price, r.vat_rate).value for r in rows},
        kinds=[k for k in KINDS if k not in ("correction", "final")])


def _buyers(session) -> list[tuple[str, str]]:
    pairs = session.execute(_unbilled().with_only_columns(
        BillableItem.organisation_id, BillableItem.person_id).distinct()
        .limit(CHOICES_LIMIT)).all()
    names = party_names(session, [SimpleNamespace(organisation_id=o, person_id=p)
                                  for o, p in pairs])
    return sorted(names.items(), key=lambda kv: kv[1].lower())


@bp.route("/new", methods=["GET", "POST"])
@billing_only
def new():
    session = db()
    values = {"buyer": request.args.get("buyer", ""), "description": "", "quantity": "1",
              "unit": "szt.", "unit_price": "", "price_basis": "net", "vat_rate": "23",
              "currency": "PLN", "earned_on": local_today().isoformat()}
    errors = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        own = {}
        party = party_fields(values["buyer"])
        if party is None:
            own["buyer"], party = _("Choose from the list."), {}
        data = {**party, "unit": values["unit"].strip() or "szt.", "source": "manual",
                "price_basis": values["price_basis"] or "net",
                "currency": values["currency"].strip().upper() or "PLN",
                **{k: values[k].strip() for k in ("description", "quantity", "unit_price",
                                                   "vat_rate", "earned_on")
                   if values[k].strip()}}
        item, errors = attempt(session, lambda: billing.add_item(session, data, current_user),
                               own)
        errors = form_errors(errors)
        if item is not None:
            flash(_("Added: %(what)s.", what=item.description))
            return redirect(url_for("billable_items.index", buyer=party_key(item)))
    return render_template("core/billing/item_form.html", values=values, errors=errors,
                           parties=party_choices(session, values["buyer"]))


def _item(item_id: int) -> BillableItem:
    found = db().scalar(select(BillableItem).where(BillableItem.id == item_id, *_scope()))
    if found is None:
        abort(404)
    return found


@bp.post("/<int:item_id>/remove")
@billing_only
def remove(item_id: int):
    session, item = db(), _item(item_id)
    what = item.description
    _done, errors = attempt(session, lambda: billing.remove_item(session, item, current_user))
    for message in errors.values():
        flash(message, "error")
    if not errors:
        flash(_("Removed: %(what)s.", what=what))
    return redirect(url_for("billable_items.index", buyer=request.form.get("buyer") or None))


@bp.post("/invoice")
@billing_only
def invoice():
    """A draft invoice with a line for each chosen item."""
    session = db()
    chosen = tuple(request.form.getlist("items"))
    typed = {"kind": request.form.get("kind", ""), "payment_days": request.form.get(
        "payment_days", ""), "issue_date": request.form.get("issue_date", "")}
    ids = [form_id(value) for value in chosen]
    found = list(session.scalars(_unbilled().where(BillableItem.id.in_(
        [i for i in ids if i is not None])).order_by(BillableItem.earned_on, BillableItem.id)))
    own = {}
    if len(found) != len(set(ids)):
        own["items"] = _("An item chosen is no longer waiting to be invoiced; look at the "
                         "list again.")
    data = {"kind": typed["kind"] or "invoice",
            **{k: typed[k].strip() for k in ("payment_days", "issue_date") if typed[k].strip()}}
    made, errors = attempt(session, lambda: billing.invoice_items(session, found, data,
                                                                  current_user), own)
    if made is None:
        return _list(request.form.get("buyer", ""), 0, form_errors(errors), chosen, typed)
    flash(ngettext("A draft invoice was made of %(num)d item.",
                   "A draft invoice was made of %(num)d items.", len(found)))
    return redirect(url_for("invoices.card", invoice_id=made.id))
