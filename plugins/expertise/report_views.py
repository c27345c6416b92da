"""The expertise report page (``reports.py``), for holders of ``expertise.reports``
(403 otherwise): margin per department and expert utilisation in a period, the offers
waiting for approval and the deadlines at risk (``/expertise/reports/``); each as a CSV
file (``/expertise/reports/<report>.csv``, with ``excel=pl`` separated by semicolons
with decimal commas, as Excel reads it in Polish), the download written in the audit
trail. A filter that cannot be used is named next to its field (400) and the figures it
would narrow are left out.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from core import approvals
from core.menu import MenuItem
from core.report_periods import checked, period
from core.terms import term, upper_first
from core.web.admin import permission_required
from core.web.db import db
from core.web.report_downloads import csv_response
from plugins.expertise import reports

bp = Blueprint("expertise_reports", __name__, url_prefix="/expertise/reports",
               template_folder="templates")
MENU = [MenuItem("expertise_reports.index", label={"pl": "Raporty ekspertyz",
                                                   "en": "Expertise reports"},
                 permission=reports.REPORTS)]
readers = permission_required(reports.REPORTS)
TABLES = ("margins", "waiting", "utilisation", "deadlines")


@bp.get("/", endpoint="index")
@readers
def index():
    session, errors = db(), {}
    values = _values()
    within, days = _filters(values, errors)
    return render_template(
        "expertise/reports.html", values=values, errors=errors, period=within, days=days,
        margins=reports.margin_per_department(session, current_user, within.first,
                                              within.last) if within else None,
        waiting=reports.offers_waiting(session, current_user),
        utilisation=reports.expert_utilisation(session, current_user, within.first,
                                               within.last) if within else None,
        at_risk=reports.deadlines_at_risk(session, current_user, days=days)
        if days is not None else None,
        money=approvals.money, percent=_percent, hours=_hours, level=_level,
    ), 400 if errors else 200


@bp.get("/<name>.csv", endpoint="download")
@readers
def download(name: str):
    if name not in TABLES:
        abort(404)
    session, errors = db(), {}
    values = _values()
    within, days = _filters(values, errors)
    if errors:
        return index()  # the page names what cannot be used
    headers, rows = _table(name, session, within, days)
    return csv_response(session, "expertise", name, headers, rows, values,
                        record_type="expertise_report")


def _values() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:100] for name in ("from", "to", "days")}


def _filters(values: dict, errors: dict):
    within = checked(errors, lambda: period(values["from"], values["to"]))
    days = checked(errors, lambda: reports.horizon(values["days"]))
    return within, days


def _term(key: str, plural: bool = False) -> str:
    return upper_first(term(key, plural=plural))


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def _hours(value: Decimal) -> str:
    """Hours without trailing zeros: 12.5, 8."""
    return f"{value.normalize():f}"


# --- The tables downloaded -----------------------------------------------------------

def _table(name: str, session, within, days) -> tuple[list[str], list[list]]:
    if name == "margins":
        found = reports.margin_per_department(session, current_user, within.first,
                                              within.last)
        return ([_term("expertise.department"), _("Offers made"), _("Price"), _("Cost"),
                 _("Margin (%)"), _("Average margin (%)"), _("Minimum margin (%)"),
                 _("Offers below the minimum"), _("Accepted"), _("Accepted value")],
                [[x.department, x.offers, x.price, x.cost, x.margin, x.average_margin,
                  x.minimum, x.below_minimum, x.accepted, x.accepted_value]
                 for x in found.lines + [found.total]])
    if name == "waiting":
        found = reports.offers_waiting(session, current_user)
        return ([_term("expertise.inquiry"), _term("expertise.department"), _("Amount"),
                 _("Margin (%)"), _("Level"), _("Asked"), _("Since"), _("Days waiting"),
                 "ID"],
                [[x.title, x.department, x.amount, x.margin, _level(x.level), x.approver,
                  x.since, x.days_waiting, x.case_id] for x in found])
    if name == "utilisation":
        found = reports.expert_utilisation(session, current_user, within.first, within.last)
        return ([_term("expertise.expert"), _term("expertise.department"),
                 _("Hourly rate"), _("Hours in open inquiries"), _("Open inquiries"),
                 _("Hours delivered in the period"), _("Opinions delivered"),
                 _("Days absent"), "ID"],
                [[x.name, x.department, x.rate, x.open_hours, x.open_inquiries,
                  x.delivered_hours, x.delivered, x.absence_days, x.expert_id]
                 for x in found.experts])
    found = reports.deadlines_at_risk(session, current_user, days=days)
    return ([_("Due on"), _("Days left"), _term("expertise.inquiry"), _("Court"),
             _term("expertise.court_reference"), _term("expertise.department"),
             _term("expertise.expert", plural=True), _("Responsible"), "ID"],
            [[x.due_on, x.days_left, x.title, x.court, x.court_reference, x.department,
              "; ".join(x.experts), x.owner, x.case_id] for x in found])


def _level(key: str) -> str:
    """The approval chain's step, as a reader names it."""
    return {"manager": _("Department manager"), "board": _("Board")}.get(key, key)

