"""The audit trail in the web interface: a record's change history, the administrators'
view of the whole trail with filters and downloads, and the door of web requests."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from core import audit, exporting, organisations, records, usage
from core import fields as custom_fields
from core.db import utcnow
from core.importing import FIELDS
from core.models import AuditEntry, FieldDefinition, Organisation, Person, User
from core.tasks import local_zone
from core.terms import term
from core.web.admin import permission_required
from core.web.db import db
from core.web.exports import FORMATS
from core.web.forms import form_id
from core.web.i18n import current_locale

bp = Blueprint("audit", __name__)
ON_CARD = 5  # newest entries shown on a card; the rest on the history page
CARDS = {"organisation": (Organisation, "organisations.card", "audit.organisation_history"),
         "person": (Person, "people.card", "audit.person_history")}
ACTION_LABELS = {"create": _l("Created"), "update": _l("Changed"),
                 "delete": _l("Moved to the bin"), "restore": _l("Restored"),
                 "purge": _l("Deleted for good"), "merge": _l("Merged"),
                 "move": _l("Moved to another phase")}
DOOR_LABELS = {"ui": _l("Web interface"), "api": "API", "import": _l("Import"),
               "job": _l("Scheduled job"), "cli": _l("Command line"), "form": _l("Public form"),
               "system": _l("System")}
# Names of what records own, and of fields that several kinds of record share.
FIELD_LABELS = {
    "emails": _l("E-mail addresses"), "phones": _l("Phones"), "addresses": _l("Addresses"),
    "tags": _l("Tags"), "memberships": _l("Memberships"), "attendees": _l("Attendees"),
    "merged": _l("Merged with"), "merged_into": _l("Merged into"),
    "deleted_at": _l("In the bin since"), "owner_id": _l("Owner"), "title": _l("Title"),
    "location": _l("Location"), "starts_at": _l("Starts"), "ends_at": _l("Ends"),
    "role": _l("Role"), "start_date": _l("From"), "end_date": _l("Until"),
}


API_PATH = "/api/"  # core.api.PREFIX's first part (importing it here would be circular)


def init_app(app: Flask) -> None:
    """Web requests come through the "ui" door, REST API calls through "api"; the pages
    of this module."""
    app.before_request(_enter_door)
    app.teardown_request(_leave)
    app.register_blueprint(bp)
    app.jinja_env.globals["change_history"] = card_history


def _enter_door() -> None:
    g.audit_door = audit.enter("api" if request.path.startswith(API_PATH) else "ui")


def _leave(_exc=None) -> None:
    token = g.pop("audit_door", None)
    if token is not None:
        audit.leave(token)


# --- A record's history ------------------------------------------------------------------

@dataclass
class Shown:
    """An entry as a person reads it."""

    entry: AuditEntry
    who: str
    door: str
    action: str
    record: str  # the type of record and what it is called
    link: str | None
    changes: list[tuple[str, str, str]]  # label, old, new


@dataclass
class CardHistory:
    rows: list[Shown]
    more: str | None  # the full history's address, when the card shows only the newest


def card_history(record) -> CardHistory:
    """The newest entries of a record, for its card."""
    record_type = audit.record_type_of(record)
    found = audit.page(db(), audit.of_record(record_type, record.id), size=ON_CARD)
    more = url_for(CARDS[record_type][2], record_id=record.id) \
        if found.next_before is not None and record_type in CARDS else None
    return CardHistory(present(found.entries), more)


@bp.get("/organisations/<int:record_id>/history")
@login_required
def organisation_history(record_id: int):
    return _history("organisation", record_id)


@bp.get("/people/<int:record_id>/history")
@login_required
def person_history(record_id: int):
    return _history("person", record_id)


def _history(record_type: str, record_id: int):
    model, card, here = CARDS[record_type]
    record = records.get(db(), model, record_id, current_user, include_deleted=True)
    if record is None:
        abort(404)
    found = audit.page(db(), audit.of_record(record_type, record_id),
                       form_id(request.args.get("before")))
    more = url_for(here, record_id=record_id, before=found.next_before) \
        if found.next_before is not None else None
    return render_template("core/audit/record.html", record=record, name=audit.label_of(record),
                           card=url_for(card, record_id=record_id),
                           rows=present(found.entries), more=more)


# --- The administrators' view ------------------------------------------------------------

@bp.get("/admin/audit")
@permission_required("core.view_audit")
def admin_page():
    session = db()
    filters, errors = _filters()
    found = audit.page(session, audit.query(filters), form_id(request.args.get("before")))
    args = _filter_args()
    more = url_for("audit.admin_page", **args, before=found.next_before) \
        if found.next_before is not None else None
    users = session.scalars(select(User).order_by(User.email)).all()
    return render_template(
        "core/audit/admin.html", rows=present(found.entries), more=more, args=args,
        errors=errors, actor_options=[(u.id, u.full_name or u.email) for u in users],
        doors=[(d, door_label(d)) for d in audit.DOORS],
        actions=[(a, action_label(a)) for a in _actions(session)],
        record_types=[(t, record_type_label(t))
                      for t in audit.values_in_use(session, AuditEntry.record_type)])


@bp.get("/admin/audit/export")
@permission_required("core.view_audit")
def export():
    """The filtered trail as a CSV or XLSX file, written as it is read."""
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(404)
    filters, errors = _filters()
    if errors:
        return redirect(url_for("audit.admin_page", **_filter_args()))
    session = db()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    delimiter = ";" if request.args.get("excel") == "pl" else ","
    exporting.export(session, audit.query(filters), _columns(session), spool, fmt=fmt,
                     delimiter=delimiter)
    usage.record(session, "export", current_user, "audit")
    session.commit()
    spool.seek(0)
    basename = _("change-history")
    name = f"{basename}-{utcnow():%Y-%m-%d}.{fmt}"
    return send_file(spool, mimetype=FORMATS[fmt], as_attachment=True, download_name=name)


def _columns(session) -> list[exporting.Column]:
    users = _user_names(session, None)
    custom = _custom_labels(session)

    def changes(entry: AuditEntry) -> str:
        return "; ".join(f"{label}: {old} → {new}"
                         for label, old, new in _changes(entry, users, custom))

    column = exporting.Column
    return [column(_l("When"), lambda e: e.at),
            column(_l("Who"), lambda e: users.get(e.actor_id) or _("System")),
            column(_l("Through"), lambda e: door_label(e.door)),
            column(_l("What was done"), lambda e: action_label(e.action)),
            column(_l("Kind of record"), lambda e: record_type_label(e.record_type)),
            column("ID", lambda e: e.record_id),
            column(_l("Record"), lambda e: e.summary),
            column(_l("Changes"), changes)]


FILTERS = ("actor", "action", "record_type", "door", "since", "until")


def _filter_args() -> dict:
    return {k: request.args[k] for k in FILTERS if request.args.get(k)}


def _filters() -> tuple[audit.Filters, dict[str, str]]:
    """The filters asked for in the address, and a message for each that cannot be used."""
    args, errors = request.args, {}
    filters = audit.Filters(action=args.get("action") or None,
                            record_type=args.get("record_type") or None,
                            door=args.get("door") or None)
    if args.get("actor"):
        filters.actor_id = form_id(args["actor"])
        if filters.actor_id is None:
            errors["actor"] = _("Choose from the list.")
    if filters.door is not None and filters.door not in audit.DOORS:
        errors["door"] = _("Choose from the list.")
    since, until = _day("since", errors), _day("until", errors)
    if since and until and until < since:
        errors["until"] = _("The end cannot be before the start.")
    elif since or until:
        zone = local_zone()
        filters.since = datetime.combine(since, time(), zone) if since else None
        filters.until = datetime.combine(until + timedelta(days=1), time(), zone) \
            if until else None
    return filters, errors


def _day(name: str, errors: dict) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter the date as YYYY-MM-DD.")
        return None


def _actions(session) -> list[str]:
    used = audit.values_in_use(session, AuditEntry.action)
    return list(audit.ACTIONS) + [a for a in used if a not in audit.ACTIONS]


# --- Presenting entries ------------------------------------------------------------------

def present(entries: list[AuditEntry]) -> list[Shown]:
    """Entries with names, labels and readable values, in two queries for the page."""
    session = db()
    users = _user_names(session, {e.actor_id for e in entries} |
                        {v for e in entries for v in _owner_ids(e)})
    custom = _custom_labels(session)
    return [Shown(e, users.get(e.actor_id) or _("System"), door_label(e.door),
                  action_label(e.action), _record_name(e), _record_link(e),
                  _changes(e, users, custom)) for e in entries]


def door_label(key: str) -> str:
    if key == "plugin":
        return term("core.plugin").capitalize()
    return str(DOOR_LABELS.get(key, key))


def action_label(key: str) -> str:
    return str(ACTION_LABELS.get(key, key))


def record_type_label(key: str) -> str:
    """The term for the kind of record; a kind without one shows its key."""
    if f"core.{key}" in current_app.extensions["kartoteka"].host.terms:
        return term(f"core.{key}").capitalize()
    return key


def field_label(record_type: str, field: str, custom: dict) -> str:
    if field.startswith("custom."):
        return custom.get((record_type, field[7:]), field[7:])
    label = FIELDS.get(record_type, {}).get(field) or FIELD_LABELS.get(field)
    return str(label) if label is not None else field


def _record_name(entry: AuditEntry) -> str:
    kind = record_type_label(entry.record_type)
    return f"{kind}: {entry.summary}" if entry.summary else f"{kind} #{entry.record_id}"


def _record_link(entry: AuditEntry) -> str | None:
    if entry.record_type in CARDS and entry.record_id is not None:
        return url_for(CARDS[entry.record_type][1], record_id=entry.record_id)
    return None


def _changes(entry: AuditEntry, users: dict, custom: dict) -> list[tuple[str, str, str]]:
    return [(field_label(entry.record_type, field, custom),
             _text(field, pair[0], users), _text(field, pair[1], users))
            for field, pair in (entry.changes or {}).items()
            if _may_see(entry.record_type, field)]


def _may_see(record_type: str, field: str) -> bool:
    """A custom field's history is shown only to those who may see the field; that of a
    deleted field only to administrators."""
    if not field.startswith("custom."):
        return True
    found = custom_fields.definition(db(), record_type, field.removeprefix("custom."))
    if found is None:
        return bool(getattr(current_user, "is_admin", False))
    return custom_fields.may_see(found, current_user)


def _text(field: str, value, users: dict) -> str:
    """A stored value as a person reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "owner_id":
        return users.get(value, f"#{value}")
    if field == "type_key":
        found = organisations.types(db(), current_app.extensions["kartoteka"].host).get(value)
        return found.label(current_locale()) if found else value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_text(field, v, users) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(field, v, users)}" for k, v in value.items())
    if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
        try:
            return format_datetime(datetime.fromisoformat(value), "short")
        except ValueError:
            return value
    return str(value)


def _owner_ids(entry: AuditEntry) -> list[int]:
    return [v for v in (entry.changes or {}).get("owner_id", []) if isinstance(v, int)]


def _user_names(session, ids: set | None) -> dict[int, str]:
    """Names of the given users (None: of everyone)."""
    query = select(User)
    if ids is not None:
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        query = query.where(User.id.in_(ids))
    return {u.id: u.full_name or u.email for u in session.scalars(query)}


def _custom_labels(session) -> dict[tuple[str, str], str]:
    """(record type, key) -> label of administrator-defined fields, archived ones too."""
    english = current_locale() != "pl"
    return {(f.record_type, f.key): (f.label_en if english else f.label_pl) or f.key
            for f in session.scalars(select(FieldDefinition))}
