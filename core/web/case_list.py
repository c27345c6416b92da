"""The cases as a list beside the boards: of one process or of all, filtered by process,
phase, owner, open or finished and words of the title, in the one filter language
(``core.filters``) as the other lists are; sorted by title, phase, owner, last change or
the phase's deadline, a page at a time.

A value that cannot be used is named next to its field and left out, so the list still
shows what the other filters give.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Float, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core import cases, filters, records, workflow
from core.db import utcnow
from core.errors import ValidationError
from core.models import Case, User
from core.web.db import db
from core.web.forms import form_id
from core.web.listing import OWNER_ME, OWNER_NONE, Page, count, owner_choices, users_by_id

PAGE = 50
PARAMS = ("process", "phase", "owner", "state", "q")
SORTS = ("title", "phase", "owner", "updated", "deadline")
DEFAULT_SORT = "-updated"


def _host():
    return current_app.extensions["kartoteka"].host


@dataclass
class Chosen:
    """The list's filter form as the request fills it: what was chosen, a message for
    each value that cannot be used, and the filter of the rest in the filter language."""

    values: dict[str, str]
    errors: dict[str, str]
    filter: dict | None

    def args(self, *leave_out: str) -> dict[str, str]:
        """The values that make the filter, as a link's arguments."""
        return {k: v for k, v in self.values.items() if v and k not in leave_out}


def page():
    """The list page (``/cases/list`` of the cases' pages)."""
    session, host = db(), _host()
    owners = owner_choices(session)
    chosen = chosen_filter(host, owners)
    sort = request.args.get("sort", DEFAULT_SORT)
    if sort.removeprefix("-") not in SORTS:
        chosen.errors["sort"] = _("Choose an order from the list.")
        sort = DEFAULT_SORT
    query = filters.apply(records.visible(Case, current_user), Case, chosen.filter, current_user)
    rows = _page(session, query, sort, request.args.get("after"))
    process = host.processes.get(chosen.values["process"])
    return render_template(
        "core/cases/list.html",
        page=rows,
        count=count(session, query, rows),
        chosen=chosen,
        sort=sort,
        process=process,
        owners=owners,
        users=users_by_id(session),
        now=utcnow(),
        processes=host.processes,
        phases=[(p.key, workflow.phase_name(process, p.key)) for p in process.phases]
        if process
        else [],
        deadlines=_deadlines(session, rows.rows),
        finished={c.id for c in rows.rows if cases.is_finished(host, c)},
    )


def chosen_filter(host, owners: list[tuple[str, str]]) -> Chosen:
    """The filter the query string asks for; each unusable value named, and left out."""
    values = {name: request.args.get(name, "").strip()[:200] for name in PARAMS}
    chosen = Chosen(values, {}, None)
    conditions = []
    for name, make in (
        ("process", _process),
        ("phase", _phase),
        ("owner", _owner),
        ("state", _state),
        ("q", _title),
    ):
        if not values[name]:
            continue
        try:
            condition = make(host, values, owners)
            filters.compile_filter(Case, condition, current_user)
        except ValidationError as exc:
            chosen.errors[name] = next(iter(exc.errors.values()))
            continue
        conditions.append(condition)
    chosen.filter = {"and": conditions} if conditions else None
    return chosen


def _process(host, values: dict, owners) -> dict:
    if values["process"] not in host.processes:
        raise ValidationError({"process": _("Choose a process from the list.")})
    return {"field": "process_key", "op": "eq", "value": values["process"]}


def _phase(host, values: dict, owners) -> dict:
    process = host.processes.get(values["process"])
    if process is None or process.phase(values["phase"]) is None:
        raise ValidationError({"phase": _("Choose a phase from the list.")})
    return {"field": "phase_key", "op": "eq", "value": values["phase"]}


def _owner(host, values: dict, owners) -> dict:
    value = values["owner"]
    if value not in dict(owners):
        raise ValidationError({"owner": _("Choose an owner from the list.")})
    if value == OWNER_NONE:
        return {"field": "owner_id", "op": "empty"}
    owner_id = current_user.id if value == OWNER_ME else int(value)
    return {"field": "owner_id", "op": "eq", "value": owner_id}


def _state(host, values: dict, owners) -> dict:
    if values["state"] not in ("open", "finished"):
        raise ValidationError({"state": _("Choose open or finished.")})
    finished = cases.finished_filter(host)
    return finished if values["state"] == "finished" else {"not": finished}


def _title(host, values: dict, owners) -> dict:
    return {"field": "title", "op": "contains", "value": values["q"]}


# --- Order and pages ---------------------------------------------------------------------


def _page(session, query, sort: str, after: str | None) -> Page:
    """A page in the chosen order; ``after`` is "@<rows before it>", as the other lists'
    pages in an order of their columns."""
    skip = (form_id(after[1:]) if after and after.startswith("@") else None) or 0
    key = _order(session, sort.removeprefix("-"))
    ordered = key.desc() if sort.startswith("-") else key.asc()
    rows = session.scalars(
        query.order_by(ordered.nulls_last(), Case.id).offset(skip).limit(PAGE + 1)
    ).all()
    return Page(rows[:PAGE], f"@{skip + PAGE}" if len(rows) > PAGE else None)


def _order(session, name: str):
    """The SQL expression a column orders by, as people read it: a phase by its place
    in its process, an owner by name, a deadline by when it falls."""
    host = _host()
    if name == "title":
        return func.lower(Case.title)
    if name == "phase":
        places = [
            (and_(Case.process_key == p.key, Case.phase_key == phase.key), number * 1000 + place)
            for number, p in enumerate(sorted(host.processes.values(), key=lambda p: p.key))
            for place, phase in enumerate(p.phases)
        ]
        return case(*places, else_=None) if places else literal(None)
    if name == "owner":
        return (
            select(func.lower(func.coalesce(func.nullif(User.full_name, ""), User.email)))
            .where(User.id == Case.owner_id)
            .scalar_subquery()
        )
    if name == "deadline":
        return _deadline_order(session, host)
    return Case.updated_at


def _deadline_order(session, host):
    """When the phase's deadline falls, in days (NULL where the phase has none)."""
    days = []
    for process in host.processes.values():
        values = workflow.settings(session, process)
        days += [
            (
                and_(Case.process_key == process.key, Case.phase_key == phase.key),
                values.get(f"deadline.{phase.key}"),
            )
            for phase in process.phases
            if not phase.final and values.get(f"deadline.{phase.key}")
        ]
    if not days:
        return literal(None)
    return InDays(Case.phase_entered_at) + case(*days, else_=None)


def _deadlines(session, shown: list[Case]) -> dict:
    settings = {}
    found = {}
    for c in shown:
        process = _host().processes.get(c.process_key)
        if process is None:
            continue
        if process.key not in settings:
            settings[process.key] = workflow.settings(session, process)
        found[c.id] = workflow.deadline_of(settings[process.key], c)
    return found


class InDays(FunctionElement):
    """A moment as a number of days, to add a phase's deadline days to."""

    type = Float()
    inherit_cache = True


@compiles(InDays, "sqlite")
def _in_days_sqlite(element, compiler, **kw):
    return f"julianday({compiler.process(element.clauses, **kw)})"


@compiles(InDays, "postgresql")
def _in_days_postgresql(element, compiler, **kw):
    return f"(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / 86400.0)"
