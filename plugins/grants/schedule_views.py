"""The staff pages of an opportunity's payment schedule (GR-1, GR-2): its section on the
opportunity's card (the instalments and their total, the form that sets them while the
opportunity is open and, once it is won, the cooperation contract with where each of
its instalments stands and the grant applications tied to it, whose milestones it
follows), and the form on a page of its own when the card's form is
refused (each message under its field, what was typed kept) or asks for more rows
without a script.

Every change goes through ``schedules``, which checks who may make it; a refusal is
rolled back. The contract's own page is the core's, for those who bill.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError as SchemaError

from core import permissions
from core.invoices import PERMISSION as BILLING
from core.invoices import Number
from core.models import Case
from core.terms import term, upper_first
from core.web.db import db
from core.web.forms import commit_or_errors, optional_int
from core.web.invoices import form_errors
from plugins.grants import schedules
from plugins.grants.models import OfferInstalment

bp = Blueprint("grants_schedules", __name__, url_prefix="/grants/opportunities",
               template_folder="templates")
ANCHOR = "grants-schedule"
MORE_ROWS = 3  # empty rows "More rows" adds without a script
ROW_NAMES = ("description", "amount", "due_on", "milestone")
ROW_FIELD = re.compile(r"^instalments-(\d{1,4})-(description|amount|due_on|milestone)$")


@bp.route("/<int:case_id>/schedule", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    session, case = db(), _opportunity(case_id)
    if not schedules.may_change(session, current_user, case):
        if schedules.is_open(case):
            abort(403)
        flash(schedules.closed_message(case), "error")
        return redirect(_card(case))
    rows, errors = [*shown_rows(schedules.of(session, case, current_user)), blank_row()], {}
    if request.method == "POST":
        rows = posted_rows()
        asked = _rows_asked()
        if asked == "more":
            rows += [blank_row() for _n in range(MORE_ROWS)]
        elif asked is None:
            version = optional_int(request.form.get("version"))
            saved, refused = commit_or_errors(session, lambda: schedules.replace(
                session, case, [item_of(row) for row in rows], current_user,
                version if isinstance(version, int) else None))
            if not refused:
                flash(_saved_message(saved))
                return redirect(_card(case))
            errors = form_errors(refused)
    return render_template("grants/schedule_form.html", case=case, rows=rows, errors=errors,
                           blank=blank_row(), milestones=_milestone_choices(),
                           total=_typed_total(rows)), 422 if errors else 200


def _saved_message(saved: list[OfferInstalment]) -> str:
    what = upper_first(term("grants.schedule"))
    return _("%(what)s saved.", what=what) if saved else _("%(what)s cleared.", what=what)


# --- The rows of the form --------------------------------------------------------------------

def blank_row() -> dict:
    return dict.fromkeys(ROW_NAMES, "")


def shown_rows(items: list[OfferInstalment]) -> list[dict]:
    """The stored instalments as the form shows them for editing."""
    return [{"description": i.description, "amount": f"{i.amount:.2f}",
             "due_on": i.due_on.isoformat() if i.due_on else "", "milestone": i.milestone}
            for i in items]


def posted_rows() -> list[dict]:
    """The rows as typed, in order, without empty ones and without the one whose
    "Remove" was pressed."""
    rows: dict[int, dict] = {}
    for key in request.form:
        found = ROW_FIELD.match(key)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = request.form.get(key, "")
    removed = request.form.get("remove")
    return [{name: rows[n].get(name, "") for name in ROW_NAMES} for n in sorted(rows)
            if str(n) != removed and any(rows[n].get(k, "").strip() for k in ROW_NAMES)]


def item_of(row: dict) -> dict:
    """A typed row as the service takes it: an empty field is a missing value, so that
    its own message says what to enter."""
    return {k: v for k, v in row.items() if v.strip()}


def _rows_asked() -> str | None:
    """"more" or "remove" when the form asks for other rows rather than to be saved."""
    if request.form.get("action") == "more":
        return "more"
    return "remove" if request.form.get("remove") is not None else None


def _typed_total(rows: list[dict]) -> str | None:
    """The total of what was typed, when every amount is a number."""
    try:
        return str(sum(Number(2).deserialize(r["amount"]) for r in rows if r["amount"].strip()))
    except SchemaError:  # a typing mistake: its message is under its field
        return None


def _milestone_choices() -> list[tuple[str, str]]:
    return [(key, schedules.milestone_name(key)) for key in schedules.MILESTONES]


def _opportunity(case_id: int) -> Case:
    found = schedules.opportunity(db(), case_id, current_user)
    if found is None:
        abort(404)
    return found


def _card(case: Case) -> str:
    return url_for("cases.card", record_id=case.id, _anchor=ANCHOR)


# --- The opportunity's card ------------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On an opportunity's card: the schedule offered and its total; the form that sets
    it for whoever may change the open opportunity; once won, the cooperation contract
    with each instalment's state (a link to the contract for those who bill), and the
    applications tied to it that the viewer may see."""
    if case.process_key != schedules.OPPORTUNITY:
        return None
    items = schedules.of(session, case, viewer)
    contract = schedules.contract_of(session, case)
    editable = schedules.may_change(session, viewer, case)
    return render_template(
        "grants/_schedule_panel.html", case=case, items=items,
        total=schedules.total(items) if items else None, contract=contract,
        contract_link=contract is not None and permissions.can(viewer, BILLING),
        applications=schedules.applications_of(session, case, viewer),
        editable=editable, rows=[*shown_rows(items), blank_row()] if editable else [],
        blank=blank_row(), errors={}, milestones=_milestone_choices(),
        milestone_name=schedules.milestone_name, key_of=schedules.key_of,
        state=schedules.state, state_name=schedules.state_name)
