"""The staff pages of calculations (``core.calculations``): a case's versions on its card,
a new version made from the latest one (its lines to change, rows to add), a version's
page with its lines and totals, and the customer's decision.

A line row is an item of a price list, or a line of its own (a description and a cost);
a price left empty is the cost plus the mark-up. Bad input is named under its row and
field with what was typed kept, and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core import calculations, permissions, records
from core.models import Calculation, Case, PriceItem
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, form_id
from core.web.i18n import current_locale
from core.web.invoices import RATE_LABELS, plain, price

bp = Blueprint("calculations", __name__)
ROW = re.compile(r"^lines-(\d{1,3})-(item|description|quantity|unit|unit_cost|unit_price|"
                 r"vat_rate)$")
NAMES = ("item", "description", "quantity", "unit", "unit_cost", "unit_price", "vat_rate")
SPARE_ROWS = 3  # empty rows offered below the lines, to add more


@dataclass
class Choice:
    """An item offered for a line, under its list's name."""

    id: int
    label: str
    group: str


def panel(session, case: Case) -> dict | None:
    """The case card's section: the versions, and whether a new one may be made."""
    versions = calculations.of_case(session, case)
    may = permissions.can(current_user, calculations.PERMISSION)
    if not versions and not (may and current_app.extensions["kartoteka"].host.price_lists):
        return None
    return {"versions": versions, "may": may, "statuses": calculations.STATUS_LABELS}


@bp.route("/cases/<int:case_id>/calculations/new", methods=["GET", "POST"])
@login_required
def new(case_id: int):
    session = db()
    case = records.get(session, Case, case_id, current_user)
    if case is None:
        abort(404)
    if not permissions.can(current_user, calculations.PERMISSION):
        abort(403)
    if request.method == "GET":
        latest = next(iter(calculations.of_case(session, case)), None)
        return _form(case, _rows_of(latest), _values_of(latest), {})
    rows, values = _posted_rows(), {k: request.form.get(k, "") for k in ("markup", "note")}
    data, errors = _data(rows, values)
    made = None
    if not errors:
        made, errors = commit_or_errors(
            session, lambda: calculations.create(session, case, data, current_user))
    if errors:
        return _form(case, rows, values, errors), 422
    return redirect(url_for(".show", calculation_id=made.id))


@bp.get("/calculations/<int:calculation_id>")
@login_required
def show(calculation_id: int):
    session = db()
    found = _get(calculation_id)
    return render_template(
        "core/calculations/show.html", calculation=found,
        case=session.get(Case, found.case_id), statuses=calculations.STATUS_LABELS,
        rates=RATE_LABELS, may=permissions.can(current_user, calculations.PERMISSION),
        open=found.status in calculations.OPEN)


@bp.post("/calculations/<int:calculation_id>/decision")
@login_required
def decide(calculation_id: int):
    session = db()
    found = _get(calculation_id)
    data = {"status": request.form.get("status", ""), "reason": request.form.get("reason", "")}
    commit_or_flash(session, lambda: calculations.decide(session, found, data, current_user))
    return redirect(url_for(".show", calculation_id=calculation_id))


def _get(calculation_id: int) -> Calculation:
    found = calculations.get(db(), calculation_id, current_user)
    if found is None:
        abort(404)
    return found


def _form(case: Case, rows: list[dict], values: dict, errors: dict):
    shown = rows + [dict.fromkeys(NAMES, "") for _n in range(SPARE_ROWS)]
    shown_keys = {"markup", "lines"} | {f"lines.{n}.{k}" for n in range(len(rows))
                                        for k in (*NAMES, "price_item_id")}
    return render_template(
        "core/calculations/form.html", case=case, rows=shown, values=values,
        errors=errors, others=[m for k, m in errors.items() if k not in shown_keys],
        items=_choices(), rates=RATE_LABELS)


def _choices() -> list[Choice]:
    """Every item still offered, by list, category and name."""
    host = current_app.extensions["kartoteka"].host
    locale = current_locale()
    found = db().scalars(select(PriceItem).where(
        PriceItem.list_key.in_(list(host.price_lists)), PriceItem.active.is_(True),
        PriceItem.deleted_at.is_(None)).order_by(
        PriceItem.list_key, PriceItem.category, PriceItem.name))
    return [Choice(i.id, f"{i.name}{f' ({i.code})' if i.code else ''} — "
                         f"{price(i.net_price)}/{i.unit}",
                   host.price_lists[i.list_key].label(locale)) for i in found]


def _rows_of(latest: Calculation | None) -> list[dict]:
    """The latest version's lines to start from; a price that is the cost plus the
    mark-up is left empty, so that a new mark-up prices it again."""
    if latest is None:
        return []
    rows = []
    for line in latest.lines:
        own = line.unit_price != calculations.priced(line.unit_cost, latest.markup)
        rows.append({"item": str(line.price_item_id or ""), "description": line.description,
                     "quantity": plain(line.quantity), "unit": line.unit,
                     "unit_cost": "" if line.price_item_id else plain(line.unit_cost, 2),
                     "unit_price": plain(line.unit_price, 2) if own else "",
                     "vat_rate": line.vat_rate})
    return rows


def _values_of(latest: Calculation | None) -> dict:
    if latest is None:
        return {"markup": "0", "note": ""}
    return {"markup": plain(latest.markup, 2), "note": latest.note}


def _posted_rows() -> list[dict]:
    """The rows as typed, without the empty ones."""
    rows: dict[int, dict] = {}
    for key in request.form:
        found = ROW.match(key)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = request.form.get(key, "").strip()
    return [{name: rows[n].get(name, "") for name in NAMES} for n in sorted(rows)
            if any(rows[n].get(k) for k in ("item", "description", "unit_cost", "unit_price"))]


def _data(rows: list[dict], values: dict) -> tuple[dict, dict]:
    """The service's input from the form; an item that is no number is named here."""
    lines, errors = [], {}
    for n, row in enumerate(rows):
        item = form_id(row["item"]) if row["item"] else None
        if row["item"] and item is None:
            errors[f"lines.{n}.price_item_id"] = _("Choose an item from the list.")
        lines.append({"price_item_id": item, "description": row["description"],
                      "quantity": row["quantity"] or None, "unit": row["unit"],
                      "unit_cost": row["unit_cost"] or None,
                      "unit_price": row["unit_price"] or None,
                      "vat_rate": row["vat_rate"] or None})
    return {"markup": values["markup"], "note": values["note"], "lines": lines}, errors
