"""The durability period (okres trwałości, GR-4): what a project promised to keep after it
ended, reported to the grantor year by year.

An awarded application has indicators (KPIs): a name, a unit, the baseline and the
target. They are set from "awarded" on and may change freely until the durability period
begins; from then on they are what the reports are about, so those set no longer change
their name, baseline or target and none is removed, though new ones may be added after
them (an annex to the agreement). The unit may still be corrected.

Entering "durability" plans the reports: one per year of the period
(``grants_durability_years``) counted from the day after the project's end
(``grants_project_end``), each due ``report_days`` (a process setting) after its year
ends, with the due day in the case owner's calendar. Planning again adds only what is
missing. Each report records every indicator's value for its year and is delivered on a
day (after its year, not in the future), optionally with its document (``TEMPLATE``);
the application is closed once every report is delivered, and a delivered report's due
day leaves the calendar.

An indicator's latest value is the one in the latest delivered report that gives it: the
values saved on a report not delivered yet are a draft, not the client's word. An
application in durability is at risk when a report is overdue (not delivered after its
due day) or when an indicator's latest value falls short of ``at_risk_percent`` of its
target (``falls_short``, by which the report's document marks a value too); ``at_risk``
lists them with their reasons in words, reading every application at once.

Whoever may see the application sees its indicators and reports; whoever may change it
changes them. Every change is in the audit trail (through ``core.records``); setting
the indicators, planning and delivering are on the application's timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import format_decimal, lazy_pgettext, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar, documents, permissions, records, timeline, workflow
from core.documents import Series, Template
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today  # a module name, which tests move in time
from core.models import (
    CalendarEvent,
    Case,
    Document,
    DocumentTemplate,
    EventLink,
    Organisation,
    User,
)
from core.terms import term, term_adj, upper_first
from core.validation import MAX_ID
from plugins.grants import applications, fields
from plugins.grants.models import DurabilityReport, Indicator, IndicatorValue

PROCESS = fields.APPLICATION
# Indicators are promised with the award; in durability they are reported on.
INDICATOR_PHASES = ("awarded", "agreement", "settled", "durability")
DURABILITY = "durability"
MAX_INDICATORS = 50
MAX_NAME, MAX_UNIT = 300, 50
MAX_QUANTITY = Decimal("1e10")  # the column holds 10 digits before the point
PLACES = 4
# Adjectives agreeing with the term (Polish "a|b|c|d|e", see core.terms.term_adj).
STATUS_LABELS = {"due": lazy_pgettext("durability report status", "due"),
                 "delivered": lazy_pgettext("durability report status", "delivered")}


# --- Reading -------------------------------------------------------------------------------

application = applications.get  # the grant application the actor may see


def indicators(session: Session, case: Case, actor=None) -> list[Indicator]:
    """The application's indicators in their order."""
    _visible(session, case, actor)
    return _indicators(session, case.id)


def reports(session: Session, case: Case, actor=None) -> list[DurabilityReport]:
    """The application's durability reports, the first year first."""
    _visible(session, case, actor)
    return list(session.scalars(select(DurabilityReport).where(
        DurabilityReport.case_id == case.id).order_by(DurabilityReport.position)))


def report(session: Session, report_id, actor=None) -> DurabilityReport | None:
    """The report, or None when there is none or ``actor`` may not see its application."""
    if not isinstance(report_id, int) or not 0 < report_id <= MAX_ID:
        return None
    found = session.get(DurabilityReport, report_id)
    if found is None or application(session, found.case_id, actor) is None:
        return None
    return found


def values_of(session: Session, found: DurabilityReport) -> dict[int, Decimal]:
    """Indicator id -> its value recorded for the report."""
    return dict(session.execute(select(IndicatorValue.indicator_id, IndicatorValue.value)
                                .where(IndicatorValue.report_id == found.id)).all())


def latest_values(session: Session, case: Case) -> dict[int, Decimal]:
    """Indicator id -> its value in the latest delivered report that gives one."""
    return {k: value for k, (value, _end) in latest_reported(session, [case.id]).items()}


def latest_reported(session: Session, case_ids) -> dict[int, tuple[Decimal, date]]:
    """Indicator id -> (its value, the last day of the period it is for) in the latest
    delivered report that gives one, for the indicators of the applications ``case_ids``,
    in one query. A report not delivered yet is a draft: its values do not count."""
    case_ids = list(case_ids)
    if not case_ids:
        return {}
    rows = session.execute(
        select(IndicatorValue.indicator_id, IndicatorValue.value, DurabilityReport.period_end)
        .join(DurabilityReport, DurabilityReport.id == IndicatorValue.report_id)
        .where(DurabilityReport.case_id.in_(case_ids), DurabilityReport.status == "delivered",
               DurabilityReport.deleted_at.is_(None))
        .order_by(DurabilityReport.position))
    return {k: (value, end) for k, value, end in rows}  # later reports overwrite earlier


def may_change(session: Session, actor, case: Case) -> bool:
    try:
        _require_change(session, case, actor)
    except Forbidden:
        return False
    return True


def indicators_open(case: Case) -> bool:
    """Whether the application's indicators may be set in its phase."""
    return case.phase_key in INDICATOR_PHASES


def locked(case: Case) -> bool:
    """In durability the indicators set are reported on: they no longer change."""
    return case.phase_key == DURABILITY


def period_label(found: DurabilityReport) -> str:
    """"2028" for a calendar year, "2028/2029" for a year across two."""
    start, end = found.period_start.year, found.period_end.year
    return str(start) if start == end else f"{start}/{end}"


def title(found: DurabilityReport) -> str:
    """"Durability report 2028", in the installation's terms."""
    return f"{upper_first(term('grants.durability_report'))} {period_label(found)}"


def is_overdue(found: DurabilityReport, today: date | None = None) -> bool:
    return found.status == "due" and found.due_on < (today or local_today())


def status_name(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return term_adj("grants.durability_report", label) if label is not None else status


def quantity(value: Decimal | None) -> str:
    """A value as people read it, in their language: "1,234.5", "1 234,5"."""
    return "" if value is None else format_decimal(value, format="#,##0.####")


def plain(value: Decimal | None) -> str:
    """A value as a form and the API give it: "1234.5", never "1.2345E+3"."""
    if value is None:
        return ""
    return format(value.normalize(), "f") if value else "0"


def day_text(value: date) -> str:
    return value.strftime("%d.%m.%Y")


# --- Indicators ----------------------------------------------------------------------------

def set_indicators(session: Session, case: Case, items, actor=None) -> list[Indicator]:
    """Set the application's indicators to ``items`` (dicts with ``name``, ``unit``,
    ``baseline`` and ``target``), in their order: the n-th item is the n-th indicator;
    those beyond the items are removed. Every problem is named at once, as
    ``indicators.<index>.<field>``, and nothing is written then."""
    _visible(session, case, actor)
    _require_change(session, case, actor)
    if not indicators_open(case):
        raise ValidationError({"_": _(
            "%(what)s are set once the %(application)s is awarded, until its %(period)s "
            "ends.", what=upper_first(term("grants.indicator", plural=True)),
            application=term("grants.application"), period=term("grants.durability"))})
    existing = _indicators(session, case.id)
    clean = _clean_indicators(items, existing if locked(case) else [])
    before = [_summary(i) for i in existing]
    for position, values in enumerate(clean, start=1):
        if position <= len(existing):
            records.update(session, existing[position - 1], values, actor)
        else:
            records.create(session, Indicator(case_id=case.id, position=position, **values),
                           actor)
    for gone in existing[len(clean):]:
        records.delete(session, gone, actor)
    found = _indicators(session, case.id)
    after = [_summary(i) for i in found]
    if after != before:
        _on_timeline(session, case, "grants.indicators_set", _(
            "%(what)s set: %(count)d", what=term("grants.indicator", plural=True),
            count=len(found)), "\n".join(_describe(i) for i in found), actor,
            {"case_id": case.id, "indicators": after})
    return found


def _clean_indicators(items, kept: list[Indicator]) -> list[dict]:
    """The items' values, or a ValidationError naming every problem; ``kept`` are the
    indicators reported on, which must come first and unchanged."""
    if not isinstance(items, list | tuple):
        raise ValidationError({"indicators": _("Give the indicators as a list.")})
    errors: dict[str, str] = {}
    if len(items) > MAX_INDICATORS:
        errors["indicators"] = _("At most %(n)d indicators.", n=MAX_INDICATORS)
    elif len(items) < len(kept):
        errors["indicators"] = _(
            "In the %(period)s the %(what)s reported on are not removed; add new ones after "
            "them.", period=term("grants.durability", case="loc"),
            what=term("grants.indicator", plural=True))
    clean, names = [], set()
    for index, item in enumerate(items[:MAX_INDICATORS]):
        values = _clean_indicator(item, f"indicators.{index}", errors)
        if values is None:
            continue
        folded = values["name"].casefold()
        if folded and folded in names:
            errors.setdefault(f"indicators.{index}.name",
                              _("Another indicator has this name already."))
        names.add(folded)
        if index < len(kept):
            _unchanged(kept[index], values, f"indicators.{index}", errors)
        clean.append(values)
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_indicator(item, prefix: str, errors: dict) -> dict | None:
    if not isinstance(item, Mapping):
        errors[prefix] = _("Give each indicator with its name, unit, baseline and target.")
        return None
    name = _text(item.get("name"))
    unit = _text(item.get("unit"))
    if not name:
        errors[f"{prefix}.name"] = _("Name the indicator.")
    elif len(name) > MAX_NAME:
        errors[f"{prefix}.name"] = _("At most %(n)d characters.", n=MAX_NAME)
    if len(unit) > MAX_UNIT:
        errors[f"{prefix}.unit"] = _("At most %(n)d characters.", n=MAX_UNIT)
    baseline, problem = _number(item.get("baseline"), _(
        "Enter the baseline as a number, 0 or more."))
    if problem:
        errors[f"{prefix}.baseline"] = problem
    target, problem = _number(item.get("target"), _(
        "Enter the target as a number greater than 0."))
    if problem or target is None or target <= 0:
        errors[f"{prefix}.target"] = problem or _(
            "Enter the target as a number greater than 0.")
    return {"name": name, "unit": unit, "baseline": baseline or Decimal(0),
            "target": target}


def _unchanged(indicator: Indicator, values: dict, prefix: str, errors: dict) -> None:
    """An indicator reported on keeps its name, baseline and target."""
    why = _("It is reported on in the %(period)s: it no longer changes.",
            period=term("grants.durability", case="loc"))
    if values["name"] and values["name"] != indicator.name:
        errors.setdefault(f"{prefix}.name", why)
    for key in ("baseline", "target"):
        if values[key] is not None and values[key] != getattr(indicator, key):
            errors.setdefault(f"{prefix}.{key}", why)


def no_indicators(session: Session, case: Case) -> str | None:
    """The check of the step to "durability": the reports need indicators."""
    if _indicators(session, case.id):
        return None
    return _("Set the %(what)s the %(period)s is reported on.",
             what=term("grants.indicator", case="acc", plural=True),
             period=term("grants.durability"))


# --- Planning the reports ------------------------------------------------------------------

def periods(project_end: date, years: int, report_days: int
            ) -> list[tuple[date, date, date]]:
    """(start, end, due) of each year of the durability period, counted from the day
    after the project's end; each due ``report_days`` after its year ends."""
    found = []
    for year in range(1, years + 1):
        start = _add_years(project_end, year - 1) + timedelta(days=1)
        end = _add_years(project_end, year)
        found.append((start, end, end + timedelta(days=report_days)))
    return found


def generate(session: Session, case: Case, actor=None) -> list[DurabilityReport]:
    """The action on entering "durability": the reports of the period, those missing
    only (planning again duplicates none), each due day in the owner's calendar."""
    end, years = _period_of(case)
    days = int(_settings(session)["report_days"])
    have = {r.position for r in session.scalars(select(DurabilityReport).where(
        DurabilityReport.case_id == case.id))}
    made = []
    for position, (start, last, due) in enumerate(periods(end, years, days), start=1):
        if position in have:
            continue
        made.append(records.create(session, DurabilityReport(
            case_id=case.id, position=position, period_start=start, period_end=last,
            due_on=due, status="due"), actor))
    for found in made:
        _in_calendar(session, case, found)
    if made:
        _on_timeline(session, case, "grants.durability_planned", _(
            "%(what)s planned: %(count)d", what=term("grants.durability_report", plural=True),
            count=len(made)), "\n".join(
            _("%(report)s: %(start)s–%(end)s, due %(due)s", report=title(r),
              start=day_text(r.period_start), end=day_text(r.period_end),
              due=day_text(r.due_on)) for r in made), actor,
            {"case_id": case.id, "reports": [r.id for r in made]})
    return made


def _period_of(case: Case) -> tuple[date, int]:
    """The project's end and the years of durability, or why the reports cannot be
    planned (both are the grant agreement's)."""
    custom = case.custom or {}
    errors = {}
    try:
        end = date.fromisoformat(str(custom.get(fields.PROJECT_END) or ""))
    except ValueError:
        end = None
        errors[f"custom.{fields.PROJECT_END}"] = _(
            "Give the day the project ends: the %(period)s starts the day after.",
            period=term("grants.durability"))
    try:
        years = int(custom.get(fields.DURABILITY_YEARS) or 0)
    except (TypeError, ValueError):
        years = 0
    if years < 1:
        errors[f"custom.{fields.DURABILITY_YEARS}"] = _(
            "Give how many years the %(period)s lasts.", period=term("grants.durability"))
    if errors:
        raise ValidationError(errors)
    return end, years


def _in_calendar(session: Session, case: Case, found: DurabilityReport) -> None:
    """The due day as an all-day event linked to the application and the report, for its
    owner: the system's copy of the plan, made by nobody."""
    owner = session.get(User, case.owner_id) if case.owner_id else None
    calendar.create_event(session, {
        "title": _("%(report)s due: %(case)s", report=title(found), case=case.title)[:300],
        "description": _("For %(start)s–%(end)s.", start=day_text(found.period_start),
                         end=day_text(found.period_end)),
        "all_day": True, "starts_at": found.due_on},
        attendees_users=[owner] if owner is not None and owner.active else [],
        about=[*workflow.about_case(session, case), found])


def _off_calendar(session: Session, found: DurabilityReport) -> None:
    """A delivered report's due day no longer stands: the system cancels its copy (the
    calendar has no "done"; feeds tell subscribers to remove it)."""
    planned = session.scalars(select(CalendarEvent).join(EventLink).where(
        EventLink.record_type == DurabilityReport.record_type, EventLink.record_id == found.id,
        CalendarEvent.deleted_at.is_(None)))
    for event in planned:
        calendar.cancel_event(session, event)


# --- Reporting -----------------------------------------------------------------------------

def report_values(session: Session, found: DurabilityReport, values, actor=None,
                  expected_version: int | None = None) -> DurabilityReport:
    """Record each indicator's value for the report: ``values`` maps the indicator's id
    to a number, 0 or more; every indicator needs one. Errors as ``values.<id>``."""
    case = _changeable(session, found, actor)
    errors = _still_due(found)
    parsed, problems = _clean_values(session, case, values)
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
    _store_values(session, found, parsed, actor, expected_version)
    return found


def _clean_values(session: Session, case: Case, values) -> tuple[dict[int, Decimal], dict]:
    """Indicator id -> value, and the problems: a value missing or not a number, an id
    that is not one of the application's indicators."""
    if not isinstance(values, Mapping):
        return {}, {"values": _("Give the values by the indicators' ids.")}
    known = _indicators(session, case.id)
    ids = {str(i.id) for i in known}
    errors = {f"values.{str(key)[:20]}": _("There is no such indicator of this application.")
              for key in values if str(key) not in ids}
    given = {str(key): raw for key, raw in values.items()}
    parsed = {}
    for indicator in known:
        value, problem = _number(given.get(str(indicator.id)), _(
            "Enter the value as a number, 0 or more."))
        if problem or value is None:
            errors[f"values.{indicator.id}"] = problem or _("Enter the value for this period.")
        else:
            parsed[indicator.id] = value
    return parsed, errors


def _still_due(found: DurabilityReport) -> dict:
    if found.status != "delivered":
        return {}
    return {"status": _("The %(report)s was delivered already; its values no longer change.",
                        report=term("grants.durability_report"))}


def _store_values(session: Session, found: DurabilityReport, parsed: dict[int, Decimal],
                  actor, expected_version: int | None) -> None:
    """The values as the report's own change in the audit trail, then the rows."""
    rows = {v.indicator_id: v for v in session.scalars(select(IndicatorValue).where(
        IndicatorValue.report_id == found.id))}
    names = {i.id: i.name for i in _indicators(session, found.case_id)}
    old = {names.get(k, str(k)): plain(v.value) for k, v in rows.items()}
    new = {names[k]: plain(v) for k, v in parsed.items()}
    records.touch(session, found, {} if old == new else {"values": (old, new)}, actor,
                  expected_version)
    for indicator_id, value in parsed.items():
        row = rows.get(indicator_id)
        if row is None:
            session.add(IndicatorValue(report_id=found.id, indicator_id=indicator_id,
                                       value=value))
        elif row.value != value:
            row.value = value
    session.flush()


def deliver(session: Session, found: DurabilityReport, delivered_on, actor=None,
            expected_version: int | None = None, values=None) -> DurabilityReport:
    """The report was delivered to the grantor on ``delivered_on`` (a date or
    "YYYY-MM-DD"): after its year ended, not in the future, with every value recorded,
    or given here as ``values`` (as ``report_values`` takes them)."""
    case = _changeable(session, found, actor)
    errors = {"status": _("The %(report)s was delivered already.", report=term(
        "grants.durability_report"))} if found.status == "delivered" else {}
    day = _date(delivered_on)
    if day is None:
        errors["delivered_on"] = _("Enter the day it was delivered, such as 2029-01-20.")
    elif day > local_today():
        errors["delivered_on"] = _("The day it was delivered cannot be in the future.")
    elif day <= found.period_end:
        errors["delivered_on"] = _(
            "The report covers the time up to %(day)s: it is delivered after that day.",
            day=day_text(found.period_end))
    if values is not None:
        parsed, problems = _clean_values(session, case, values)
    else:
        parsed = values_of(session, found)
        problems = {f"values.{i.id}": _("Enter the value for this period.")
                    for i in _indicators(session, case.id) if i.id not in parsed}
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
    if values is not None:
        _store_values(session, found, parsed, actor, expected_version)
        expected_version = None  # checked by the first change
    records.update(session, found, {"status": "delivered", "delivered_on": day}, actor,
                   expected_version)
    _off_calendar(session, found)
    late = (day - found.due_on).days
    lines = [ngettext("Delivered on %(day)s, %(num)d day after the due day.",
                      "Delivered on %(day)s, %(num)d days after the due day.", late,
                      day=day_text(day)) if late > 0
             else _("Delivered on %(day)s.", day=day_text(day))]
    lines += [_against_target(i, parsed[i.id]) for i in _indicators(session, case.id)]
    _on_timeline(session, case, "grants.durability_report_delivered", _(
        "%(report)s delivered", report=title(found)), "\n".join(lines), actor,
        {"case_id": case.id, "report_id": found.id, "delivered_on": day.isoformat()})
    return found


def undelivered(session: Session, case: Case) -> str | None:
    """The check of the step to "closed": every report delivered."""
    due = session.scalars(select(DurabilityReport).where(
        DurabilityReport.case_id == case.id, DurabilityReport.status != "delivered")).all()
    if not due:
        return None
    return ngettext("%(num)d %(what)s is not delivered yet: %(list)s.",
                    "%(num)d %(what)s are not delivered yet: %(list)s.", len(due),
                    what=term("grants.durability_report", count=len(due)),
                    list=", ".join(period_label(r) for r in due))


# --- The document --------------------------------------------------------------------------

def document(session: Session, host, settings, found: DurabilityReport, actor=None
             ) -> Document:
    """The report's document from ``TEMPLATE``, kept on the application and noted on
    the report; the values not recorded yet are left blank in it."""
    case = application(session, found.case_id, actor)
    if case is None:
        raise Forbidden(_("You may not do this with this record."))
    _require_change(session, case, actor)
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == TEMPLATE.key))
    if template is None or not template.active:
        raise ValidationError({"template": _(
            "The template of the %(report)s is switched off.",
            report=term("grants.durability_report", case="gen"))})
    made = documents.generate(session, host, settings, template, case, actor,
                              extra={"durability_report": template_data(session, found)})
    records.update(session, found, {"document_id": made.id}, actor)
    return made


def template_data(session: Session, found: DurabilityReport) -> dict:
    """What the template sees of one report: plain data; a value falling short of the
    share of its target that puts the application at risk is marked "below"."""
    have, percent = values_of(session, found), threshold(session)
    count = session.scalar(select(DurabilityReport.position).where(
        DurabilityReport.case_id == found.case_id)
        .order_by(DurabilityReport.position.desc()).limit(1)) or found.position
    return {"position": found.position, "count": count, "period": period_label(found),
            "period_start": found.period_start, "period_end": found.period_end,
            "due_on": found.due_on, "delivered_on": found.delivered_on,
            "indicators": [_indicator_data(i, have.get(i.id), percent)
                           for i in _indicators(session, found.case_id)]}


def _indicator_data(indicator: Indicator, value: Decimal | None, percent: Decimal) -> dict:
    """The numbers, and as people read them ("400,5": a quantity is no amount of money)."""
    return {"name": indicator.name, "unit": indicator.unit, "baseline": indicator.baseline,
            "target": indicator.target, "value": value,
            "baseline_text": quantity(indicator.baseline),
            "target_text": quantity(indicator.target), "value_text": quantity(value),
            "below": value is not None and falls_short(value, indicator.target, percent)}


# --- At risk -------------------------------------------------------------------------------

@dataclass
class Risk:
    """An application in durability at risk, and why, in words."""

    case: Case
    organisation: Organisation | None
    reasons: list[str] = field(default_factory=list)
    overdue: list[DurabilityReport] = field(default_factory=list)
    below: list[tuple[Indicator, Decimal]] = field(default_factory=list)


def at_risk(session: Session, today: date | None = None, actor=None) -> list[Risk]:
    """The applications in durability (of those ``actor`` may see) with a report
    overdue or an indicator's latest value falling short of ``at_risk_percent`` of its
    target; by client. A few queries, however many applications there are."""
    cases = list(session.scalars(records.visible(Case, actor).where(
        Case.process_key == PROCESS, Case.phase_key == DURABILITY)))
    found = _risks(session, cases, today or local_today(), actor)
    return sorted(found, key=lambda r: ((r.organisation.name if r.organisation else ""),
                                        r.case.title, r.case.id))


def risk_of(session: Session, case: Case, today: date | None = None, actor=None
            ) -> Risk | None:
    """Why one application is at risk, or None (also outside durability)."""
    _visible(session, case, actor)
    if case.phase_key != DURABILITY:
        return None
    found = _risks(session, [case], today or local_today(), actor)
    return found[0] if found else None


def falls_short(value: Decimal, target: Decimal, percent: Decimal) -> bool:
    """Whether a value is below ``percent`` % of its target: the indicator is at risk."""
    return value < target * percent / 100


def threshold(session: Session) -> Decimal:
    """The process setting ``at_risk_percent``: below this % of its target an indicator
    is at risk."""
    return Decimal(str(_settings(session)["at_risk_percent"]))


def client_of(session: Session, case: Case, actor=None) -> Organisation | None:
    """The application's client firm, when ``actor`` may see it."""
    return records.get(session, Organisation, case.organisation_id, actor) \
        if case.organisation_id else None


def _risks(session: Session, cases: list[Case], today: date, actor) -> list[Risk]:
    """The risks among ``cases``, their reports, values, indicators and clients read
    for all of them at once."""
    if not cases:
        return []
    ids, percent = [c.id for c in cases], threshold(session)
    overdue = _by_case(session.scalars(select(DurabilityReport).where(
        DurabilityReport.case_id.in_(ids), DurabilityReport.status == "due",
        DurabilityReport.due_on < today, DurabilityReport.deleted_at.is_(None))
        .order_by(DurabilityReport.position)))
    indicators = _by_case(session.scalars(select(Indicator).where(
        Indicator.case_id.in_(ids)).order_by(Indicator.position)))
    last = latest_reported(session, ids)
    clients = _clients(session, [c.organisation_id for c in cases], actor)
    found = []
    for case in cases:
        late = overdue.get(case.id, [])
        below = [(i, last[i.id][0]) for i in indicators.get(case.id, [])
                 if i.id in last and falls_short(last[i.id][0], i.target, percent)]
        if not late and not below:
            continue
        reasons = [_("%(report)s overdue since %(day)s", report=title(r),
                     day=day_text(r.due_on)) for r in late]
        reasons += [_against_target(i, value) for i, value in below]
        found.append(Risk(case, clients.get(case.organisation_id), reasons, late, below))
    return found


def _by_case(rows) -> dict[int, list]:
    """Rows with a ``case_id`` by it, in the order given."""
    found: dict[int, list] = {}
    for row in rows:
        found.setdefault(row.case_id, []).append(row)
    return found


def _clients(session: Session, ids, actor) -> dict[int, Organisation]:
    """The client firms of ``ids`` that ``actor`` may see."""
    ids = set(ids) - {None}
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(records.visible(Organisation, actor).where(
        Organisation.id.in_(ids)))}


def _against_target(indicator: Indicator, value: Decimal) -> str:
    """"Jobs created: 3 of 5", with the unit when it has one."""
    return f"{indicator.name}: " + _("%(value)s of %(target)s", value=quantity(value),
                                      target=quantity(indicator.target)) \
        + (f" {indicator.unit}" if indicator.unit else "")


# --- Checks and helpers --------------------------------------------------------------------

def _indicators(session: Session, case_id: int) -> list[Indicator]:
    return list(session.scalars(select(Indicator).where(Indicator.case_id == case_id)
                                .order_by(Indicator.position)))


def _visible(session: Session, case: Case, actor) -> None:
    applications.require_visible(session, case, actor, "grants.indicator")


def _require_change(session: Session, case: Case, actor) -> None:
    """Indicators and reports are the application's: changed by whoever may change it."""
    try:
        permissions.require(session, actor, case, "edit", {})
    except Forbidden:
        raise Forbidden(_("You may not change the %(application)s, nor its %(what)s.",
                          application=term("grants.application", case="gen"),
                          what=term("grants.durability_report", case="gen", plural=True))
                        ) from None


def _changeable(session: Session, found: DurabilityReport, actor) -> Case:
    """The report's application, which ``actor`` may change, in durability."""
    case = application(session, found.case_id, actor)
    if case is None:
        raise Forbidden(_("You may not do this with this record."))
    _require_change(session, case, actor)
    if case.phase_key != DURABILITY:
        raise ValidationError({"_": _(
            "The %(period)s is over; its %(what)s no longer change.",
            period=term("grants.durability"),
            what=term("grants.durability_report", plural=True))})
    return case


def _settings(session: Session) -> dict:
    from plugins.grants import process  # it imports this module

    return workflow.settings(session, process.APPLICATION)


def _on_timeline(session: Session, case: Case, event: str, subject: str, body: str,
                 actor, data: dict) -> None:
    timeline.add(session, "system", upper_first(subject), workflow.about_case(session, case),
                 body=body, actor=actor, event=event, data=data)


def _summary(indicator: Indicator) -> list:
    return [indicator.name, indicator.unit, plain(indicator.baseline), plain(indicator.target)]


def _describe(indicator: Indicator) -> str:
    unit = f" {indicator.unit}" if indicator.unit else ""
    return _("%(name)s: from %(baseline)s to %(target)s%(unit)s", name=indicator.name,
             baseline=quantity(indicator.baseline), target=quantity(indicator.target),
             unit=unit)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(raw, invalid: str) -> tuple[Decimal | None, str | None]:
    """A quantity typed ("1 234,5") or sent (a number): (value, None), (None, None) when
    empty, or (None, why not)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        return None, invalid
    text = str(raw).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, invalid
    if not value.is_finite() or value < 0:
        return None, invalid
    if value >= MAX_QUANTITY:
        return None, _("Enter a number below 10 000 000 000.")
    if value != value.quantize(Decimal(1).scaleb(-PLACES)):
        return None, _("Use at most %(n)d decimal places.", n=PLACES)
    return value, None


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return None


def _add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- The template --------------------------------------------------------------------------

STYLE = """<style>
  :root { --accent: #2e7d32; --tint: #f3f8f3; }
  table.items td.below { color: #b71c1c; font-weight: bold; }
</style>
"""

BODY = STYLE + """{% set report = durability_report if durability_report is defined else {} %}
<div class="doc">
{% set title = "Sprawozdanie z okresu trwałości projektu" %}
{% if report %}{% set subtitle = "za okres " ~ day(report.period_start, "short") ~ " – "
   ~ day(report.period_end, "short") %}{% endif %}
{% set dated = "Data" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Beneficjent" %}
    {% include "client.html" %}
  </td>
  <td>
    {% set label = "Opiekun projektu" %}
    {% include "owner.html" %}
  </td>
</tr></table>

<table class="facts">
  <tr><td class="key">Projekt</td><td><strong>{{ case.title }}</strong></td></tr>
  {% if case.custom.get("grants_agreement_number") %}
  <tr><td class="key">{{ term("grants.agreement")|capitalize }}</td>
      <td>nr {{ case.custom.get("grants_agreement_number") }}
        {%- if case.custom.get("grants_agreement_date") %} z dnia
        {{ case.custom.get("grants_agreement_date") }}{% endif %}</td></tr>
  {% endif %}
  {% if case.custom.get("grants_awarded_amount") %}
  <tr><td class="key">Kwota dofinansowania</td>
      <td>{{ case.custom.get("grants_awarded_amount") }}</td></tr>
  {% endif %}
  {% if case.custom.get("grants_project_end") %}
  <tr><td class="key">Zakończenie realizacji</td>
      <td>{{ case.custom.get("grants_project_end") }}</td></tr>
  {% endif %}
  {% if report %}
  <tr><td class="key">Okres sprawozdawczy</td>
      <td>{{ day(report.period_start) }} – {{ day(report.period_end) }}
        (rok {{ report.position }} z {{ report.count }})</td></tr>
  <tr><td class="key">Termin złożenia</td><td>{{ day(report.due_on) }}</td></tr>
  {% endif %}
</table>

<h2>{{ term("grants.indicator", "nom", 2)|capitalize }}</h2>
{% if report and report.indicators %}
<table class="items">
  <tr><th style="width: 6%">Lp.</th><th>{{ term("grants.indicator")|capitalize }}</th>
      <th>Jednostka</th><th class="money">Wartość bazowa</th>
      <th class="money">Wartość docelowa</th><th class="money">Wartość w okresie</th></tr>
  {% for i in report.indicators %}
  <tr><td>{{ loop.index }}.</td><td>{{ i.name }}</td><td>{{ i.unit }}</td>
      <td class="money">{{ i.baseline_text }}</td><td class="money">{{ i.target_text }}</td>
      <td class="money{% if i.below %} below{% endif %}">{{ i.value_text or "—" }}</td></tr>
  {% endfor %}
</table>
{% else %}
<p>Wartości {{ term("grants.indicator", "gen", 2) }} zostaną podane w sprawozdaniu
  za dany rok {{ term("grants.durability", "gen") }}.</p>
{% endif %}

<p style="margin-top: 6mm">Oświadczamy, że rezultaty projektu są utrzymywane zgodnie
  z {{ term("grants.agreement", "ins") }}, a przedstawione dane są zgodne z prawdą.</p>

{% set left = "Data, pieczęć i podpis osoby upoważnionej do reprezentowania Beneficjenta" %}
{% set right_above = "Sporządził" %}
{% set right %}
  {%- if owner %}{{ owner.name }}{% else %}{{ company.name }}{% endif -%}
{% endset %}
{% include "signatures.html" %}
</div>
"""

TEMPLATE = Template(
    "grants.durability_report", "letter", "case",
    {"pl": "Sprawozdanie z okresu trwałości", "en": "Durability report"}, BODY,
    series=Series("grants.durability_report", "Sprawozdania z trwałości", "ST/{year}/{seq}"),
    processes=(PROCESS,), needs=("durability_report",))
