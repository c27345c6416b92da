"""Approvals: who must approve a case's step, asking them, and their decisions.

A transition may carry an approval rule. ``Threshold`` picks one approver by the
amount (below a limit nobody; then, band by band, the direct supervisor, a director, the
board); ``Chain`` asks several in order, each step perhaps only under a condition (the
board only when the margin is below the minimum). Limits and minimums are process
settings that administrators edit, never constants in code.

An approval is bound to the values it approved: the request stores a digest of them,
and only approvals whose digest matches the case's values now count. Editing the
amount after an approval, correcting it in a form that was open before, or copying the
case (approvals belong to a case, not to its values) therefore never carries an
approval over. A chain counts only when every level approved, in order; nobody
approves their own request unless the process's ``allow_self_approval`` setting says so.

Every request puts a task in the approver's list (and so their calendar); a return
gives the author a task with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, events, permissions, timeline
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest, Case, Role, Task, TaskLink, User, UserRole
from core.terms import _locale
from core.workflow import Setting, Transition, localised, process_of, settings

# Values a rule is bound to unless it names others.
BOUND = ("amount", "cost", "currency")
SELF_APPROVAL = Setting("allow_self_approval",
                        {"pl": "Można akceptować własne wnioski",
                         "en": "People may approve their own requests"}, "flag", False)
TASK_DAYS = 2


# --- Who approves ------------------------------------------------------------------------

@dataclass(frozen=True)
class Approver:
    """The direct supervisor of the case's owner (``Approver.supervisor()``), any
    holder of a role (``Approver.holder_of("board", {...})``), or whom a plugin picks
    for the case (``Approver.picked(manager_of_department, {...})``)."""

    kind: str
    role: str | None = None
    title: dict | None = None
    pick: Callable[[Session, Case], list[User]] | None = None

    @classmethod
    def supervisor(cls) -> Approver:
        return cls("supervisor")

    @classmethod
    def holder_of(cls, role: str, title: dict[str, str]) -> Approver:
        return cls("role", role, title)

    @classmethod
    def picked(cls, pick: Callable[[Session, Case], list[User]], title: dict[str, str]
               ) -> Approver:
        """The users ``pick(session, case)`` names, first the one to ask (such as the
        manager of the case's department): a request names one person to decide."""
        return cls("picked", None, title, pick)

    def name(self) -> str:
        if self.kind == "supervisor":
            return _("the direct supervisor")
        return localised(self.title or {}) or self.role or ""


@dataclass(frozen=True)
class MarginBelow:
    """A step needed only when the case's margin is below the setting (a percentage)."""

    setting: str

    def reason(self, case: Case, values: dict) -> str | None:
        minimum = values[self.setting]
        margin = case.margin
        if margin is None or margin * 100 < minimum:
            return _("the margin %(margin)s is below the minimum of %(minimum)s%%",
                     margin=percent(margin),
                     minimum=format_decimal(minimum, locale=_locale()))
        return None


@dataclass(frozen=True)
class AmountAtLeast:
    """A step needed only when the amount reaches the setting (PLN)."""

    setting: str

    def reason(self, case: Case, values: dict) -> str | None:
        limit = values[self.setting]
        if (case.amount or 0) >= limit:
            return _("the amount %(amount)s is at least %(limit)s",
                     amount=money(case.amount), limit=money(limit))
        return None


@dataclass(frozen=True)
class Step:
    """One level of a chain: its approver and, optionally, when it is needed."""

    key: str
    approver: Approver
    when: MarginBelow | AmountAtLeast | None = None


@dataclass(frozen=True)
class Required:
    """One level that must approve, with who and why; ``users`` are who may decide."""

    level: int
    step_key: str
    approver: Approver
    reason: str
    users: tuple[User, ...]

    def describe(self) -> str:
        who = ", ".join(u.full_name or u.email for u in self.users) or _("nobody holds it")
        return f"{self.approver.name()} ({who}): {self.reason}"


@dataclass(frozen=True)
class Threshold:
    """One approver chosen by the amount: below ``free_below`` none; then the first
    band whose upper limit the amount is below; the last band has no limit.

    :param bands: ``((limit setting key or None, Approver), ...)``, ascending.
    """

    key: str
    free_below: str
    bands: tuple[tuple[str | None, Approver], ...]
    binds: tuple[str, ...] = BOUND

    def steps(self, case: Case, values: dict) -> list[tuple[Step, str]]:
        amount = case.amount or Decimal(0)
        lower = values[self.free_below]
        if amount < lower:
            return []
        for index, (limit_key, approver) in enumerate(self.bands):
            limit = values[limit_key] if limit_key else None
            if limit is None or amount < limit:
                if limit is None:
                    why = _("the amount %(amount)s is at least %(lower)s",
                            amount=money(amount), lower=money(lower))
                else:
                    why = _("the amount %(amount)s is at least %(lower)s and below %(limit)s",
                            amount=money(amount), lower=money(lower), limit=money(limit))
                return [(Step(f"band{index}", approver), why)]
            lower = limit
        return []

    def setting_keys(self) -> list[str]:
        return [self.free_below] + [k for k, _a in self.bands if k]


@dataclass(frozen=True)
class Chain:
    """Several approvers, in order; a step with ``when`` only when its condition holds."""

    key: str
    steps_: tuple[Step, ...]
    binds: tuple[str, ...] = BOUND

    def steps(self, case: Case, values: dict) -> list[tuple[Step, str]]:
        found = []
        for step in self.steps_:
            why = step.when.reason(case, values) if step.when else _("always required")
            if why:
                found.append((step, why))
        return found

    def setting_keys(self) -> list[str]:
        return [s.when.setting for s in self.steps_ if s.when]


def money(value, currency: str = "PLN") -> str:
    """An amount as people read it in the request's language: "12 500,00 zł"."""
    return format_currency(Decimal(value or 0), currency, locale=_locale())


def percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{format_decimal((value * 100).quantize(Decimal('0.1')), locale=_locale())}%"


# --- Explaining --------------------------------------------------------------------------

def required(session: Session, host, case: Case, transition: Transition) -> list[Required]:
    """Who must approve ``transition`` for the case as it is now, and why: the answer
    to "explain", given before anyone asks."""
    rule = transition.approval
    if rule is None:
        return []
    values = settings(session, process_of(host, case))
    requester = _requester(session, case)
    return [Required(level, step.key, step.approver, why,
                     tuple(_approvers(session, case, step.approver, requester, values)))
            for level, (step, why) in enumerate(rule.steps(case, values))]


def explain(session: Session, host, case: Case, target: str) -> list[Required]:
    """``required`` for the step to phase ``target``; a hypothetical amount or cost is
    explained by passing a case that is not saved."""
    transition = process_of(host, case).transition(case.phase_key, target)
    return required(session, host, case, transition) if transition else []


def _requester(session: Session, case: Case) -> User | None:
    return session.get(User, case.owner_id) if case.owner_id else None


def _approvers(session: Session, case: Case, approver: Approver, requester: User | None,
               values: dict) -> list[User]:
    """Who may decide: the owner's supervisor, or the role's holders other than the
    owner (unless the process allows self-approval)."""
    if approver.kind == "supervisor":
        found = session.get(User, requester.supervisor_id) \
            if requester is not None and requester.supervisor_id else None
        return [found] if found is not None and found.active else []
    if approver.kind == "picked":
        holders = [u for u in approver.pick(session, case) if u is not None and u.active]
    else:
        holders = session.scalars(
            select(User).join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.key == approver.role, User.active).order_by(User.id))
    allow_self = bool(values.get(SELF_APPROVAL.key))
    return [u for u in holders
            if allow_self or requester is None or u.id != requester.id]


# --- State -------------------------------------------------------------------------------

def bound_values(case: Case, rule) -> dict:
    """The values an approval covers, as JSON text, in a stable order."""
    found = {}
    for name in rule.binds:
        if name.startswith("custom."):
            found[name] = (case.custom or {}).get(name[7:])
        else:
            value = getattr(case, name)
            found[name] = str(value) if isinstance(value, Decimal) else value
    return found


def fingerprint(values: dict) -> str:
    text = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def requests(session: Session, case: Case, transition: Transition | None = None
             ) -> list[ApprovalRequest]:
    query = select(ApprovalRequest).where(ApprovalRequest.case_id == case.id)
    if transition is not None:
        query = query.where(ApprovalRequest.transition == transition.key)
    return list(session.scalars(query.order_by(ApprovalRequest.id)))


def valid(session: Session, case: Case, transition: Transition
          ) -> dict[tuple[int, str], ApprovalRequest]:
    """(level, step) -> the newest request that still counts (values unchanged since).

    Keyed by the step too: a correction that moves the amount into another band keeps
    level 0 but needs another approver, whose approval the first one's does not give.
    """
    if transition.approval is None:
        return {}
    current = fingerprint(bound_values(case, transition.approval))
    found = {}
    for req in requests(session, case, transition):
        if req.fingerprint == current and req.status in ("pending", "approved"):
            found[req.level, req.step_key] = req
    return found


def missing(session: Session, host, case: Case, transition: Transition) -> list[Required]:
    """The levels not yet approved for the case's current values."""
    counted = valid(session, case, transition)
    return [r for r in required(session, host, case, transition)
            if not ((r.level, r.step_key) in counted
                    and counted[r.level, r.step_key].status == "approved")]


# --- Asking and deciding -----------------------------------------------------------------

def request(session: Session, host, case: Case, target: str, actor=None) -> ApprovalRequest:
    """Ask for the first level still missing; its approvers get a task."""
    process = process_of(host, case)
    transition = process.transition(case.phase_key, target)
    if transition is None or transition.approval is None:
        raise ValidationError({"approval": _("This step needs no approval.")})
    permissions.require(session, actor, case, "edit", {})
    needed = missing(session, host, case, transition)
    if not needed:
        raise ValidationError({"approval": _("Nothing is left to approve for this step.")})
    pending = valid(session, case, transition).get((needed[0].level, needed[0].step_key))
    if pending is not None and pending.status == "pending":
        raise ValidationError({"approval": _("Approval has already been asked for.")})
    return _ask(session, host, case, transition, needed[0], actor)


def _ask(session: Session, host, case: Case, transition: Transition, level: Required, actor
         ) -> ApprovalRequest:
    allow_self = settings(session, process_of(host, case)).get(SELF_APPROVAL.key)
    users = [u for u in level.users if allow_self or u.id != getattr(actor, "id", None)]
    if not users:
        raise ValidationError({"approval": _(
            "Nobody can approve this: %(who)s. Ask an administrator to fill the role or "
            "set the supervisor.", who=level.approver.name())})
    supersede(session, case, transition, actor=actor)
    values = bound_values(case, transition.approval)
    req = ApprovalRequest(case_id=case.id, transition=transition.key, level=level.level,
                          step_key=level.step_key, reason=level.reason,
                          approver_id=users[0].id if len(users) == 1
                          or level.approver.kind == "picked" else None,
                          approver_role=level.approver.role, values=values,
                          fingerprint=fingerprint(values),
                          requested_by_id=getattr(actor, "id", None) or case.owner_id,
                          requested_at=utcnow())
    session.add(req)
    session.flush()
    _audit(session, req, "create", {
        "case_id": (None, case.id), "transition": (None, req.transition),
        "level": (None, req.level), "approver_id": (None, req.approver_id),
        "approver_role": (None, req.approver_role), "values": (None, values),
        "status": (None, req.status)}, actor)
    for user in users:
        _task(session, case, user.id, _("Approve: %(case)s", case=case.title),
              _("%(why)s. Approve it, correct the values and approve, or return it with a "
                "reason.", why=level.reason), req)
    timeline.record_event(session, "approval_requested", [case],
                          subject=_("Approval asked of %(who)s", who=level.approver.name()),
                          actor=actor, data={"request_id": req.id, "reason": level.reason})
    return req


def supersede(session: Session, case: Case, transition: Transition | None = None,
              keep: ApprovalRequest | None = None, actor=None) -> int:
    """Requests for values the case no longer has stop counting; their tasks are
    cancelled. Called whenever the case's values change."""
    count = 0
    for req in requests(session, case, transition):
        if req.status not in ("pending", "approved") or req is keep:
            continue
        rule_binds = _binds_of(req, case)
        if rule_binds is not None and req.fingerprint == fingerprint(rule_binds):
            continue
        _audit(session, req, "update", {"status": (req.status, "superseded")}, actor)
        req.status = "superseded"
        _close_tasks(session, req, "cancelled")
        count += 1
    session.flush()
    return count


def _binds_of(req: ApprovalRequest, case: Case) -> dict | None:
    """The case's current values under the names the request stored."""
    found = {}
    for name in req.values:
        if name.startswith("custom."):
            found[name] = (case.custom or {}).get(name[7:])
        else:
            value = getattr(case, name, None)
            found[name] = str(value) if isinstance(value, Decimal) else value
    return found


def decide(session: Session, host, req: ApprovalRequest, decision: str, actor,
           comment: str = "", corrections: dict | None = None) -> ApprovalRequest:
    """Approve, correct the values and approve, or return with a reason."""
    case = req.case
    if decision not in ("approve", "return"):
        raise ValidationError({"decision": _("Choose to approve or to return.")})
    if req.status != "pending":
        raise ValidationError({"decision": _("This request has already been decided.")})
    _may_decide(session, host, req, case, actor)
    comment = comment.strip()
    if decision == "return":
        if not comment:
            raise ValidationError({"comment": _("Say why you are returning it.")})
        return _return(session, req, case, actor, comment)
    if corrections:
        _correct(session, host, case, req, corrections, actor)
    transition = process_of(host, case).transition(*req.transition.split("->"))
    before = (req.status, req.values)
    req.values = bound_values(case, transition.approval)
    req.fingerprint = fingerprint(req.values)
    req.status, req.decided_by_id, req.decided_at = "approved", actor.id, utcnow()
    req.comment = comment
    _audit_decision(session, req, before, actor)
    _close_tasks(session, req, "done")
    timeline.record_event(session, "approval_decided", [case], subject=_("Approved"),
                          actor=actor, data={"request_id": req.id, "comment": comment})
    next_levels = missing(session, host, case, transition)
    if next_levels and not valid(session, case, transition).get(
            (next_levels[0].level, next_levels[0].step_key)):
        _ask(session, host, case, transition, next_levels[0], actor)
    events.after_commit(session, "kartoteka_approval_decided", request=req, actor=actor)
    session.flush()
    return req


def _correct(session: Session, host, case: Case, req: ApprovalRequest, corrections: dict,
             actor) -> None:
    """The approver's corrections: a new version of the calculation with the prices as
    they should be (``{"calculation": {"lines": [...]}}``), or the case's values. A case
    priced by a calculation takes its amount from it, so only the calculation is
    corrected there."""
    from core import calculations, cases

    if "calculation" in corrections:
        data = corrections["calculation"]
        if set(corrections) != {"calculation"} or not isinstance(data, dict):
            raise ValidationError({"calculation": _(
                "Give the corrected calculation alone, with its lines.")})
        calculations.create(session, case, data, actor, approving=req)
    elif calculations.of_case(session, case) and {"amount", "cost"} & set(corrections):
        raise ValidationError({"amount": _(
            "The amount follows the calculation: correct the prices in a new version of "
            "it.")})
    else:
        cases.update(session, host, case, corrections, actor=actor, keep=req)


def _may_decide(session: Session, host, req: ApprovalRequest, case: Case, actor) -> None:
    values = settings(session, process_of(host, case))
    if actor is None:
        raise Forbidden(_("Only the approver can decide."))
    if req.requested_by_id == actor.id and not values.get(SELF_APPROVAL.key):
        raise Forbidden(_("You cannot approve your own request."))
    if req.approver_id is not None:
        allowed = req.approver_id == actor.id
    else:
        allowed = session.scalar(select(UserRole.user_id).join(Role)
                                 .where(Role.key == req.approver_role,
                                        UserRole.user_id == actor.id)) is not None
    if not allowed:
        raise Forbidden(_("Only the approver can decide."))


def _return(session: Session, req: ApprovalRequest, case: Case, actor, comment: str
            ) -> ApprovalRequest:
    before = (req.status, req.values)
    req.status, req.decided_by_id, req.decided_at = "returned", actor.id, utcnow()
    req.comment = comment
    _audit_decision(session, req, before, actor)
    _close_tasks(session, req, "done")
    author = req.requested_by_id or case.owner_id
    if author is not None:
        _task(session, case, author, _("Returned: %(case)s", case=case.title),
              _("Returned by %(who)s: %(reason)s", who=actor.full_name or actor.email,
                reason=comment), None, due=utcnow())
    timeline.add(session, "system", _("Returned"), [case], body=comment, actor=actor,
                 event="approval_decided", data={"request_id": req.id})
    events.after_commit(session, "kartoteka_approval_decided", request=req, actor=actor)
    session.flush()
    return req


def _audit_decision(session: Session, req: ApprovalRequest, before: tuple, actor) -> None:
    status, values = before
    changes = {"status": (status, req.status), "decided_by_id": (None, req.decided_by_id),
               "comment": (None, req.comment)}
    if values != req.values:  # corrected before approving
        changes["values"] = (values, req.values)
    _audit(session, req, "update", changes, actor)


def _audit(session: Session, req: ApprovalRequest, action: str, changes: dict, actor) -> None:
    """An entry on the request, named after its case so the trail reads on its own."""
    audit.write(session, req, action, changes, actor, summary=req.case.title
                if req.case is not None else "")


# --- Tasks -------------------------------------------------------------------------------

APPROVAL_TASK = "approval_request"  # the link type naming a task's approval request


def _task(session: Session, case: Case, user_id: int, title: str, description: str,
          req: ApprovalRequest | None, due=None) -> Task:
    """A task about the case: an approver's (due in a few days), or the author's after a
    return (due at once, so it heads their next steps)."""
    from core import tasks

    task = tasks.create(session, {"title": title[:300], "description": description,
                                  "assignee_id": user_id, "priority": 3,
                                  "due_at": due or utcnow() + timedelta(days=TASK_DAYS)},
                        about=[case])
    if req is not None:
        session.add(TaskLink(task_id=task.id, record_type=APPROVAL_TASK, record_id=req.id))
        session.flush()
    return task


def _close_tasks(session: Session, req: ApprovalRequest, status: str) -> None:
    from core import tasks

    open_tasks = session.scalars(
        select(Task).join(TaskLink, TaskLink.task_id == Task.id)
        .where(TaskLink.record_type == APPROVAL_TASK, TaskLink.record_id == req.id,
               Task.status == "open"))
    for task in list(open_tasks):
        (tasks.complete if status == "done" else tasks.cancel)(session, task)


def for_approver(session: Session, user: User) -> list[ApprovalRequest]:
    """Pending requests ``user`` may decide: named, or through a role they hold."""
    roles = select(Role.key).join(UserRole).where(UserRole.user_id == user.id)
    query = select(ApprovalRequest).where(
        ApprovalRequest.status == "pending",
        (ApprovalRequest.approver_id == user.id)
        | (ApprovalRequest.approver_id.is_(None) & ApprovalRequest.approver_role.in_(roles)))
    return list(session.scalars(query.order_by(ApprovalRequest.requested_at)))


def approver_name(session: Session, req: ApprovalRequest) -> str:
    """Who decides the request: the person asked, or the role whose holders may."""
    if req.approver_id is not None:
        user = session.get(User, req.approver_id)
        return user.full_name or user.email
    role = session.scalar(select(Role).where(Role.key == req.approver_role))
    return role.name if role else req.approver_role or ""


def describe_status(req: ApprovalRequest) -> str:
    return {"pending": _("waiting"), "approved": _("approved"), "returned": _("returned"),
            "superseded": _("no longer valid: the values changed")}.get(req.status, req.status)
