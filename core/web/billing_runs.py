"""Staff pages of billing runs: the list of runs, a new run's form with its preview (the
bills it would make, written nowhere), starting it, and the run's page: the job's
progress, what it made, the invoices it drafted and issuing them.

Everything goes through ``core.billing_runs``, so a period is billed once however
often it is started; a refused form says what is wrong under each field. Every page
needs ``core.billing``.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, ngettext
from flask_login import current_user
from sqlalchemy import func, select

from core import billing_runs, invoices, jobs
from core.billing_strategies import registered
from core.filters import today as local_today
from core.models import BillingRun, ExpectedPayment, Invoice, Job, User
from core.periods import Period, add_months
from core.web.contracts import invoice_url
from core.web.db import db
from core.web.forms import form_id
from core.web.invoices import PAGE, attempt, billing_only, day_of, form_errors

bp = Blueprint("billing_runs", __name__, url_prefix="/billing/runs")

STATE_LABELS = {"queued": lazy_pgettext("billing run", "waiting"),
                "running": lazy_pgettext("billing run", "running"),
                "done": lazy_pgettext("billing run", "done"),
                "failed": lazy_pgettext("billing run", "failed")}
SHOWN = 50  # invoices listed on a run's page; the invoice list shows them all
MADE_LABELS = {"invoices": _l("Invoices drafted"), "items": _l("Billable items"),
               "expected": _l("Payments expected"), "issued": _l("Invoices issued")}
BILL_KINDS = {"expected": _l("expected payment")}
QUICK_LABELS = {"this_month": _l("this month"), "last_month": _l("last month"),
                "this_quarter": _l("this quarter")}


def _rt():
    return current_app.extensions["kartoteka"]


@bp.context_processor
def _helpers():
    return {"run_states": STATE_LABELS, "made_labels": MADE_LABELS, "bill_kinds": BILL_KINDS,
            "invoice_url": invoice_url, "run_label": billing_runs.label}


def quick_periods(today: date) -> dict[str, Period]:
    """The periods one click away: this month, last month, this quarter."""
    month = today.replace(day=1)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return {"this_month": Period(month, add_months(month, 1) - timedelta(days=1)),
            "last_month": Period(add_months(month, -1), month - timedelta(days=1)),
            "this_quarter": Period(quarter, add_months(quarter, 3) - timedelta(days=1))}


# --- The list ----------------------------------------------------------------------------

@bp.get("/")
@billing_only
def index():
    session = db()
    page = form_id(request.args.get("page")) or 0
    rows = list(session.scalars(select(BillingRun).order_by(
        BillingRun.period_start.desc(), BillingRun.id.desc()).offset(page * PAGE)
        .limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    found = {j.id: j for j in session.scalars(select(Job).where(
        Job.id.in_([r.job_id for r in rows if r.job_id])))} if rows else {}
    return render_template("core/billing_runs/index.html", rows=rows, more=more, page=page,
                           jobs=found, names=_user_names(session, rows))


def _user_names(session, rows) -> dict[int, str]:
    ids = {r.started_by_id for r in rows if r.started_by_id}
    if not ids:
        return {}
    return {u.id: u.full_name or u.email for u in session.scalars(
        select(User).where(User.id.in_(ids)))}


# --- A new run: preview and start -----------------------------------------------------------

FIELDS = ("period_start", "period_end", "issue", "issue_date")


def _typed(source) -> dict:
    found = {name: source.get(name, "") for name in FIELDS}
    found["strategies"] = source.getlist("strategies")
    return found


@bp.route("/new", methods=["GET", "POST"])
@billing_only
def new():
    session, host = db(), _rt().host
    strategies = registered(host)
    quick = quick_periods(local_today())
    values = {"period_start": quick["this_month"].start.isoformat(),
              "period_end": quick["this_month"].end.isoformat(), "issue": "0",
              "issue_date": "", "strategies": list(strategies)}
    if request.args.get("period_start") or request.args.get("period_end"):
        values.update({k: v for k, v in _typed(request.args).items() if v})
    errors: dict = {}
    shown = None
    if request.method == "POST":
        values = _typed(request.form)
        own, data = _data(values)
        starting = request.form.get("action") == "start"

        def write():
            if own:  # the service's problems are told at once with the page's own
                billing_runs.load(host, data, current_user)
                return None
            if starting:
                return _start(session, host, data)
            return billing_runs.preview(session, host, data, current_user)

        done, errors = attempt(session, write, own)
        errors = form_errors(errors)
        if starting and done is not None:
            run, going = done
            flash(_("This period's run is under way already.") if going
                  else _("The run was started."))
            return redirect(url_for("billing_runs.show", run_id=run.id))
        shown = None if starting else done
    return render_template(
        "core/billing_runs/new.html", values=values, errors=errors, preview=shown,
        strategies=strategies, quick=quick, quick_labels=QUICK_LABELS,
        existing=_existing(session, values))


def _data(values: dict) -> tuple[dict, dict]:
    """The page's own problems and the run's options as the service takes them."""
    own = {}
    if not values["strategies"]:  # the service reads none as every one
        own["strategies"] = _("Choose at least one kind of billing.")
    data = {"strategies": values["strategies"], "issue": values["issue"] == "1",
            "issue_date": values["issue_date"].strip() or None}
    for key in ("period_start", "period_end"):
        if values[key].strip():
            data[key] = values[key].strip()
    return own, data


def _start(session, host, data: dict) -> tuple[BillingRun, bool]:
    """The period's run started, and whether it was under way already."""
    period, _keys, _options = billing_runs.load(host, data, current_user)
    before = _run_of(session, period.start, period.end)
    job_before = before.job_id if before is not None else None
    run = billing_runs.start(session, host, data, current_user)
    return run, before is not None and run.job_id == job_before


def _run_of(session, start: date, end: date) -> BillingRun | None:
    return session.scalar(select(BillingRun).where(BillingRun.period_start == start,
                                                   BillingRun.period_end == end))


def _existing(session, values: dict) -> BillingRun | None:
    """The run of the period typed, if there is one already."""
    found: dict = {}
    start = day_of(values["period_start"], "start", found)
    end = day_of(values["period_end"], "end", found)
    return _run_of(session, start, end) if start and end else None


# --- A run -----------------------------------------------------------------------------------

def _get(run_id: int) -> BillingRun:
    found = billing_runs.get(db(), run_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:run_id>")
@billing_only
def show(run_id: int):
    return _page(_get(run_id))


def _page(run: BillingRun, errors: dict | None = None, typed: dict | None = None):
    session = db()
    job = session.get(Job, run.job_id) if run.job_id else None
    of_run = invoices.visible(current_user).where(Invoice.billing_run_id == run.id)
    made = list(session.scalars(of_run.order_by(Invoice.id).limit(SHOWN)))
    rows = of_run.subquery()
    counted = dict(session.execute(select(rows.c.status, func.count()).group_by(
        rows.c.status)).all())
    last = job.result if job is not None and job.state == "done" else None
    expected = session.scalar(select(func.count()).select_from(ExpectedPayment).where(
        ExpectedPayment.run_id == run.id))
    strategies = registered(_rt().host)
    return render_template(
        "core/billing_runs/run.html", run=run, job=job,
        percent=jobs.percent(job) if job is not None else None,
        going=run.state in ("queued", "running") or (
            job is not None and job.state in ("queued", "running")),
        invoices=made, made_count=sum(counted.values()), drafts=counted.get("draft", 0),
        last=last,
        nothing_new=last is not None and not last.get("held") and not last.get("failed")
        and not any(last.get(k) for k in MADE_LABELS),
        expected=expected, starter=_user_names(session, [run]).get(run.started_by_id),
        strategy_titles=[str(strategies[k].title) if k in strategies else k
                         for k in run.strategies or []],
        errors=form_errors(errors or {}), typed=typed or {})


@bp.get("/<int:run_id>.json")
@billing_only
def status(run_id: int):
    """The run's job as ``progress.js`` polls it (the jobs' own address shows a job only
    to who started it; a run is everyone's who bills)."""
    run = _get(run_id)
    job = db().get(Job, run.job_id) if run.job_id else None
    response = jsonify({"state": job.state if job is not None else run.state,
                        "done": job.done if job is not None else 0,
                        "total": job.total if job is not None else None,
                        "percent": jobs.percent(job) if job is not None else None,
                        "error": (job.error if job is not None else "") or run.error,
                        "result": (job.result if job is not None else None) or {}})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:run_id>/issue")
@billing_only
def issue(run_id: int):
    session, run = db(), _get(run_id)
    typed = {"issue_date": request.form.get("issue_date", "")}
    own: dict = {}
    day = day_of(typed["issue_date"], "issue_date", own)
    count, errors = attempt(session, lambda: None if own else billing_runs.issue_drafts(
        session, _rt().settings, run, current_user, day), own)
    if errors:
        return _page(run, errors, typed)
    flash(ngettext("%(num)d invoice issued.", "%(num)d invoices issued.", count or 0))
    return redirect(url_for("billing_runs.show", run_id=run.id))
