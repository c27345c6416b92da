"""Administrators' account pages: staff accounts, their roles and teams, the organisation
chart, switching an account off and on, the teams themselves, and the portal accounts of
organisations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core import memberships, org_chart, records, roles, teams, users
from core.errors import ValidationError
from core.models import Organisation, Person, User
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import form_id, optional_int

bp = Blueprint("users", __name__, url_prefix="/admin/users")
manage = permission_required("core.manage_users")


@bp.get("/")
@manage
def index():
    session = db()
    accounts = session.scalars(select(User).where(User.kind == "staff")
                               .order_by(User.active.desc(), User.full_name, User.email)).all()
    return render_template("core/admin/users.html", accounts=accounts,
                           roles_of={u.id: roles.roles_of(session, u) for u in accounts},
                           teams_of={u.id: [t.name for t in teams.teams_of(session, u)]
                                     for u in accounts},
                           role_names={r.key: r.name for r in roles.all_roles(session)},
                           names={u.id: u.full_name or u.email for u in accounts},
                           team_errors={}, team_name="", portal=_portal_accounts())


@bp.get("/chart")
@manage
def chart():
    """The staff organisation chart: who answers to whom."""
    return render_template("core/admin/users_chart.html", tops=org_chart.chart(db()))


@bp.route("/new", methods=["GET", "POST"])
@manage
def new():
    session, errors = db(), {}
    values = {"email": "", "full_name": "", "is_admin": False,
              "roles": [roles.STAFF], "teams": [], "supervisor_id": None}
    if request.method == "POST":
        values = _posted()
        try:
            user = users.create_user(session, values["email"], request.form.get("password", ""),
                                     values["full_name"], values["is_admin"], current_user,
                                     roles=values["roles"])
            teams.set_teams(session, user, values["teams"], current_user)
            users.set_supervisor(session, user, values["supervisor_id"], current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Account %(email)s created; give its owner the password you chose.",
                    email=user.email))
            return redirect(url_for("users.index"))
    return render_template("core/admin/users_form.html", account=None, values=values,
                           errors=errors, **_choices(None))


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@manage
def edit(user_id: int):
    session, errors = db(), {}
    account = _account(user_id)
    values = {"email": account.email, "full_name": account.full_name,
              "is_admin": account.is_admin, "roles": roles.roles_of(session, account),
              "teams": [t.id for t in teams.teams_of(session, account)],
              "supervisor_id": account.supervisor_id}
    if request.method == "POST":
        values = {**_posted(), "email": account.email}
        if "supervisor_id" not in request.form:  # a form without the field keeps it
            values["supervisor_id"] = account.supervisor_id
        try:
            users.update_account(session, account, values["full_name"], values["is_admin"],
                                 current_user)
            roles.assign(session, account, values["roles"], current_user)
            teams.set_teams(session, account, values["teams"], current_user)
            users.set_supervisor(session, account, values["supervisor_id"], current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Account %(email)s saved.", email=account.email))
            return redirect(url_for("users.index"))
    return render_template("core/admin/users_form.html", account=account, values=values,
                           errors=errors, **_choices(account))


@bp.post("/<int:user_id>/active")
@manage
def set_active(user_id: int):
    """Switch an account off (its sessions and tokens stop at once) or on again."""
    session = db()
    account = _account(user_id, ("staff", "portal"))
    if account.id == current_user.id:
        flash(_("You cannot switch off your own account."), "error")
        return redirect(url_for("users.edit", user_id=user_id))
    if request.form.get("active") == "1":
        users.activate(session, account, current_user)
        message = _("Account %(email)s switched on.", email=account.email)
    else:
        users.deactivate(session, account, current_user)
        message = _("Account %(email)s switched off; its sessions have ended.",
                    email=account.email)
    session.commit()
    flash(message)
    return redirect(url_for("users.index"))


@bp.post("/teams")
@manage
def new_team():
    session = db()
    try:
        team = teams.create_team(session, request.form.get("name", ""), current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    else:
        flash(_("Team “%(name)s” added.", name=team.name))
    return redirect(url_for("users.index"))


def _account(user_id: int, kinds: tuple[str, ...] = ("staff",)) -> User:
    account = db().get(User, user_id)
    if account is None or account.kind not in kinds:
        abort(404)
    return account


def _portal_accounts() -> list[tuple[User, str, str]]:
    """Portal accounts with the names of their organisation and person."""
    rows = db().execute(
        select(User, Organisation.name, Person.first_name, Person.last_name)
        .join(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(Person, Person.id == User.person_id)
        .where(User.kind == "portal").order_by(Organisation.name_key, User.email)).all()
    return [(u, org, f"{first or ''} {last or ''}".strip()) for u, org, first, last in rows]


@bp.route("/portal/new", methods=["GET", "POST"])
@manage
def new_portal():
    """A portal account for one organisation: chosen first, so that the person it
    stands for is chosen among that organisation's people."""
    session, errors = db(), {}
    organisation = records.get(session, Organisation,
                               form_id(request.values.get("organisation_id")) or 0,
                               current_user)
    values = {"email": "", "full_name": "", "person_id": None, "portal_admin": False}
    if organisation is not None and request.method == "POST":
        values = {"email": request.form.get("email", ""),
                  "full_name": request.form.get("full_name", ""),
                  "person_id": form_id(request.form.get("person_id")),
                  "portal_admin": request.form.get("portal_admin") == "1"}
        try:
            user = users.create_user(
                session, values["email"], request.form.get("password", ""),
                values["full_name"], actor=current_user, portal_of=organisation,
                person=_chosen_person(values["person_id"]),
                portal_admin=values["portal_admin"])
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Portal account %(email)s created for %(organisation)s; give its owner "
                    "the password you chose.", email=user.email, organisation=organisation.name))
            return redirect(url_for("users.index"))
    return render_template("core/admin/portal_form.html", organisation=organisation,
                           values=values, errors=errors, **_portal_choices(organisation))


def _chosen_person(person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    person = records.get(db(), Person, person_id, current_user)
    if person is None:
        raise ValidationError({"person_id": _("Choose a person from the list.")})
    return person


def _portal_choices(organisation: Organisation | None) -> dict:
    """The organisations to choose from, then that organisation's people."""
    session = db()
    if organisation is None:
        found = session.scalars(records.visible(Organisation, current_user)
                                .order_by(Organisation.name_key).limit(1000)).all()
        return {"organisations": [(str(o.id), o.name) for o in found], "people": []}
    members = {m.person.id: m.person
               for m in memberships.history(session, organisation=organisation)}
    return {"organisations": [], "people": sorted(
        ((str(p.id), f"{p.last_name} {p.first_name}") for p in members.values()),
        key=lambda option: option[1])}


def _posted() -> dict:
    return {"email": request.form.get("email", ""),
            "full_name": request.form.get("full_name", ""),
            "is_admin": request.form.get("is_admin") == "1",
            "roles": request.form.getlist("roles"),
            "teams": [i for i in map(form_id, request.form.getlist("teams")) if i is not None],
            "supervisor_id": optional_int(request.form.get("supervisor_id"))}


def _choices(account: User | None) -> dict:
    session = db()
    current = account.supervisor_id if account is not None else None
    others = session.scalars(select(User).where(User.kind == "staff",
                                                User.active | (User.id == current))
                             .order_by(User.full_name, User.email)).all()
    return {"all_roles": roles.all_roles(session), "all_teams": teams.all_teams(session),
            "supervisors": [(str(u.id), u.full_name or u.email) for u in others
                            if account is None or u.id != account.id]}
