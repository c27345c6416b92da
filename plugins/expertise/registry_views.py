"""The staff pages of the expertise registry (EX-2, EX-3), under /expertise/: the
departments with what they cover, their managers and how many inquiries each has open;
the specialisations (added, renamed, archived); and the experts, listed by
specialisation and by whether they still work, each with a card of their
specialisations, rate, department, absences, conflicts of interest and open inquiries.

Every staff member reads these pages; only those with ``expertise.manage`` change
anything (403 otherwise). The expert is a person of the card index picked by name as on
the card's "add a person" form (``core/links.js`` offers names as one types; without
script the typed name is looked up, and when several answer to it the form comes back
with them to choose from). A conflict of interest names an organisation or a person the
same way, one row each. Every change goes through the services, which check who may
make it; a refusal is rolled back and its messages are shown under their fields, with
what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from core import approvals, links, permissions, records, workflow
from core.errors import ValidationError
from core.menu import MenuItem
from core.models import Case, Organisation, Person, User
from core.terms import term, upper_first
from core.text import fold
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, form_id, optional_int
from plugins.expertise import departments, experts, specialisations
from plugins.expertise.models import (
    Assignment,
    Department,
    DepartmentSpecialisation,
    Expert,
    ExpertSpecialisation,
    Inquiry,
    Specialisation,
)
from plugins.expertise.permissions import MANAGE

bp = Blueprint("expertise_registry", __name__, url_prefix="/expertise",
               template_folder="templates")
MENU = [
    MenuItem("expertise_registry.experts", term="expertise.expert", section=(
        "expertise_registry.experts", "expertise_registry.expert",
        "expertise_registry.expert_new", "expertise_registry.expert_edit")),
    MenuItem("expertise_registry.departments", term="expertise.department", section=(
        "expertise_registry.departments", "expertise_registry.department_new",
        "expertise_registry.department_edit", "expertise_registry.specialisations")),
]
DEPARTMENT_FIELDS = ("name", "manager_id", "description")
EXPERT_FIELDS = ("department_id", "hourly_rate", "note")
PARTY_TYPES = ("organisation", "person")
BLANK_ROWS = 2  # empty absence and conflict rows offered for new ones
CHOICES = 20  # records offered when several answer to a typed name
HIDDEN = "—"


def may_manage() -> bool:
    return permissions.can(current_user, MANAGE)


def _require_manage() -> None:
    if not may_manage():
        abort(403)


@dataclass
class Picked:
    """A record named on a form: its id, or why there is none, or those to choose from."""

    id: int | None = None
    typed: str = ""
    error: str = ""
    candidates: list = field(default_factory=list)


def pick(session, record_type: str, typed: str, chosen, missing: str = "") -> Picked:
    """The organisation or person the form names: the one chosen from the suggestions
    or the list, else the only one (or the only one of exactly that name) the typed
    name finds among those the viewer may see. ``missing``: what to say of no name."""
    typed = (typed or "").strip()[:200]
    if not typed:  # a name cleared leaves no choice behind it
        return Picked(error=missing)
    chosen_id = form_id(chosen)
    if chosen_id is not None:
        return Picked(chosen_id, typed)
    found = links.find(session, record_type, typed, current_user, limit=CHOICES + 1)
    exact = [hit for hit in found if fold(hit[1]).strip() == fold(typed)]
    if len(exact) == 1 or len(found) == 1:
        return Picked((exact or found)[0][0], typed)
    if not found:
        return Picked(typed=typed, error=_(
            "Nothing found for “%(name)s” among the records you may see.", name=typed))
    return Picked(typed=typed, error=_("Several records answer to this name: choose one."),
                  candidates=found[:CHOICES])


def _gathered(errors: dict, *names: str) -> dict:
    """Errors of a list's items (``specialisation_ids.2``) shown under the list."""
    shown = dict(errors)
    for name in names:
        found = [str(v) for k, v in errors.items() if k.startswith(f"{name}.")]
        if found:
            shown[name] = " ".join(dict.fromkeys([*([str(errors[name])] if name in errors
                                                     else []), *found]))
    return shown


def _ids(name: str) -> list:
    """The values of a multiple select, as numbers where they are numbers."""
    return [optional_int(v) for v in request.form.getlist(name) if v.strip()]


def _specialisation_options(session, kept: list[Specialisation]) -> list[tuple[str, str]]:
    """Those offered, with the archived ones a record keeps, marked."""
    offered = specialisations.listed(session)
    extra = [s for s in kept if s.archived]
    return [(str(s.id), s.name if not s.archived else _("%(name)s (archived)", name=s.name))
            for s in sorted([*offered, *extra], key=lambda s: s.name.lower())]


def _staff_options(session) -> list[tuple[str, str]]:
    return [(str(u.id), u.full_name or u.email) for u in session.scalars(
        select(User).where(User.active, User.kind == "staff")
        .order_by(User.full_name, User.email))]


# --- Departments ---------------------------------------------------------------------------

@bp.get("/departments/", endpoint="departments")
@login_required
def department_list():
    session = db()
    found = departments.listed(session)
    managers = {u.id: u for u in session.scalars(select(User).where(User.id.in_(
        {d.manager_id for d in found if d.manager_id})))} if found else {}
    rows = [(d, departments.specialisations_of(session, d), managers.get(d.manager_id),
             departments.open_inquiries(session, d)) for d in found]
    return render_template("expertise/departments.html", rows=rows, may_manage=may_manage())


@bp.route("/departments/new", methods=["GET", "POST"], endpoint="department_new")
@login_required
def department_new():
    _require_manage()
    return _department_form(None)


@bp.route("/departments/<int:department_id>/edit", methods=["GET", "POST"],
          endpoint="department_edit")
@login_required
def department_edit(department_id: int):
    department = _department(department_id)
    _require_manage()
    return _department_form(department)


@bp.post("/departments/<int:department_id>/delete", endpoint="department_delete")
@login_required
def department_delete(department_id: int):
    session, department = db(), _department(department_id)
    if commit_or_flash(session, lambda: departments.delete(session, department,
                                                           current_user) or True):
        flash(upper_first(_("%(what)s “%(name)s” was moved to the bin.",
                            what=term("expertise.department"), name=department.name)))
    return redirect(url_for("expertise_registry.departments"))


def _department_form(department: Department | None):
    session, errors = db(), {}
    kept = departments.specialisations_of(session, department) if department else []
    if department is not None:
        values = {"name": department.name, "manager_id": str(department.manager_id or ""),
                  "description": department.description,
                  "specialisation_ids": [str(s.id) for s in kept]}
    else:
        values = {**dict.fromkeys(DEPARTMENT_FIELDS, ""), "specialisation_ids": []}
    if request.method == "POST":
        values = {**{k: request.form.get(k, "") for k in DEPARTMENT_FIELDS},
                  "specialisation_ids": request.form.getlist("specialisation_ids")}
        data = {"name": values["name"], "description": values["description"],
                "manager_id": optional_int(values["manager_id"]),
                "specialisation_ids": _ids("specialisation_ids")}
        version = optional_int(request.form.get("version"))
        saved, errors = commit_or_errors(session, lambda: departments.create(
            session, data, current_user) if department is None else departments.update(
            session, department, data, current_user,
            version if isinstance(version, int) else None))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("expertise_registry.departments",
                                    _anchor=f"department-{saved.id}"))
    return render_template(
        "expertise/department_form.html", department=department, values=values,
        errors=_gathered(errors, "specialisation_ids"), managers=_staff_options(session),
        specialisation_options=_specialisation_options(session, kept),
    ), 422 if errors else 200


def _department(department_id: int) -> Department:
    found = departments.get(db(), department_id)
    if found is None:
        abort(404)
    return found


# --- Specialisations -----------------------------------------------------------------------

@bp.get("/specialisations/", endpoint="specialisations")
@login_required
def specialisation_list():
    return _specialisations_page()


@bp.post("/specialisations/", endpoint="specialisation_add")
@login_required
def specialisation_add():
    _require_manage()
    session, name = db(), request.form.get("name", "")
    made, errors = commit_or_errors(session, lambda: specialisations.create(
        session, {"name": name}, current_user))
    if errors:
        return _specialisations_page(add={"name": name, "errors": errors}), 422
    flash(upper_first(_("%(what)s “%(name)s” added.", what=term("expertise.specialisation"),
                        name=made.name)))
    return redirect(url_for("expertise_registry.specialisations"))


@bp.post("/specialisations/<int:specialisation_id>", endpoint="specialisation_rename")
@login_required
def specialisation_rename(specialisation_id: int):
    found = _specialisation(specialisation_id)
    _require_manage()
    session, name = db(), request.form.get("name", "")
    _saved, errors = commit_or_errors(session, lambda: specialisations.update(
        session, found, {"name": name}, current_user))
    if errors:
        return _specialisations_page(rename={found.id: {"name": name, "errors": errors}}), 422
    flash(_("Saved."))
    return redirect(url_for("expertise_registry.specialisations",
                            _anchor=f"specialisation-{found.id}"))


@bp.post("/specialisations/<int:specialisation_id>/archive",
         endpoint="specialisation_archive")
@login_required
def specialisation_archive(specialisation_id: int):
    """Archive it (``archived=1``) or offer it again (``archived=0``)."""
    found = _specialisation(specialisation_id)
    _require_manage()
    session, archived = db(), request.form.get("archived", "1") == "1"
    if commit_or_flash(session, lambda: specialisations.update(
            session, found, {"archived": archived}, current_user)):
        flash(upper_first(_("%(what)s “%(name)s” archived: new records cannot choose it.",
                            what=term("expertise.specialisation"), name=found.name)
                          if archived else
                          _("%(what)s “%(name)s” is offered again.",
                            what=term("expertise.specialisation"), name=found.name)))
    return redirect(url_for("expertise_registry.specialisations",
                            _anchor=f"specialisation-{found.id}"))


def _specialisations_page(add: dict | None = None, rename: dict | None = None):
    session = db()
    found = specialisations.listed(session, include_archived=True)
    return render_template(
        "expertise/specialisations.html", specialisations=found,
        used_by_departments=_counts(session, DepartmentSpecialisation, Department,
                                    DepartmentSpecialisation.department_id),
        used_by_experts=_counts(session, ExpertSpecialisation, Expert,
                                ExpertSpecialisation.expert_id),
        add=add or {"name": "", "errors": {}}, rename=rename or {}, may_manage=may_manage())


def _counts(session, link, model, link_column) -> dict[int, int]:
    """How many departments (experts) not in the bin have each specialisation."""
    return dict(session.execute(
        select(link.specialisation_id, func.count()).join(model, model.id == link_column)
        .where(model.deleted_at.is_(None)).group_by(link.specialisation_id)).all())


def _specialisation(specialisation_id: int) -> Specialisation:
    found = specialisations.get(db(), specialisation_id)
    if found is None:
        abort(404)
    return found


# --- Experts: the list and the card ---------------------------------------------------------

@bp.get("/experts/", endpoint="experts")
@login_required
def expert_list():
    session, errors = db(), {}
    args = {k: request.args.get(k, "").strip() for k in ("specialisation_id", "active")}
    chosen = form_id(args["specialisation_id"]) if args["specialisation_id"] else None
    if args["specialisation_id"] and specialisations.get(session, chosen) is None:
        errors["specialisation_id"] = _("There is no such specialisation.")
    if args["active"] not in ("", "yes", "no"):
        errors["active"] = _("Choose whether they are active.")
    found = [] if errors else experts.listed(session, chosen,
                                             include_inactive=args["active"] != "yes")
    if args["active"] == "no":
        found = [e for e in found if not e.active]
    all_departments = {d.id: d for d in departments.listed(session)}
    rows = [(e, experts.name(session, e), experts.specialisations_of(session, e),
             all_departments.get(e.department_id), experts.busy(session, e)) for e in found]
    return render_template(
        "expertise/experts.html", rows=rows, args=args, errors=errors,
        specialisation_options=[(str(s.id), s.name) for s in specialisations.listed(
            session, include_archived=True)],
        filtered=any(args.values()), money=approvals.money, may_manage=may_manage(),
    ), 400 if errors else 200


@bp.get("/experts/<int:expert_id>", endpoint="expert")
@login_required
def expert_card(expert_id: int):
    session, expert = db(), _expert(expert_id)
    department = departments.get(session, expert.department_id) \
        if expert.department_id else None
    return render_template(
        "expertise/expert.html", expert=expert, name=experts.name(session, expert),
        person=records.get(session, Person, expert.person_id, current_user),
        department=department, specialisations=experts.specialisations_of(session, expert),
        absences=experts.absences_of(session, expert),
        conflicts=[(c, _party_name(session, c.organisation_id, c.person_id))
                   for c in experts.conflicts_of(session, expert)],
        inquiries=_open_inquiries(session, expert), busy=experts.busy(session, expert),
        phase=_phase_name, money=approvals.money, may_manage=may_manage())


def _open_inquiries(session, expert: Expert) -> list[tuple[Case, Inquiry | None]]:
    """The open inquiries whose estimate names the expert, of those the viewer may see,
    the nearest deadline first."""
    from plugins.expertise.process import CLOSED

    found = session.execute(
        records.visible(Case, current_user)
        .join(Assignment, Assignment.case_id == Case.id)
        .outerjoin(Inquiry, Inquiry.case_id == Case.id)
        .where(Assignment.expert_id == expert.id, Case.phase_key.not_in(CLOSED))
        .add_columns(Inquiry)
        .order_by(Inquiry.due_on.is_(None), Inquiry.due_on, Case.id)).all()
    return [(case, inquiry) for case, inquiry in found]


def _phase_name(case: Case) -> str:
    process = _host().processes.get(case.process_key)
    return workflow.phase_name(process, case.phase_key) if process else case.phase_key


def _party_name(session, organisation_id: int | None, person_id: int | None) -> str:
    """The party's name, if the viewer may see it."""
    model, record_id = (Organisation, organisation_id) if organisation_id else \
        (Person, person_id)
    found = records.get(session, model, record_id, current_user) if record_id else None
    if found is None:
        return _("A record you may not see") if record_id else ""
    return found.name if model is Organisation else found.full_name


# --- Experts: adding, correcting, the bin ---------------------------------------------------

@bp.route("/experts/new", methods=["GET", "POST"], endpoint="expert_new")
@login_required
def expert_new():
    _require_manage()
    return _expert_form(None)


@bp.route("/experts/<int:expert_id>/edit", methods=["GET", "POST"], endpoint="expert_edit")
@login_required
def expert_edit(expert_id: int):
    expert = _expert(expert_id)
    _require_manage()
    return _expert_form(expert)


@bp.post("/experts/<int:expert_id>/delete", endpoint="expert_delete")
@login_required
def expert_delete(expert_id: int):
    session, expert = db(), _expert(expert_id)
    named = experts.name(session, expert)
    if commit_or_flash(session, lambda: experts.delete(session, expert, current_user)
                       or True):
        flash(upper_first(_("%(what)s %(name)s was moved to the bin.",
                            what=term("expertise.expert"), name=named)))
        return redirect(url_for("expertise_registry.experts"))
    return redirect(url_for("expertise_registry.expert", expert_id=expert.id))


def _expert_form(expert: Expert | None):
    session, errors = db(), {}
    kept = experts.specialisations_of(session, expert) if expert else []
    values = _stored_expert(session, expert, kept) if expert else {
        **dict.fromkeys(EXPERT_FIELDS, ""), "target": "", "target_id": "", "internal": True,
        "active": True, "specialisation_ids": [], "absences": [], "conflicts": []}
    candidates = []
    if request.method == "POST":
        values = {**{k: request.form.get(k, "") for k in EXPERT_FIELDS},
                  "target": request.form.get("target", ""),
                  "target_id": request.form.get("target_id", ""),
                  "internal": request.form.get("internal") == "1",
                  "active": request.form.get("active") == "1",
                  "specialisation_ids": request.form.getlist("specialisation_ids"),
                  "absences": _posted_absences(), "conflicts": _posted_conflicts(session)}
        person = pick(session, "person", values["target"], values["target_id"],
                      _("Type the name of the %(what)s.", what=term("core.person", case="gen")))
        candidates = person.candidates
        data = {"person_id": person.id, "internal": values["internal"],
                "active": values["active"], "hourly_rate": values["hourly_rate"],
                "department_id": optional_int(values["department_id"]),
                "note": values["note"], "specialisation_ids": _ids("specialisation_ids"),
                "absences": [{k: v for k, v in row.items() if v or k == "reason"}
                             for row in values["absences"]],
                "conflicts": [_conflict_data(row) for row in values["conflicts"]]}
        version = optional_int(request.form.get("version"))
        saved, errors = commit_or_errors(session, lambda: _save(
            session, expert, data, version if isinstance(version, int) else None,
            person, values["conflicts"]))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("expertise_registry.expert", expert_id=saved.id))
        values["target_id"] = str(person.id or "")
    return render_template(
        "expertise/expert_form.html", expert=expert, values=values,
        errors=_gathered(errors, "specialisation_ids"), candidates=candidates,
        absence_errors=_row_errors(errors, "absences", len(values["absences"])),
        conflict_errors=_row_errors(errors, "conflicts", len(values["conflicts"])),
        department_options=[(str(d.id), d.name) for d in departments.listed(session)],
        specialisation_options=_specialisation_options(session, kept),
        blank_rows=BLANK_ROWS, party_types=_party_types(),
    ), 422 if errors else 200


def _save(session, expert: Expert | None, data: dict, version, person: Picked,
          conflicts: list[dict]) -> Expert:
    """The expert saved; a person or party that could not be picked is named with the
    rest of the form's problems."""
    picked = {"person_id": person.error} if person.error else {}
    picked.update({f"conflicts.{n}": row["error"] for n, row in enumerate(conflicts)
                   if row["error"]})
    try:
        if expert is None:
            saved = experts.create(session, data, current_user)
        else:
            saved = experts.update(session, expert, data, current_user, version)
    except ValidationError as exc:
        exc.errors.update(picked)
        raise
    if picked:
        raise ValidationError(picked)
    return saved


def _posted_absences() -> list[dict]:
    """The absence rows as typed, the empty ones left out."""
    found, n = [], 0
    while f"absence-{n}-starts_on" in request.form and n < experts.MAX_ROWS + BLANK_ROWS:
        row = {k: request.form.get(f"absence-{n}-{k}", "").strip()
               for k in ("starts_on", "ends_on", "reason")}
        if any(row.values()):
            found.append(row)
        n += 1
    return found


def _posted_conflicts(session) -> list[dict]:
    """The conflict rows as typed, each party picked by name, the empty ones left out."""
    found, n = [], 0
    while f"conflict-{n}-name" in request.form and n < experts.MAX_ROWS + BLANK_ROWS:
        row = {k: request.form.get(f"conflict-{n}-{k}", "").strip()
               for k in ("kind", "name", "id", "reason")}
        if request.form.get(f"conflict-{n}-named", "").strip() != row["name"]:
            row["id"] = ""  # the name was changed: the party is looked up anew
        n += 1
        if not (row["name"] or row["reason"]):
            continue
        row["kind"] = row["kind"] if row["kind"] in PARTY_TYPES else PARTY_TYPES[0]
        party = pick(session, row["kind"], row["name"], row["id"])
        found.append({**row, "id": str(party.id or ""), "picked": party.id,
                      "error": party.error, "candidates": party.candidates})
    return found


def _conflict_data(row: dict) -> dict:
    party = {"organisation_id": None, "person_id": None}
    if row["picked"] is not None:
        party[f"{row['kind']}_id"] = row["picked"]
    return {**party, "reason": row["reason"]}


def _row_errors(errors: dict, name: str, count: int) -> dict[int, list[tuple[str, str]]]:
    """The messages of each row (``absences.1.ends_on``), by the row's place."""
    found = {n: [] for n in range(count)}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == name and len(parts) > 1 and parts[1].isdigit() and \
                int(parts[1]) in found:
            found[int(parts[1])].append((key, message))
    return found


def _stored_expert(session, expert: Expert, kept: list[Specialisation]) -> dict:
    values = {k: "" if getattr(expert, k) is None else str(getattr(expert, k))
              for k in EXPERT_FIELDS}
    return {**values, "target": experts.name(session, expert),
            "target_id": str(expert.person_id), "internal": expert.internal,
            "active": expert.active, "specialisation_ids": [str(s.id) for s in kept],
            "absences": [{"starts_on": a.starts_on.isoformat(), "ends_on": a.ends_on.isoformat(),
                          "reason": a.reason} for a in experts.absences_of(session, expert)],
            "conflicts": [{"kind": "organisation" if c.organisation_id else "person",
                           "name": _party_name(session, c.organisation_id, c.person_id),
                           "id": str(c.organisation_id or c.person_id), "reason": c.reason,
                           "error": "", "candidates": []}
                          for c in experts.conflicts_of(session, expert)]}


def _party_types() -> list[tuple[str, str]]:
    return [("organisation", upper_first(term("core.organisation"))),
            ("person", upper_first(term("core.person")))]


def _expert(expert_id: int) -> Expert:
    found = experts.get(db(), expert_id)
    if found is None:
        abort(404)
    return found


def _host():
    return current_app.extensions["kartoteka"].host
