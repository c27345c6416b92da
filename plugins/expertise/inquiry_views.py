"""The staff side of an inquiry (EX-2, EX-3, EX-4): its section on the case card and the
forms the section posts.

The section shows the inquiry's details (specialisation, court and its case reference,
the opinion's deadline, the other parties) with the form that changes them; the
departments covering the specialisation, the least busy first, each with a button
that routes the inquiry to it for whoever holds ``expertise.route_inquiries``; the
experts able to take it and those excluded with why (a conflict of interest, an
absence, another specialisation); and the estimate (each expert's hours at their rate,
travel, materials, the cost, the price, the margin and who must approve the offer:
the board only below the minimum margin) with the form that makes it anew.

Every change goes through ``inquiries`` and ``estimates``, which check who may make it;
a refusal is rolled back and the section comes back on a page of its own with each
message under its field and what was typed kept, as do the forms' "More rows" without
a script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select

from core import approvals, calculations, cases, permissions, records, vat, workflow
from core.errors import Forbidden, ValidationError
from core.models import Case, Organisation, Person, User
from core.terms import term
from core.web.db import db
from core.web.forms import optional_int
from plugins.expertise import departments, estimates, experts, inquiries, specialisations
from plugins.expertise.models import Inquiry
from plugins.expertise.permissions import ROUTE
from plugins.expertise.process import CLOSED

bp = Blueprint("expertise_inquiries", __name__, url_prefix="/expertise/inquiries",
               template_folder="templates")
ANCHOR = "expertise-inquiry"
MORE_ROWS = 3  # empty rows "More rows" adds without a script
CHOICES_LIMIT = 500  # organisations and people offered in the pickers
DETAIL_NAMES = ("specialisation_id", "court_id", "court_reference", "due_on")
COST_NAMES = ("travel_cost", "materials_cost", "margin", "markup")
ROWS = {  # a form's rows: their fields, as posted ("parties-2-role")
    "parties": ("organisation_id", "person_id", "role"),
    "experts": ("expert_id", "hours"),
}


@dataclass
class Typed:
    """A form as it was posted, with the messages of its refusal."""

    form: str  # "details", "route" or "estimate"
    values: dict
    errors: dict = field(default_factory=dict)


@dataclass
class Estimate:
    """The inquiry's estimate as the card and the API show it."""

    lines: list[dict]  # expert_id, name, hours, rate, cost
    travel: Decimal
    materials: Decimal
    cost: Decimal | None
    amount: Decimal | None
    margin: Decimal | None  # in percent
    markup: Decimal | None  # of the latest calculation
    levels: list[approvals.Required]

    @property
    def board(self) -> bool:
        return any(level.step_key == "board" for level in self.levels)


# --- The forms -------------------------------------------------------------------------------

@bp.get("/<int:case_id>")
@login_required
def show(case_id: int):
    """The section on a page of its own (where "More rows" and refusals land)."""
    return _page(_inquiry(case_id))


@bp.post("/<int:case_id>/details")
@login_required
def details(case_id: int):
    session, case = db(), _inquiry(case_id)
    values = {name: request.form.get(name, "") for name in DETAIL_NAMES}
    values["parties"] = posted_rows("parties")
    if _rows_asked("parties", values):
        return _page(case, Typed("details", values))
    _saved, errors, status = _saved_or_refused(session, lambda: inquiries.update(
        session, case, details_of(values), current_user))
    if errors:
        return _page(case, Typed("details", values, errors), status)
    flash(_("The details of the %(what)s are saved.", what=term("expertise.inquiry", "gen")))
    return redirect(_card(case))


@bp.post("/<int:case_id>/route")
@login_required
def route(case_id: int):
    session, case = db(), _inquiry(case_id)
    host = current_app.extensions["kartoteka"].host
    chosen = optional_int(request.form.get("department_id"))
    routed, errors, status = _saved_or_refused(session, lambda: inquiries.route(
        session, host, case, chosen, current_user))
    if errors:
        return _page(case, Typed("route", {"department_id": str(chosen or "")}, errors),
                     status)
    department = departments.get(session, routed.department_id)
    flash(_("Routed to %(department)s.", department=department.name))
    return redirect(_card(case))


@bp.post("/<int:case_id>/estimate")
@login_required
def estimate(case_id: int):
    session, case = db(), _inquiry(case_id)
    values = {name: request.form.get(name, "") for name in COST_NAMES}
    values["experts"] = posted_rows("experts")
    if _rows_asked("experts", values):
        return _page(case, Typed("estimate", values))
    _saved, errors, status = _saved_or_refused(session, lambda: estimates.estimate(
        session, case, estimate_of(values), current_user))
    if errors:
        return _page(case, Typed("estimate", values, errors), status)
    flash(_("The estimate is saved: cost %(cost)s, price %(price)s, margin %(margin)s.",
            cost=approvals.money(case.cost, case.currency),
            price=approvals.money(case.amount, case.currency),
            margin=approvals.percent(case.margin)))
    return redirect(_card(case))


def details_of(values: dict) -> dict:
    """The typed details as the service takes them: an empty choice clears it, an
    empty party row is left out."""
    return {"specialisation_id": optional_int(values["specialisation_id"]),
            "court_id": optional_int(values["court_id"]),
            "court_reference": values["court_reference"],
            "due_on": values["due_on"].strip() or None,
            "parties": [{"organisation_id": optional_int(row["organisation_id"]),
                         "person_id": optional_int(row["person_id"]), "role": row["role"]}
                        for row in values["parties"]]}


def estimate_of(values: dict) -> dict:
    """The typed estimate as the service takes it: an empty field is a missing value,
    so that its own message says what to enter."""
    data = {k: values[k] for k in COST_NAMES if values[k].strip()}
    data["experts"] = [{k: optional_int(v) if k == "expert_id" else v
                        for k, v in row.items() if v.strip()} for row in values["experts"]]
    return data


def posted_rows(name: str) -> list[dict]:
    """A form's rows as typed, in order, without empty ones and without the one whose
    "Remove" was pressed."""
    pattern = re.compile(rf"^{name}-(\d{{1,4}})-({'|'.join(ROWS[name])})$")
    rows: dict[int, dict] = {}
    for key in request.form:
        found = pattern.match(key)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = request.form.get(key, "")
    removed = request.form.get("remove")
    return [{k: rows[n].get(k, "") for k in ROWS[name]} for n in sorted(rows)
            if str(n) != removed and any(rows[n].get(k, "").strip() for k in ROWS[name])]


def _rows_asked(name: str, values: dict) -> bool:
    """Whether the form asks for more rows, or for one fewer, rather than to be saved."""
    if request.form.get("action") == "more":
        values[name] += [blank_row(name) for _n in range(MORE_ROWS)]
        return True
    return request.form.get("remove") is not None


def blank_row(name: str) -> dict:
    return dict.fromkeys(ROWS[name], "")


def _saved_or_refused(session, write) -> tuple[object, dict, int]:
    """``write()`` committed, or rolled back with the messages to show under the fields
    ("parties.0.role" is the field "parties-0-role") and the answer's status."""
    try:
        result = write()
        session.commit()
        return result, {}, 200
    except ValidationError as exc:
        session.rollback()
        return None, {k.replace(".", "-"): str(v) for k, v in exc.errors.items()}, 422
    except Forbidden as exc:
        session.rollback()
        return None, {"_": str(exc)}, 403


def _inquiry(case_id: int) -> Case:
    found = records.get(db(), Case, case_id, current_user)
    if found is None or not inquiries.is_inquiry(found):
        abort(404)
    return found


def _card(case: Case) -> str:
    return url_for("cases.card", record_id=case.id, _anchor=ANCHOR)


def _page(case: Case, typed: Typed | None = None, status: int = 200):
    errors = typed.errors if typed is not None else {}
    return render_template(
        "expertise/inquiry_page.html", case=case, errors=errors,
        panel=Markup(_panel(db(), case, current_user, typed))), status


# --- The case's card ---------------------------------------------------------------------------

def case_panel(session, case: Case, viewer):
    """On an inquiry's card: its details, routing, experts and estimate."""
    if not inquiries.is_inquiry(case):
        return None
    return _panel(session, case, viewer)


def _panel(session, case: Case, viewer, typed: Typed | None = None) -> str:
    host = current_app.extensions["kartoteka"].host
    # Read without writing: an inquiry whose details were never set has none stored.
    inquiry = session.get(Inquiry, case.id) or Inquiry(case_id=case.id)
    editable = cases.may_edit(session, case, viewer)
    typed = typed or Typed("", {})
    found = candidates(session, case, inquiry)
    return render_template(
        "expertise/_inquiry_panel.html", case=case, inquiry=inquiry, editable=editable,
        specialisation=specialisations.get(session, inquiry.specialisation_id),
        department=departments.get(session, inquiry.department_id, include_deleted=True),
        court=session.get(Organisation, inquiry.court_id) if inquiry.court_id else None,
        parties=[{"name": inquiries.party_name(session, p), "role": p.role}
                 for p in inquiries.parties_of(session, case)],
        details=_details_form(session, case, inquiry, viewer, typed) if editable else None,
        routing=_routing(session, case, inquiry, viewer, editable, typed),
        able=[c for c in found if c.able], excluded=[c for c in found if not c.able],
        estimate=estimate_summary(session, host, case),
        estimate_form=_estimate_form(session, case, inquiry, viewer, editable, found, typed),
        money=lambda value: approvals.money(value, case.currency),
        percent=approvals.percent, hours=plain_hours, blank=blank_row)


def _details_form(session, case: Case, inquiry: Inquiry, viewer, typed: Typed) -> dict:
    if typed.form == "details":
        values, errors = typed.values, typed.errors
    else:
        values, errors = {
            "specialisation_id": _text(inquiry.specialisation_id),
            "court_id": _text(inquiry.court_id),
            "court_reference": inquiry.court_reference or "",
            "due_on": inquiry.due_on.isoformat() if inquiry.due_on else "",
            "parties": [{"organisation_id": _text(p.organisation_id),
                         "person_id": _text(p.person_id), "role": p.role}
                        for p in inquiries.parties_of(session, case)]}, {}
    chosen_orgs = {values["court_id"], *(r["organisation_id"] for r in values["parties"])}
    return {"values": values, "errors": errors, "rows": [*values["parties"],
                                                        blank_row("parties")],
            "open": bool(errors) or typed.form == "details" or inquiry.specialisation_id is None,
            "specialisations": _specialisation_options(session, inquiry),
            "courts": _organisation_options(session, viewer, chosen_orgs, courts=True),
            "organisations": _organisation_options(session, viewer, chosen_orgs),
            "people": _people_options(session, viewer,
                                      {r["person_id"] for r in values["parties"]})}


def _routing(session, case: Case, inquiry: Inquiry, viewer, editable: bool,
             typed: Typed) -> dict:
    suggested = departments.suggested(session, inquiry.specialisation_id)
    managers = {u.id: u.full_name or u.email for u in session.scalars(select(User).where(
        User.id.in_({d.manager_id for d in suggested if d.manager_id})))} if suggested else {}
    return {"departments": [{"department": d, "open": departments.open_inquiries(session, d),
                             "manager": managers.get(d.manager_id, "")} for d in suggested],
            "may_route": editable and permissions.can(viewer, ROUTE)
            and case.phase_key not in CLOSED,
            "errors": typed.errors if typed.form == "route" else {}}


def _estimate_form(session, case: Case, inquiry: Inquiry, viewer, editable: bool,
                   found: list[experts.Candidate], typed: Typed) -> dict | None:
    """The form for whoever may make calculations of the case while an estimate may be
    made; None otherwise."""
    if not (editable and permissions.can(viewer, calculations.PERMISSION)):
        return None
    if case.phase_key not in estimates.PHASES:
        return {"closed": True}
    if typed.form == "estimate":
        values, errors = typed.values, typed.errors
    else:
        latest = calculations.of_case(session, case)
        values, errors = {
            "experts": [{"expert_id": str(a.expert_id), "hours": plain_hours(a.hours)}
                        for a in estimates.assignments(session, case)],
            "travel_cost": _amount(inquiry.travel_cost), "margin": "",
            "materials_cost": _amount(inquiry.materials_cost),
            "markup": _amount(latest[0].markup) if latest else ""}, {}
    able = [(str(c.expert.id), f"{c.name}, {approvals.money(c.rate)}/h") for c in found
            if c.able]
    excluded = [(str(c.expert.id), c.name) for c in found if not c.able]
    listed = {c.expert.id for c in found}
    for row in values["experts"]:  # one no longer of the specialisation, or typed
        expert_id = optional_int(row["expert_id"])
        expert = experts.get(session, expert_id, include_deleted=True) \
            if isinstance(expert_id, int) and expert_id not in listed else None
        if expert is not None:
            excluded.append((str(expert.id), experts.name(session, expert)))
            listed.add(expert.id)
    return {"closed": False, "values": values, "errors": errors,
            "rows": [*values["experts"], blank_row("experts")],
            "able": able, "excluded": excluded,
            "open": bool(errors) or typed.form == "estimate" or case.cost is None}


def candidates(session, case: Case, inquiry: Inquiry) -> list[experts.Candidate]:
    """The experts of the specialisation, able first, then the excluded with why; an
    expert of the estimate no longer of the specialisation is among the excluded."""
    found = experts.candidates(session, case)
    listed = {c.expert.id for c in found}
    for assignment in estimates.assignments(session, case):
        if assignment.expert_id in listed:
            continue
        expert = experts.get(session, assignment.expert_id, include_deleted=True)
        department = departments.get(session, expert.department_id, include_deleted=True) \
            if expert.department_id else None
        reasons = experts.obstacles(session, expert, case, inquiry) or [
            _("not of the inquiry's specialisation")]
        found.append(experts.Candidate(
            expert, experts.name(session, expert), expert.hourly_rate,
            department.name if department else _("external"), experts.busy(session, expert),
            reasons))
    return found


def estimate_summary(session, host, case: Case) -> Estimate:
    """Each expert's hours at their rate, travel, materials, the cost and price, the
    margin, and who must approve the offer at these figures."""
    inquiry = session.get(Inquiry, case.id)
    lines = []
    for a in estimates.assignments(session, case):
        expert = experts.get(session, a.expert_id, include_deleted=True)
        lines.append({"expert_id": a.expert_id, "name": experts.name(session, expert),
                      "hours": a.hours, "rate": a.rate, "cost": vat.grosz(a.hours * a.rate)})
    latest = calculations.of_case(session, case)
    margin = case.margin
    return Estimate(
        lines=lines, travel=(inquiry.travel_cost if inquiry else None) or Decimal(0),
        materials=(inquiry.materials_cost if inquiry else None) or Decimal(0),
        cost=case.cost, amount=case.amount,
        margin=(margin * 100).quantize(Decimal("0.01")) if margin is not None else None,
        markup=latest[0].markup if latest else None,
        levels=approval_levels(session, host, case))


def approval_levels(session, host, case: Case) -> list[approvals.Required]:
    """Who must approve the offer at the estimate's figures, and why (the board only
    below the minimum margin): the step from the estimate to the offer, whatever the
    phase, since ``approvals.explain`` answers for the current phase's steps only."""
    if case.amount is None or case.cost is None:
        return []
    if case.phase_key == "estimate":
        return approvals.explain(session, host, case, "offer")
    transition = workflow.process_of(host, case).transition("estimate", "offer")
    return approvals.required(session, host, case, transition) if transition else []


# --- Choices -----------------------------------------------------------------------------------

def _specialisation_options(session, inquiry: Inquiry) -> list[tuple[str, str]]:
    found = specialisations.listed(session)
    current = specialisations.get(session, inquiry.specialisation_id)
    if current is not None and current not in found:  # archived, still set
        found.append(current)
    return [(str(s.id), s.name) for s in found]


def _organisation_options(session, viewer, chosen: set[str], courts: bool = False
                          ) -> list[tuple[str, str]]:
    """Organisations the viewer may see by name, and those chosen; for the court, the
    courts first."""
    query = records.visible(Organisation, viewer)
    if courts:
        query = query.order_by((Organisation.type_key != inquiries.COURT), Organisation.name_key)
    else:
        query = query.order_by(Organisation.name_key)
    found = list(session.scalars(query.limit(CHOICES_LIMIT)))
    return _with_chosen(session, viewer, Organisation, found, chosen, lambda o: o.name)


def _people_options(session, viewer, chosen: set[str]) -> list[tuple[str, str]]:
    query = records.visible(Person, viewer).order_by(func.lower(Person.last_name),
                                                     func.lower(Person.first_name))
    found = list(session.scalars(query.limit(CHOICES_LIMIT)))
    return _with_chosen(session, viewer, Person, found, chosen, lambda p: p.full_name)


def _with_chosen(session, viewer, model, found: list, chosen: set[str], label
                 ) -> list[tuple[str, str]]:
    ids = {r.id for r in found}
    for value in chosen:
        record_id = optional_int(value)
        if isinstance(record_id, int) and record_id not in ids:
            extra = records.get(session, model, record_id, viewer)
            if extra is not None:
                found.append(extra)
                ids.add(extra.id)
    return [(str(r.id), label(r)) for r in found]


def _text(value) -> str:
    return "" if value is None else str(value)


def _amount(value: Decimal | None) -> str:
    """An amount as a form shows it for editing: "350.00"; empty for none or zero."""
    return f"{value:.2f}" if value else ""


def plain_hours(value: Decimal) -> str:
    """Hours as people type them: "12.5", "10"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
