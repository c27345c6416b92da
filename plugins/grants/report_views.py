"""The grants report page (``reports.py``), for holders of ``grants.reports`` (403
otherwise): grants won in a period by month, quarter or year, the clients in their
durability period, the overdue obligations and the clients at risk
(``/grants/reports/``); each as a CSV file (``/grants/reports/<report>.csv``, with
``excel=pl`` separated by semicolons with decimal commas, as Excel reads it in Polish),
the download written in the audit trail. A filter that cannot be used is named next to
its field (400) and the figures it would narrow are left out.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import approvals
from core.menu import MenuItem
from core.report_periods import checked, period
from core.terms import term, upper_first
from core.web.admin import permission_required
from core.web.db import db
from core.web.report_downloads import csv_response
from plugins.grants import deadlines, reports

bp = Blueprint("grants_reports", __name__, url_prefix="/grants/reports",
               template_folder="templates")
MENU = [MenuItem("grants_reports.index", term="grants.application",
                 phrase=_l("%(what)s: reports"), permission=reports.REPORTS)]
readers = permission_required(reports.REPORTS)
TABLES = ("won", "awards", "durability", "overdue", "at-risk")


@bp.get("/", endpoint="index")
@readers
def index():
    session, errors = db(), {}
    values = _values()
    within, by = _filters(values, errors)
    won = reports.grants_won(session, current_user, within, by) if within and by else None
    return render_template(
        "grants/reports.html", values=values, errors=errors, period=within, won=won,
        durability=reports.in_durability(session, current_user),
        overdue=reports.overdue(session, current_user),
        at_risk=reports.at_risk(session, current_user),
        groupings=[("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year"))],
        money=approvals.money, number=_number, kind_name=deadlines.kind_name,
    ), 400 if errors else 200


@bp.get("/<name>.csv", endpoint="download")
@readers
def download(name: str):
    if name not in TABLES:
        abort(404)
    session, errors = db(), {}
    values = _values()
    within, by = _filters(values, errors)
    if errors:
        return index()  # the page names what cannot be used
    headers, rows = _table(name, session, within, by)
    return csv_response(session, "grants", name, headers, rows, values,
                        record_type="grants_report")


def _values() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:100] for name in ("from", "to", "by")}


def _filters(values: dict, errors: dict):
    within = checked(errors, lambda: period(values["from"], values["to"]))
    by = checked(errors, lambda: reports.grouping(values["by"]))
    return within, by


def _term(key: str) -> str:
    return upper_first(term(key))


def _number(value: Decimal | None) -> str:
    """An indicator's value without the trailing zeros of its four places."""
    if value is None:
        return "—"
    return f"{value.normalize():f}"


# --- The tables downloaded -----------------------------------------------------------

def _table(name: str, session, within, by) -> tuple[list[str], list[list]]:
    if name in ("won", "awards"):
        won = reports.grants_won(session, current_user, within, by)
        if name == "won":
            return ([_("Period"), _("Currency"), _("Grants awarded"), _("Amount awarded")],
                    [[line.label, line.currency, line.count, line.amount]
                     for line in won.lines])
        return ([_("Awarded on"), _term("grants.application"),
                 _term("grants.client"), _("Responsible"), _("Amount awarded"),
                 _("Currency"), "ID"],
                [[a.awarded_on, a.title, a.client, a.owner, a.amount, a.currency, a.case_id]
                 for a in won.awards])
    if name == "durability":
        return _durability(session)
    if name == "overdue":
        found = reports.overdue(session, current_user)
        return ([_("Due on"), _("Days overdue"), _("What is due"),
                 _term("grants.client"), _term("grants.application"),
                 "ID"],
                [[o.due_on, -o.days_left, o.what, o.client, o.application, o.case_id]
                 for o in found.obligations])
    found = reports.at_risk(session, current_user)
    return ([_term("grants.client"), _term("grants.application"),
             _("Responsible"), _("Why"), "ID"],
            [[r.client, r.title, r.owner, "; ".join(r.reasons), r.case_id] for r in found])


def _durability(session) -> tuple[list[str], list[list]]:
    """One row per indicator of each application in durability (one for an application
    without indicators)."""
    rows = []
    for entry in reports.in_durability(session, current_user):
        report = entry.next_report
        shared = [entry.client, entry.title, entry.owner,
                  report.due_on if report else None]
        for line in entry.indicators or [None]:
            rows.append(shared + ([line.name, line.unit, line.baseline, line.target,
                                   line.latest, line.latest_period_end]
                                  if line else [None] * 6) + [entry.case_id])
    return ([_term("grants.client"), _term("grants.application"),
             _("Responsible"), _("Next report due"), _term("grants.indicator"),
             _("Unit"), _("Baseline"), _("Target"), _("Latest value"),
             _("Latest value for the period ending"), "ID"], rows)

