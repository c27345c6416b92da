"""The 360° view of a client (EX-5): everything the firm has about one client
organisation, or a private client (a person), in one place.

Its people with their roles and contact data; the history of the client and its people
(and, apart, the e-mails in and out); the meetings linked to it, its cases or its people;
the inquiries with their phase, department, deadline, amount and margin; the offers (the
calculation versions of its cases); the opinions being prepared or delivered; the
documents made for it or its cases, by template; the cases of other processes (service
orders and the like); and, for those who bill (``core.billing``), its contracts and
invoices.

Only what ``actor`` may see is read: the client's cases through ``records.visible``
(an inquiry the actor may not see leaves no offer, opinion, document or meeting of it
behind), its people likewise, invoices and contracts by their buyer as the core's lists
do. Each section is read in SQL newest first and cut at ``Filters.limit``, with the
count of all it holds, so the page costs the same however long the client's history.

Filters: the sections to show, a span of days (each section's own date: when an
activity happened, a meeting takes place, a case was opened, an offer was made, an
opinion is due, a contract runs, an invoice was issued), words (in titles, subjects,
names, numbers) and "open only" (upcoming meetings, inquiries and cases not finished,
offers not decided, contracts running, invoices not paid). The contacts are the
people there now: the span and "open only" leave them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, false, func, literal, not_, or_, select
from sqlalchemy.orm import Session, selectinload

from core import calculations, contracts, invoices, permissions, records, timeline, workflow
from core.db import utcnow
from core.errors import ValidationError
from core.filters import today, zone
from core.models import (
    Activity,
    ActivityLink,
    Calculation,
    CalendarEvent,
    Case,
    CasePerson,
    ContactPoint,
    Contract,
    Document,
    DocumentTemplate,
    EventAttendee,
    EventLink,
    Invoice,
    Membership,
    Organisation,
    Person,
    PhaseChange,
)
from core.terms import term
from core.web.i18n import current_locale
from plugins.expertise.models import Department, Inquiry
from plugins.expertise.process import CLOSED

PROCESS = "expertise.inquiry"
SECTIONS = ("contacts", "activities", "meetings", "inquiries", "offers", "opinions",
            "documents", "cases", "correspondence", "contracts", "invoices")
BILLING = ("contracts", "invoices")  # shown to holders of core.billing, as the core's lists
EMAILS = ("email_in", "email_out")
OPINION_PHASES = ("accepted", "delivered", "invoiced")  # the offer accepted: an opinion
LIMIT, LIMIT_MAX = 50, 200  # rows a section shows by default, and at most
TEXT_MAX = 200


@dataclass(frozen=True)
class Filters:
    """What the view shows: ``kinds`` (sections), days ``first`` to ``last`` (both
    included), words, open only, and at most ``limit`` rows a section."""

    kinds: tuple[str, ...] = SECTIONS
    first: date | None = None
    last: date | None = None
    text: str = ""
    open_only: bool = False
    limit: int = LIMIT


@dataclass
class Section:
    """One section: its newest ``items`` and how many there are in all."""

    key: str
    count: int
    items: list[dict]
    groups: list[dict] = field(default_factory=list)  # documents: per template

    @property
    def more(self) -> bool:
        return self.count > len(self.items)


@dataclass
class Overview:
    client: Organisation | Person
    record_type: str  # organisation or person
    filters: Filters
    sections: dict[str, Section]
    hidden: tuple[str, ...]  # sections asked for that the actor may not see


def make_filters(kinds=None, first: date | None = None, last: date | None = None,
                 text: str | None = "", open_only: bool = False, limit: int = LIMIT
                 ) -> Filters:
    """Filters from values of the right types; every problem named under the name of
    its query parameter (kind, from, to, q, limit)."""
    errors = {}
    kinds = [k for k in dict.fromkeys(kinds or ())]
    if any(k not in SECTIONS for k in kinds):
        errors["kind"] = _("Choose what to show from the list.")
    if first and last and last < first:
        errors["to"] = _("The end cannot be before the start.")
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        errors["q"] = _("At most %(n)d characters.", n=TEXT_MAX)
    if not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
        errors["limit"] = _("Enter a number from 1 to %(most)d.", most=LIMIT_MAX)
    if errors:
        raise ValidationError(errors)
    return Filters(tuple(k for k in SECTIONS if k in kinds) if kinds else SECTIONS,
                   first, last, text, bool(open_only), limit)


def parse(args) -> Filters:
    """Filters from a query string (``kind`` repeated, ``from``, ``to``, ``q``,
    ``open``, ``limit``), as the page's form sends it."""
    errors, values = {}, {}
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        try:
            values[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = _("Give a date as YYYY-MM-DD.")
            values[name] = None
    raw_limit = (args.get("limit") or "").strip()
    limit = int(raw_limit) if raw_limit.isdigit() and len(raw_limit) < 6 else \
        (LIMIT if not raw_limit else 0)
    if (args.get("open") or "") not in ("", "0", "1"):
        errors["open"] = _("Choose yes or no.")
    try:
        found = make_filters([k for k in args.getlist("kind") if k], values["from"],
                             values["to"], args.get("q", ""), args.get("open") == "1", limit)
    except ValidationError as exc:
        errors = {**exc.errors, **errors}
        found = None
    if errors:
        raise ValidationError(errors)
    return found


def overview(session: Session, host, organisation: Organisation | Person, actor=None,
             filters: Filters | None = None) -> Overview:
    """Everything about the client ``organisation`` (an organisation, or a person for a
    private client) that ``actor`` may see, section by section as ``filters`` ask.
    The caller has checked that the actor may see the client itself."""
    client, filters = organisation, filters or Filters()
    scope = _Scope(client, actor)
    bills = permissions.can(actor, invoices.PERMISSION)
    hidden = tuple(k for k in filters.kinds if k in BILLING and not bills)
    readers = {"contacts": _contacts, "activities": _activities, "meetings": _meetings,
               "inquiries": _inquiries, "offers": _offers, "opinions": _opinions,
               "documents": _documents, "cases": _other_cases,
               "correspondence": _correspondence, "contracts": _contracts,
               "invoices": _invoices}
    sections = {key: readers[key](session, host, scope, filters)
                for key in filters.kinds if key not in hidden}
    return Overview(client, scope.record_type, filters, sections, hidden)


# --- What belongs to the client ---------------------------------------------------------

class _Scope:
    """The client and the queries naming what is its, as far as the actor sees."""

    def __init__(self, client, actor):
        self.client, self.actor = client, actor
        self.record_type = records.ref(client)[0]
        self.is_organisation = isinstance(client, Organisation)

    def cases(self) -> Select:
        """The client's cases the actor may see."""
        query = records.visible(Case, self.actor)
        if self.is_organisation:
            return query.where(Case.organisation_id == self.client.id)
        return query.where(Case.id.in_(select(CasePerson.case_id)
                                       .where(CasePerson.person_id == self.client.id)))

    def case_ids(self) -> Select:
        return self.cases().with_only_columns(Case.id)

    def people_ids(self, now_only: bool = False) -> Select:
        """The people the actor may see who belong (``now_only``) or ever belonged to
        the organisation; the private client alone."""
        if not self.is_organisation:
            return select(literal(self.client.id))
        members = select(Membership.person_id).where(
            Membership.organisation_id == self.client.id)
        if now_only:
            members = members.where(_current())
        return records.visible(Person, self.actor).with_only_columns(Person.id) \
            .where(Person.id.in_(members))

    def about(self, record_type, record_id) -> object:
        """A link (``record_type``, ``record_id`` columns) to the client or its people."""
        own = and_(record_type == self.record_type, record_id == self.client.id)
        if not self.is_organisation:
            return own
        return or_(own, and_(record_type == "person", record_id.in_(self.people_ids())))

    def party(self, model) -> object:
        """A row (invoice, contract) billed to the client or made for its cases."""
        column = model.organisation_id if self.is_organisation else model.person_id
        return or_(column == self.client.id, model.case_id.in_(self.case_ids()))


def _current():
    day = today()
    return and_(or_(Membership.start_date.is_(None), Membership.start_date <= day),
                or_(Membership.end_date.is_(None), Membership.end_date >= day))


def _words(text: str, *columns):
    return or_(*(column.icontains(text, autoescape=True) for column in columns))


def _moment(day: date) -> datetime:
    """The start of ``day`` in the installation's time zone, in UTC."""
    return datetime.combine(day, time(), zone()).astimezone(UTC)


def _within(column, filters: Filters, moments: bool = True) -> list:
    """Conditions keeping ``column`` (a date-time, or a date) in the filters' days."""
    found = []
    if filters.first:
        found.append(column >= (_moment(filters.first) if moments else filters.first))
    if filters.last:
        end = filters.last + timedelta(days=1)
        found.append(column < _moment(end) if moments else column <= filters.last)
    return found


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _read(session: Session, query: Select, filters: Filters, *order, scalars=True) -> list:
    query = query.order_by(*order).limit(filters.limit)
    return list(session.scalars(query) if scalars else session.execute(query))


def _phase(host, case: Case) -> str:
    process = host.processes.get(case.process_key)
    return workflow.phase_name(process, case.phase_key) if process else case.phase_key


def _finished(host):
    """Cases in a final phase of their process, as a condition."""
    finals = [and_(Case.process_key == p.key,
                   Case.phase_key.in_([phase.key for phase in p.phases if phase.final]))
              for p in host.processes.values() if any(phase.final for phase in p.phases)]
    return or_(*finals) if finals else false()


# --- The sections --------------------------------------------------------------------------

def _contacts(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """Who is there now: the organisation's people with their roles, or the
    organisations a private client belongs to; with e-mails and phones."""
    query = select(Membership).join(Person, Person.id == Membership.person_id) \
        .join(Organisation, Organisation.id == Membership.organisation_id).where(_current())
    if scope.is_organisation:
        query = query.where(Membership.organisation_id == scope.client.id,
                            Person.id.in_(scope.people_ids(now_only=True)))
    else:
        seen = records.visible(Organisation, scope.actor).with_only_columns(Organisation.id)
        query = query.where(Membership.person_id == scope.client.id,
                            Organisation.id.in_(seen))
    if filters.text:
        contact = exists().where(ContactPoint.person_id == Person.id,
                                 ContactPoint.value.icontains(filters.text, autoescape=True))
        query = query.where(or_(_words(filters.text, Person.first_name + " " + Person.last_name,
                                       Membership.role, Organisation.name), contact))
    count = _count(session, query)
    rows = _read(session, query.options(
        selectinload(Membership.person).selectinload(Person.contacts),
        selectinload(Membership.organisation), selectinload(Membership.unit)), filters,
        Membership.start_date.desc().nulls_last(), Membership.id.desc())
    return Section("contacts", count, [{
        "person_id": m.person_id, "name": m.person.full_name, "role": m.role,
        "unit": m.unit.name if m.unit else "", "organisation_id": m.organisation_id,
        "organisation": m.organisation.name, "since": m.start_date,
        "emails": m.person.contact_values("email"),
        "phones": m.person.contact_values("phone")} for m in rows])


def _history(session: Session, scope: _Scope, filters: Filters, emails: bool) -> tuple:
    about = exists().where(ActivityLink.activity_id == Activity.id,
                           scope.about(ActivityLink.record_type, ActivityLink.record_id))
    kinds = Activity.kind.in_(EMAILS) if emails else Activity.kind.not_in(EMAILS)
    query = select(Activity).where(about, kinds, *_within(Activity.occurred_at, filters))
    if not permissions.grants(scope.actor).admin:
        # An entry about a case the actor may not see (its opening, a document made
        # for it) would name it: left out, though it is on the client's timeline too.
        unseen = exists().where(ActivityLink.activity_id == Activity.id,
                                ActivityLink.record_type == "case",
                                ActivityLink.record_id.not_in(
                                    records.visible(Case, scope.actor).with_only_columns(
                                        Case.id)))
        query = query.where(~unseen)
    if filters.text:
        query = query.where(_words(filters.text, Activity.subject, Activity.body))
    rows = _read(session, query, filters, Activity.occurred_at.desc(), Activity.id.desc())
    return _count(session, query), rows


def _entry(activity: Activity) -> dict:
    return {"id": activity.id, "kind": activity.kind, "label": timeline.label(activity),
            "subject": activity.subject, "body": activity.body,
            "occurred_at": activity.occurred_at, "created_by_id": activity.created_by_id}


def _activities(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The client's history and its people's: notes, calls, meetings, events."""
    count, rows = _history(session, scope, filters, emails=False)
    return Section("activities", count, [_entry(a) for a in rows])


def _correspondence(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The e-mails received from and sent to the client and its people."""
    count, rows = _history(session, scope, filters, emails=True)
    return Section("correspondence", count, [
        {**_entry(a), "direction": "in" if a.kind == "email_in" else "out"} for a in rows])


def _meetings(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """Calendar events linked to the client, its cases or its people, or with its
    people invited."""
    linked = exists().where(EventLink.event_id == CalendarEvent.id, or_(
        scope.about(EventLink.record_type, EventLink.record_id),
        and_(EventLink.record_type == "case", EventLink.record_id.in_(scope.case_ids()))))
    invited = exists().where(EventAttendee.event_id == CalendarEvent.id,
                             EventAttendee.person_id.in_(scope.people_ids()))
    query = records.visible(CalendarEvent, scope.actor).where(or_(linked, invited))
    if filters.first:
        query = query.where(CalendarEvent.ends_at > _moment(filters.first))
    if filters.last:
        query = query.where(CalendarEvent.starts_at < _moment(filters.last + timedelta(days=1)))
    if filters.open_only:
        query = query.where(CalendarEvent.ends_at > utcnow())
    if filters.text:
        query = query.where(_words(filters.text, CalendarEvent.title,
                                   CalendarEvent.description, CalendarEvent.location))
    rows = _read(session, query, filters, CalendarEvent.starts_at.desc(),
                 CalendarEvent.id.desc())
    return Section("meetings", _count(session, query), [{
        "id": e.id, "title": e.title, "starts_at": e.starts_at, "ends_at": e.ends_at,
        "all_day": e.all_day, "location": e.location} for e in rows])


def _inquiry_query(scope: _Scope, filters: Filters) -> Select:
    query = scope.cases().where(Case.process_key == PROCESS) \
        .outerjoin(Inquiry, Inquiry.case_id == Case.id) \
        .outerjoin(Department, Department.id == Inquiry.department_id) \
        .add_columns(Inquiry, Department.name)
    if filters.text:
        query = query.where(_words(filters.text, Case.title, Case.description,
                                   Inquiry.court_reference))
    if filters.open_only:
        query = query.where(Case.phase_key.not_in(CLOSED))
    return query


def _inquiries(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The client's inquiries: phase, department, deadline, amount and margin."""
    query = _inquiry_query(scope, filters).where(*_within(Case.created_at, filters))
    rows = _read(session, query, filters, Case.created_at.desc(), Case.id.desc(),
                 scalars=False)
    return Section("inquiries", _count(session, query), [{
        **_case(host, case), "department": department or "",
        "due_on": inquiry.due_on if inquiry else None,
        "court_reference": inquiry.court_reference if inquiry else "",
        "cost": case.cost, "margin": case.margin} for case, inquiry, department in rows])


def _case(host, case: Case) -> dict:
    return {"case_id": case.id, "title": case.title, "process_key": case.process_key,
            "phase_key": case.phase_key, "phase": _phase(host, case),
            "owner_id": case.owner_id, "amount": case.amount, "currency": case.currency,
            "opened_at": case.created_at, "finished": _is_final(host, case)}


def _is_final(host, case: Case) -> bool:
    process = host.processes.get(case.process_key)
    phase = process.phase(case.phase_key) if process is not None else None
    return bool(phase and phase.final)


def _opinions(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The inquiries whose offer was accepted: the opinion's deadline and delivery."""
    delivered = select(func.max(PhaseChange.at)).where(
        PhaseChange.case_id == Case.id, PhaseChange.to_phase == "delivered") \
        .correlate(Case).scalar_subquery()
    query = _inquiry_query(scope, filters).where(
        Case.phase_key.in_(OPINION_PHASES), *_within(Inquiry.due_on, filters, moments=False)) \
        .add_columns(delivered)
    rows = _read(session, query, filters, Inquiry.due_on.desc().nulls_last(), Case.id.desc(),
                 scalars=False)
    day = today()
    found = []
    for case, inquiry, department, delivered_at in rows:
        due = inquiry.due_on if inquiry else None
        delivered_on = delivered_at.astimezone(zone()).date() if delivered_at else None
        found.append({**_case(host, case), "department": department or "", "due_on": due,
                      "court_reference": inquiry.court_reference if inquiry else "",
                      "delivered_at": delivered_at,
                      "late": bool(due and (delivered_on or day) > due)})
    return Section("opinions", _count(session, query), found)


def _offers(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """Every calculation version of the client's cases, with its status."""
    query = select(Calculation, Case.title).join(Case, Case.id == Calculation.case_id).where(
        Calculation.case_id.in_(scope.case_ids()), *_within(Calculation.created_at, filters))
    if filters.text:
        query = query.where(_words(filters.text, Case.title, Calculation.note))
    if filters.open_only:
        query = query.where(Calculation.status.in_(calculations.OPEN))
    rows = _read(session, query, filters, Calculation.created_at.desc(),
                 Calculation.id.desc(), scalars=False)
    return Section("offers", _count(session, query), [{
        "id": c.id, "case_id": c.case_id, "case": title, "number": c.number,
        "status": c.status, "net": c.net, "gross": c.gross, "cost": c.cost,
        "margin": (c.net - c.cost) / c.net if c.net else None, "currency": c.currency,
        "created_at": c.created_at} for c, title in rows])


def _documents(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The documents made for the client or its cases, newest first, with how many
    each template made (protocols, warranties, offers...)."""
    query = select(Document, DocumentTemplate) \
        .outerjoin(DocumentTemplate, DocumentTemplate.id == Document.template_id).where(
            or_(and_(Document.record_type == scope.record_type,
                     Document.record_id == scope.client.id),
                and_(Document.record_type == "case",
                     Document.record_id.in_(scope.case_ids()))),
            *_within(Document.created_at, filters))
    if filters.text:
        query = query.where(_words(filters.text, Document.title, Document.number))
    rows = _read(session, query, filters, Document.created_at.desc(), Document.id.desc(),
                 scalars=False)
    counted = query.subquery()
    groups = session.execute(
        select(counted.c.template_id, func.count()).group_by(counted.c.template_id)).all()
    templates = {t.id: t for t in session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.id.in_([t for t, _n in groups if t is not None])))}
    return Section("documents", sum(n for _t, n in groups), [{
        "id": d.id, "title": d.title, "number": d.number, "template_id": d.template_id,
        "template": _template_name(t), "kind": t.kind if t else "",
        "record_type": d.record_type, "record_id": d.record_id,
        "attachment_id": d.attachment_id, "created_at": d.created_at} for d, t in rows],
        sorted(({"template_id": t, "template": _template_name(templates.get(t)),
                 "kind": templates[t].kind if t in templates else "", "count": n}
                for t, n in groups), key=lambda g: (-g["count"], g["template"])))


def _template_name(template: DocumentTemplate | None) -> str:
    if template is None:
        return _("Without a template")
    return (template.name_en if current_locale() == "en" and template.name_en
            else template.name_pl) or template.key


def _other_cases(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The client's cases of other processes: service orders and the like."""
    query = scope.cases().where(Case.process_key != PROCESS,
                                *_within(Case.created_at, filters))
    if filters.text:
        query = query.where(_words(filters.text, Case.title, Case.description))
    if filters.open_only:
        query = query.where(not_(_finished(host)))
    rows = _read(session, query, filters, Case.created_at.desc(), Case.id.desc())
    return Section("cases", _count(session, query), [
        {**_case(host, c), "process": _process_title(host, c)} for c in rows])


def _process_title(host, case: Case) -> str:
    process = host.processes.get(case.process_key)
    return term(process.term) if process is not None else case.process_key


def _contracts(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The contracts with the client or for its cases, running in the filters' days."""
    query = contracts.visible(scope.actor).order_by(None).where(scope.party(Contract))
    if filters.first:
        query = query.where(or_(Contract.ends_on.is_(None), Contract.ends_on >= filters.first))
    if filters.last:
        query = query.where(Contract.starts_on <= filters.last)
    if filters.open_only:
        query = query.where(or_(Contract.ends_on.is_(None), Contract.ends_on >= today()))
    if filters.text:
        query = query.where(_words(filters.text, Contract.title, Contract.description))
    rows = _read(session, query, filters, Contract.starts_on.desc(), Contract.id.desc())
    day = today()
    return Section("contracts", _count(session, query), [{
        "id": c.id, "title": c.title, "starts_on": c.starts_on, "ends_on": c.ends_on,
        "case_id": c.case_id, "currency": c.currency,
        "active": c.starts_on <= day and (c.ends_on is None or c.ends_on >= day)}
        for c in rows])


def _invoices(session: Session, host, scope: _Scope, filters: Filters) -> Section:
    """The invoices billed to the client or for its cases: number, date, gross, status
    and what was paid."""
    query = invoices.visible(scope.actor).where(
        scope.party(Invoice), *_within(Invoice.issue_date, filters, moments=False))
    if filters.open_only:
        query = query.where(Invoice.status.in_(invoices.OPEN))
    if filters.text:
        query = query.where(_words(filters.text, Invoice.number))
    rows = _read(session, query, filters, Invoice.id.desc())
    return Section("invoices", _count(session, query), [{
        "id": i.id, "number": invoices.label(i), "kind": i.kind, "issue_date": i.issue_date,
        "due_date": i.due_date, "gross": i.gross, "paid": i.paid, "currency": i.currency,
        "status": i.status, "overdue": invoices.is_overdue(i), "case_id": i.case_id}
        for i in rows])
