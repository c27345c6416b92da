"""The staff pages of calls for proposals (GR-3), under /grants/calls/: the list with
each call's deadline, the days left and how many applications it has, narrowed by
status, deadline, programme, grantor and words; the form of a new call and of a
correction (the required attachments one per line); and a call's own page with its
applications and the form that applies to it for a client firm, tied to the won
opportunity it was sold by (chosen from those still waiting for a milestone, or left
to be found). Organisations are named only to whoever may see them.

The grantor and the client are picked by name as on the card's "link a record" form:
names are offered as one types, and without script the typed name is looked up; when
several firms answer to it, the form comes back with them to choose from. Every change
goes through ``calls``, which checks who may make it; a refusal is rolled back and its
messages are shown under their fields, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from core import approvals, links, records, workflow
from core.errors import ValidationError
from core.menu import MenuItem
from core.models import Case, Organisation, User
from core.terms import term, upper_first
from core.text import fold
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, form_id, lines, optional_int
from plugins.grants import calls, schedules
from plugins.grants import fields as grant_fields
from plugins.grants.models import GrantCall

bp = Blueprint("grants_calls", __name__, url_prefix="/grants/calls", template_folder="templates")
MENU = [MenuItem("grants_calls.index", term="grants.call", section=("grants_calls",))]
FIELDS = ("title", "reference", "programme", "opens_on", "deadline", "budget", "max_rate",
          "description")
FILTERS = ("q", "status", "deadline_from", "deadline_to", "programme", "grantor_id")
APPLY_FIELDS = ("owner_id", "requested_amount", "project_value", "opportunity_id")
CHOICES = 20  # firms offered when several answer to a typed name


@dataclass
class Picked:
    """A record named on a form: its id, or why there is none, or those to choose from."""

    id: int | None = None
    typed: str = ""
    error: str = ""
    candidates: list = field(default_factory=list)


# --- The list ------------------------------------------------------------------------------

@bp.get("/", endpoint="index")
@login_required
def index():
    session, errors = db(), {}
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    try:
        found = calls.listed(session, {k: v for k, v in args.items() if v}, current_user)
    except ValidationError as exc:
        errors, found = exc.errors, []
    return render_template(
        "grants/calls.html", calls=found, args=args, errors=errors,
        grantors=calls.grantors(session, found, current_user),
        grantor_options=_grantor_options(session),
        counts=calls.application_counts(session, found, current_user),
        statuses=status_labels(), note=deadline_note, status_of=calls.status,
        may_manage=calls.may_manage(current_user), filtered=any(args.values()),
    ), 400 if errors else 200


def _grantor_options(session) -> list[tuple[str, str]]:
    """The grantors of the calls, for the filter."""
    ids = select(GrantCall.grantor_id).where(GrantCall.deleted_at.is_(None),
                                             GrantCall.grantor_id.is_not(None))
    return [(str(o.id), o.name) for o in session.scalars(
        records.visible(Organisation, current_user).where(Organisation.id.in_(ids))
        .order_by(Organisation.name_key))]


def status_labels() -> dict[str, str]:
    return {"open": _("taking applications"), "upcoming": _("not open yet"),
            "closed": _("closed")}


def deadline_note(call: GrantCall) -> str:
    """How far the deadline is, as the lists say it."""
    left = calls.days_left(call)
    if left < 0:
        return _("closed")
    if left == 0:
        return _("last day today")
    return ngettext("%(num)d day left", "%(num)d days left", left)


# --- A new call, a correction, the bin -----------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not calls.may_manage(current_user):
        abort(403)
    return _form(None)


@bp.route("/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    call = _call(call_id)
    if not calls.may_manage(current_user):
        abort(403)
    return _form(call)


@bp.post("/<int:call_id>/delete")
@login_required
def delete(call_id: int):
    session, call = db(), _call(call_id)
    if commit_or_flash(session, lambda: calls.delete(session, call, current_user)):
        flash(upper_first(_("%(call)s “%(title)s” was moved to the bin.",
                            call=term("grants.call"), title=call.title)))
        return redirect(url_for("grants_calls.index"))
    return redirect(url_for("grants_calls.detail", call_id=call.id))


def _form(call: GrantCall | None):
    session, errors, candidates = db(), {}, []
    values = _stored(session, call) if call is not None else {
        **dict.fromkeys(FIELDS, ""), "required_attachments": "", "target": "",
        "target_id": ""}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in (*FIELDS, "required_attachments",
                                                        "target", "target_id")}
        grantor = pick(session, values["target"], request.form.get("target_id"), optional=True)
        candidates = grantor.candidates
        data = {**{k: values[k] for k in FIELDS}, "required_attachments": lines(
            "required_attachments"), "grantor_id": grantor.id}
        if call is not None and grantor.id is not None and grantor.id == call.grantor_id:
            del data["grantor_id"]  # unchanged: kept even if the editor may not see it
        version = optional_int(request.form.get("version"))
        saved, errors = commit_or_errors(session, lambda: _save(
            session, call, data, version, grantor))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("grants_calls.detail", call_id=saved.id))
        values["target_id"] = str(grantor.id or "")
    return render_template("grants/call_form.html", call=call, values=values, errors=errors,
                           candidates=candidates), 422 if errors else 200


def _save(session, call: GrantCall | None, data: dict, version, grantor: Picked) -> GrantCall:
    """The call saved; a grantor that could not be picked is named with the rest."""
    try:
        if call is None:
            saved = calls.create(session, data, current_user)
        else:
            saved = calls.update(session, call, data, current_user,
                                 version if isinstance(version, int) else None)
    except ValidationError as exc:
        if grantor.error:
            exc.errors["grantor_id"] = grantor.error
        raise
    if grantor.error:
        raise ValidationError({"grantor_id": grantor.error})
    return saved


def _stored(session, call: GrantCall) -> dict:
    values = {k: "" if getattr(call, k) is None else str(getattr(call, k)) for k in FIELDS}
    grantor = _grantor(session, call)
    named = grantor.name if grantor else (_("A record you may not see") if call.grantor_id
                                          else "")
    return {**values, "required_attachments": "\n".join(call.required_attachments or []),
            "target": named, "target_id": str(call.grantor_id or "")}


def _grantor(session, call: GrantCall) -> Organisation | None:
    """The call's grantor, if the viewer may see it."""
    return records.get(session, Organisation, call.grantor_id, current_user) \
        if call.grantor_id else None


def pick(session, typed: str, chosen, optional: bool = False) -> Picked:
    """The organisation the form names: the one chosen from the suggestions or the list,
    else the only one (or the only one of exactly that name) the typed name finds."""
    typed = (typed or "").strip()[:200]
    if not typed:  # a name cleared leaves no choice behind it
        return Picked(error="" if optional else _(
            "Type the name of the %(what)s.", what=term("grants.client", case="gen")))
    chosen_id = form_id(chosen)
    if chosen_id is not None:
        return Picked(chosen_id, typed)
    found = links.find(session, "organisation", typed, current_user, limit=CHOICES + 1)
    exact = [hit for hit in found if fold(hit[1]).strip() == fold(typed)]
    if len(exact) == 1 or len(found) == 1:
        return Picked((exact or found)[0][0], typed)
    if not found:
        return Picked(typed=typed, error=_(
            "Nothing found for “%(name)s” among the records you may see.", name=typed))
    return Picked(typed=typed, error=_("Several records answer to this name: choose one."),
                  candidates=found[:CHOICES])


# --- A call's page and applying ------------------------------------------------------------

@bp.get("/<int:call_id>", endpoint="detail")
@login_required
def detail(call_id: int):
    return _detail(_call(call_id))


@bp.post("/<int:call_id>/apply")
@login_required
def apply(call_id: int):
    session, call = db(), _call(call_id)
    values = {k: request.form.get(k, "") for k in (*APPLY_FIELDS, "target", "target_id")}
    client = pick(session, values["target"], values["target_id"])
    data = {**{k: values[k] for k in APPLY_FIELDS}, "organisation_id": client.id,
            "owner_id": optional_int(values["owner_id"]),
            "opportunity_id": optional_int(values["opportunity_id"])}

    def write():
        try:
            made = calls.apply(session, _host(), call, data, current_user)
        except ValidationError as exc:
            if client.error:
                exc.errors["organisation_id"] = client.error
            raise
        return made

    made, errors = commit_or_errors(session, write)
    if not errors:
        flash(upper_first(_("%(application)s started: %(title)s",
                            application=term("grants.application"), title=made.title)))
        return redirect(url_for("cases.card", record_id=made.id))
    values["target_id"] = str(client.id or "")
    return _detail(session.get(GrantCall, call.id), values, errors, client.candidates), 422


def _detail(call: GrantCall, values: dict | None = None, errors: dict | None = None,
            candidates: list | None = None):
    session = db()
    found = calls.applications(session, call, current_user)
    clients = _organisations(session, {c.organisation_id for c in found})
    owners = _owner_options(session)
    values = values or {"target": "", "target_id": "", "owner_id": str(current_user.id),
                        "requested_amount": "", "project_value": "", "opportunity_id": ""}
    return render_template(
        "grants/call.html", call=call, applications=found, clients=clients,
        grantor=_grantor(session, call), opportunities=_opportunity_options(session),
        phase=_phase_name, requested=requested, owners=owners,
        owner_names=dict(owners), values=values, errors=errors or {},
        candidates=candidates or [], status=calls.status(call), statuses=status_labels(),
        note=deadline_note, money=approvals.money, rate=calls.rate,
        may_manage=calls.may_manage(current_user))


def _organisations(session, ids: set) -> dict[int, Organisation]:
    """The organisations of ``ids`` the viewer may see, by id."""
    ids = {i for i in ids if i is not None}
    return {o.id: o for o in session.scalars(records.visible(Organisation, current_user)
                                             .where(Organisation.id.in_(ids)))} if ids else {}


def _opportunity_options(session) -> list[tuple[str, str]]:
    """The won opportunities an application may be tied to: "title — client"."""
    found = schedules.to_choose(session, current_user)
    clients = _organisations(session, {c.organisation_id for c in found})
    return [(str(c.id), c.title + (f" — {clients[c.organisation_id].name}"
                                   if c.organisation_id in clients else "")) for c in found]


def _phase_name(case: Case) -> str:
    process = _host().processes.get(case.process_key)
    return workflow.phase_name(process, case.phase_key) if process else case.phase_key


def requested(case: Case) -> Decimal | None:
    """The grant requested on the application, as a number."""
    value = (case.custom or {}).get(grant_fields.REQUESTED)
    try:
        return Decimal(str(value["amount"])) if value else None
    except (KeyError, TypeError, ArithmeticError):
        return None


def _owner_options(session) -> list[tuple[str, str]]:
    return [(str(u.id), u.full_name or u.email) for u in session.scalars(
        select(User).where(User.active, User.kind == "staff")
        .order_by(User.full_name, User.email))]


def _call(call_id: int) -> GrantCall:
    found = calls.get(db(), call_id, current_user)
    if found is None:
        abort(404)
    return found


def _host():
    return current_app.extensions["kartoteka"].host
