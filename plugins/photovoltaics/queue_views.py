"""The sales queues' staff pages (PV-6): a rep's day ("my queue": the calls and meetings
planned for a day, each with whom to call and where to go, and what came of it), and
for the sales manager the queues at a glance with planning, the reps and the rules.

"My queue" needs ``photovoltaics.work_queue`` (or ``manage_queues``); the rest needs
``photovoltaics.manage_queues`` (403 otherwise); portal accounts never reach these
pages (404, ``core.web.app``). Every change goes through ``queues``, ``queue_planning``
and ``queue_outcomes``; a refusal is rolled back and shown next to its field or flashed.
The pages are lists rather than wide tables, so that a rep works them on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from core import records, users
from core.filters import today
from core.menu import MenuItem
from core.models import Case
from core.tasks import local_zone
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, commit_or_flash, local_datetime, optional_int
from plugins.photovoltaics import queue_outcomes, queue_planning, queues
from plugins.photovoltaics.models import QueueEntry, QueueRule, Rep

bp = Blueprint("photovoltaics_queues", __name__, url_prefix="/photovoltaics/queues",
               template_folder="templates", static_folder="static")
_MANAGER_PAGES = ("overview", "plan", "withdraw", "reps", "new_rep", "edit_rep", "rep_active",
                  "rules", "new_rule", "edit_rule", "delete_rule")
MENU = [
    MenuItem("photovoltaics_queues.mine", permission=(queues.WORK,),
             label={"pl": "Moja kolejka", "en": "My queue"},
             section=("photovoltaics_queues.mine", "photovoltaics_queues.outcome")),
    MenuItem("photovoltaics_queues.overview", permission=queues.MANAGE,
             label={"pl": "Kolejki sprzedaży", "en": "Sales queues"},
             section=tuple(f"photovoltaics_queues.{name}" for name in _MANAGER_PAGES)),
]
REP_NUMBERS = ("day_starts", "day_ends", "base_town", "travel_km", "call_minutes",
               "meeting_minutes")
RULE_TEXTS = ("name", "queue", "region", "town", "weight")
RULE_NUMBERS = ("position", "rep_id", "within_km", "min_age_days", "max_age_days")
WAITING_SHOWN = 100
PLAN_DAYS = 5  # what the planning form offers

manage = permission_required(queues.MANAGE)


def working(view):
    """A page for reps working their queue and for their managers; others get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not queues.may_work(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Row:
    """An entry as the pages show it; ``lead`` is None for a case the user may not see."""

    entry: QueueEntry
    lead: queues.Lead | None


# --- A rep's day ---------------------------------------------------------------------------

@bp.get("/")
@working
def mine():
    return _mine(_day_asked())


@bp.post("/entries/<int:entry_id>/outcome")
@working
def outcome(entry_id: int):
    session, entry = db(), _entry(entry_id)
    at = local_datetime(request.form.get("at"))
    data = {"outcome": request.form.get("outcome", ""), "note": request.form.get("note", ""),
            "at": at.isoformat() if isinstance(at, datetime) else at}
    version = optional_int(request.form.get("version"))
    _done, errors = commit_or_errors(session, lambda: queue_outcomes.record(
        session, entry, data, current_user, version if isinstance(version, int) else None))
    day, back = _day_asked(request.form), request.form.get("back")
    if errors:
        failed = {"entry": entry_id, "errors": errors, "typed": request.form}
        return _overview(day, failed=failed) if back == "overview" and queues.may_manage(
            current_user) else _mine(day, failed)
    flash(_("Recorded: %(what)s.", what=queue_outcomes.outcome_label(entry)))
    target = "overview" if back == "overview" else "mine"
    return redirect(url_for(f"photovoltaics_queues.{target}", day=day.isoformat()))


def _mine(day: date, failed: dict | None = None):
    session = db()
    rep = queues.rep_of(session, current_user)
    rows = _rows(session, _of_rep_on(rep.id, day)) if rep else []
    behind = _rows(session, _left_behind(rep.id)) if rep and day == today() else []
    return render_template("photovoltaics/queue_mine.html", rep=rep, day=day, rows=rows,
                           behind=behind, **_shared(day, failed))


def _of_rep_on(rep_id: int, day: date):
    starts, ends = _day_span(day)
    return queues.entry_query(rep_id=rep_id, starts=starts, ends=ends).where(
        QueueEntry.status.in_(("planned", "done"))).order_by(QueueEntry.starts_at)


def _left_behind(rep_id: int):
    """Planned before today and not worked yet."""
    return queues.entry_query(rep_id=rep_id, status="planned", ends=_day_span(today())[0]) \
        .order_by(QueueEntry.starts_at)


# --- The manager's overview and planning -----------------------------------------------------

@bp.get("/overview")
@manage
def overview():
    return _overview(_day_asked())


@bp.post("/plan")
@manage
def plan():
    session = db()
    start, days = _date_or_text(request.form.get("start")), optional_int(request.form.get("days"))
    made, errors = commit_or_errors(session, lambda: queue_planning.plan(
        session, start, days, current_user))
    if errors:
        return _overview(today(), plan_errors=errors)
    for message in _plan_messages(made):
        flash(message)
    return redirect(url_for("photovoltaics_queues.overview", day=start.isoformat()))


@bp.post("/entries/<int:entry_id>/withdraw")
@manage
def withdraw(entry_id: int):
    session, entry = db(), _entry(entry_id)
    if commit_or_flash(session, lambda: queues.withdraw(session, entry, current_user)):
        flash(_("The entry is off the queue."))
    return redirect(url_for("photovoltaics_queues.overview",
                            day=_day_asked(request.form).isoformat()))


def _overview(day: date, plan_errors: dict | None = None, failed: dict | None = None):
    session = db()
    reps = queues.reps(session)
    starts, ends = _day_span(day)
    planned = _rows(session, queues.entry_query(starts=starts, ends=ends)
                    .where(QueueEntry.status.in_(("planned", "done")))
                    .order_by(QueueEntry.starts_at))
    by_rep = {rep.id: [r for r in planned if r.entry.rep_id == rep.id] for rep in reps}
    waiting = queues.waiting(session)
    return render_template(
        "photovoltaics/queue_overview.html", day=day, reps=reps, by_rep=by_rep,
        names={rep.id: queues.rep_name(session, rep) for rep in reps},
        waiting=_rows(session, waiting[:WAITING_SHOWN]), waiting_count=len(waiting),
        plan_errors=plan_errors or {}, plan_typed=request.form if plan_errors else {},
        plan_days=PLAN_DAYS, **_shared(day, failed))


def _plan_messages(made: queue_planning.Plan) -> list[str]:
    calls = sum(1 for e in made.planned if e.kind == "call")
    said = [_("Planned calls: %(calls)d, meetings: %(meetings)d; leads newly queued: "
              "%(queued)d.", calls=calls, meetings=len(made.planned) - calls,
              queued=made.enqueued)]
    if made.unplanned:
        why = "; ".join(f"{queue_planning.REASONS[k]}: {n}" for k, n in made.unplanned.items())
        said.append(_("Left in the queue: %(why)s.", why=why))
    if made.unmatched:
        said.append(ngettext("%(num)d lead is not queued: no rule takes it.",
                             "%(num)d leads are not queued: no rule takes them.",
                             made.unmatched))
    return said


# --- Reps ----------------------------------------------------------------------------------

@bp.get("/reps/")
@manage
def reps():
    session, retired = db(), request.args.get("retired") == "1"
    found = queues.reps(session, with_retired=retired)
    return render_template("photovoltaics/queue_reps.html", reps=found, retired=retired,
                           names={r.id: queues.rep_name(session, r) for r in found},
                           weekdays=queues.WEEKDAYS, clock=queues.clock)


@bp.route("/reps/new", methods=["GET", "POST"])
@manage
def new_rep():
    return _rep_form(None)


@bp.route("/reps/<int:rep_id>", methods=["GET", "POST"])
@manage
def edit_rep(rep_id: int):
    return _rep_form(_rep(rep_id))


@bp.post("/reps/<int:rep_id>/active")
@manage
def rep_active(rep_id: int):
    session, rep, active = db(), _rep(rep_id), request.form.get("active") == "1"
    version = optional_int(request.form.get("version"))
    if commit_or_flash(session, lambda: queues.update_rep(
            session, rep, {"active": active}, current_user,
            version if isinstance(version, int) else None)):
        flash(_("%(name)s is planned again.", name=queues.rep_name(session, rep)) if active
              else _("%(name)s is no longer planned.", name=queues.rep_name(session, rep)))
    return redirect(url_for("photovoltaics_queues.reps", retired=0 if active else 1))


def _rep_form(rep: Rep | None):
    session, errors = db(), {}
    values = _rep_values(rep)
    if request.method == "POST":
        data, values = _rep_data(), {**request.form, "weekdays": request.form.getlist(
            "weekdays"), "calls": "calls" in request.form, "meetings": "meetings" in request.form}
        version = optional_int(request.form.get("version"))
        _saved, errors = commit_or_errors(session, lambda: queues.create_rep(
            session, data, current_user) if rep is None else queues.update_rep(
            session, rep, data, current_user, version if isinstance(version, int) else None))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("photovoltaics_queues.reps"))
    return render_template("photovoltaics/queue_rep_form.html", rep=rep, values=values,
                           errors=errors, staff=_staff(session), weekdays=queues.WEEKDAYS)


def _rep_data() -> dict:
    form = request.form
    data = {name: form.get(name, "") for name in REP_NUMBERS}
    data.update(calls="calls" in form, meetings="meetings" in form,
                weekdays=form.getlist("weekdays"))
    if form.get("user_id"):
        data["user_id"] = form["user_id"]
    return data


def _rep_values(rep: Rep | None) -> dict:
    if rep is None:
        return {"calls": True, "meetings": False, "weekdays": ["0", "1", "2", "3", "4"],
                "day_starts": "08:00", "day_ends": "16:00", "travel_km": 50,
                "call_minutes": 15, "meeting_minutes": 90, "base_town": "", "user_id": ""}
    return {**{name: getattr(rep, name) for name in REP_NUMBERS},
            "day_starts": queues.clock(rep.day_starts), "day_ends": queues.clock(rep.day_ends),
            "weekdays": [str(d) for d in rep.weekdays or ()], "calls": rep.calls,
            "meetings": rep.meetings, "user_id": str(rep.user_id)}


def _staff(session) -> list[tuple[str, str]]:
    return [(str(u.id), u.full_name or u.email) for u in users.active_staff(session)]


# --- Rules ---------------------------------------------------------------------------------

@bp.get("/rules/")
@manage
def rules():
    session = db()
    found = queues.rules(session)
    return render_template("photovoltaics/queue_rules.html", rules=found,
                           reps={r.id: queues.rep_name(session, r)
                                 for r in queues.reps(session, with_retired=True)},
                           conditions={r.id: _conditions(session, r) for r in found})


@bp.route("/rules/new", methods=["GET", "POST"])
@manage
def new_rule():
    return _rule_form(None)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@manage
def edit_rule(rule_id: int):
    return _rule_form(_rule(rule_id))


@bp.post("/rules/<int:rule_id>/delete")
@manage
def delete_rule(rule_id: int):
    session, rule = db(), _rule(rule_id)
    if commit_or_flash(session, lambda: queues.delete_rule(session, rule, current_user)):
        flash(_("The rule “%(name)s” is deleted.", name=rule.name))
    return redirect(url_for("photovoltaics_queues.rules"))


def _rule_form(rule: QueueRule | None):
    session, errors = db(), {}
    values = _rule_values(rule)
    if request.method == "POST":
        data = _rule_data()
        values = {**data, **{k: request.form.get(k, "") for k in RULE_NUMBERS}}
        version = optional_int(request.form.get("version"))
        _saved, errors = commit_or_errors(session, lambda: queues.create_rule(
            session, data, current_user) if rule is None else queues.update_rule(
            session, rule, data, current_user, version if isinstance(version, int) else None))
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("photovoltaics_queues.rules"))
    return render_template(
        "photovoltaics/queue_rule_form.html", rule=rule, values=values, errors=errors,
        reps=[(str(r.id), queues.rep_name(session, r)) for r in queues.reps(session)],
        sources=queues.choices(session, "photovoltaics_source"),
        priorities=queues.choices(session, "photovoltaics_priority"))


def _conditions(session, rule: QueueRule) -> list[str]:
    """A rule's conditions as a reader says them."""
    said = []
    for values, key, label in ((rule.sources, "photovoltaics_source", _("Source")),
                               (rule.priorities, "photovoltaics_priority", _("Priority"))):
        if values:
            names = dict(queues.choices(session, key))
            said.append(f"{label}: {', '.join(names.get(v, v) for v in values)}")
    if rule.region:
        said.append(_("Region: %(region)s", region=rule.region))
    if rule.town:
        said.append(_("Within %(km)d km of %(town)s", km=rule.within_km or 0, town=rule.town))
    if rule.min_age_days is not None:
        said.append(_("Entered at least %(n)d days ago", n=rule.min_age_days))
    if rule.max_age_days is not None:
        said.append(_("Entered at most %(n)d days ago", n=rule.max_age_days))
    return said


def _rule_data() -> dict:
    form = request.form
    data = {name: form.get(name, "") for name in RULE_TEXTS}
    data.update({name: optional_int(form.get(name)) for name in RULE_NUMBERS})
    data.update(active="active" in form, sources=form.getlist("sources"),
                priorities=form.getlist("priorities"))
    return data


def _rule_values(rule: QueueRule | None) -> dict:
    if rule is None:
        return {"name": "", "queue": "call", "active": True, "weight": 0, "sources": [],
                "priorities": [], "region": "", "town": "", "position": "", "rep_id": "",
                "within_km": "", "min_age_days": "", "max_age_days": ""}
    values = {name: getattr(rule, name) for name in queues.RuleSchema._declared_fields}
    return {k: "" if v is None else v for k, v in values.items()}


# --- Helpers -------------------------------------------------------------------------------

def _shared(day: date, failed: dict | None) -> dict:
    """What the pages with entries all need: the days around, the outcomes' forms."""
    return {"previous": day - timedelta(days=1), "next": day + timedelta(days=1),
            "today": today(), "outcomes": queue_outcomes.OUTCOMES, "timed": queue_outcomes.TIMED,
            "kinds": queues.KIND_LABELS, "statuses": queues.STATUS_LABELS,
            "outcome_label": queue_outcomes.outcome_label, "failed": failed or {}}


def _rows(session, query_or_entries) -> list[Row]:
    entries = list(query_or_entries) if isinstance(query_or_entries, list) \
        else list(session.scalars(query_or_entries))
    ids = {e.case_id for e in entries}
    seen = {c.id: c for c in session.scalars(
        records.visible(Case, current_user).where(Case.id.in_(ids)))} if ids else {}
    return [Row(e, queues.lead_of(session, seen[e.case_id]) if e.case_id in seen else None)
            for e in entries]


def _day_span(day: date) -> tuple[datetime, datetime]:
    zone = local_zone()
    starts = datetime.combine(day, time(), zone)
    return starts.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(),
                                                    zone).astimezone(UTC)


def _day_asked(source=None) -> date:
    found = _date_or_text((source or request.args).get("day"))
    return found if isinstance(found, date) else today()


def _date_or_text(raw: str | None) -> date | str:
    """A date typed as YYYY-MM-DD, or the text itself for the service to refuse."""
    raw = (raw or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return raw


def _entry(entry_id: int) -> QueueEntry:
    found = db().get(QueueEntry, entry_id)
    if found is None or found.deleted_at is not None:
        abort(404)
    return found


def _rep(rep_id: int) -> Rep:
    found = db().get(Rep, rep_id)
    if found is None or found.deleted_at is not None:
        abort(404)
    return found


def _rule(rule_id: int) -> QueueRule:
    found = db().get(QueueRule, rule_id)
    if found is None or found.deleted_at is not None:
        abort(404)
    return found
