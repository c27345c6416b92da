"""The staff pages of the durability period (GR-4): its section on a grant application's
card from "awarded" on, with the indicators' table to edit, the reports of the period
(overdue ones in red, values against targets, a form to record the values and deliver,
the report's document) and the banner when the application is at risk; the same forms
on pages of their own when a save is refused (with the messages under their fields);
and the list of the applications at risk.

Every change goes through ``durability``, which checks who may make it; a refusal is
rolled back.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core.menu import MenuItem
from core.models import Case, Document
from core.terms import term, upper_first
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, optional_int
from plugins.grants import durability
from plugins.grants.models import DurabilityReport

bp = Blueprint("grants_durability", __name__, url_prefix="/grants/durability",
               template_folder="templates")
# The applications at risk in durability, for whoever works with them.
MENU = [MenuItem("grants_durability.at_risk",
                 label={"pl": "Trwałość zagrożona", "en": "Durability at risk"})]
FIELDS = ("name", "unit", "baseline", "target")
BLANK_ROWS = 3  # empty rows offered for new indicators
# The application's phases whose card shows the section.
PANEL_PHASES = (*durability.INDICATOR_PHASES, "closed")


# --- Indicators ----------------------------------------------------------------------------

@bp.route("/applications/<int:case_id>/indicators", methods=["GET", "POST"])
@login_required
def indicators(case_id: int):
    session, case = db(), _application(case_id)
    if not durability.may_change(session, current_user, case):
        abort(403)
    found = durability.indicators(session, case, current_user)
    rows, errors = [_row(i) for i in found], {}
    if request.method == "POST":
        rows = _posted_rows()
        kept = [index for index, row in enumerate(rows) if any(row.values())]
        _saved, errors = commit_or_errors(session, lambda: durability.set_indicators(
            session, case, [rows[index] for index in kept], current_user))
        if not errors:
            flash(upper_first(_("%(what)s saved.", what=term("grants.indicator",
                                                             plural=True))))
            return redirect(_card(case))
        errors = _by_row(errors, kept)
    return render_template(
        "grants/durability_indicators.html", case=case, errors=errors,
        rows=_with_blanks(rows), kept=len(found) if durability.locked(case) else 0,
    ), 422 if errors else 200


def _row(indicator) -> dict:
    return {"name": indicator.name, "unit": indicator.unit,
            "baseline": durability.plain(indicator.baseline),
            "target": durability.plain(indicator.target)}


def _posted_rows() -> list[dict]:
    """The table's rows as typed, in order; a row left empty stays empty."""
    rows = []
    for index in range(durability.MAX_INDICATORS + BLANK_ROWS):
        names = [f"indicators.{index}.{key}" for key in FIELDS]
        if not any(name in request.form for name in names):
            continue
        rows.append({key: request.form.get(name, "").strip()
                     for key, name in zip(FIELDS, names, strict=True)})
    return rows


def _by_row(errors: dict, kept: list[int]) -> dict:
    """The service's ``indicators.<n>.<field>`` (the n-th filled row) under the row the
    user filled."""
    moved = {}
    for key, message in errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "indicators" and parts[1].isdigit() \
                and int(parts[1]) < len(kept):
            parts[1] = str(kept[int(parts[1])])
            key = ".".join(parts if len(parts) > 2 else [*parts, "name"])
        moved[key] = message
    return moved


def _with_blanks(rows: list[dict]) -> list[dict]:
    room = max(0, durability.MAX_INDICATORS - len(rows))
    return rows + [dict.fromkeys(FIELDS, "") for _n in range(min(BLANK_ROWS, room))]


# --- Reports -------------------------------------------------------------------------------

@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
@login_required
def report(report_id: int):
    """One report's values and delivery: "save" records the values, "deliver" records
    them and marks the report delivered, with its document when asked."""
    session, found = db(), _report(report_id)
    case = session.get(Case, found.case_id)
    known = durability.indicators(session, case, current_user)
    have = durability.values_of(session, found)
    values = {str(i.id): durability.plain(have.get(i.id)) for i in known}
    posted, errors = {"delivered_on": "", "document": False}, {}
    if request.method == "POST":
        if not durability.may_change(session, current_user, case):
            abort(403)
        values = {str(i.id): request.form.get(f"values.{i.id}", "").strip() for i in known}
        posted = {"delivered_on": request.form.get("delivered_on", "").strip(),
                  "document": bool(request.form.get("document"))}
        delivering = request.form.get("action") == "deliver"
        version = optional_int(request.form.get("version"))
        version = version if isinstance(version, int) else None
        _done, errors = commit_or_errors(session, lambda: _deliver(
            session, found, values, posted, version) if delivering
            else durability.report_values(session, found, values, current_user, version))
        if not errors:
            flash(_("%(report)s delivered.", report=durability.title(found)) if delivering
                  else _("Values of %(report)s saved.", report=durability.title(found)))
            return redirect(_card(case))
    return render_template(
        "grants/durability_report.html", case=case, report=found, indicators=known,
        values=values, posted=posted, errors=errors, title=durability.title,
        may_change=durability.may_change(session, current_user, case)
        and case.phase_key == durability.DURABILITY,
        status_name=durability.status_name, today=durability.local_today(),
        overdue=durability.is_overdue(found), quantity=durability.quantity,
    ), 422 if errors else 200


def _deliver(session, found: DurabilityReport, values: dict, posted: dict, version):
    durability.deliver(session, found, posted["delivered_on"], current_user, version, values)
    if posted["document"]:
        rt = current_app.extensions["kartoteka"]
        durability.document(session, rt.host, rt.settings, found, current_user)
    return found


@bp.post("/reports/<int:report_id>/document")
@login_required
def document(report_id: int):
    session, found = db(), _report(report_id)
    rt = current_app.extensions["kartoteka"]
    made = commit_or_flash(session, lambda: durability.document(
        session, rt.host, rt.settings, found, current_user))
    if made is not None:
        flash(_("Document %(number)s generated.", number=made.number or made.title))
    return redirect(_card(session.get(Case, found.case_id)))


# --- At risk -------------------------------------------------------------------------------

@bp.get("/at-risk")
@login_required
def at_risk():
    """The applications in durability the user may see that are at risk, by client."""
    found = durability.at_risk(db(), actor=current_user)
    return render_template("grants/durability_at_risk.html", risks=found)


# --- The application's card ----------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On a grant application's card from "awarded" on: its indicators (a form for
    whoever may change it), and in durability its reports and whether it is at risk;
    a value falling short of the share of its target that puts it at risk is in red."""
    if case.process_key != durability.PROCESS or case.phase_key not in PANEL_PHASES:
        return None
    found = durability.indicators(session, case, viewer)
    reports = durability.reports(session, case, viewer)
    changeable = durability.may_change(session, viewer, case)
    values = {r.id: durability.values_of(session, r) for r in reports}
    return render_template(
        "grants/_durability_panel.html", case=case, indicators=found, reports=reports,
        values=values, latest=durability.latest_values(session, case),
        values_text={r: {str(i): durability.plain(v) for i, v in found_values.items()}
                     for r, found_values in values.items()},
        risk=durability.risk_of(session, case, actor=viewer),
        edit_indicators=changeable and durability.indicators_open(case),
        rows=_with_blanks([_row(i) for i in found]),
        kept=len(found) if durability.locked(case) else 0,
        report_forms=changeable and case.phase_key == durability.DURABILITY,
        documents=_documents(session, reports), today=durability.local_today(),
        title=durability.title, status_name=durability.status_name,
        is_overdue=durability.is_overdue, quantity=durability.quantity,
        plain=durability.plain, falls_short=durability.falls_short,
        percent=durability.threshold(session))


def _documents(session, reports: list[DurabilityReport]) -> dict[int, Document]:
    """Report id -> its latest document."""
    ids = {r.document_id: r.id for r in reports if r.document_id}
    if not ids:
        return {}
    return {ids[d.id]: d for d in session.scalars(select(Document).where(
        Document.id.in_(list(ids))))}


def _application(case_id: int) -> Case:
    found = durability.application(db(), case_id, current_user)
    if found is None:
        abort(404)
    return found


def _report(report_id: int) -> DurabilityReport:
    found = durability.report(db(), report_id, current_user)
    if found is None:
        abort(404)
    return found


def _card(case: Case) -> str:
    return url_for("cases.card", record_id=case.id, _anchor="durability")
