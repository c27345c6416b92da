"""Roles: administrators define them, grant them permissions and record access, and
give them to staff accounts. Every change is audited; it takes effect on the next
request of the accounts concerned (grants are read per request)."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import audit, permissions, records
from core.errors import ValidationError
from core.models import Role, RoleAccess, RolePermission, User, UserRole
from core.permissions import ACTIONS, ANY_TYPE, LEVELS

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
STAFF = "staff"


def all_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.name)))


def find(session: Session, key: str) -> Role | None:
    return session.scalar(select(Role).where(Role.key == key))


def registered(session: Session) -> dict:
    """Permission key -> Permission, from the core and every enabled plugin."""
    host = session.info.get("host")
    return dict(host.permissions) if host is not None else {
        p.key: p for p in permissions.CORE_PERMISSIONS}


def scoped_types() -> list[str]:
    """The record types a role gives access levels for."""
    return sorted(key for key, model in records.record_types().items()
                  if permissions.is_scoped(model))


def create(session: Session, key: str, name: str, description: str = "", actor=None) -> Role:
    key, name = key.strip(), name.strip()
    errors = _name_errors(name)
    if not KEY_RE.match(key):
        errors["key"] = _("Use 2 to 64 lower-case letters, digits or _, starting with a "
                          "letter.")
    elif find(session, key) is not None:
        errors["key"] = _("A role with this key already exists.")
    if errors:
        raise ValidationError(errors)
    role = Role(key=key, name=name, description=description.strip()[:500])
    session.add(role)
    session.flush()
    audit.write(session, role, "create", {"key": (None, key), "name": (None, name)}, actor)
    return role


def rename(session: Session, role: Role, name: str, description: str = "", actor=None) -> Role:
    name = name.strip()
    errors = _name_errors(name)
    if errors:
        raise ValidationError(errors)
    changes = {k: (getattr(role, k), v) for k, v in
               (("name", name), ("description", description.strip()[:500]))
               if getattr(role, k) != v}
    for key, (_old, new) in changes.items():
        setattr(role, key, new)
    if changes:
        audit.write(session, role, "update", changes, actor)
    return role


def remove(session: Session, role: Role, actor=None) -> None:
    """Delete a role; its holders lose what it gave them. Built-in roles stay."""
    if role.builtin:
        raise ValidationError(_("A built-in role cannot be deleted; change what it grants "
                                "instead."))
    holders = holder_count(session, role)
    audit.write(session, role, "delete", {"key": (role.key, None),
                                          "holders": (holders, None)}, actor)
    session.delete(role)
    session.flush()


def set_access(session: Session, role: Role, levels: dict[tuple[str, str], str],
               actor=None) -> None:
    """Replace the role's access levels: ``{(record type or "*", action): level}``; a
    type left out follows the role's "*" level for the action."""
    known = set(scoped_types()) | {ANY_TYPE}
    errors = {f"{rt}.{action}": _("Choose none, own, team or all.")
              for (rt, action), level in levels.items()
              if rt not in known or action not in ACTIONS or level not in LEVELS}
    if errors:
        raise ValidationError(errors)
    old = access_of(session, role)
    session.execute(delete(RoleAccess).where(RoleAccess.role_id == role.id))
    session.add_all(RoleAccess(role_id=role.id, record_type=rt, action=action, level=level)
                    for (rt, action), level in levels.items())
    session.flush()
    new = access_of(session, role)
    changes = {f"{rt}.{action}": (old.get((rt, action), "none"), new.get((rt, action), "none"))
               for rt, action in set(old) | set(new)
               if old.get((rt, action), "none") != new.get((rt, action), "none")}
    if changes:
        audit.write(session, role, "permissions", changes, actor)


def access_of(session: Session, role: Role) -> dict[tuple[str, str], str]:
    rows = session.scalars(select(RoleAccess).where(RoleAccess.role_id == role.id))
    return {(r.record_type, r.action): r.level for r in rows}


def set_permissions(session: Session, role: Role, keys: list[str], actor=None) -> None:
    unknown = sorted(set(keys) - set(registered(session)))
    if unknown:
        raise ValidationError({"permissions": _("Unknown permissions: %(keys)s",
                                                keys=", ".join(unknown))})
    old = set(permissions_of(session, role))
    session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
    session.add_all(RolePermission(role_id=role.id, permission=k) for k in sorted(set(keys)))
    session.flush()
    added, removed = sorted(set(keys) - old), sorted(old - set(keys))
    if added or removed:
        audit.write(session, role, "permissions",
                    {"permissions": (sorted(old), sorted(set(keys)))}, actor)


def permissions_of(session: Session, role: Role) -> list[str]:
    return list(session.scalars(select(RolePermission.permission)
                                .where(RolePermission.role_id == role.id)))


def assign(session: Session, user: User, role_keys: list[str], actor=None,
           audited: bool = True) -> None:
    """Give ``user`` exactly these roles; the change is on the account's history
    (``audited=False``: the caller's own entry says it, as a new account's does)."""
    wanted = {key: find(session, key) for key in set(role_keys)}
    unknown = sorted(key for key, role in wanted.items() if role is None)
    if unknown:
        raise ValidationError({"roles": _("Unknown roles: %(keys)s", keys=", ".join(unknown))})
    old = roles_of(session, user)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role_id=role.id) for role in wanted.values())
    session.flush()
    new = sorted(wanted)
    if audited and sorted(old) != new:
        audit.write(session, user, "permissions", {"roles": (sorted(old), new)}, actor)
    permissions.forget(user)


def roles_of(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(Role.key).join(UserRole, UserRole.role_id == Role.id)
                                .where(UserRole.user_id == user.id).order_by(Role.key)))


def holder_count(session: Session, role: Role) -> int:
    return session.scalar(select(func.count()).select_from(UserRole)
                          .where(UserRole.role_id == role.id)) or 0


def _name_errors(name: str) -> dict:
    if not name:
        return {"name": _("Enter a name.")}
    if len(name) > 100:
        return {"name": _("At most 100 characters.")}
    return {}
