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

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core import approvals, calculations, permissions, records
from core.models import ApprovalRequest, Calculation, Case, PriceItem
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
    """A new version; with ``approve``, the approver's corrected prices, approved on
    saving (they need no right to make calculations of their own)."""
    session = db()
    approving = _approving(case_id)
    # The approver decides on what they were asked, whether or not they see the case.
    seen = records.get(session, Case, case_id, current_user)
    case = seen or (approving.case if approving else None)
    if case is None:
        abort(404)
    if approving is None and not permissions.can(current_user, calculations.PERMISSION):
        abort(403)
    if request.method == "GET":
        latest = next(iter(calculations.of_case(session, case)), None)
        return _form(case, _rows_of(latest), _values_of(latest), {}, approving)
    rows, values = _posted_rows(), {k: request.form.get(k, "") for k in ("markup", "note")}
    data, errors = _data(rows, values)
    made = None
    if not errors:
        made, errors = commit_or_errors(session, lambda: _save(session, case, data, approving))
    if errors:
        return _form(case, rows, values, errors, approving), 422
    if approving is not None:
        _tell_next(session, case)
        return redirect(url_for("cases.card", record_id=case.id) if seen
                        else url_for("cases.waiting"))
    return redirect(url_for(".show", calculation_id=made.id))


def _approving(case_id: int) -> ApprovalRequest | None:
    """The pending request on the case the current user decides, when asked to correct."""
    wanted = form_id(request.values.get("approve", ""))
    if wanted is None:
        return None
    for req in approvals.for_approver(db(), current_user):
        if req.id == wanted and req.case_id == case_id and req.status == "pending":
            return req
    abort(404)


def _tell_next(session, case: Case) -> None:
    """Approved; and who is asked next when the corrected total needs a higher level."""
    asked = [r for r in approvals.requests(session, case) if r.status == "pending"]
    if not asked:
        flash(_("Corrected and approved."))
        return
    flash(_("Corrected and approved; the corrected total also needs the approval of "
            "%(who)s, who has been asked.", who=approvals.approver_name(session, asked[-1])))


def _save(session, case: Case, data: dict, approving: ApprovalRequest | None):
    if approving is None:
        return calculations.create(session, case, data, current_user)
    host = current_app.extensions["kartoteka"].host
    approvals.decide(session, host, approving, "approve", current_user,
                     comment=data["note"], corrections={"calculation": data})
    return calculations.of_case(session, case)[0]


@bp.get("/calculations/<int:calculation_id>")
@login_required
def show(calculation_id: int):
    session = db()
    found = _get(calculation_id)
    return render_template(
        "core/calculations/show.html", calculation=found,
        case=session.get(Case, found.case_id), statuses=calculations.STATUS_LABELS,
        rates=RATE_LABELS, may=permissions.can(current_user, calculations.PERMISSION),
        open=found.status in calculations.OPEN,
        bills=permissions.can(current_user, "core.billing")
        and found.status not in ("superseded", "rejected"))


@bp.post("/calculations/<int:calculation_id>/decision")
@login_required
def decide(calculation_id: int):
    session = db()
    found = _get(calculation_id)
    data = {"status": request.form.get("status", ""), "reason": request.form.get("reason", "")}
    commit_or_flash(session, lambda: calculations.decide(session, found, data, current_user))
    return redirect(url_for(".show", calculation_id=calculation_id))


@bp.post("/calculations/<int:calculation_id>/invoice")
@login_required
def invoice(calculation_id: int):
    """Accounting drafts the invoice from the version and checks it before issuing."""
    session = db()
    found = _get(calculation_id)
    made = commit_or_flash(session, lambda: calculations.invoice(session, found, current_user))
    if made is None:
        return redirect(url_for(".show", calculation_id=calculation_id))
    return redirect(url_for("invoices.card", invoice_id=made.id))


def _get(calculation_id: int) -> Calculation:
    found = calculations.get(db(), calculation_id, current_user)
    if found is None:
        abort(404)
    return found


def _form(case: Case, rows: list[dict], values: dict, errors: dict,
          approving: ApprovalRequest | None = None):
    shown = rows + [dict.fromkeys(NAMES, "") for _n in range(SPARE_ROWS)]
    shown_keys = {"markup", "lines"} | {f"lines.{n}.{k}" for n in range(len(rows))
                                        for k in (*NAMES, "price_item_id")}
    return render_template(
        "core/calculations/form.html", case=case, rows=shown, values=values,
        errors=errors, others=[m for k, m in errors.items() if k not in shown_keys],
        items=_choices(), rates=RATE_LABELS, approving=approving)


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
