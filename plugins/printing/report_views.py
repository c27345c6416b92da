"""The printing house's report pages (``reports.py``), for holders of ``printing.reports``
(403 otherwise): the calculations waiting for approval, the account managers' win rate
and the complaint rate of the products (``/printing/reports/``), and the reps' sales
picture per rep and voivodeship, each figure's entries linked to their records
(``/printing/reports/sales``). A filter that cannot be used is named next to its field
(400) and the figures it would narrow are left out.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from core import approvals, teams
from core.menu import MenuItem
from core.models import User
from core.report_periods import checked, period
from core.terms import term
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import optional_int
from plugins.printing import regions, reports

bp = Blueprint("printing_reports", __name__, url_prefix="/printing/reports",
               template_folder="templates")
MENU = [
    MenuItem("printing_reports.index", term="printing.project", phrase=_l("%(what)s: reports"),
             permission=reports.REPORTS, section=("printing_reports.index",)),
    MenuItem("printing_reports.sales", term="printing.account_manager",
             phrase=_l("%(what)s: sales picture"), permission=reports.REPORTS,
             section=("printing_reports.sales",)),
]
readers = permission_required(reports.REPORTS)


@bp.get("/", endpoint="index")
@readers
def index():
    session, errors = db(), {}
    values = _values("from", "to", "rep")
    within = checked(errors, lambda: period(values["from"], values["to"]))
    rep_id = optional_int(values["rep"])
    if rep_id is not None:
        checked(errors, lambda: reports.rep(session, rep_id))
    won = reports.win_rate(session, current_user, within, rep_id) \
        if within and "rep" not in errors else None
    complaints = reports.complaint_rate(session, current_user, within) if within else None
    return render_template(
        "printing/reports.html", values=values, errors=errors, period=within,
        waiting=reports.waiting(session, current_user), won=won, complaints=complaints,
        reps=_staff(session), money=approvals.money, percent=approvals.percent,
    ), 400 if errors else 200


@bp.get("/sales", endpoint="sales")
@readers
def sales():
    session, errors = db(), {}
    values = _values("from", "to", "rep", "region", "team")
    within = checked(errors, lambda: period(values["from"], values["to"], default="month"))
    narrowed = {"rep_id": optional_int(values["rep"]), "team_id": optional_int(values["team"]),
                "region_key": values["region"] or None}
    usable = checked(errors, lambda: reports.narrowing(session, **narrowed)) is not None
    picture = reports.sales_picture(session, current_user, within, **narrowed) \
        if within and usable else None
    team = next((t for t in teams.all_teams(session) if str(t.id) == values["team"]), None)
    mine = team is not None and team in teams.teams_of(session, current_user)
    drill = bool(values["rep"] or values["region"]) and picture is not None
    entries, more = reports.capped(picture.entries) if drill else (None, 0)
    return render_template(
        "printing/sales.html", values=values, errors=errors, period=within, picture=picture,
        entries=entries, more=more, team=team, calendar=mine, reps=_staff(session),
        regions=[(key, regions.name(key)) for key in regions.KEYS],
        teams=[(str(t.id), t.name) for t in teams.all_teams(session)],
        label=entry_label, money=approvals.money, link=_link(values),
    ), 400 if errors else 200


def entry_label(kind: str) -> str:
    """What an entry behind the sales picture is, in the installation's terms."""
    if kind == reports.VISIT:
        return _("Visit")
    if kind == reports.CALL:
        return _("Call")
    if kind == reports.OFFER:
        return _("Sent: %(what)s", what=term("printing.calculation"))
    if kind == reports.OFFER_DOCUMENT:
        return _("Made: %(what)s", what=term("printing.phase_offer"))
    return _("Won: %(what)s", what=term("printing.project"))


def _values(*names: str) -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:100] for name in names}


def _staff(session) -> list[tuple[str, str]]:
    """The staff a report may be narrowed to, by name."""
    return [(str(u.id), u.full_name or u.email) for u in session.scalars(
        select(User).where(User.kind == "staff").order_by(User.full_name, User.email))]


def _link(values: dict):
    """The sales picture's filters as they are, with some changed: a drill-down link."""
    def args(**changed) -> dict:
        return {k: v for k, v in {**values, **changed}.items() if v}
    return args

