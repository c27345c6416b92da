"""The staff pages of payment requests (GR-3): their section on a grant application's
card once the grant agreement is signed, with each request's kind, period, amount, due
date, status and the days left (overdue in red), the forms that take it through its
statuses and the button that makes its cover letter, and the sum against the grant
awarded (a cancelled request stays listed, greyed, out of the sum); a page of one
request, with the same forms and the one that cancels a planned or rejected request
with a reason, where a refused form comes back with the messages under its fields; and
the form that corrects a planned or rejected request's amount and due date.

Every change goes through ``payment_requests``, which checks who may make it; a refusal
is rolled back.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from core import timeline
from core.filters import today
from core.models import Case, Document
from core.templating import money
from core.terms import upper_first
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int
from plugins.grants import payment_requests
from plugins.grants.models import PaymentRequest

bp = Blueprint("grants_payment_requests", __name__, url_prefix="/grants/payment-requests",
               template_folder="templates")
# What each status change reads from its form; the service checks it.
ACTIONS = {
    "submit": (payment_requests.submit, ("submitted_on",)),
    "approve": (payment_requests.approve, ("approved_amount", "notes")),
    "reject": (payment_requests.reject, ("reason",)),
    "pay": (payment_requests.pay, ("paid_on",)),
    "cancel": (payment_requests.cancel, ("reason",)),
}
DONE = {"submit": payment_requests.SUBMITTED, "approve": payment_requests.APPROVED,
        "reject": payment_requests.REJECTED, "pay": payment_requests.PAID,
        "cancel": payment_requests.CANCELLED}
CHANGE_FIELDS = ("amount", "due_on", "notes")


@bp.get("/<int:request_id>")
@login_required
def show(request_id: int):
    found = _request(request_id)
    return _page(found, "", {}, {})


@bp.post("/<int:request_id>/<any(submit, approve, reject, pay, cancel):action>")
@login_required
def act(request_id: int, action: str):
    session, found = db(), _request(request_id)
    change, names = ACTIONS[action]
    values = {k: request.form.get(k, "") for k in names}
    _saved, errors = commit_or_errors(session, lambda: change(
        session, found, values, current_user, _version()))
    if not errors:
        flash(_event_label(DONE[action], found))
        return redirect(_card(found.case_id))
    return _page(found, action, values, errors), 403 if _refused(errors) else 422


@bp.post("/<int:request_id>/document")
@login_required
def document(request_id: int):
    session, found = db(), _request(request_id)
    rt = current_app.extensions["kartoteka"]
    made = commit_or_flash(session, lambda: payment_requests.document(
        session, rt.host, rt.settings, found, current_user))
    if made is not None:
        flash(made.title)
    return redirect(_card(found.case_id))


@bp.route("/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def edit(request_id: int):
    session, found = db(), _request(request_id)
    case = session.get(Case, found.case_id)
    if not payment_requests.may_change(session, current_user, case):
        abort(403)
    values = {"amount": _plain(found.amount), "due_on": found.due_on.isoformat(),
              "notes": found.notes}
    errors = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in CHANGE_FIELDS}
        _saved, errors = commit_or_errors(session, lambda: payment_requests.change(
            session, found, values, current_user, _version()))
        if not errors:
            flash(upper_first(payment_requests.label(found)) + " ✓")
            return redirect(_card(found.case_id))
    return render_template("grants/payment_request_form.html", case=case, found=found,
                           values=values, errors=errors,
                           label=payment_requests.label(found),
                           status_name=payment_requests.status_name), 422 if errors else 200


# --- The application's card ------------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On a grant application at or past its agreement: its payment requests."""
    if not payment_requests.agreement_signed(case):
        return None
    found = payment_requests.listed(session, case, viewer)
    return render_template(
        "grants/_payment_requests_panel.html", case=case, requests=found,
        totals=payment_requests.totals(case, found), today=today(),
        documents=_documents(session, found), **_helpers(case),
        may_change=payment_requests.may_change(session, viewer, case))


# --- Helpers ---------------------------------------------------------------------------------

def _page(found: PaymentRequest, action: str, values: dict, errors: dict):
    session = db()
    case = session.get(Case, found.case_id)
    defaults = {"submitted_on": today().isoformat(), "paid_on": today().isoformat(),
                "approved_amount": _plain(found.amount), "notes": "", "reason": ""}
    return render_template(
        "grants/payment_request.html", case=case, found=found, action=action,
        values={**defaults, **values}, errors=errors, today=today(),
        documents=_documents(session, [found]), **_helpers(case),
        may_change=payment_requests.may_change(session, current_user, case))


def _helpers(case: Case) -> dict:
    """What the templates format and name the requests with."""
    currency = payment_requests.currency(case)
    return {"money": lambda value: money(value, currency), "label": payment_requests.label,
            "kind_name": payment_requests.kind_name,
            "status_name": payment_requests.status_name,
            "days_left": payment_requests.days_left, "plain": _plain,
            "open_statuses": payment_requests.OPEN}


def _documents(session, found: list[PaymentRequest]) -> dict[int, Document]:
    ids = {r.document_id for r in found if r.document_id}
    return {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))} \
        if ids else {}


def _event_label(event: str, found: PaymentRequest) -> str:
    return f"{timeline.EVENT_LABELS[event]}: {payment_requests.label(found)}"


def _refused(errors: dict) -> bool:
    """A permission refusal comes back under "_" alone."""
    return set(errors) == {"_"}


def _request(request_id: int) -> PaymentRequest:
    found = payment_requests.get(db(), request_id, current_user)
    if found is None:
        abort(404)
    return found


def _version() -> int | None:
    version = optional_int(request.form.get("version"))
    return version if isinstance(version, int) else None


def _plain(value: Decimal | None) -> str:
    """An amount as a form shows it for editing: "80000.00"."""
    return "" if value is None else f"{value:.2f}"


def _card(case_id: int) -> str:
    return url_for("cases.card", record_id=case_id, _anchor="payment-requests")
