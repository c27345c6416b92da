"""Processes: the phases a case moves through, the checks that guard each step, and moving.

A plugin defines a ``Process`` (``kartoteka_register_processes``): its phases, each a
term with an optional deadline; the transitions allowed between them, each with the
checks that must pass, the approval that must be given, the permission that is needed
and the actions run on the step. A phase may start subprocesses (child cases) and wait
for them. Administrators adjust what is safe to adjust without code: phase names (they
are terms), deadlines, optional checks and the process's own settings (limits in PLN),
stored as ``ProcessSetting`` rows.

``move`` is the one way a case changes phase: checks, approvals, permission, the
version (two people moving one case: the second is told), the phase history, the
timeline, the audit trail and the ``kartoteka_case_moved`` notification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, events, permissions, records, timeline
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Case, PhaseChange, ProcessSetting, User
from core.terms import term

SETTING_KINDS = ("money", "percent", "days", "flag")


def localised(text: str | dict[str, str], locale: str | None = None) -> str:
    """A plugin's text, given as one string or per language (``{"pl": ..., "en": ...}``)."""
    if isinstance(text, str):
        return text
    from core.terms import _locale

    return text.get(locale or _locale()) or text.get("en") or next(iter(text.values()), "")


@dataclass(frozen=True)
class Phase:
    """One phase of a process.

    :param key: unique within the process (``calculation``).
    :param term: the term that names it, so administrators can rename it.
    :param deadline_days: how long a case may stay in it; administrators can change it.
    :param final: the case is finished here (a subprocess is done).
    :param starts: processes of the child cases started on entering the phase; the case
        cannot leave the phase before every child is finished.
    :param then: the phase the case moves to by itself once every child is finished.
    """

    key: str
    term: str
    deadline_days: int | None = None
    final: bool = False
    starts: tuple[str, ...] = ()
    then: str | None = None


@dataclass(frozen=True)
class Check:
    """A condition a step needs: ``test(session, case)`` returns why the step is not
    allowed (text, or ``{"pl": ..., "en": ...}``), or None when it is.

    An ``optional`` check can be switched off by an administrator.
    """

    key: str
    title: dict[str, str]
    test: Callable[[Session, Case], str | dict | None]
    optional: bool = False


@dataclass(frozen=True)
class Transition:
    """An allowed step from ``source`` to ``target``.

    :param permission: a permission key the person taking the step needs.
    :param checks: conditions that must all hold.
    :param approval: a rule (``core.approvals``) whose approvals must be given first.
    :param actions: ``action(session, case, actor)`` run in the step's transaction
        (create a task, queue a message, create billing items...).
    """

    source: str
    target: str
    permission: str | None = None
    checks: tuple[Check, ...] = ()
    approval: object | None = None
    actions: tuple[Callable, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class Setting:
    """A value an administrator may change: ``kind`` is money (PLN, Decimal), percent,
    days or flag."""

    key: str
    title: dict[str, str]
    kind: str
    default: Decimal | int | bool

    def parse(self, raw: str) -> Decimal | int | bool:
        """The stored (or typed) text as a value; ValueError with a message if it is not."""
        raw = raw.strip().replace(" ", "").replace("\u00a0", "")
        if self.kind == "flag":
            return raw.lower() in ("1", "true", "on", "yes", "tak")
        if self.kind == "days":
            if not raw.isdigit() or int(raw) > 3650:
                raise ValueError(_("Enter a whole number of days from 0 to 3650."))
            return int(raw)
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0 or value >= Decimal("1e12"):
            raise ValueError(_("Enter an amount, such as 12500 or 12500,50."))
        if self.kind == "percent" and value > 100:
            raise ValueError(_("Enter a percentage from 0 to 100."))
        return value.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Process:
    """A business line's way of handling cases, registered by a plugin.

    :param key: '<plugin>.<name>'.
    :param term: the term naming its cases (``printing.project``).
    :param phases: in order; a new case starts in the first.
    """

    key: str
    term: str
    phases: tuple[Phase, ...]
    transitions: tuple[Transition, ...]
    settings: tuple[Setting, ...] = ()
    title: dict[str, str] = field(default_factory=dict)

    def phase(self, key: str) -> Phase | None:
        return next((p for p in self.phases if p.key == key), None)

    def transition(self, source: str, target: str) -> Transition | None:
        return next((t for t in self.transitions
                     if t.source == source and t.target == target), None)

    def from_phase(self, source: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == source]

    def all_settings(self) -> list[Setting]:
        """The process's own settings, then each phase's deadline and each optional
        check's switch, all adjustable by an administrator."""
        found = list(self.settings)
        for phase in self.phases:
            if not phase.final:
                found.append(Setting(f"deadline.{phase.key}",
                                     {"pl": "Termin fazy (dni)", "en": "Phase deadline (days)"},
                                     "days", phase.deadline_days or 0))
        seen = set()
        for transition in self.transitions:
            for check in transition.checks:
                if check.optional and check.key not in seen:
                    seen.add(check.key)
                    found.append(Setting(f"check.{check.key}", check.title, "flag", True))
        return found

    def problems(self) -> list[str]:
        """What is wrong with the definition itself (checked when plugins are loaded)."""
        keys = [p.key for p in self.phases]
        found = []
        if not keys:
            found.append("has no phases")
        if len(set(keys)) != len(keys):
            found.append("names a phase twice")
        for t in self.transitions:
            if t.source not in keys or t.target not in keys:
                found.append(f"transition {t.key} names an unknown phase")
        for p in self.phases:
            if p.then is not None and p.then not in keys:
                found.append(f"phase {p.key} continues to an unknown phase {p.then}")
        known = {s.key for s in self.all_settings()}
        for t in self.transitions:
            if t.approval is not None:
                found += [f"the approval of {t.key} names the unknown setting '{k}'"
                          for k in t.approval.setting_keys() if k not in known]
        return found


def processes(host) -> dict[str, Process]:
    return host.processes


def process_of(host, case: Case) -> Process:
    found = host.processes.get(case.process_key)
    if found is None:
        raise ValidationError({"process_key": _(
            "The process of this %(what)s is not available: its plugin is not enabled.",
            what=term("core.case", case="gen"))})
    return found


def phase_name(process: Process, key: str | None, case: str = "nom") -> str:
    phase = process.phase(key) if key else None
    return term(phase.term, case=case) if phase else (key or "")


# --- Settings ----------------------------------------------------------------------------

def settings(session: Session, process: Process) -> dict[str, Decimal | int | bool]:
    """Every setting of ``process``: the administrator's value, else the default."""
    stored = dict(session.execute(select(ProcessSetting.key, ProcessSetting.value)
                                  .where(ProcessSetting.process_key == process.key)).all())
    values = {}
    for setting in process.all_settings():
        try:
            values[setting.key] = setting.parse(stored[setting.key]) \
                if setting.key in stored else setting.default
        except ValueError:
            values[setting.key] = setting.default  # a value its definition no longer takes
    return values


def change_settings(session: Session, process: Process, data: dict[str, str], actor=None
                    ) -> dict:
    """Store an administrator's values; every bad one is named, none is stored then."""
    if not permissions.can(actor, "core.manage_processes"):
        raise Forbidden(_("You may not change processes."))
    known = {s.key: s for s in process.all_settings()}
    errors, parsed = {}, {}
    for key, raw in data.items():
        if key not in known:
            errors[key] = _("There is no such setting.")
            continue
        try:
            parsed[key] = known[key].parse(str(raw))
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise ValidationError(errors)
    before = settings(session, process)
    changes = {k: (before[k], v) for k, v in parsed.items() if before[k] != v}
    for key, value in parsed.items():
        row = session.get(ProcessSetting, (process.key, key))
        if row is None:
            row = ProcessSetting(process_key=process.key, key=key)
            session.add(row)
        row.value = str(value)
        row.updated_by_id = getattr(actor, "id", None)
    if changes:
        audit.event(session, "update", "process", {"process": process.key, **{
            k: [str(old), str(new)] for k, (old, new) in changes.items()}},
            actor, summary=localised(process.title) or process.key)
    session.flush()
    return changes


def check_enabled(values: dict, check: Check) -> bool:
    return not check.optional or bool(values.get(f"check.{check.key}", True))


def deadline_of(values: dict, case: Case) -> datetime | None:
    days = values.get(f"deadline.{case.phase_key}") or 0
    return case.phase_entered_at + timedelta(days=days) if days else None


# --- Moving ------------------------------------------------------------------------------

@dataclass
class Move:
    """A step open to a person, and what stands in its way (empty: it can be taken)."""

    transition: Transition
    target_name: str
    blockers: dict[str, str]


def blockers(session: Session, host, case: Case, transition: Transition, actor=None
             ) -> dict[str, str]:
    """Why ``actor`` cannot take ``transition`` now, keyed like field errors."""
    from core import approvals

    process = process_of(host, case)
    values = settings(session, process)
    found: dict[str, str] = {}
    if transition.permission and not permissions.can(actor, transition.permission):
        found["permission"] = _("You may not take this step.")
    for check in transition.checks:
        if check_enabled(values, check):
            reason = check.test(session, case)
            if reason:
                found[f"check.{check.key}"] = localised(reason)
    waiting = unfinished_children(session, host, case)
    if waiting:
        found["subprocesses"] = ngettext("%(num)d subprocess is not finished yet.",
                                         "%(num)d subprocesses are not finished yet.",
                                         len(waiting))
    if transition.approval is not None:
        missing = approvals.missing(session, host, case, transition)
        if missing:
            found["approval"] = _("It needs approval: %(who)s.",
                                  who="; ".join(r.describe() for r in missing))
    return found


def moves(session: Session, host, case: Case, actor=None) -> list[Move]:
    """Every step out of the case's phase, with what blocks each (shown before asking)."""
    process = process_of(host, case)
    return [Move(t, phase_name(process, t.target), blockers(session, host, case, t, actor))
            for t in process.from_phase(case.phase_key)]


def move(session: Session, host, case: Case, target: str, actor=None, comment: str = "",
         expected_version: int | None = None) -> Case:
    """Take the case to phase ``target``; refuses with every reason, writing nothing."""
    process = process_of(host, case)
    transition = process.transition(case.phase_key, target)
    if transition is None:
        raise ValidationError({"phase": _("This %(what)s cannot go from “%(from)s” to “%(to)s”.",
                                          what=term("core.case", case="nom"),
                                          **{"from": phase_name(process, case.phase_key),
                                             "to": phase_name(process, target) or target})})
    permissions.require(session, actor, case, "edit", {})
    found = blockers(session, host, case, transition, actor)
    if found:
        raise ValidationError(found)
    return _step(session, host, process, case, transition, actor, comment, expected_version)


def _step(session: Session, host, process: Process, case: Case, transition: Transition,
          actor, comment: str, expected_version: int | None) -> Case:
    source = case.phase_key
    now = utcnow()
    records.update(session, case, {"phase_key": transition.target, "phase_entered_at": now,
                                   "reminded_at": None, "escalated_at": None}, actor,
                   expected_version,
                   action="move")
    session.add(PhaseChange(case_id=case.id, from_phase=source, to_phase=transition.target,
                            actor_id=getattr(actor, "id", None), at=now, comment=comment.strip()))
    timeline.record_event(session, "phase_changed", about_case(session, case),
                          subject=f"{phase_name(process, source)} → "
                                  f"{phase_name(process, transition.target)}",
                          actor=actor, data={"case_id": case.id, "from": source,
                                             "to": transition.target, "comment": comment})
    for action in transition.actions:
        action(session, case, actor)
    entered(session, host, process, case, actor)
    events.after_commit(session, "kartoteka_case_moved", case=case, source=source,
                        target=transition.target, actor=actor)
    return case


def entered(session: Session, host, process: Process, case: Case, actor) -> None:
    """What entering a phase brings: child cases it starts, the parent's join."""
    from core import cases

    phase = process.phase(case.phase_key)
    for child_process in phase.starts:
        child = host.processes[child_process]
        suffix = f": {term(child.term)}"  # the parent's title is shortened to fit 300
        cases.create(session, host, {
            "title": case.title[:300 - len(suffix)] + suffix, "process_key": child.key,
            "owner_id": case.owner_id, "organisation_id": case.organisation_id,
            "parent_id": case.id}, actor=None)
    if phase.final and case.parent_id is not None:
        _join(session, host, session.get(Case, case.parent_id), actor)


def unfinished_children(session: Session, host, case: Case) -> list[Case]:
    """Children not in a final phase: those the current phase started and those
    started by hand, which hold the case in its phase alike. A child whose process is
    gone (its plugin switched off) can never finish, so it holds nothing."""
    children = session.scalars(select(Case).where(Case.parent_id == case.id,
                                                  Case.deleted_at.is_(None)))
    return [c for c in children
            if c.process_key in host.processes and not _is_final(host, c)]


def _is_final(host, case: Case) -> bool:
    process = host.processes.get(case.process_key)
    phase = process.phase(case.phase_key) if process else None
    return bool(phase and phase.final)


def _join(session: Session, host, parent: Case | None, actor) -> None:
    """The last child finished: a parent phase with ``then`` moves on by itself."""
    if parent is None:
        return
    process = host.processes.get(parent.process_key)
    phase = process.phase(parent.phase_key) if process else None
    if phase is None or not phase.then or unfinished_children(session, host, parent):
        return
    transition = process.transition(phase.key, phase.then) or Transition(phase.key, phase.then)
    if blockers(session, host, parent, transition, None):
        return  # other conditions still hold it back: a person moves it when they are met
    _step(session, host, process, parent, transition, None,
          _("Every subprocess is finished."), None)


def about_case(session: Session, case: Case) -> list:
    """The records a case's events belong on: the case and its organisation."""
    from core.models import Organisation

    org = session.get(Organisation, case.organisation_id) if case.organisation_id else None
    return [case] + ([org] if org is not None else [])


def history(session: Session, case: Case) -> list[PhaseChange]:
    return list(session.scalars(select(PhaseChange).where(PhaseChange.case_id == case.id)
                                .order_by(PhaseChange.at, PhaseChange.id)))


# --- Deadlines ---------------------------------------------------------------------------

REMIND_BEFORE = timedelta(days=1)


@dataclass
class Watched:
    """What one pass over the deadlines did."""

    reminded: list[Case] = field(default_factory=list)
    escalated: list[Case] = field(default_factory=list)


def watch_deadlines(session: Session, host, now: datetime | None = None) -> Watched:
    """A day before a phase's deadline the owner gets a task to move the case on; once
    it has passed, the owner's supervisor (or the owner, when nobody is above them)
    gets one. Each happens once per phase: moving on starts the watch again."""
    now = now or utcnow()
    done = Watched()
    for process in host.processes.values():
        values = settings(session, process)
        for phase in process.phases:
            days = values.get(f"deadline.{phase.key}") or 0
            if phase.final or not days:
                continue
            in_phase = records.visible(Case).where(Case.process_key == process.key,
                                                   Case.phase_key == phase.key)
            due = now - timedelta(days=days)
            for case in session.scalars(in_phase.where(
                    Case.reminded_at.is_(None), Case.escalated_at.is_(None),
                    Case.phase_entered_at <= due + REMIND_BEFORE,
                    Case.phase_entered_at > due).order_by(Case.id)):
                _remind(session, process, case, days, now)
                done.reminded.append(case)
            for case in session.scalars(in_phase.where(
                    Case.escalated_at.is_(None), Case.phase_entered_at <= due)
                    .order_by(Case.id)):
                _escalate(session, process, case, days, now)
                done.escalated.append(case)
    return done


def _remind(session: Session, process: Process, case: Case, days: int, now: datetime) -> None:
    from core import tasks

    _mark(session, case, reminded_at=now)
    if case.owner_id is not None:
        tasks.create(session, {
            "title": _("Deadline tomorrow: %(case)s", case=case.title)[:300],
            "description": _("“%(case)s” should leave the phase “%(phase)s” within %(days)d "
                             "days of entering it.", case=case.title,
                             phase=phase_name(process, case.phase_key), days=days),
            "assignee_id": case.owner_id, "due_at": case.phase_entered_at + timedelta(days=days),
            "priority": 3}, about=[case])


def _escalate(session: Session, process: Process, case: Case, days: int, now: datetime
              ) -> None:
    from core import tasks

    _mark(session, case, escalated_at=now)
    owner = session.get(User, case.owner_id) if case.owner_id else None
    to = (owner.supervisor_id if owner is not None else None) or case.owner_id
    if to is not None:
        tasks.create(session, {
            "title": _("Overdue: %(case)s", case=case.title)[:300],
            "description": _("“%(case)s” has been in the phase “%(phase)s” for more than "
                             "%(days)d days.", case=case.title,
                             phase=phase_name(process, case.phase_key), days=days),
            "assignee_id": to, "due_at": now, "priority": 4}, about=[case])
    timeline.record_event(session, "phase_overdue", [case],
                          subject=_("The phase deadline has passed"),
                          data={"phase": case.phase_key})


def _mark(session: Session, case: Case, **values) -> None:
    # Bookkeeping, not a change by a person: the version stays, so a form open on the
    # case can still be saved.
    from sqlalchemy import update

    session.execute(update(Case).where(Case.id == case.id).values(**values)
                    .execution_options(synchronize_session=False))
    case.__dict__.update(values)


def counts_by_phase(session: Session, process: Process, actor=None) -> dict[str, int]:
    query = (records.visible(Case, actor).where(Case.process_key == process.key)
             .with_only_columns(Case.phase_key, func.count()).group_by(Case.phase_key))
    return dict(session.execute(query).all())
