"""The printing house's reports, for whoever holds ``printing.reports``, on the pages of
``report_views.py`` and in the API of ``report_api.py``:

- calculations waiting for approval: the pending requests on projects, oldest first,
  with the amount, who is asked, who asked and since when;
- the win rate of each account manager (the project's owner) over the projects opened
  in a period: won (reached the order or a later phase) against lost; those still open
  are listed apart (the newest ``ENTRIES_MAX``) and counted as neither;
- the complaint rate of each product of the price list: of the projects delivered in a
  period whose latest calculation uses it, how many have a complaint;
- the reps' sales picture: the visits and calls they recorded, calculations sent, offers
  made and projects won in a period, per rep and per voivodeship, with every entry
  behind the figures.

Only the projects, and the timeline entries, the reader may see are counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core import records, timeline
from core.db import utcnow
from core.errors import ValidationError
from core.filters import today
from core.models import (
    Activity,
    ActivityLink,
    ApprovalRequest,
    Calculation,
    CalculationLine,
    Case,
    Document,
    DocumentTemplate,
    Membership,
    Organisation,
    Person,
    PhaseChange,
    PriceItem,
    Role,
    Team,
    TeamMember,
    User,
)
from core.report_periods import Period, checked
from core.terms import term
from core.workflow import phase_name
from plugins.printing import price_list, regions
from plugins.printing.process import PROJECT

REPORTS = "printing.reports"
COMPLAINT = "printing.complaint"  # complaints.py's process; a complaint's parent is its project
WON = ("order", "production", "delivery", "closed")
DELIVERED = ("delivery", "closed")
LOST = "lost"
OFFER_TEMPLATE = "printing.offer"
ENTRIES_MAX = 1000  # the longest list a report gives: entries, open projects; newest first

VISIT, CALL, OFFER, OFFER_DOCUMENT, PROJECT_WON = (
    "visit", "call", "offer", "offer_document", "won")
ENTRY_KINDS = (VISIT, CALL, OFFER, OFFER_DOCUMENT, PROJECT_WON)
ACTIVITY_KINDS = {"meeting": VISIT, "call": CALL}  # a visit is a meeting on the timeline


def rep(session: Session, rep_id) -> User:
    """The staff member a report is narrowed to, or a refusal under ``rep``."""
    found = session.get(User, rep_id) if isinstance(rep_id, int) else None
    if found is None or found.kind != "staff":
        raise ValidationError({"rep": _(
            "Choose one of the %(what)s from the list.",
            what=term("printing.account_manager", case="gen", plural=True))})
    return found


def team(session: Session, team_id) -> Team:
    found = session.get(Team, team_id) if isinstance(team_id, int) else None
    if found is None:
        raise ValidationError({"team": _("Choose a team from the list.")})
    return found


def region(key: str) -> str:
    if key not in regions.KEYS:
        raise ValidationError({"region": _("Choose a voivodeship from the list.")})
    return key


def capped(items: list, limit: int | None = None) -> tuple[list, int]:
    """The first ``limit`` (ENTRIES_MAX) of ``items`` and how many more there are."""
    limit = ENTRIES_MAX if limit is None else limit
    return items[:limit], max(len(items) - limit, 0)


def rate(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` as a fraction (0.25 is 25%); None of nothing."""
    return Decimal(part) / whole if whole else None


def _projects(actor):
    """The projects ``actor`` may see."""
    return records.visible(Case, actor).where(Case.process_key == PROJECT.key)


def _names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    ids = set(ids) - {None}
    if not ids:
        return {}
    return {u.id: u.full_name or u.email
            for u in session.scalars(select(User).where(User.id.in_(ids)))}


# --- Calculations waiting for approval -----------------------------------------------

@dataclass
class Waiting:
    request_id: int
    case_id: int
    title: str
    amount: Decimal | None
    currency: str
    calculation_id: int | None
    calculation_number: int | None
    approver_id: int | None  # one person asked; None: any holder of the role
    approver: str  # that person's name
    approver_role: str | None
    approver_role_name: str  # the role asked, or the direct supervisor
    requested_by_id: int | None
    requested_by: str
    requested_at: datetime
    reason: str
    now: datetime

    @property
    def age(self) -> timedelta:
        return max(self.now - self.requested_at, timedelta(0))

    @property
    def age_days(self) -> int:
        return self.age.days

    @property
    def age_hours(self) -> int:
        """The whole hours since asked, days included."""
        return int(self.age.total_seconds() // 3600)


def waiting(session: Session, actor, now: datetime | None = None) -> list[Waiting]:
    """The approvals asked for projects' calculations and not decided yet, the longest
    waiting first."""
    now = now or utcnow()
    found = list(session.scalars(
        select(ApprovalRequest).where(
            ApprovalRequest.status == "pending",
            ApprovalRequest.case_id.in_(_projects(actor).with_only_columns(Case.id)))
        .order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
        .options(selectinload(ApprovalRequest.case))))
    names = _names(session, [r.approver_id for r in found] + [r.requested_by_id for r in found])
    role_names = dict(session.execute(select(Role.key, Role.name)).all())
    latest = latest_calculations(session, {r.case_id for r in found})
    lines = []
    for req in found:
        calculation = latest.get(req.case_id)
        role_name = role_names.get(req.approver_role, req.approver_role) \
            if req.approver_role else _("the direct supervisor")
        lines.append(Waiting(
            req.id, req.case_id, req.case.title, req.case.amount, req.case.currency,
            calculation.id if calculation else None,
            calculation.number if calculation else None, req.approver_id,
            names.get(req.approver_id, ""), req.approver_role, role_name,
            req.requested_by_id, names.get(req.requested_by_id, ""), req.requested_at,
            req.reason, now))
    return lines


def latest_calculations(session: Session, case_ids) -> dict[int, Calculation]:
    """Each case's latest version of its calculation (the highest ``number``)."""
    if not case_ids:
        return {}
    newest = (select(Calculation.case_id, func.max(Calculation.number).label("number"))
              .where(Calculation.case_id.in_(case_ids)).group_by(Calculation.case_id)
              .subquery())
    return {c.case_id: c for c in session.scalars(select(Calculation).join(newest, and_(
        Calculation.case_id == newest.c.case_id, Calculation.number == newest.c.number)))}


# --- Win rate per account manager ----------------------------------------------------

@dataclass
class RepLine:
    rep_id: int | None  # None: nobody's projects (or, as the total, everyone's)
    name: str
    won: int = 0
    won_value: Decimal = Decimal(0)
    lost: int = 0
    open: int = 0

    @property
    def decided(self) -> int:
        return self.won + self.lost

    @property
    def rate(self) -> Decimal | None:
        """Won of those decided: the open ones count as neither."""
        return rate(self.won, self.decided)


@dataclass
class OpenProject:
    case_id: int
    title: str
    rep_id: int | None
    rep: str
    phase_key: str
    phase: str
    amount: Decimal | None
    opened_at: datetime


@dataclass
class WinRate:
    period: Period
    lines: list[RepLine]
    total: RepLine
    open: list[OpenProject]  # the newest ENTRIES_MAX
    open_more: int = 0  # the open projects beyond those listed


def win_rate(session: Session, actor, within: Period, rep_id: int | None = None
             ) -> WinRate:
    """The projects opened in the period, per account manager: won, lost and still
    open (listed apart, newest first, at most ``ENTRIES_MAX``)."""
    query = _projects(actor).where(Case.created_at >= within.start,
                                   Case.created_at < within.end)
    if rep_id is not None:
        query = query.where(Case.owner_id == rep(session, rep_id).id)
    projects = list(session.scalars(query.order_by(Case.created_at.desc(), Case.id.desc())))
    names = _names(session, [c.owner_id for c in projects])
    nobody = _("Nobody")
    lines: dict[int | None, RepLine] = {}
    total, still_open = RepLine(None, _("All")), []
    for case in projects:
        line = lines.setdefault(case.owner_id, RepLine(
            case.owner_id, names.get(case.owner_id, nobody)))
        for counted in (line, total):
            if case.phase_key in WON:
                counted.won += 1
                counted.won_value += case.amount or 0
            elif case.phase_key == LOST:
                counted.lost += 1
            else:
                counted.open += 1
        if case.phase_key not in WON and case.phase_key != LOST \
                and len(still_open) < ENTRIES_MAX:
            still_open.append(OpenProject(
                case.id, case.title, case.owner_id, names.get(case.owner_id, nobody),
                case.phase_key, phase_name(PROJECT, case.phase_key), case.amount,
                case.created_at))
    ordered = sorted(lines.values(), key=lambda x: (x.rep_id is None, x.name.lower()))
    return WinRate(within, ordered, total, still_open, total.open - len(still_open))


# --- Complaint rate per product ------------------------------------------------------

@dataclass
class ProductLine:
    item_id: int
    code: str
    name: str
    category: str
    delivered: list[int] = field(default_factory=list)  # the projects' ids
    complained: list[int] = field(default_factory=list)

    @property
    def rate(self) -> Decimal | None:
        return rate(len(self.complained), len(self.delivered))


@dataclass
class ComplaintRate:
    period: Period
    lines: list[ProductLine]
    delivered: int  # projects delivered in the period
    complained: int  # of them, those with a complaint
    titles: dict[int, str] = field(default_factory=dict)  # of those with a complaint

    @property
    def rate(self) -> Decimal | None:
        return rate(self.complained, self.delivered)


def complaint_rate(session: Session, actor, within: Period) -> ComplaintRate:
    """Each product of the price list on the latest calculation of projects delivered in
    the period (entered delivery then, and in delivery or closed now): on how many, and
    how many of those have a complaint; the highest rate first."""
    entered = select(PhaseChange.case_id).where(
        PhaseChange.to_phase == "delivery", PhaseChange.at >= within.start,
        PhaseChange.at < within.end)
    delivered = _projects(actor).where(Case.phase_key.in_(DELIVERED), Case.id.in_(entered)) \
        .with_only_columns(Case.id)
    delivered_ids = set(session.scalars(delivered))
    complained = set(session.scalars(select(Case.parent_id).where(
        Case.process_key == COMPLAINT, Case.parent_id.in_(delivered_ids),
        Case.deleted_at.is_(None)).distinct())) if delivered_ids else set()
    latest = [c.id for c in latest_calculations(session, delivered_ids).values()]
    lines: dict[int, ProductLine] = {}
    if latest:
        used = session.execute(
            select(PriceItem, Calculation.case_id)
            .join(CalculationLine, CalculationLine.price_item_id == PriceItem.id)
            .join(Calculation, Calculation.id == CalculationLine.calculation_id)
            .where(Calculation.id.in_(latest), PriceItem.list_key == price_list.KEY)
            .distinct())
        for item, case_id in used:
            line = lines.setdefault(item.id, ProductLine(item.id, item.code, item.name,
                                                         item.category))
            line.delivered.append(case_id)
            if case_id in complained:
                line.complained.append(case_id)
    for line in lines.values():
        line.delivered.sort()
        line.complained.sort()
    ordered = sorted(lines.values(), key=lambda x: (
        -(x.rate or 0), -len(x.delivered), x.name.lower(), x.item_id))
    titles = dict(session.execute(select(Case.id, Case.title).where(
        Case.id.in_(complained))).all()) if complained else {}
    return ComplaintRate(within, ordered, len(delivered_ids), len(complained), titles)


# --- The reps' sales picture ---------------------------------------------------------

@dataclass
class SalesEntry:
    """One thing behind the figures: a visit or call a rep recorded, a calculation
    sent, an offer made, a project won."""

    kind: str  # one of ENTRY_KINDS
    at: datetime
    rep_id: int | None
    region: str = regions.UNKNOWN
    subject: str = ""
    amount: Decimal | None = None
    case_id: int | None = None
    organisation_id: int | None = None
    person_id: int | None = None
    activity_id: int | None = None
    document_id: int | None = None
    calculation_id: int | None = None
    # The records' names, for the reader who may see them; empty otherwise.
    case_title: str = ""
    organisation_name: str = ""
    person_name: str = ""


@dataclass
class SalesLine:
    key: str  # the rep's id, or the region's key; "" in the total
    name: str
    visits: int = 0
    calls: int = 0
    offers: int = 0  # calculations sent to the customer
    offer_documents: int = 0
    won: int = 0
    won_value: Decimal = Decimal(0)

    def add(self, entry: SalesEntry) -> None:
        if entry.kind == VISIT:
            self.visits += 1
        elif entry.kind == CALL:
            self.calls += 1
        elif entry.kind == OFFER:
            self.offers += 1
        elif entry.kind == OFFER_DOCUMENT:
            self.offer_documents += 1
        else:
            self.won += 1
            self.won_value += entry.amount or 0


@dataclass
class SalesPicture:
    period: Period
    by_rep: list[SalesLine]
    by_region: list[SalesLine]
    total: SalesLine
    entries: list[SalesEntry]  # newest first


def sales_picture(session: Session, actor, within: Period, rep_id: int | None = None,
                  region_key: str | None = None, team_id: int | None = None) -> SalesPicture:
    """What the reps did in the period, per rep and per voivodeship of the customer.

    The reps are the account managers of the projects the reader may see and the staff
    who recorded the visits and calls the reader may see in the period, or the members
    of ``team_id``; ``rep_id`` and ``region_key`` narrow it further. Visits and calls
    are the reps' own entries on the timeline (a visit is a meeting); calculations sent,
    offers made and projects won (reached the order) count for the project's account
    manager. A region is the customer organisation's voivodeship.
    """
    chosen, group = narrowing(session, rep_id, team_id, region_key)
    if group is not None:
        members = set(session.scalars(select(TeamMember.user_id)
                                      .where(TeamMember.team_id == group.id)))
        reps = members if chosen is None else {chosen.id} & members
        activities = _activities(session, actor, within, reps)
    elif chosen is not None:
        reps = {chosen.id}
        activities = _activities(session, actor, within, reps)
    else:
        activities = _activities(session, actor, within)
        reps = set(session.scalars(_projects(actor).where(Case.owner_id.is_not(None))
                                   .with_only_columns(Case.owner_id).distinct())) \
            | {e.rep_id for e in activities}
    everyone = chosen is None and group is None  # nobody's projects count too
    entries = [e for e in activities
               + _offers(session, actor, within) + _offer_documents(session, actor, within)
               + _won(session, actor, within)
               if e.rep_id in reps or (everyone and e.rep_id is None)]
    _place(session, actor, entries)
    if region_key is not None:
        entries = [e for e in entries if e.region == region_key]
    entries.sort(key=lambda e: (e.at, e.kind), reverse=True)
    names = _names(session, reps | {e.rep_id for e in entries})
    by_rep = {str(r): SalesLine(str(r), names.get(r, "")) for r in reps}
    by_region: dict[str, SalesLine] = {}
    total = SalesLine("", _("All"))
    for entry in entries:
        key = "" if entry.rep_id is None else str(entry.rep_id)
        by_rep.setdefault(key, SalesLine(key, names.get(entry.rep_id, _("Nobody")))).add(entry)
        by_region.setdefault(entry.region, SalesLine(
            entry.region, regions.name(entry.region))).add(entry)
        total.add(entry)
    return SalesPicture(
        within, sorted(by_rep.values(), key=lambda x: (not x.key, x.name.lower())),
        sorted(by_region.values(), key=lambda x: (x.key in (regions.ABROAD, regions.UNKNOWN),
                                                  x.name.lower())),
        total, entries)


def narrowing(session: Session, rep_id=None, team_id=None, region_key=None
              ) -> tuple[User | None, Team | None]:
    """The rep and the team the sales picture is narrowed to; every one that cannot be
    used refused at once, under its name."""
    errors: dict[str, str] = {}
    chosen = checked(errors, lambda: rep(session, rep_id)) if rep_id is not None else None
    group = checked(errors, lambda: team(session, team_id)) if team_id is not None else None
    if region_key is not None:
        checked(errors, lambda: region(region_key))
    if errors:
        raise ValidationError(errors)
    return chosen, group


def _activities(session: Session, actor, within: Period, reps: set[int] | None = None
                ) -> list[SalesEntry]:
    """The visits and calls ``actor`` may see that the reps (None: any staff member)
    recorded by hand in the period."""
    if reps is not None and not reps:
        return []
    authors = Activity.created_by_id.in_(reps) if reps is not None else \
        Activity.created_by_id.in_(select(User.id).where(User.kind == "staff"))
    query = timeline.seen(select(Activity).where(
        Activity.kind.in_(tuple(ACTIVITY_KINDS)), Activity.event == "", authors,
        Activity.occurred_at >= within.start,
        Activity.occurred_at < within.end), actor).options(selectinload(Activity.links))
    found = []
    for activity in session.scalars(query):
        linked: dict[str, list[int]] = {}
        for link in sorted(activity.links, key=lambda x: x.record_id):
            linked.setdefault(link.record_type, []).append(link.record_id)
        found.append(SalesEntry(
            ACTIVITY_KINDS[activity.kind], activity.occurred_at, activity.created_by_id,
            subject=activity.subject, activity_id=activity.id,
            case_id=next(iter(linked.get("case", [])), None),
            organisation_id=next(iter(linked.get("organisation", [])), None),
            person_id=next(iter(linked.get("person", [])), None)))
    return found


def _offers(session: Session, actor, within: Period) -> list[SalesEntry]:
    """The calculations of projects marked sent to the customer in the period."""
    projects = _projects(actor).subquery()
    rows = session.execute(
        select(Activity, projects.c.id, projects.c.owner_id, projects.c.organisation_id)
        .join(ActivityLink, ActivityLink.activity_id == Activity.id)
        .join(projects, projects.c.id == ActivityLink.record_id)
        .where(ActivityLink.record_type == "case", Activity.event == "calculation_decided",
               Activity.occurred_at >= within.start, Activity.occurred_at < within.end))
    found = [(a, case_id, owner_id, org_id) for a, case_id, owner_id, org_id in rows
             if (a.data or {}).get("status") == "sent"]
    ids = {(a.data or {}).get("calculation_id") for a, *_rest in found} - {None}
    nets = dict(session.execute(select(Calculation.id, Calculation.net)
                                .where(Calculation.id.in_(ids))).all()) if ids else {}
    return [SalesEntry(OFFER, a.occurred_at, owner_id, subject=a.subject,
                       amount=nets.get(a.data.get("calculation_id")), case_id=case_id,
                       organisation_id=org_id, activity_id=a.id,
                       calculation_id=a.data.get("calculation_id"))
            for a, case_id, owner_id, org_id in found]


def _offer_documents(session: Session, actor, within: Period) -> list[SalesEntry]:
    """The offers made from the offer template for projects in the period."""
    projects = _projects(actor).subquery()
    rows = session.execute(
        select(Document, projects.c.owner_id, projects.c.organisation_id)
        .join(DocumentTemplate, DocumentTemplate.id == Document.template_id)
        .join(projects, projects.c.id == Document.record_id)
        .where(DocumentTemplate.key == OFFER_TEMPLATE, Document.record_type == "case",
               Document.created_at >= within.start, Document.created_at < within.end))
    return [SalesEntry(OFFER_DOCUMENT, doc.created_at, owner_id,
                       subject=" ".join(p for p in (doc.title, doc.number or "") if p),
                       case_id=doc.record_id, organisation_id=org_id, document_id=doc.id)
            for doc, owner_id, org_id in rows]


def _won(session: Session, actor, within: Period) -> list[SalesEntry]:
    """The projects that reached the order in the period, with their amounts."""
    projects = _projects(actor).subquery()
    rows = session.execute(
        select(PhaseChange.at, projects.c.id, projects.c.owner_id,
               projects.c.organisation_id, projects.c.amount)
        .join(projects, projects.c.id == PhaseChange.case_id)
        .where(PhaseChange.to_phase == "order", PhaseChange.at >= within.start,
               PhaseChange.at < within.end))
    return [SalesEntry(PROJECT_WON, at, owner_id, amount=amount, case_id=case_id,
                       organisation_id=org_id)
            for at, case_id, owner_id, org_id, amount in rows]


def _place(session: Session, actor, entries: list[SalesEntry]) -> None:
    """Each entry's customer organisation (its own, its case's, or its person's
    current one), the voivodeship it is in, and the names the reader may see."""
    case_ids = {e.case_id for e in entries} - {None}
    person_ids = {e.person_id for e in entries} - {None}
    case_orgs = dict(session.execute(select(Case.id, Case.organisation_id)
                                     .where(Case.id.in_(case_ids))).all()) if case_ids else {}
    person_orgs: dict[int, int] = {}
    if person_ids:
        day = today()
        for person_id, org_id in session.execute(
                select(Membership.person_id, Membership.organisation_id).where(
                    Membership.person_id.in_(person_ids),
                    or_(Membership.start_date.is_(None), Membership.start_date <= day),
                    or_(Membership.end_date.is_(None), Membership.end_date >= day))
                .order_by(Membership.id)):
            person_orgs.setdefault(person_id, org_id)
    for entry in entries:
        if entry.organisation_id is None:
            entry.organisation_id = case_orgs.get(entry.case_id) \
                or person_orgs.get(entry.person_id)
    org_ids = {e.organisation_id for e in entries} - {None}
    where = regions.of_organisations(session, org_ids)
    titles = _visible_names(session, actor, Case, case_ids, lambda c: c.title)
    orgs = _visible_names(session, actor, Organisation, org_ids, lambda o: o.name)
    people = _visible_names(session, actor, Person, person_ids, lambda p: p.full_name)
    for entry in entries:
        entry.region = where.get(entry.organisation_id, regions.UNKNOWN)
        entry.case_title = titles.get(entry.case_id, "")
        entry.organisation_name = orgs.get(entry.organisation_id, "")
        entry.person_name = people.get(entry.person_id, "")


def _visible_names(session: Session, actor, model, ids: set, name) -> dict[int, str]:
    if not ids:
        return {}
    return {r.id: name(r) for r in session.scalars(
        records.visible(model, actor).where(model.id.in_(ids)))}
