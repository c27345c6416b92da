"""Staff pages of cases: the processes and their boards, the case's card with its moves
and approvals, the form, and the approvals waiting for the user.

A case changes phase only through ``workflow.move``: the board drags a card and posts
to the move endpoint (JSON), the card's buttons post the same form without script.
What blocks a step is listed before anyone clicks (``workflow.moves``), and a refusal
names the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core import (
    approvals,
    attachments,
    cases,
    invoices,
    links,
    permissions,
    records,
    roles,
    tasks,
    workflow,
)
from core import fields as custom_fields
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest, Calculation, Case, Organisation, Person, User
from core.terms import term
from core.text import fold
from core.web import activities, case_list, record_fields
from core.web import calculations as calculation_pages
from core.web import invoices as invoice_pages
from core.web.auth import safe_next
from core.web.db import db
from core.web.documents import card_section
from core.web.forms import (
    commit_or_errors,
    commit_or_flash,
    fields_from_form,
    form_id,
    optional_int,
)
from core.web.i18n import current_locale
from core.web.listing import users_by_id
from core.web.panels import case_panels

bp = Blueprint("cases", __name__, url_prefix="/cases")
FIELDS = ("title", "organisation_id", "owner_id", "amount", "cost", "currency", "description")
BOARD_LIMIT = 100  # cards shown per column; its count says how many there are
ROLE_MAX = 100  # characters of a person's role in a case (CasePerson.role)
NAME_HITS = 20  # people a typed name is looked up among, to find the one of exactly it
CHOICES_LIMIT = 500  # organisations offered in the form's list


def _host():
    return current_app.extensions["kartoteka"].host


def _get(case_id: int) -> Case:
    found = records.get(db(), Case, case_id, current_user)
    if found is None:
        abort(404)
    return found


def _title(process: workflow.Process) -> str:
    if process.title:
        return workflow.localised(process.title, current_locale())
    return term(process.term, plural=True).capitalize()


@bp.context_processor
def _helpers():
    return {"money": approvals.money, "percent": approvals.percent,
            "process_title": _title, "phase_name": workflow.phase_name,
            "step_name": _step_name, "case_phase": _case_phase}


def _case_phase(case: Case) -> str:
    """The phase a case is in, as people read it (its key when the process is gone)."""
    process = _host().processes.get(case.process_key)
    return workflow.phase_name(process, case.phase_key) if process else case.phase_key


# --- The processes and their boards ------------------------------------------------------

@dataclass
class Column:
    phase: workflow.Phase
    name: str
    count: int
    cards: list = field(default_factory=list)
    targets: list = field(default_factory=list)  # phases a step leads to from this one


@bp.get("/")
@login_required
def index():
    session, rows = db(), []
    for process in _host().processes.values():
        counts = workflow.counts_by_phase(session, process, current_user)
        rows.append((process, [(p, workflow.phase_name(process, p.key), counts.get(p.key, 0))
                               for p in process.phases], sum(counts.values())))
    return render_template("core/cases/index.html", rows=rows,
                           waiting=len(approvals.for_approver(session, current_user)))


@bp.get("/board/<process_key>")
@login_required
def board(process_key: str):
    session, process = db(), _host().processes.get(process_key)
    if process is None:
        abort(404)
    values = workflow.settings(session, process)
    counts = workflow.counts_by_phase(session, process, current_user)
    columns, shown = [], []
    for phase in process.phases:
        query = records.visible(Case, current_user).where(Case.process_key == process.key,
                                                          Case.phase_key == phase.key)
        order = Case.phase_entered_at.desc() if phase.final else Case.phase_entered_at
        found = list(session.scalars(query.order_by(order, Case.id).limit(BOARD_LIMIT)))
        shown += found
        columns.append(Column(phase, workflow.phase_name(process, phase.key),
                              counts.get(phase.key, 0), found,
                              [t.target for t in process.from_phase(phase.key)]))
    return render_template("core/cases/board.html", process=process, columns=columns,
                           organisations=_organisation_names(session, shown),
                           users=users_by_id(session), now=utcnow(),
                           deadlines={c.id: workflow.deadline_of(values, c) for c in shown})


@bp.get("/list")
@login_required
def listing():
    """The cases as a list beside the boards, filtered and sorted (``case_list``)."""
    return case_list.page()


def _organisation_names(session, shown: list[Case]) -> dict[int, str]:
    ids = {c.organisation_id for c in shown if c.organisation_id}
    if not ids:
        return {}
    query = records.visible(Organisation, current_user).where(Organisation.id.in_(ids))
    return {o.id: o.name for o in session.scalars(query)}


# --- The form ----------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    return _form(None)


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    return _form(_get(case_id))


def _form(case: Case | None):
    session, host = db(), _host()
    errors: dict = {}
    typed, stored = None, None
    if case is not None:
        values, version = _saved_values(case), case.version
    else:
        wanted = request.args.get("process", "")
        values, version = {"process_key": wanted, "currency": "PLN",
                           "owner_id": str(current_user.id)}, None
        if wanted and wanted not in host.processes:
            errors["process_key"] = _("Choose a process from the list.")
    if request.method == "POST":
        values = fields_from_form(FIELDS + (("process_key",) if case is None else ()))
        chosen = case.process_key if case is not None else values["process_key"]
        # The process whose fields the form showed: a new case's may have been changed.
        shown_for = request.form.get("fields_for", chosen) if case is None else chosen
        typed = record_fields.posted(session, "case", shown_for)
        if case is None and (request.form.get("action") == "fields"
                             or _other_fields(session, shown_for, chosen)):
            errors = {} if request.form.get("action") == "fields" else {"process_key": _(
                "The fields of this process are shown now; fill them in and save again.")}
            return _render_form(session, case, values, errors, None, None, typed)
        data = {**values, "custom": typed}
        for key in ("organisation_id", "owner_id"):
            if key in data:
                data[key] = optional_int(data[key])
        version = optional_int(request.form.get("version"))
        saved, errors = commit_or_errors(session, lambda: cases.create(
            session, host, data, current_user) if case is None else cases.update(
            session, host, case, data, current_user, expected_version=version))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("cases.card", record_id=saved.id))
        if "version" in errors and case is not None:
            # Someone saved meanwhile: what was typed stays, what is stored now is
            # shown beside it, and saving again (on the new version) replaces it.
            now = _saved_values(case)
            stored = {k: now[k] for k in FIELDS if str(values.get(k, "")) != now[k]}
            version = case.version
    return _render_form(session, case, values, errors, version, stored, typed)


def _render_form(session, case: Case | None, values: dict, errors: dict, version, stored,
                 typed):
    process_key = values.get("process_key", "")
    return render_template(
        "core/cases/form.html", case=case, values=values, errors=errors, version=version,
        stored=stored, labels=_labels(),
        custom=record_fields.form_groups(session, "case", case, typed, process_key),
        limited=any(d.processes for d in custom_fields.definitions(session, "case")),
        process_options=_process_options(), owner_options=_owner_options(session),
        organisation_options=_organisation_options(session, values.get("organisation_id")))


def _other_fields(session, shown_for: str, chosen: str) -> bool:
    """Whether the chosen process takes other fields than the form showed."""
    def keys(process_key):
        return {d.key for d in custom_fields.shown(session, "case", current_user,
                                                   on_form=True, process_key=process_key)}
    return keys(shown_for) != keys(chosen)


def _process_options() -> list[tuple[str, str]]:
    return [(k, _title(p)) for k, p in _host().processes.items()]


def _owner_options(session) -> list[tuple[str, str]]:
    return [(str(u.id), u.full_name or u.email) for u in session.scalars(
        select(User).where(User.active, User.kind == "staff")
        .order_by(User.full_name, User.email))]


def _saved_values(case: Case) -> dict:
    return {k: "" if getattr(case, k) is None else str(getattr(case, k)) for k in FIELDS}


def _organisation_options(session, chosen) -> list[tuple[str, str]]:
    query = records.visible(Organisation, current_user).order_by(Organisation.name_key)
    found = list(session.scalars(query.limit(CHOICES_LIMIT)))
    chosen_id = optional_int(str(chosen or ""))
    if isinstance(chosen_id, int) and all(o.id != chosen_id for o in found):
        extra = records.get(session, Organisation, chosen_id, current_user)
        if extra is not None:
            found.append(extra)
    return [(str(o.id), o.name) for o in found]


def _labels() -> dict:
    return {"title": _("Title"), "process_key": term("core.process").capitalize(),
            "organisation_id": term("core.organisation").capitalize(), "owner_id": _("Owner"),
            "amount": _("Amount"), "cost": _("Cost"), "currency": _("Currency"),
            "description": _("Description"), "comment": _("Comment"), "target": _("Step"),
            "decision": _("Decision"), "people": term("core.person", plural=True).capitalize()}


# --- The card ----------------------------------------------------------------------------

@bp.get("/<int:record_id>")
@login_required
def card(record_id: int):
    return _card(_get(record_id))


def _card(case: Case, move_errors: dict | None = None, comment: str = "",
          start: dict | None = None):
    """The card; ``move_errors`` and ``start`` (typed values and errors of the
    start-a-subprocess form) show a refused form again."""
    session, host = db(), _host()
    process = host.processes.get(case.process_key)
    values = workflow.settings(session, process) if process else {}
    editable = cases.may_edit(session, case, current_user)
    moves, steps = [], []
    if process is not None:
        moves = workflow.moves(session, host, case, current_user)
        if not editable:
            for m in moves:
                m.blockers = {"edit": _("You may not change it."), **m.blockers}
        for m in moves:
            if m.transition.approval is not None:
                missing = approvals.missing(session, host, case, m.transition)
                asked = any(r.status == "pending"
                            for r in approvals.requests(session, case, m.transition))
                steps.append({"move": m, "required": approvals.required(session, host, case,
                                                                        m.transition),
                              "missing": missing, "can_ask": editable and bool(missing)
                              and not asked})
    deadline = workflow.deadline_of(values, case) if process else None
    people_ids = [p.person_id for p in case.people]
    people = {p.id: p for p in session.scalars(
        records.visible(Person, current_user).where(Person.id.in_(people_ids)))} \
        if people_ids else {}
    parent = records.get(session, Case, case.parent_id, current_user) if case.parent_id else None
    organisation = records.get(session, Organisation, case.organisation_id, current_user) \
        if case.organisation_id else None
    requests_ = approvals.requests(session, case)
    return render_template(
        "core/cases/card.html", case=case, process=process, moves=moves, steps=steps,
        move_errors=move_errors or {}, comment=comment, editable=editable,
        deadline=deadline, now=utcnow(), organisation=organisation, parent=parent,
        children=cases.children(session, case, current_user),
        people=[(people[p.person_id], p.role) for p in case.people if p.person_id in people],
        role_max=ROLE_MAX,
        history=workflow.history(session, case), users=users_by_id(session),
        requests=requests_, deciding=_may_decide(session, requests_, values),
        role_names={r.key: r.name for r in roles.all_roles(session)},
        custom=record_fields.card_groups(session, "case", case),
        **activities.card_timeline(session, case, "cases.card", record_id=case.id),
        record_tasks=tasks.for_record(session, case, current_user), labels=_labels(),
        attachments=attachments.list_for(session, case),
        statuses={r.id: approvals.describe_status(r) for r in requests_},
        start=start or {"values": {"owner_id": str(current_user.id)}, "errors": {}},
        process_options=_process_options() if editable else [],
        owner_options=_owner_options(session) if editable else [],
        billing=_billing(session, case), calc=calculation_pages.panel(session, case),
        panels=case_panels(session, case),
        **card_section(session, case))


def _billing(session, case: Case) -> dict | None:
    """The case's invoices and whom a new one would bill, for those who bill."""
    if not permissions.can(current_user, invoices.PERMISSION):
        return None
    buyer = f"organisation-{case.organisation_id}" if case.organisation_id else \
        next((f"person-{p.person_id}" for p in case.people), "")
    return {"invoices": invoices.of_case(session, case.id, actor=current_user),
            "buyer": buyer, "kinds": invoice_pages.KIND_LABELS,
            "statuses": invoice_pages.STATUS_LABELS}


@bp.post("/<int:case_id>/activities")
@login_required
def add_activity(case_id: int):
    """The card's quick add: a note, call or meeting on the case's timeline, and on its
    organisation's, as the case's own events are (``workflow.about_case``)."""
    case = _get(case_id)
    return activities.add_from_form(case, url_for("cases.card", record_id=case.id),
                                    about=workflow.about_case(db(), case))


def linked(session, record) -> list[dict]:
    """The cases of an organisation or a person the user may see, as its card lists
    them: open ones first; title, process, phase and owner."""
    host = _host()
    found = cases.of_record(session, host, record, current_user)
    names = users_by_id(session) if found else {}
    return [{"case": case, "url": url_for("cases.card", record_id=case.id),
             "process": _title(host.processes[case.process_key])
             if case.process_key in host.processes else case.process_key,
             "phase": _case_phase(case), "owner": names.get(case.owner_id, ""),
             "finished": cases.is_finished(host, case)} for case in found]


def _may_decide(session, found: list[ApprovalRequest], values: dict) -> set[int]:
    """The requests among ``found`` the user may decide now."""
    mine = {r.id for r in approvals.for_approver(session, current_user)}
    allow_self = bool(values.get(approvals.SELF_APPROVAL.key))
    return {r.id for r in found if r.id in mine
            and (allow_self or r.requested_by_id != current_user.id)}


def _self_approval(session, process: workflow.Process | None) -> bool:
    values = workflow.settings(session, process) if process else {}
    return bool(values.get(approvals.SELF_APPROVAL.key))


def _transition_name(process: workflow.Process | None, key: str) -> str:
    source, _sep, target = key.partition("->")
    if process is None:
        return f"{source} → {target}"
    return f"{workflow.phase_name(process, source)} → {workflow.phase_name(process, target)}"


def _step_name(process_key: str, key: str) -> str:
    """A transition ("offer->order") as people read it: "offer → order"."""
    return _transition_name(_host().processes.get(process_key), key)


# --- Subprocesses ------------------------------------------------------------------------

@bp.post("/<int:case_id>/subprocesses")
@login_required
def start(case_id: int):
    """Start a subprocess by hand: a new case of any process, part of this one (which
    then waits for it to finish), for the same organisation."""
    session, case = db(), _get(case_id)
    if not cases.may_edit(session, case, current_user):
        raise Forbidden(_("You may not do this with this record."))
    values = fields_from_form(("process_key", "title", "owner_id"))
    organisation = records.get(session, Organisation, case.organisation_id, current_user) \
        if case.organisation_id else None
    data = {**values, "owner_id": optional_int(values.get("owner_id")), "parent_id": case.id,
            "organisation_id": organisation.id if organisation is not None else None}
    child, errors = commit_or_errors(session, lambda: cases.create(session, _host(), data,
                                                                   current_user))
    if errors:
        return _card(case, start={"values": values, "errors": errors})
    flash(_("Started: %(title)s.", title=child.title))
    return redirect(url_for("cases.card", record_id=case.id, _anchor="subprocesses"))


# --- People ------------------------------------------------------------------------------

@bp.post("/<int:case_id>/people")
@login_required
def add_person(case_id: int):
    """Add a person to the case in a role (a person already in it takes the new role).
    The person is the one chosen from the suggestions (``links.js``), else the only one,
    or the only one of exactly that name, the typed name finds."""
    session, case = db(), _get(case_id)
    if not cases.may_edit(session, case, current_user):
        raise Forbidden(_("You may not do this with this record."))
    back = url_for("cases.card", record_id=case.id, _anchor="people")
    role = request.form.get("role", "").strip()
    if len(role) > ROLE_MAX:
        flash(f"{_('Role')}: {_('At most {max} characters.').format(max=ROLE_MAX)}", "error")
        return redirect(back)
    person = _picked_person(session, request.form.get("target", ""))
    if person is None:
        return redirect(back)
    now = [p for p in _people_of(session, case) if p[0].id != person.id]
    if commit_or_flash(session, lambda: cases.set_people(
            session, case, [*now, (person, role)], current_user,
            expected_version=optional_int(request.form.get("version")))) is not None:
        flash(_("Saved."))
    return redirect(back)


@bp.post("/<int:case_id>/people/<int:person_id>/delete")
@login_required
def remove_person(case_id: int, person_id: int):
    session, case = db(), _get(case_id)
    if not cases.may_edit(session, case, current_user):
        raise Forbidden(_("You may not do this with this record."))
    now = _people_of(session, case)
    if all(p.id != person_id for p, _role in now) or \
            records.get(session, Person, person_id, current_user) is None:
        abort(404)
    if commit_or_flash(session, lambda: cases.set_people(
            session, case, [(p, r) for p, r in now if p.id != person_id], current_user,
            expected_version=optional_int(request.form.get("version")))) is not None:
        flash(_("Saved."))
    return redirect(url_for("cases.card", record_id=case.id, _anchor="people"))


def _people_of(session, case: Case) -> list[tuple[Person, str]]:
    """The case's people and roles as stored, all of them (the service refuses a list
    holding one the user may not see, rather than have it dropped unseen)."""
    found = [(session.get(Person, p.person_id), p.role) for p in case.people]
    return [(p, role) for p, role in found if p is not None]


def _picked_person(session, text: str) -> Person | None:
    """The person the add form names, or None with the reason flashed."""
    chosen = form_id(request.form.get("target_id"))
    if chosen is not None:
        person = records.get(session, Person, chosen, current_user)
        if person is None:
            flash(_("Choose a %(what)s from the list.", what=term("core.person", case="acc")),
                  "error")
        return person
    if not text.strip():
        flash(_("Type a name."), "error")
        return None
    found = links.find(session, "person", text[:200], current_user, limit=NAME_HITS)
    exact = [hit for hit in found if fold(hit[1]).strip() == fold(text).strip()]
    if len(exact) == 1 or len(found) == 1:
        return records.get(session, Person, (exact or found)[0][0], current_user)
    if not found:
        flash(_("Nothing found for “%(name)s” among the records you may see.",
                name=text.strip()), "error")
    else:
        flash(_("Several records answer to this name: choose one from the suggestions or "
                "type more of it."), "error")
    return None


# --- Moving ------------------------------------------------------------------------------

def _wants_json() -> bool:
    accepted = request.accept_mimetypes
    return request.is_json or accepted["application/json"] > accepted["text/html"]


@bp.post("/<int:case_id>/move")
@login_required
def move(case_id: int):
    """Take the case to another phase: the board posts JSON (``{ok, errors}``), the
    card's buttons a form (a refusal shows the card again with the reasons)."""
    session, case = db(), _get(case_id)
    posted = (request.get_json(silent=True) or {}) if request.is_json else request.form
    if not hasattr(posted, "get"):
        posted = {}
    target = str(posted.get("target") or "")
    comment = str(posted.get("comment") or "")
    version = optional_int(str(posted.get("version") or ""))
    errors, status = {}, 200
    try:
        workflow.move(session, _host(), case, target, current_user, comment, version)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        errors, status = exc.errors, 422
    except Forbidden as exc:
        session.rollback()
        errors, status = {"_": str(exc)}, 403
    if _wants_json():
        process = _host().processes.get(case.process_key)
        return jsonify(ok=not errors, errors=errors, phase=case.phase_key,
                       phase_name=workflow.phase_name(process, case.phase_key)
                       if process else case.phase_key, version=case.version), status
    if errors:
        return _card(case, errors, comment)
    flash(_("Moved to “%(phase)s”.", phase=workflow.phase_name(
        _host().processes[case.process_key], case.phase_key)))
    return redirect(url_for("cases.card", record_id=case.id))


# --- Approvals ---------------------------------------------------------------------------

@bp.post("/<int:case_id>/approvals")
@login_required
def ask(case_id: int):
    session, case = db(), _get(case_id)
    try:
        req = approvals.request(session, _host(), case, request.form.get("target", ""),
                                current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        _flash_errors(exc.errors)
    except Forbidden as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        who = session.get(User, req.approver_id) if req.approver_id else None
        flash(_("%(what)s asked of %(who)s.", what=term("core.approval").capitalize(),
                who=(who.full_name or who.email) if who else
                {r.key: r.name for r in roles.all_roles(session)}.get(req.approver_role,
                                                                     req.approver_role)))
    return redirect(url_for("cases.card", record_id=case.id))


@bp.post("/approvals/<int:req_id>/decide")
@login_required
def decide(req_id: int):
    session = db()
    req = session.get(ApprovalRequest, req_id)
    mine = {r.id for r in approvals.for_approver(session, current_user)}
    if req is None or (req.id not in mine
                       and records.get(session, Case, req.case_id, current_user) is None):
        abort(404)
    back = safe_next(request.form.get("back") or url_for("cases.card", record_id=req.case_id))
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")
    corrections = None
    if decision == "correct":
        corrections = {k: request.form.get(k, "") for k in ("amount", "cost")
                       if request.form.get(k, "").strip()}
        decision = "approve"
        if not corrections:
            flash(_("Enter the corrected amount or cost."), "error")
            return redirect(back)
    try:
        approvals.decide(session, _host(), req, decision, current_user, comment, corrections)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        _flash_errors(exc.errors, comment=_("Reason") if decision == "return" else None)
    except Forbidden as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("Approved.") if req.status == "approved"
              else _("Returned: %(reason)s", reason=req.comment))
    return redirect(back)


@bp.get("/approvals")
@login_required
def waiting():
    """The requests waiting for the user's decision."""
    session, host = db(), _host()
    found = approvals.for_approver(session, current_user)
    allowed = {r.id for r in found if r.requested_by_id != current_user.id
               or _self_approval(session, host.processes.get(r.case.process_key))}
    priced = set(session.scalars(select(Calculation.case_id).where(
        Calculation.case_id.in_([r.case_id for r in found])))) if found else set()
    return render_template("core/cases/approvals.html", requests=found, deciding=allowed,
                           users=users_by_id(session), priced=priced,
                           role_names={r.key: r.name for r in roles.all_roles(session)})


# --- Copies ------------------------------------------------------------------------------

@bp.post("/<int:case_id>/copy")
@login_required
def copy(case_id: int):
    session, case = db(), _get(case_id)
    try:
        made = cases.copy(session, _host(), case, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        _flash_errors(exc.errors)
        return redirect(url_for("cases.card", record_id=case.id))
    except Forbidden as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.card", record_id=case.id))
    flash(_("Copied; the copy starts from the beginning and needs its own approvals."))
    return redirect(url_for("cases.card", record_id=made.id))


def _flash_errors(errors: dict, **names) -> None:
    labels = {**_labels(), **{k: v for k, v in names.items() if v}}
    for key, message in errors.items():
        label = labels.get(key)
        flash(f"{label}: {message}" if label else message, "error")
