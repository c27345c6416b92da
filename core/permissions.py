"""Who may do what: permission keys, record scopes and the one check both doors use.

Permission keys are '<owner>.<action>' (``core.manage_users``, ``training.enrol``),
registered by the core and plugins and granted to roles; the owner part is checked at
start-up so two plugins never claim one key.

Record access is a level per role, record type and action (read, create, edit,
delete, export): none, own (the user owns, is assigned or created it), team (someone
in one of the user's teams does) or all. A user's level is the highest any of their
roles gives. ``scope`` turns it into a SQL condition, which ``records.visible`` applies
to every list, search, count, export and API query; ``require`` checks a write before
anything is written. Administrators reach everything; a portal account reaches only
its own organisation, and only a portal administrator changes anything there: its
people and their memberships (``_portal_require``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, event, exists, false, or_, select
from sqlalchemy.orm import Session, object_session

from core.errors import Forbidden, ValidationError

ACTIONS = ("read", "create", "edit", "delete", "export")
LEVELS = ("none", "own", "team", "all")
ANY_TYPE = "*"  # a role's level for record types it names no level for


@dataclass(frozen=True)
class Permission:
    """A thing a role may be allowed to do.

    :param key: '<owner>.<action>', stable: stored in role grants.
    :param title: ``{"pl": ..., "en": ...}`` shown in the role editor.
    """

    key: str
    title: dict[str, str]

    def label(self, locale: str = "pl") -> str:
        return self.title.get(locale) or self.title.get("en") or self.key


def _core(action: str, pl: str, en: str) -> Permission:
    return Permission(f"core.{action}", {"pl": pl, "en": en})


CORE_PERMISSIONS = [
    _core("manage_plugins", "Zarządzanie wtyczkami", "Manage plugins"),
    _core("manage_users", "Zarządzanie kontami i rolami", "Manage accounts and roles"),
    _core("manage_fields", "Zarządzanie polami własnymi", "Manage custom fields"),
    _core("manage_terms", "Zarządzanie terminologią", "Manage terminology"),
    _core("view_audit", "Przeglądanie dziennika zmian", "View the audit trail"),
    _core("view_reports", "Raporty użycia i jakości danych", "Usage and data-quality reports"),
    _core("import", "Import danych", "Import data"),
    _core("manage_processes", "Ustawienia procesów (progi, terminy, kontrole)",
          "Process settings (limits, deadlines, checks)"),
    _core("manage_templates", "Szablony dokumentów i serie numeracji",
          "Document templates and number series"),
    _core("send_mailings", "Wysyłka korespondencji seryjnej", "Send mailings"),
    _core("manage_webhooks", "Webhooki dla integracji", "Webhooks for integrations"),
    _core("manage_forms", "Formularze publiczne", "Public forms"),
    _core("manage_settings", "Wygląd: nazwa, logo, kolor i powitanie w portalu",
          "Branding: name, logo, colour and the portal's welcome"),
    _core("billing", "Rozliczenia: faktury, korekty i płatności",
          "Billing: invoices, corrections and payments"),
    _core("manage_price_lists", "Cenniki: pozycje i ceny", "Price lists: items and prices"),
    _core("calculate", "Kalkulacje spraw: wersje, przesłanie, decyzja klienta",
          "Calculations of cases: versions, sending, the customer's decision"),
]


@dataclass(frozen=True)
class Grants:
    """What one account may do, read once per request from its roles and teams."""

    user_id: int | None
    admin: bool = False
    permissions: frozenset[str] = frozenset()
    role_keys: frozenset[str] = frozenset()
    # One mapping per role: (record type or ANY_TYPE, action) -> level.
    roles: tuple[Mapping[tuple[str, str], str], ...] = ()
    teammates: tuple[int, ...] = ()  # users sharing a team with this one, itself included
    teams: tuple[int, ...] = ()
    portal_organisation: int | None = None
    portal_admin: bool = False  # a portal account that keeps its organisation's people
    # Permission keys an API token is limited to; None: the user's own.
    token_scopes: frozenset[str] | None = field(default=None)

    def level(self, record_type: str, action: str) -> str:
        if self.admin:
            return "all"
        if self.portal_organisation is not None:
            return "none"  # portal rules are not role levels: see _portal_scope
        found = [role.get((record_type, action)) or role.get((ANY_TYPE, action)) or "none"
                 for role in self.roles]
        return max(found, key=LEVELS.index, default="none")

    def can(self, key: str) -> bool:
        if self.token_scopes is not None and key not in self.token_scopes:
            return False
        return self.admin or key in self.permissions


SYSTEM = Grants(user_id=None, admin=True)


def grants(actor, session: Session | None = None) -> Grants:
    """The actor's grants; None (a job, the CLI, a migration) is the system itself.
    ``session`` reads them for an actor loaded in another session."""
    if actor is None:
        return SYSTEM
    cached = actor.__dict__.get("_kartoteka_grants")
    if cached is None:
        session = object_session(actor) or session
        if session is None and actor.__dict__.get(BIND) is not None:
            with Session(actor.__dict__[BIND]) as own:
                cached = _load(own, actor)
        else:
            cached = _load(session, actor)
        actor.__dict__["_kartoteka_grants"] = cached
    return cached


# The database an account was read from, so that its grants can be read after the
# session that loaded it has closed (a service given an account from another session).
BIND = "_kartoteka_bind"


@event.listens_for(Session, "after_attach")
@event.listens_for(Session, "loaded_as_persistent")
def _remember_bind(session: Session, instance) -> None:
    if getattr(type(instance), "__tablename__", None) == "users" and session.bind is not None:
        instance.__dict__[BIND] = session.bind


def forget(actor) -> None:
    """Drop the grants read for ``actor``: its roles or teams changed."""
    if actor is not None:
        actor.__dict__.pop("_kartoteka_grants", None)


def limit_to(actor, scopes) -> None:
    """Limit ``actor`` to the permission keys of the API token it came with."""
    if scopes:
        base = grants(actor)
        actor.__dict__["_kartoteka_grants"] = Grants(**{**base.__dict__,
                                                        "token_scopes": frozenset(scopes)})


def can(actor, key: str) -> bool:
    return grants(actor).can(key)


def level(actor, record_type: str, action: str) -> str:
    return grants(actor).level(record_type, action)


def _load(session: Session | None, user) -> Grants:
    if user.is_admin:
        return Grants(user_id=user.id, admin=True)
    if getattr(user, "kind", "staff") == "portal":
        return Grants(user_id=user.id, portal_organisation=user.organisation_id or 0,
                      portal_admin=bool(user.portal_admin))
    if session is None:
        raise RuntimeError("The actor is not attached to a database session.")
    from core.models import Role, RoleAccess, RolePermission, TeamMember, UserRole

    held = session.execute(select(Role.id, Role.key).join(UserRole, UserRole.role_id == Role.id)
                           .where(UserRole.user_id == user.id)).all()
    role_ids = [role_id for role_id, _key in held]
    per_role: dict[int, dict] = {role_id: {} for role_id in role_ids}
    for row in session.scalars(select(RoleAccess).where(RoleAccess.role_id.in_(role_ids))):
        per_role[row.role_id][(row.record_type, row.action)] = row.level
    keys = session.scalars(select(RolePermission.permission)
                           .where(RolePermission.role_id.in_(role_ids)))
    teams = tuple(session.scalars(select(TeamMember.team_id)
                                  .where(TeamMember.user_id == user.id)))
    mates = set(session.scalars(select(TeamMember.user_id)
                                .where(TeamMember.team_id.in_(teams)))) | {user.id}
    return Grants(user_id=user.id, permissions=frozenset(keys), roles=tuple(per_role.values()),
                  role_keys=frozenset(key for _id, key in held),
                  teammates=tuple(sorted(mates)), teams=teams)


# -- Record scopes ---------------------------------------------------------------------

def is_scoped(model: type) -> bool:
    """Record types whose access roles decide (others follow a parent or a permission)."""
    return isinstance(getattr(model, "record_type", None), str) \
        and getattr(model, "scoped", True)


def scope(model: type, actor, action: str = "read") -> ColumnElement | None:
    """The SQL condition limiting ``model``'s rows to what ``actor`` may ``action``;
    None when nothing is hidden."""
    found = grants(actor)
    if found.admin:
        return None
    if found.portal_organisation is not None:
        return _portal_scope(model, found.portal_organisation)
    if not is_scoped(model):
        return None
    reach = found.level(model.record_type, action)
    if reach == "all":
        return None
    if reach == "none":
        return false()
    users = [found.user_id] if reach == "own" else list(found.teammates)
    teams = list(found.teams) if reach == "team" else []
    return owned_by(model, users, teams)


def owned_by(model: type, users: list[int], teams: list[int]) -> ColumnElement:
    """Rows one of ``users`` owns, is assigned or created (when nobody owns them), or
    that belong to one of ``teams``; a model may say more with ``owned_by``."""
    own = getattr(model, "owned_by", None)
    if own is not None:
        return own(users, teams)
    conditions = [getattr(model, column).in_(users) for column in owner_columns(model)]
    if hasattr(model, "created_by_id"):
        unowned = [getattr(model, column).is_(None) for column in owner_columns(model)]
        conditions.append(model.created_by_id.in_(users) if not unowned
                          else (model.created_by_id.in_(users) & _all(unowned)))
    if teams and hasattr(model, "team_id"):
        conditions.append(model.team_id.in_(teams))
    return or_(*conditions) if conditions else false()


def owner_columns(model: type) -> tuple[str, ...]:
    """Columns naming the staff member a record belongs to (``owner_columns`` on the
    model; ``owner_id`` when it has one)."""
    declared = getattr(model, "owner_columns", None)
    if declared is not None:
        return tuple(declared)
    return ("owner_id",) if hasattr(model, "owner_id") else ()


def _all(conditions: list[ColumnElement]) -> ColumnElement:
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _portal_scope(model: type, organisation_id: int) -> ColumnElement:
    """A portal account sees its organisation, its units and its people, nothing else,
    unless a plugin's model says what of its own it may see (``portal_scope``)."""
    from core.models import Membership, Organisation, OrgUnit, Person

    if model is Organisation:
        return Organisation.id == organisation_id
    if model is OrgUnit:
        return OrgUnit.organisation_id == organisation_id
    if model is Person:
        return exists().where(Membership.person_id == Person.id,
                              Membership.organisation_id == organisation_id)
    own = getattr(model, "portal_scope", None)
    return own(organisation_id) if own is not None else false()


# -- Checks before a write -------------------------------------------------------------

def require(session: Session, actor, record, action: str, changes: dict | None = None) -> None:
    """Refuse a write the actor may not make, before anything is written.

    ``action`` is create, edit or delete. An existing record must be within the actor's
    reach for the action; the owner a create or edit gives must be within it too, so
    nobody hands a record to someone they may not give it to.
    """
    model = type(record)
    found = grants(actor, session)
    if found.admin:
        return
    if found.portal_organisation is not None:
        _portal_require(session, found, record, action, changes)
        return
    if not is_scoped(model):
        return
    reach = found.level(model.record_type, action)
    if reach == "none":
        raise Forbidden(_("You may not do this with this record."))
    if action != "create" and not _within(session, record, scope(model, actor, action)):
        raise Forbidden(_("You may not do this with this record."))
    _check_owners(record, found, reach, changes)


def _within(session: Session, record, condition) -> bool:
    if condition is None:
        return True
    model = type(record)
    return session.scalar(select(model.id).where(model.id == record.id, condition)) \
        is not None


def _check_owners(record, found: Grants, reach: str, changes: dict | None) -> None:
    if reach == "all":
        return
    allowed = {found.user_id} if reach == "own" else set(found.teammates)
    errors = {}
    for column in owner_columns(type(record)):
        new = changes[column][1] if changes and column in changes \
            else getattr(record, column, None) if changes is None else None
        if new is not None and new not in allowed:
            errors[column] = _("You may not give this record to that person.")
    if errors:
        raise ValidationError(errors)


# -- What a portal account may change ------------------------------------------------------

# A portal administrator keeps its organisation's people: their names and contact data,
# and their memberships there (which also move the organisation's card). Staff fields
# (owner, notes, PESEL, custom fields) and everything else stay the staff's.
PORTAL_PERSON_CHANGES = frozenset({"first_name", "last_name", "name_key", "emails", "phones",
                                   "addresses", "memberships"})
PORTAL_ORGANISATION_CHANGES = frozenset({"memberships"})
PORTAL_MEMBERSHIP_CHANGES = frozenset({"end_date"})
# Columns a new record has whoever creates it.
_BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "created_by_id", "updated_by_id",
                          "version"})
# session.info key: people a portal account created in the open transaction, with the
# organisation each must have joined by the commit.
PORTAL_NEW_PEOPLE = "kartoteka_portal_new_people"


def _portal_require(session: Session, found: Grants, record, action: str,
                    changes: dict | None) -> None:
    """A portal administrator adds and edits its organisation's people and starts and
    ends their memberships there; a plugin's model may allow more with a classmethod
    ``portal_may(session, grants, record, action, changes)``; nothing else is changed
    by a portal account. Records of another organisation are refused here as well,
    though pages never find them."""
    from core.models import Membership, Organisation, OrgUnit, Person

    model = type(record)
    if model not in (Membership, OrgUnit) and not is_scoped(model):
        return  # its own account, the events on timelines: as for anyone
    org = found.portal_organisation
    if found.portal_admin:
        if model is Person and action == "create" and _portal_new_person(record):
            session.info.setdefault(PORTAL_NEW_PEOPLE, []).append((record, org))
            return
        if model is Person and action == "edit" and _only(changes, PORTAL_PERSON_CHANGES) \
                and _within(session, record, _portal_scope(Person, org)):
            return
        if model is Organisation and action == "edit" and record.id == org \
                and _only(changes, PORTAL_ORGANISATION_CHANGES):
            return
        if model is Membership and record.organisation_id == org \
                and _portal_membership(session, record, action, changes, org):
            return
    own = getattr(model, "portal_may", None)  # a plugin's record says what it allows
    if own is not None and own(session, found, record, action, changes or {}):
        return
    raise Forbidden(_("A portal account cannot change this record."))


def _only(changes: dict | None, allowed: frozenset[str]) -> bool:
    """Something changes, and only what ``allowed`` names (an empty change is a check
    made before work on the record, such as making a document: not the portal's)."""
    return bool(changes) and set(changes) <= allowed


def _portal_new_person(person) -> bool:
    from sqlalchemy import inspect

    given = {a.key for a in inspect(type(person)).column_attrs
             if getattr(person, a.key) not in (None, "", {}, [])}
    return given - _BOOKKEEPING <= PORTAL_PERSON_CHANGES


def _portal_membership(session: Session, membership, action: str, changes: dict | None,
                       org: int) -> bool:
    """Ending one of the organisation's memberships; starting one for someone already
    the organisation's (or just added by this account), never pulling in a stranger."""
    from core.models import Person

    if action == "edit":
        return _only(changes, PORTAL_MEMBERSHIP_CHANGES)
    if action != "create":
        return False
    new = session.info.get(PORTAL_NEW_PEOPLE, [])
    return any(person.id == membership.person_id for person, _org in new) or \
        session.scalar(select(Person.id).where(Person.id == membership.person_id,
                                               _portal_scope(Person, org))) is not None


@event.listens_for(Session, "before_commit")
def _portal_people_belong(session: Session) -> None:
    """A person a portal account adds must have joined its organisation by the commit:
    else it would be nobody's, out of the account's sight (an API call alone)."""
    from core.models import Membership

    for person, org in session.info.get(PORTAL_NEW_PEOPLE, []):
        joined = select(Membership.id).where(Membership.person_id == person.id,
                                             Membership.organisation_id == org)
        if person.id is None or session.scalar(joined) is None:
            raise Forbidden(_("A portal account cannot change this record."))
    session.info.pop(PORTAL_NEW_PEOPLE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_portal_people(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed or rolled back: the list was this one's
        session.info.pop(PORTAL_NEW_PEOPLE, None)
