"""Calls for proposals (nabory, GR-3) and applying to them for a client firm.

A call says who grants (an organisation of the card index), under which programme,
from when and until when applications are taken, the budget and the highest rate of
funding, and the attachments every application must have: a list of names, none empty
and none twice. Any staff member reads the calls; adding, correcting and deleting them
needs ``grants.manage``. A correction names the version it was made on, so two people
correcting one call do not overwrite each other; an attachment added to the list is
added to the checklists of the applications still being prepared. A call is deleted to
the bin, and only while no application to it is open.

``apply`` starts a grant application for a client firm: a case of
``grants.application`` titled "<call> — <client>", the link to the call, and the
checklist of the call's attachments; the firm's people of the day are its contacts,
who get the reminders of its deadlines. The call's deadline must not have passed; the
grant requested cannot exceed the project's value, nor the call's rate of it. The
application is tied to the opportunity it was sold by (``schedules.tie_on_applying``):
the won one of the same client named, or else the client's only one still waiting for
a milestone; its cooperation contract's milestones follow the application. Every
change is in the audit trail (through ``core.records``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from core import approvals, cases, permissions, records, timeline
from core.errors import Forbidden, ValidationError
from core.filters import folded
from core.filters import today as local_today
from core.models import Case, Membership, Organisation, Person, User
from core.terms import term, upper_first
from core.validation import an_id, load_collecting, max_length
from plugins.grants import fields as grant_fields
from plugins.grants import schedules
from plugins.grants.models import Application, ChecklistItem, GrantCall
from plugins.grants.permissions import CALLS

PROCESS = grant_fields.APPLICATION
MAX_AMOUNT = cases.MAX_AMOUNT
MAX_ATTACHMENTS = 100
MAX_CONTACTS = 20  # a small firm's people; a big one's are chosen on the case
CONTACT = "Osoba kontaktowa"  # their role on the application
NAME_LENGTH = 300  # ChecklistItem.name
STATUSES = ("open", "upcoming", "closed")  # taking applications today; later; no longer
# The phases of an application in which a correction of the call's list reaches its
# checklist: once submitted, the checklist is what was sent.
PREPARING = ("preparation",)
SEPARATOR = " — "
ADDED = "grants.checklist_added"  # the checklist's event (``checklists``)


def _filled(message):
    def check(value: str) -> None:
        if not value.strip():
            raise validate.ValidationError(str(message))
    return check


def _amount(error) -> fields.Decimal:
    return fields.Decimal(
        load_default=None, allow_none=True, places=2,
        validate=validate.Range(0, MAX_AMOUNT, error=error),
        error_messages={"invalid": _l("Enter an amount, such as 12500,50."),
                        "special": _l("Enter an amount, such as 12500,50.")})


class CallSchema(Schema):
    """A call for proposals as the forms and the API take it."""

    title = fields.String(
        required=True, validate=[max_length(300), _filled(_l("Enter the title of the call."))],
        error_messages={"required": _l("Enter the title of the call.")},
        metadata={"description": "What the call is called, as the grantor announced it."})
    reference = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "The grantor's number of the call, such as FENG.01.01-IP.02-001/26."})
    programme = fields.String(load_default="", validate=max_length(300), metadata={
        "description": "The programme and measure it belongs to."})
    grantor_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                validate=an_id(), metadata={
                                    "description": "The grantor: an organisation the caller "
                                                   "may see; null: not recorded."})
    opens_on = fields.Date(load_default=None, allow_none=True, error_messages={
        "invalid": _l("Enter a date, such as 2026-03-01.")}, metadata={
        "description": "The first day applications are taken; null: not announced."})
    deadline = fields.Date(required=True, error_messages={
        "required": _l("Enter the last day applications are taken."),
        "invalid": _l("Enter a date, such as 2026-03-31.")}, metadata={
        "description": "The last day applications are taken."})
    budget = _amount(_l("Enter an amount from 0 to 999 999 999 999,99."))
    budget.metadata.update(type="string", format="decimal", example="250000000.00",
                           description="The call's whole budget, PLN; null: not known.")
    max_rate = fields.Decimal(
        load_default=None, allow_none=True, places=2,
        validate=validate.Range(0, 100, error=_l("Give a percentage from 0 to 100.")),
        error_messages={"invalid": _l("Give a percentage from 0 to 100."),
                        "special": _l("Give a percentage from 0 to 100.")},
        metadata={"type": "string", "format": "decimal", "example": "70.00",
                  "description": "The highest share of the project's value the grant may "
                                 "cover, in %; null: not limited."})
    required_attachments = fields.List(
        fields.String(), load_default=list,
        error_messages={"invalid": _l("Give the attachments as a list of names.")},
        metadata={"description": "The attachments every application must have, in order: "
                                 "names, none empty and none twice."})
    description = fields.String(load_default="", validate=max_length(20000), metadata={
        "description": "Who may apply, for what, and anything else worth knowing."})


class FilterSchema(Schema):
    """What a list of calls is narrowed to; every one may be left out."""

    q = fields.String(load_default="", validate=max_length(200), metadata={
        "description": "Words of the title, reference, programme or description."})
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        STATUSES, error=_l("Choose open, upcoming or closed.")), metadata={
        "enum": list(STATUSES), "description": "open: taking applications today; "
        "upcoming: opening later; closed: the deadline has passed."})
    deadline_from = fields.Date(load_default=None, allow_none=True, error_messages={
        "invalid": _l("Enter a date, such as 2026-03-01.")}, metadata={
        "description": "Deadlines from this day on."})
    deadline_to = fields.Date(load_default=None, allow_none=True, error_messages={
        "invalid": _l("Enter a date, such as 2026-03-31.")}, metadata={
        "description": "Deadlines up to this day."})
    programme = fields.String(load_default="", validate=max_length(300), metadata={
        "description": "Words of the programme."})
    grantor_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                validate=an_id(), metadata={"description": "The grantor."})


class ApplySchema(Schema):
    """What applying for a client firm needs: the firm; the rest may come later."""

    organisation_id = fields.Integer(
        required=True, strict=False, allow_none=True, validate=an_id(),
        error_messages={"required": _l("Choose the client firm."),
                        "invalid": _l("Choose the client firm.")},
        metadata={"description": "The client firm: an organisation the caller may see."})
    owner_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=an_id(), metadata={
                                  "description": "The staff member preparing it; by default "
                                                 "whoever applies."})
    requested_amount = _amount(_l("Enter an amount from 0 to 999 999 999 999,99."))
    requested_amount.metadata.update(type="string", format="decimal", example="350000.00",
                                     description="The grant requested, PLN.")
    project_value = _amount(_l("Enter an amount from 0 to 999 999 999 999,99."))
    project_value.metadata.update(type="string", format="decimal", example="500000.00",
                                  description="The value of the whole project, PLN.")
    opportunity_id = fields.Integer(
        load_default=None, allow_none=True, strict=False, validate=an_id(), metadata={
            "description": "The won opportunity of the same client firm the application was "
                           "sold by: the milestones it reaches fall due on that "
                           "opportunity's cooperation contract. Null: the client's only won "
                           "opportunity with an instalment still waiting for a milestone "
                           "and no open application tied to it, if there is exactly one."})


# --- Permissions ---------------------------------------------------------------------------

def may_manage(actor) -> bool:
    return permissions.can(actor, CALLS)


def require(actor) -> None:
    if not may_manage(actor):
        raise Forbidden(_("You may not change %(calls)s.",
                          calls=term("grants.call", case="acc", plural=True)))


# --- Reading -------------------------------------------------------------------------------

def get(session: Session, call_id, actor=None, include_deleted: bool = False
        ) -> GrantCall | None:
    """The call, or None (a call in the bin too, unless ``include_deleted``)."""
    if not isinstance(call_id, int) or isinstance(call_id, bool) or not 0 < call_id < 2**31:
        return None
    return records.get(session, GrantCall, call_id, actor, include_deleted)


def clean_filters(args: dict) -> dict:
    """The filters as given, checked: every bad one named at once."""
    given = {k: None if v == "" and k not in ("q", "programme") else v
             for k, v in (args or {}).items()}
    values, errors = load_collecting(FilterSchema(), given)
    low, high = values.get("deadline_from"), values.get("deadline_to")
    if low and high and high < low:
        errors["deadline_to"] = _("The end of the range cannot be before its start.")
    if errors:
        raise ValidationError(errors)
    return values


def search(args: dict | None = None, actor=None, today: date | None = None) -> Select:
    """Calls matching the filters (see ``FilterSchema``), not ordered."""
    values = clean_filters(args or {})
    today = today or local_today()
    query = records.visible(GrantCall, actor)
    words = values["q"].strip()
    if words:
        columns = (GrantCall.title, GrantCall.reference, GrantCall.programme,
                   GrantCall.description)
        for word in words.split():
            query = query.where(or_(*(folded(c).contains(word.lower(), autoescape=True)
                                      for c in columns)))
    if values["programme"].strip():
        query = query.where(folded(GrantCall.programme).contains(
            values["programme"].strip().lower(), autoescape=True))
    if values["grantor_id"] is not None:
        query = query.where(GrantCall.grantor_id == values["grantor_id"])
    if values["deadline_from"] is not None:
        query = query.where(GrantCall.deadline >= values["deadline_from"])
    if values["deadline_to"] is not None:
        query = query.where(GrantCall.deadline <= values["deadline_to"])
    return _with_status(query, values["status"], today)


def _with_status(query: Select, status: str | None, today: date) -> Select:
    opened = or_(GrantCall.opens_on.is_(None), GrantCall.opens_on <= today)
    if status == "open":
        return query.where(opened, GrantCall.deadline >= today)
    if status == "upcoming":
        return query.where(GrantCall.opens_on > today)
    if status == "closed":
        return query.where(GrantCall.deadline < today)
    return query


def listed(session: Session, args: dict | None = None, actor=None, limit: int = 500,
           today: date | None = None) -> list[GrantCall]:
    """The calls matching the filters: those still taking applications first, the
    nearest deadline first; then the closed ones, the latest first."""
    today = today or local_today()
    closed = case((GrantCall.deadline < today, 1), else_=0)
    query = search(args, actor, today).order_by(
        closed, case((GrantCall.deadline >= today, GrantCall.deadline)),
        GrantCall.deadline.desc(), GrantCall.id)
    return list(session.scalars(query.limit(limit)))


def status(call: GrantCall, today: date | None = None) -> str:
    today = today or local_today()
    if call.deadline < today:
        return "closed"
    if call.opens_on is not None and call.opens_on > today:
        return "upcoming"
    return "open"


def days_left(call: GrantCall, today: date | None = None) -> int:
    """Days until the deadline: 0 on its day, negative once it has passed."""
    return (call.deadline - (today or local_today())).days


def grantors(session: Session, found: list[GrantCall], actor=None) -> dict[int, Organisation]:
    """The calls' grantors ``actor`` may see, by id, read in one query."""
    ids = {c.grantor_id for c in found if c.grantor_id is not None}
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(records.visible(Organisation, actor).where(
        Organisation.id.in_(ids)))}


def _applications(actor):
    """The application cases ``actor`` may see, as ids."""
    return records.visible(Case, actor).with_only_columns(Case.id)


def application_counts(session: Session, found: list[GrantCall], actor=None
                       ) -> dict[int, int]:
    """How many applications ``actor`` may see each call has."""
    ids = [c.id for c in found]
    if not ids:
        return {}
    rows = session.execute(
        select(Application.call_id, func.count()).where(
            Application.call_id.in_(ids), Application.case_id.in_(_applications(actor)))
        .group_by(Application.call_id))
    return dict(rows.all())


def applications(session: Session, call: GrantCall, actor=None) -> list[Case]:
    """The call's applications ``actor`` may see, the latest first."""
    return list(session.scalars(applications_query(call, actor).order_by(
        Case.created_at.desc(), Case.id.desc())))


def applications_query(call: GrantCall, actor=None) -> Select:
    """The call's applications ``actor`` may see, not ordered (for pages)."""
    return records.visible(Case, actor).join(Application, Application.case_id == Case.id) \
        .where(Application.call_id == call.id)


def of_case(session: Session, case_: Case) -> GrantCall | None:
    """The call a grant application answers (one in the bin too), or None."""
    return session.scalar(select(GrantCall).join(
        Application, Application.call_id == GrantCall.id).where(
        Application.case_id == case_.id))


def open_applications(session: Session, call: GrantCall) -> list[Case]:
    """The call's applications not yet finished (rejected or closed), whoever's."""
    found = session.scalars(select(Case).join(Application, Application.case_id == Case.id)
                            .where(Application.call_id == call.id,
                                   Case.deleted_at.is_(None)).order_by(Case.id))
    return [c for c in found if not _finished(c)]


def _finished(case_: Case) -> bool:
    from plugins.grants.process import APPLICATION

    phase = APPLICATION.phase(case_.phase_key)
    return bool(phase and phase.final)


# --- Changing ------------------------------------------------------------------------------

def create(session: Session, data: dict, actor=None) -> GrantCall:
    require(actor)
    values = clean(session, data, None, actor)
    return records.create(session, GrantCall(**values), actor)


def update(session: Session, call: GrantCall, data: dict, actor=None,
           expected_version: int | None = None) -> GrantCall:
    """Correct the call; attachments added to its list join the checklists of the
    applications still being prepared."""
    require(actor)
    values = clean(session, data, call, actor)
    before = list(call.required_attachments or [])
    records.update(session, call, values, actor, expected_version)
    added = [n for n in call.required_attachments or [] if name_key(n) not in
             {name_key(b) for b in before}]
    if added:
        _extend_checklists(session, call, added, actor)
    return call


def delete(session: Session, call: GrantCall, actor=None) -> GrantCall:
    """Move the call to the bin; refused while an application to it is open."""
    require(actor)
    still = open_applications(session, call)
    if still:
        raise ValidationError({"_": upper_first(_(
            "%(call)s has open %(applications)s: %(titles)s. Finish them first.",
            call=term("grants.call"), applications=term("grants.application", plural=True),
            titles="; ".join(c.title for c in still[:5])
            + ("…" if len(still) > 5 else "")))})
    return records.soft_delete(session, call, actor)


def clean(session: Session, data: dict, call: GrantCall | None = None, actor=None) -> dict:
    """Valid values of a new call, or of the fields given to correct ``call``; every
    problem at once, keyed by field."""
    given = _blanks(data, ("grantor_id", "opens_on", "budget", "max_rate"))
    errors = {}
    for key in ("title", "deadline"):  # cleared on a form: its own message, not "unchanged"
        if key in given and given[key] in (None, ""):
            del given[key]
            if call is not None:
                errors[key] = (_("Enter the title of the call.") if key == "title"
                               else _("Enter the last day applications are taken."))
    values, problems = load_collecting(CallSchema(), given, partial=call is not None)
    errors = {**problems, **errors}
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if "required_attachments" in values:
        names, problem = attachment_names(values["required_attachments"])
        values["required_attachments"] = names
        if problem:
            errors["required_attachments"] = problem
    if values.get("grantor_id") is not None and records.get(
            session, Organisation, values["grantor_id"], actor) is None:
        errors["grantor_id"] = _("Choose a %(what)s from the list.",
                                 what=term("grants.grantor", case="acc"))
    opens = values.get("opens_on", call.opens_on if call else None)
    deadline = values.get("deadline", call.deadline if call else None)
    if opens and deadline and deadline < opens and "deadline" not in errors:
        errors["deadline"] = _("The deadline cannot be before the call opens (%(day)s).",
                               day=_day(opens))
    if errors:
        raise ValidationError(errors)
    return values


def attachment_names(names: list) -> tuple[list[str], str | None]:
    """The names trimmed, and what is wrong with them: an empty one, a name given twice
    (whatever its letter case), one too long, or too many."""
    problems, seen, found = [], {}, []
    for number, name in enumerate(names, 1):
        if not isinstance(name, str) or not name.strip():
            problems.append(_("Attachment %(n)d has no name.", n=number))
            continue
        name = " ".join(name.split())
        if len(name) > NAME_LENGTH:
            problems.append(_("“%(name)s…” is longer than %(n)d characters.",
                              name=name[:40], n=NAME_LENGTH))
        elif name_key(name) in seen:
            problems.append(_("“%(name)s” is listed twice.", name=name))
        else:
            seen[name_key(name)] = name
        found.append(name)
    if len(names) > MAX_ATTACHMENTS:
        problems.append(_("List at most %(n)d attachments.", n=MAX_ATTACHMENTS))
    return found, " ".join(dict.fromkeys(problems)) or None


def name_key(name: str) -> str:
    """A name as compared: spaces and letter case do not count."""
    return " ".join(name.split()).casefold()


def _blanks(data: dict, nullable: tuple[str, ...]) -> dict:
    """An empty form field of an optional value is no value; amounts typed the Polish
    way ("250 000,50") read as numbers."""
    given = dict(data or {})
    for key in nullable:
        if isinstance(given.get(key), str) and not given[key].strip():
            given[key] = None
    for key in ("budget", "max_rate", "requested_amount", "project_value"):
        if isinstance(given.get(key), str):
            text = given[key].strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
            given[key] = text.removesuffix("%") or None
    return given


def _extend_checklists(session: Session, call: GrantCall, names: list[str], actor) -> None:
    for case_ in open_applications(session, call):
        if case_.phase_key not in PREPARING:
            continue
        items = list(session.scalars(select(ChecklistItem).where(
            ChecklistItem.case_id == case_.id)))
        have = {name_key(i.name) for i in items}
        position = max((i.position for i in items), default=0)
        for name in names:
            if name_key(name) not in have:
                position += 1
                item = records.create(session, ChecklistItem(
                    case_id=case_.id, position=position, name=name), actor)
                timeline.add(session, "system", _("Added to the checklist: %(name)s",
                                                  name=name), [case_], actor=actor,
                             body=upper_first(_("%(call)s now requires it.",
                                                call=term("grants.call"))),
                             event=ADDED, data={"item_id": item.id, "name": name})


# --- Applying ------------------------------------------------------------------------------

def apply(session: Session, host, call: GrantCall, data: dict, actor=None) -> Case:
    """Start a grant application to ``call`` for a client firm (``ApplySchema``): the
    case, its link to the call and the checklist of the call's attachments."""
    values, errors = load_collecting(ApplySchema(), _blanks(data, ("owner_id",
                                                                   "opportunity_id")))
    if call.deleted_at is not None:
        errors["_"] = upper_first(_("%(call)s was deleted.", call=term("grants.call")))
    elif call.deadline < local_today():
        errors["deadline"] = upper_first(_(
            "%(call)s closed on %(day)s: applications are no longer taken.",
            call=term("grants.call"), day=_day(call.deadline)))
    client = _client(session, values.get("organisation_id"), actor, errors)
    owner_id = values.get("owner_id") or getattr(actor, "id", None)
    if values.get("owner_id") is not None and session.scalar(
            select(User.id).where(User.id == owner_id, User.active,
                                  User.kind == "staff")) is None:
        errors["owner_id"] = _("Choose an active staff member.")
    errors.update(_amount_problems(call, values))
    if client is not None and "organisation_id" not in errors:
        errors.update(_already_applying(session, call, client))
    sold = _sold_by(session, values, client, actor, errors)
    if errors:
        raise ValidationError(errors)
    application = cases.create(session, host, {
        "title": _title(call, client), "process_key": PROCESS, "organisation_id": client.id,
        "owner_id": owner_id, "custom": _amounts(values)}, actor,
        people=[(person, CONTACT) for person in _contacts(session, client)])
    records.create(session, Application(case_id=application.id, call_id=call.id), actor)
    for position, name in enumerate(call.required_attachments or [], 1):
        records.create(session, ChecklistItem(case_id=application.id, position=position,
                                              name=name), actor)
    schedules.tie_on_applying(session, application, sold, actor)
    return application


def _sold_by(session: Session, values: dict, client: Organisation | None, actor,
             errors: dict) -> Case | None:
    """The opportunity named to tie the application to, checked; None if none was."""
    if "opportunity_id" in errors:  # not a number: the same message as an unknown one
        errors["opportunity_id"] = schedules.unknown_opportunity()
    if values.get("opportunity_id") is None:
        return None
    try:
        return schedules.chosen(session, values["opportunity_id"],
                                client.id if client is not None else None, actor)
    except ValidationError as exc:
        errors.update(exc.errors)
        return None


def _client(session: Session, organisation_id, actor, errors: dict) -> Organisation | None:
    if "organisation_id" in errors:
        return None
    client = records.get(session, Organisation, organisation_id, actor) \
        if organisation_id is not None else None
    if client is None:
        errors["organisation_id"] = _("Choose a %(what)s from the list.",
                                      what=term("grants.client", case="acc"))
    return client


def _contacts(session: Session, client: Organisation) -> list[Person]:
    """The firm's people today: the application's contacts, who get its reminders."""
    return list(session.scalars(
        select(Person).join(Membership, Membership.person_id == Person.id)
        .where(Membership.organisation_id == client.id, Person.deleted_at.is_(None),
               or_(Membership.end_date.is_(None), Membership.end_date >= local_today()))
        .distinct().order_by(Person.id).limit(MAX_CONTACTS)))


def _amount_problems(call: GrantCall, values: dict) -> dict:
    requested, project = values.get("requested_amount"), values.get("project_value")
    if requested is None or project is None:
        return {}
    if requested > project:
        return {"requested_amount": _("The grant requested cannot be more than the "
                                      "project's value.")}
    if call.max_rate is not None and requested > project * call.max_rate / 100:
        return {"requested_amount": upper_first(_(
            "%(call)s funds at most %(rate)s of the project's value: here at most "
            "%(most)s.", call=term("grants.call"), rate=rate(call.max_rate),
            most=approvals.money((project * call.max_rate / 100).quantize(Decimal("0.01")))))}
    return {}


def _already_applying(session: Session, call: GrantCall, client: Organisation) -> dict:
    """A firm applies to a call once at a time; after a rejection it may again."""
    same = [c for c in open_applications(session, call) if c.organisation_id == client.id]
    if not same:
        return {}
    return {"organisation_id": _("%(client)s already has an application to this call: "
                                 "%(title)s.", client=client.name, title=same[0].title)}


def _title(call: GrantCall, client: Organisation) -> str:
    tail = SEPARATOR + client.name
    return (call.title[:max(0, 300 - len(tail))] + tail)[:300]


def _amounts(values: dict) -> dict:
    return {key: {"amount": str(values[name]), "currency": "PLN"}
            for name, key in (("requested_amount", grant_fields.REQUESTED),
                              ("project_value", grant_fields.PROJECT_VALUE))
            if values.get(name) is not None}


def rate(value: Decimal | None) -> str:
    """A rate of funding as people read it: "70%", "85,5%"."""
    return "—" if value is None else approvals.percent(value / 100)


def _day(day: date) -> str:
    return format_date(day, "long")
