"""Administrators' role pages: the roles, and for each one what it may do with every
type of record (none, own, team, all) and which permissions it grants."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import roles
from core.errors import ValidationError
from core.models import Role
from core.permissions import ACTIONS, ANY_TYPE
from core.web.admin import permission_required
from core.web.db import db
from core.web.fields import noun
from core.web.i18n import current_locale

bp = Blueprint("roles", __name__, url_prefix="/admin/roles")
manage = permission_required("core.manage_users")
ACTION_LABELS = {"read": _l("See"), "create": _l("Add"), "edit": _l("Change"),
                 "delete": _l("Delete"), "export": _l("Export")}
LEVEL_LABELS = {"none": _l("no"), "own": _l("own"), "team": _l("team's"), "all": _l("all")}


@dataclass(frozen=True)
class PermissionBox:
    key: str
    label: str
    owner: str


@bp.get("/")
@manage
def index():
    session = db()
    return render_template("core/admin/roles.html", roles=roles.all_roles(session),
                           holders={r.id: roles.holder_count(session, r)
                                    for r in roles.all_roles(session)})


@bp.route("/new", methods=["GET", "POST"])
@manage
def new():
    session, errors, values = db(), {}, {"key": "", "name": "", "description": ""}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        try:
            role = roles.create(session, values["key"], values["name"], values["description"],
                                current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Role “%(name)s” added; now say what it may do.", name=role.name))
            return redirect(url_for("roles.edit", role_id=role.id))
    return render_template("core/admin/roles_new.html", values=values, errors=errors)


@bp.route("/<int:role_id>", methods=["GET", "POST"])
@manage
def edit(role_id: int):
    session, errors = db(), {}
    role = _role(role_id)
    levels, granted = roles.access_of(session, role), set(roles.permissions_of(session, role))
    values = {"name": role.name, "description": role.description}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        levels = _posted_levels()
        granted = set(request.form.getlist("permissions"))
        try:
            roles.rename(session, role, values["name"], values["description"], current_user)
            roles.set_access(session, role, levels, current_user)
            roles.set_permissions(session, role, sorted(granted), current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Role “%(name)s” saved.", name=role.name))
            return redirect(url_for("roles.index"))
    return render_template("core/admin/roles_edit.html", role=role, values=values,
                           errors=errors, levels=levels, granted=granted, rows=_rows(),
                           actions=ACTION_LABELS, level_labels=LEVEL_LABELS,
                           permission_boxes=_permission_boxes(),
                           holders=roles.holder_count(session, role))


@bp.post("/<int:role_id>/delete")
@manage
def delete(role_id: int):
    session = db()
    role = _role(role_id)
    try:
        roles.remove(session, role, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("roles.edit", role_id=role_id))
    flash(_("Role “%(name)s” deleted.", name=role.name))
    return redirect(url_for("roles.index"))


def _role(role_id: int) -> Role:
    role = db().get(Role, role_id)
    if role is None:
        abort(404)
    return role


def _rows() -> list[tuple[str, str]]:
    """The matrix's rows: the default for every type, then each type by its term."""
    return [(ANY_TYPE, _("Every type (default)"))] + [
        (key, noun(key)) for key in roles.scoped_types()]


def _posted_levels() -> dict[tuple[str, str], str]:
    posted = {(record_type, action): request.form.get(f"level-{record_type}-{action}", "")
              for record_type, _label in _rows() for action in ACTIONS}
    return {cell: level for cell, level in posted.items() if level}


def _permission_boxes() -> list[PermissionBox]:
    locale = current_locale()
    return sorted((PermissionBox(p.key, p.label(locale), p.key.split(".")[0])
                   for p in roles.registered(db()).values()),
                  key=lambda box: (box.owner != "core", box.owner, box.label))
