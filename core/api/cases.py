"""Cases, their phases and approvals, and the processes they follow, through the API.

Every call goes through the services the staff pages use (``core.cases``,
``core.workflow``, ``core.approvals``) and reads the case with ``records.get`` for the
caller, so a case the caller may not see is 404 on every route, never 403. A case
changes phase only by ``POST /cases/{case_id}/move``, with the case's ETag in
``If-Match``; a refused step answers 422 whose field errors are what blocks it (a
check's reason, a missing approval, a permission), the same keys ``GET .../moves``
shows before anyone tries.
"""

from __future__ import annotations

from decimal import Decimal

from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import approvals, cases, records, workflow
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.models import ApprovalRequest, Case, Person, User
from core.terms import term
from core.validation import an_id, max_length
from core.web.db import db


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_cases_blueprint(), _approvals_blueprint(), _processes_blueprint()]


def _host():
    return current_app.extensions["kartoteka"].host


# ------------------------------------------------------------------ cases


class PersonInCaseSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    role = fields.String()


class PersonInCaseInSchema(schemas.Strict):
    person_id = fields.Integer(required=True, validate=an_id())
    role = fields.String(load_default="", validate=max_length(100), metadata={
        "description": "What the person is in the case (free text)."})


def _cases_blueprint() -> Blueprint:
    bp = Blueprint("api_cases", __name__, url_prefix="/cases",
                   description="Cases moving through the phases of processes")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(schemas.CaseListArgs, location="query")
        @bp.response(200, schemas.page_schema(schemas.CaseSchema))
        def get(self, args):
            """List the cases, filtered and sorted, a page at a time."""
            return _list(args)

        @bp.arguments(schemas.CaseSchema)
        @bp.response(201, schemas.CaseSchema)
        @bp.alt_response(403, description="The caller may not create this case.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Open a case in the first phase of its process."""
            session = db()
            try:
                case = cases.create(session, _host(), data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return case, 201, {"ETag": api_records._etag(case),
                               "Location": f"{request.base_url.rstrip('/')}/{case.id}"}

    @bp.route("/<int:case_id>")
    class Item(MethodView):
        @bp.response(200, schemas.CaseSchema)
        def get(self, case_id):
            """Read one case."""
            case = _case(case_id)
            return case, 200, {"ETag": api_records._etag(case)}

        @bp.arguments(schemas.CaseSchema(partial=True))
        @bp.response(200, schemas.CaseSchema)
        @bp.alt_response(412, description="The case changed since the ETag was read.")
        @bp.alt_response(428, description="If-Match is missing.")
        @bp.alt_response(422, description="Field-level errors.")
        def patch(self, data, case_id):
            """Change some fields; send the ETag you read in If-Match. Approvals given
            for values that change stop counting."""
            session = db()
            case = _case(case_id)
            version = api_records._if_match(case)
            if isinstance(version, tuple):
                return version[0]
            try:
                cases.update(session, _host(), case, data, actor(), expected_version=version)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return case, 200, {"ETag": api_records._etag(case)}

        @bp.response(204)
        @bp.alt_response(403, description="The caller may not delete this case.")
        def delete(self, case_id):
            """Move the case to the bin (it can be restored in the staff pages)."""
            session = db()
            case = _case(case_id)
            try:
                records.soft_delete(session, case, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return None

    @bp.route("/<int:case_id>/move")
    class Move(MethodView):
        @bp.arguments(schemas.MoveInSchema)
        @bp.response(200, schemas.CaseSchema)
        @bp.alt_response(403, description="The caller may not change this case.")
        @bp.alt_response(412, description="The case changed since the ETag was read.")
        @bp.alt_response(422, description="The step is not allowed now; the field errors "
                                          "say why (check.<key>, approval, permission, "
                                          "subprocesses, phase).")
        @bp.alt_response(428, description="If-Match is missing.")
        def post(self, data, case_id):
            """Move the case to another phase; send the ETag you read in If-Match."""
            session = db()
            case = _case(case_id)
            version = api_records._if_match(case)
            if isinstance(version, tuple):
                return version[0]
            try:
                workflow.move(session, _host(), case, data["target"], actor(),
                              comment=data["comment"], expected_version=version)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return case, 200, {"ETag": api_records._etag(case)}

    @bp.route("/<int:case_id>/moves")
    class Moves(MethodView):
        @bp.response(200, schemas.BlockedMoveSchema(many=True))
        def get(self, case_id):
            """Every step out of the case's phase, with what blocks each for the caller."""
            case = _case(case_id)
            found = _service(lambda: workflow.moves(db(), _host(), case, actor()))
            return [{"target": m.transition.target, "target_name": m.target_name,
                     "permission": m.transition.permission, "allowed": not m.blockers,
                     "blockers": m.blockers} for m in found]

    @bp.route("/<int:case_id>/people")
    class People(MethodView):
        @bp.response(200, PersonInCaseSchema(many=True))
        def get(self, case_id):
            """The people in the case the caller may see, each in their role."""
            case = _case(case_id)
            return _people(case), 200, {"ETag": api_records._etag(case)}

        @bp.arguments(PersonInCaseInSchema(many=True))
        @bp.response(200, PersonInCaseSchema(many=True))
        @bp.alt_response(403, description="The caller may not change this case.")
        @bp.alt_response(412, description="The case changed since the ETag was read.")
        @bp.alt_response(422, description="Field-level errors (``0.person_id``...).")
        @bp.alt_response(428, description="If-Match is missing.")
        def put(self, data, case_id):
            """Replace the people in the case, ``[{"person_id", "role"}]``; send the
            case's ETag in If-Match. People the caller may not see are kept (and a case
            holding one cannot be changed by that caller)."""
            session = db()
            case = _case(case_id)
            version = api_records._if_match(case)
            if isinstance(version, tuple):
                return version[0]
            chosen, errors = [], {}
            for i, item in enumerate(data):
                person = records.get(session, Person, item["person_id"], actor())
                if person is None:
                    errors[f"{i}.person_id"] = _("There is no such record.")
                chosen.append((person, item["role"]))
            if errors:
                return refused(errors)
            given = {p.id for p, _role in chosen}
            hidden = [(p, role) for p, role in (
                (session.get(Person, cp.person_id), cp.role) for cp in case.people)
                if p is not None and p.id not in given
                and records.get(session, Person, p.id, actor()) is None]
            try:
                cases.set_people(session, case, chosen + hidden, actor(),
                                 expected_version=version)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return _people(case), 200, {"ETag": api_records._etag(case)}

    @bp.route("/<int:case_id>/history")
    class History(MethodView):
        @bp.response(200, schemas.PhaseChangeSchema(many=True))
        def get(self, case_id):
            """The case's phases, oldest first: from where, to where, who, when, why."""
            case = _case(case_id)
            process = _host().processes.get(case.process_key)

            def name(key):
                if key is None:
                    return None
                return workflow.phase_name(process, key) if process else key

            return [{"id": c.id, "from_phase": c.from_phase, "from_name": name(c.from_phase),
                     "to_phase": c.to_phase, "to_name": name(c.to_phase),
                     "actor_id": c.actor_id, "at": c.at, "comment": c.comment}
                    for c in workflow.history(db(), case)]

    @bp.route("/<int:case_id>/approvals")
    class Approvals(MethodView):
        @bp.response(200, schemas.ApprovalRequestSchema(many=True))
        def get(self, case_id):
            """Every approval asked for the case, oldest first, with its status."""
            return approvals.requests(db(), _case(case_id))

        @bp.arguments(schemas.ApprovalAskSchema)
        @bp.response(201, schemas.ApprovalRequestSchema)
        @bp.alt_response(403, description="The caller may not change this case.")
        @bp.alt_response(422, description="Nothing to ask for, already asked, or nobody "
                                          "can approve (see the field errors).")
        def post(self, data, case_id):
            """Ask for the first level of approval still missing for the step to
            ``target``; its approvers get a task."""
            session = db()
            case = _case(case_id)
            try:
                found = approvals.request(session, _host(), case, data["target"], actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return _refusal(exc)
            return found, 201

    @bp.route("/<int:case_id>/approvals/explain")
    class Explain(MethodView):
        @bp.arguments(schemas.ExplainArgs, location="query")
        @bp.response(200, schemas.ExplainSchema)
        @bp.alt_response(422, description="The case cannot move to that phase.")
        def get(self, args, case_id):
            """Who must approve the step to ``target`` for the case as it is now, and
            why, before anyone asks."""
            session, case = db(), _case(case_id)
            process = _service(lambda: workflow.process_of(_host(), case))
            transition = process.transition(case.phase_key, args["target"])
            if transition is None:
                return refused({"target": _not_a_step(process, case, args["target"])})
            needed = approvals.required(session, _host(), case, transition)
            missing = {r.level for r in approvals.missing(session, _host(), case, transition)}
            asked = approvals.valid(session, case, transition)
            return {"target": transition.target,
                    "target_name": workflow.phase_name(process, transition.target),
                    "required": [_required(r, missing, asked) for r in needed]}

    return bp


def _list(args: dict) -> dict:
    query = records.visible(Case, actor())
    for arg, column in (("process", Case.process_key), ("phase", Case.phase_key),
                        ("organisation_id", Case.organisation_id),
                        ("owner_id", Case.owner_id)):
        if args.get(arg) is not None:
            query = query.where(column == args[arg])
    return api_records.page(Case, query, args)


def _case(case_id: int) -> Case:
    """The case if the caller may see it; 404 otherwise (its existence is not told)."""
    case = records.get(db(), Case, case_id, actor())
    if case is None:
        abort(404)
    return case


def _people(case: Case) -> list[dict]:
    """The case's people the caller may see, in the case's order."""
    ids = [p.person_id for p in case.people]
    seen = {p.id: p for p in db().scalars(records.visible(Person, actor()).where(
        Person.id.in_(ids)))} if ids else {}
    return [{"person_id": p.person_id, "name": seen[p.person_id].full_name, "role": p.role}
            for p in case.people if p.person_id in seen]


def _refusal(exc):
    """A service's refusal: 412 for a stale version, 403, or 422 with field errors."""
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    if "version" in exc.errors:
        return problem(412, exc.errors["version"])
    return refused(exc.errors)


def _service(call):
    """A read that a service may refuse (the case's process is not enabled): 422."""
    try:
        return call()
    except ValidationError as exc:
        abort(422, messages={"json": exc.errors})


def _not_a_step(process, case: Case, target: str) -> str:
    return _("This %(what)s cannot go from “%(from)s” to “%(to)s”.",
             what=term("core.case", case="nom"),
             **{"from": workflow.phase_name(process, case.phase_key),
                "to": workflow.phase_name(process, target) or target})


def _required(level: approvals.Required, missing: set[int], asked: dict) -> dict:
    req = asked.get((level.level, level.step_key))
    status = "approved" if level.level not in missing else \
        "pending" if req is not None and req.status == "pending" else "missing"
    return {"level": level.level, "step_key": level.step_key,
            "approver": _approver(level.approver), "reason": level.reason,
            "users": [_user(u) for u in level.users], "status": status,
            "request_id": req.id if req is not None else None}


def _approver(approver: approvals.Approver) -> dict:
    return {"kind": approver.kind, "role": approver.role, "name": approver.name()}


def _user(user: User) -> dict:
    return {"id": user.id, "name": user.full_name or user.email, "email": user.email}


# ------------------------------------------------------------------ approvals


def _approvals_blueprint() -> Blueprint:
    bp = Blueprint("api_approvals", __name__, url_prefix="/approvals",
                   description="Approval requests and decisions")

    @bp.route("/")
    class Waiting(MethodView):
        @bp.response(200, schemas.ApprovalRequestSchema(many=True))
        def get(self):
            """The requests waiting for the caller's decision, oldest first."""
            session = db()
            waiting = approvals.for_approver(session, actor())
            seen = set(session.scalars(records.visible(Case, actor()).with_only_columns(
                Case.id).where(Case.id.in_([r.case_id for r in waiting]))))
            return [r for r in waiting if r.case_id in seen]

    @bp.route("/<int:request_id>/decision")
    class Decision(MethodView):
        @bp.arguments(schemas.DecisionSchema)
        @bp.response(200, schemas.ApprovalRequestSchema)
        @bp.alt_response(403, description="The caller is not the approver, or asked for "
                                          "the approval themselves.")
        @bp.alt_response(422, description="Already decided, a return without a reason, or "
                                          "corrections that are not valid.")
        def post(self, data, request_id):
            """Approve (perhaps correcting the values first) or return with a reason."""
            session = db()
            req = session.get(ApprovalRequest, request_id)
            if req is None or records.get(session, Case, req.case_id, actor()) is None:
                abort(404)
            try:
                approvals.decide(session, _host(), req, data["decision"], actor(),
                                 comment=data["comment"], corrections=data["corrections"])
                session.commit()
            except ValidationError as exc:
                session.rollback()
                own = ("decision", "comment", "approval", "version")
                return _refusal(ValidationError({
                    k if k in own or not data["corrections"] else f"corrections.{k}": v
                    for k, v in exc.errors.items()}))
            except Forbidden as exc:
                session.rollback()
                return _refusal(exc)
            return req

    return bp


# ------------------------------------------------------------------ processes


def _processes_blueprint() -> Blueprint:
    bp = Blueprint("api_processes", __name__, url_prefix="/processes",
                   description="The processes of enabled plugins")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, schemas.ProcessSchema(many=True))
        def get(self):
            """Every enabled process: its phases, steps, checks, approvals and settings."""
            return [_process(p) for _key, p in sorted(_host().processes.items())]

    @bp.route("/<string:key>")
    class Item(MethodView):
        @bp.response(200, schemas.ProcessSchema)
        def get(self, key):
            """One process, by its key."""
            process = _host().processes.get(key)
            if process is None:
                abort(404)
            return _process(process)

    return bp


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def _process(process: workflow.Process) -> dict:
    values = workflow.settings(db(), process)
    return {
        "key": process.key, "title": workflow.localised(process.title) or process.key,
        "name": term(process.term),
        "phases": [{"key": p.key, "name": workflow.phase_name(process, p.key),
                    "term": p.term, "final": p.final, "starts": list(p.starts),
                    "then": p.then,
                    "deadline_days": None if p.final
                    else values.get(f"deadline.{p.key}") or None}
                   for p in process.phases],
        "transitions": [{"key": t.key, "source": t.source, "target": t.target,
                         "permission": t.permission,
                         "checks": [{"key": c.key, "title": workflow.localised(c.title),
                                     "optional": c.optional,
                                     "enabled": workflow.check_enabled(values, c)}
                                    for c in t.checks],
                         "approval": _rule(t.approval)}
                        for t in process.transitions],
        "settings": [{"key": s.key, "title": workflow.localised(s.title), "kind": s.kind,
                      "default": _plain(s.default), "value": _plain(values.get(s.key))}
                     for s in process.all_settings()],
    }


def _rule(rule) -> dict | None:
    if rule is None:
        return None
    if isinstance(rule, approvals.Threshold):
        return {"key": rule.key, "kind": "threshold", "free_below": rule.free_below,
                "binds": list(rule.binds),
                "steps": [{"key": f"band{i}", "approver": _approver(approver),
                           "below": limit, "when": None}
                          for i, (limit, approver) in enumerate(rule.bands)]}
    if isinstance(rule, approvals.Chain):
        return {"key": rule.key, "kind": "chain", "free_below": None,
                "binds": list(rule.binds),
                "steps": [{"key": s.key, "approver": _approver(s.approver), "below": None,
                           "when": _condition(s.when)} for s in rule.steps_]}
    return {"key": getattr(rule, "key", ""), "kind": type(rule).__name__.lower(),
            "free_below": None, "binds": list(getattr(rule, "binds", ())), "steps": []}


def _condition(when) -> dict | None:
    if when is None:
        return None
    kind = {approvals.MarginBelow: "margin_below",
            approvals.AmountAtLeast: "amount_at_least"}.get(type(when), type(when).__name__)
    return {"kind": kind, "setting": when.setting}
