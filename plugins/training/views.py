"""The association staff's training pages (TR-1, TR-3): the venue registry, the trainings
with their places taken and waiting lists, and each training's participants, where the
staff invite member units, enrol people, cancel enrolments, record attendance and have
the certificates made.

Anyone on the staff reads the registry; changing it needs ``training.manage``. The
trainings and their lists need ``training.enrol`` or ``training.manage`` (403 otherwise);
portal accounts never reach these pages (404, ``core.web.app``). Every change goes
through ``venues`` and ``enrolments``; a refusal is rolled back and shown next to its
field or flashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from core import outbox, permissions, records, search, segments, workflow
from core.db import utcnow
from core.errors import ValidationError
from core.field_sql import CustomValue
from core.menu import MenuItem
from core.models import Case, Membership, Organisation, Person
from core.terms import term
from core.web.admin import permission_required
from core.web.db import db
from core.web.forms import commit_or_errors, optional_int
from plugins.training import certificates, enrolments, invitations, venues
from plugins.training import reports as report
from plugins.training.models import TAKING_A_PLACE, Enrolment, Venue
from plugins.training.process import KEY

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="templates")

MENU = [
    MenuItem(
        "training.index",
        term="training.training",
        permission=enrolments.STAFF_KEYS,
        section=("training.index", "training.participants", "training.enrol",
                 "training.invite", "training.certify"),
    ),
    MenuItem(
        "training.reports",
        term="training.training",
        phrase=_l("%(what)s: reports"),
        permission=enrolments.STAFF_KEYS,
        section=("training.reports", "training.unit_report"),
    ),
    MenuItem(
        "training.venues",
        term="training.venue",
        permission=venues.MANAGE,
        section=("training.venues", "training.new_venue", "training.edit_venue"),
    ),
]
VENUE_FIELDS = ("name", "street", "postal_code", "city", "capacity", "notes")
STATUSES = enrolments.STATUS_LABELS
CHANNELS = {
    "staff": _l("by the staff"),
    "portal": _l("by the unit, on the portal"),
    "self": _l("by themselves, on the portal"),
    "import": _l("by an import"),
    "api": _l("through the API"),
}
ATTENDANCE_PHASES = ("enrolment_closed", "delivered")
PAST_SHOWN = 50  # past trainings listed unless all are asked for
MATCHES = 10  # people offered for a typed name

manage = permission_required(venues.MANAGE)


def enrolling(view):
    """A page for those who enrol people or manage trainings; others get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not any(permissions.can(current_user, key) for key in enrolments.STAFF_KEYS):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------- the venues


@bp.get("/venues/", endpoint="venues")
@login_required
def venue_list():
    retired = request.args.get("retired") == "1"
    return render_template(
        "training/staff_venues.html",
        venues=venues.listed(db(), with_retired=retired),
        retired=retired,
        may_manage=permissions.can(current_user, venues.MANAGE),
    )


@bp.route("/venues/new", methods=["GET", "POST"])
@manage
def new_venue():
    return _venue_form(None)


@bp.route("/venues/<int:venue_id>", methods=["GET", "POST"])
@manage
def edit_venue(venue_id: int):
    return _venue_form(_venue(venue_id))


@bp.post("/venues/<int:venue_id>/retire")
@manage
def retire_venue(venue_id: int):
    session, venue = db(), _venue(venue_id)
    version = optional_int(request.form.get("version"))
    if _commit_or_flash(lambda: venues.retire(session, venue, current_user, version)):
        flash(_("“%(name)s” is retired: it is no longer offered when planning.", name=venue.name))
    return redirect(url_for("training.venues", retired=1))


@bp.post("/venues/<int:venue_id>/reactivate")
@manage
def reactivate_venue(venue_id: int):
    session, venue = db(), _venue(venue_id)
    version = optional_int(request.form.get("version"))
    if _commit_or_flash(
        lambda: venues.update(session, venue, {"active": True}, current_user, version)
    ):
        flash(_("“%(name)s” is offered again when planning.", name=venue.name))
    return redirect(url_for("training.venues", retired=1))


def _venue_form(venue: Venue | None):
    session, errors = db(), {}
    values = _venue_values(venue) if venue is not None else dict.fromkeys(VENUE_FIELDS, "")
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in VENUE_FIELDS}
        data = {**values, "capacity": optional_int(values["capacity"])}
        version = optional_int(request.form.get("version"))

        def write():
            if venue is None:
                return venues.create(session, data, current_user)
            return venues.update(session, venue, data, current_user, version)

        _saved, errors = commit_or_errors(session, write)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("training.venues"))
        if "version" in errors:
            values = _venue_values(venue)  # someone saved meanwhile: show what is stored now
    return render_template(
        "training/staff_venue_form.html", venue=venue, values=values, errors=errors
    )


def _venue_values(venue: Venue) -> dict:
    values = {name: getattr(venue, name) for name in VENUE_FIELDS}
    return {name: "" if value is None else value for name, value in values.items()}


def _venue(venue_id: int) -> Venue:
    found = records.get(db(), Venue, venue_id, current_user)
    if found is None:
        abort(404)
    return found


# --------------------------------------------------------------------- the trainings


@dataclass(frozen=True)
class Training:
    """A row of the overview."""

    case: Case
    starts: datetime | None
    venue: str
    trainer: str
    phase: str
    taken: int
    capacity: int | None
    waiting: int


@bp.get("/")
@enrolling
def index():
    """Upcoming trainings first, soonest first; those without a date; then past ones,
    latest first."""
    session, everything = db(), request.args.get("past") == "all"
    starts = CustomValue(Case.custom, "training_starts_at", "datetime")
    now = utcnow().isoformat(timespec="seconds")  # stored values are UTC in this form
    trainings = records.visible(Case, current_user).where(Case.process_key == KEY)
    upcoming = session.scalars(trainings.where(starts >= now).order_by(starts, Case.id)).all()
    undated = session.scalars(trainings.where(starts.is_(None)).order_by(Case.id)).all()
    past = trainings.where(starts < now).order_by(starts.desc(), Case.id.desc())
    past = session.scalars(past if everything else past.limit(PAST_SHOWN + 1)).all()
    shown = past if everything else past[:PAST_SHOWN]
    return render_template(
        "training/staff_trainings.html",
        upcoming=_trainings(session, upcoming),
        undated=_trainings(session, undated),
        past=_trainings(session, shown),
        more=len(past) > len(shown),
    )


def _trainings(session, cases: list[Case]) -> list[Training]:
    ids = [case.id for case in cases]
    counts: dict[int, dict[str, int]] = {}
    if ids:
        for case_id, status, n in session.execute(
            select(Enrolment.case_id, Enrolment.status, func.count())
            .where(Enrolment.case_id.in_(ids))
            .group_by(Enrolment.case_id, Enrolment.status)
        ):
            counts.setdefault(case_id, {})[status] = n
    venue_names = _venue_names(session, {_custom_id(c, "training_venue") for c in cases})
    trainers = _people(session, {_custom_id(c, "training_trainer") for c in cases})
    process = _host().processes.get(KEY)
    return [
        Training(
            case=case,
            starts=_starts(case),
            venue=venue_names.get(_custom_id(case, "training_venue"), ""),
            trainer=_full_name(trainers.get(_custom_id(case, "training_trainer"))),
            phase=workflow.phase_name(process, case.phase_key) if process else case.phase_key,
            taken=sum(counts.get(case.id, {}).get(s, 0) for s in TAKING_A_PLACE),
            capacity=enrolments.capacity(case),
            waiting=counts.get(case.id, {}).get("waiting", 0),
        )
        for case in cases
    ]


# --------------------------------------------------------------------- participants


@dataclass(frozen=True)
class Match:
    """A person found by the typed name, with the units they work for now."""

    person_id: int
    name: str
    detail: str
    units: list[tuple[int, str]]
    status: str | None  # on the list already (not invited or cancelled)


@bp.get("/<int:case_id>/participants")
@enrolling
def participants(case_id: int):
    return _participants(_training(case_id))


@bp.post("/<int:case_id>/participants")
@enrolling
def enrol(case_id: int):
    session, case = db(), _training(case_id)
    person_id = optional_int(request.form.get("person_id"))
    unit_id = optional_int(request.form.get("organisation_id"))

    def write():
        person = enrolments.chosen(session, person_id, unit_id, current_user)
        return enrolments.enrol(session, case, person, current_user, organisation_id=unit_id)

    row, errors = commit_or_errors(session, write)
    if errors:
        return _participants(case, errors)
    name = _full_name(session.get(Person, row.person_id))
    if row.status == "waiting":
        flash(_("No places are left: %(name)s is on the waiting list.", name=name))
    else:
        flash(_("%(name)s is enrolled.", name=name))
    return redirect(url_for("training.participants", case_id=case.id))


@bp.post("/<int:case_id>/participants/<int:enrolment_id>/cancel")
@enrolling
def cancel(case_id: int, enrolment_id: int):
    session, case = db(), _training(case_id)
    row = records.get(session, Enrolment, enrolment_id, current_user)
    if row is None or row.case_id != case.id:
        abort(404)
    waiting = set(
        session.scalars(
            select(Enrolment.id).where(Enrolment.case_id == case.id, Enrolment.status == "waiting")
        )
    )
    if _commit_or_flash(lambda: enrolments.cancel(session, row, current_user)):
        moved = session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.id.in_(waiting), Enrolment.status == "enrolled"
            )
        ).all()
        names = _people(session, {row.person_id, *moved})
        flash(
            _("The enrolment of %(name)s is cancelled.", name=_full_name(names.get(row.person_id)))
        )
        for person_id in moved:
            flash(
                _("%(name)s moved up from the waiting list.", name=_full_name(names.get(person_id)))
            )
    return redirect(url_for("training.participants", case_id=case.id))


@bp.post("/<int:case_id>/attendance")
@enrolling
def attendance(case_id: int):
    session, case = db(), _training(case_id)
    present = {optional_int(value) for value in request.form.getlist("present")}
    present = {value for value in present if isinstance(value, int)}
    if _commit_or_flash(lambda: enrolments.record_attendance(session, case, present, current_user)):
        flash(_("Attendance is recorded."))
    return redirect(url_for("training.participants", case_id=case.id))


@bp.post("/<int:case_id>/invitations")
@enrolling
def invite(case_id: int):
    """Count whom the chosen units reach (``preview``), or invite them."""
    if not permissions.can(current_user, "training.manage"):
        abort(403)
    session, case = db(), _training(case_id)
    data = {"segment_id": optional_int(request.form.get("segment_id")),
            "participation": request.form.get("participation", ""),
            "role": request.form.get("role", ""),
            "within_km": request.form.get("within_km", "").strip().replace(",", ".") or None}
    if request.form.get("preview"):
        try:
            found = invitations.invitees(session, case, data, current_user)
        except ValidationError as exc:
            return _participants(case, invite_errors=exc.errors, chosen=data)
        return _participants(case, reach=found, chosen=data)
    result, errors = commit_or_errors(
        session, lambda: invitations.invite(session, case, data, current_user))
    if errors:
        return _participants(case, invite_errors=errors, chosen=data)
    _mailing, found = result
    flash(_("Invited people: %(n)d; %(what)s: %(units)d. The invitations are being sent.",
            n=len(found.people), what=term("training.member_unit", plural=True),
            units=len(found.units)))
    return redirect(url_for("training.participants", case_id=case.id))


@bp.post("/<int:case_id>/certificates")
@enrolling
def certify(case_id: int):
    session, case = db(), _training(case_id)

    def write():
        if not permissions.can(current_user, "training.manage"):
            raise ValidationError({"case_id": _("You may not manage trainings.")})
        return certificates.start(session, case, current_user)

    if _commit_or_flash(write):
        flash(_("The missing certificates are being made; they appear here when done."))
    return redirect(url_for("training.participants", case_id=case.id))


@bp.get("/reports")
@enrolling
def reports():
    """How often each member unit sends people, in a period (all time by default)."""
    start, end, errors = _period()
    lines = [] if errors else report.units(db(), current_user, start, end)
    return render_template("training/staff_reports.html", lines=lines, errors=errors,
                           start=request.args.get("start", ""), end=request.args.get("end", ""))


@bp.get("/reports/units/<int:organisation_id>")
@enrolling
def unit_report(organisation_id: int):
    """Who of the unit attended what and when."""
    unit = records.get(db(), Organisation, organisation_id, current_user)
    if unit is None:
        abort(404)
    start, end, errors = _period()
    rows = [] if errors else report.of_unit(db(), current_user, unit.id, start, end)
    return render_template("training/staff_report_unit.html", unit=unit, rows=rows,
                           errors=errors, start=request.args.get("start", ""),
                           end=request.args.get("end", ""))


def _period() -> tuple[date | None, date | None, dict]:
    """The period the report's form asks for; each wrong date its field's error."""
    found, errors = {}, {}
    for key in ("start", "end"):
        raw = (request.args.get(key) or "").strip()
        try:
            found[key] = date.fromisoformat(raw) if raw else None
        except ValueError:
            found[key] = None
            errors[key] = _("Enter the date as YYYY-MM-DD.")
    if found["start"] and found["end"] and found["end"] < found["start"]:
        errors["end"] = _("The period cannot end before it starts.")
    return found["start"], found["end"], errors


def _participants(case: Case, errors: dict | None = None, invite_errors: dict | None = None,
                  reach=None, chosen: dict | None = None):
    """The list, the search for someone to enrol, the invitations while they go out and,
    once the training is closed or delivered, the attendance form; ``errors`` of a
    refused enrolment, ``invite_errors`` of a refused invitation, ``reach`` of a counted
    one."""
    session = db()
    manages = permissions.can(current_user, "training.manage")
    typed = (request.values.get("q") or "").strip()[:200]
    rows = enrolments.listed(session, case)
    open_ = case.phase_key in enrolments.STAFF_PHASES
    return render_template(
        "training/staff_participants.html",
        training=_trainings(session, [case])[0],
        rows=rows,
        people=_people(session, {row.person_id for row in rows}),
        units=_unit_names(session, {row.organisation_id for row in rows}),
        statuses=STATUSES,
        channels=CHANNELS,
        open=open_,
        attendance=case.phase_key in ATTENDANCE_PHASES,
        taking=TAKING_A_PLACE,
        active=enrolments.ACTIVE,
        q=typed,
        matches=_matches(session, typed, rows) if open_ and typed else [],
        errors=errors or {},
        inviting=manages and case.phase_key in invitations.PHASES,
        segments=segments.visible_segments(session, current_user, "organisation"),
        participation=invitations.PARTICIPATION,
        venue=invitations.venue_of(session, case),
        chosen=chosen or {},
        invite_errors=invite_errors or {},
        reach=reach,
        sent=invitations.sent_for(session, case),
        reached=invitations.reached(session, case),
        mail_states=outbox.STATE_LABELS,
        certifying=manages and case.phase_key in certificates.PHASES,
        certificates=certificates.of_rows(session, rows),
        missing=len(certificates.missing(session, case)),
    )


def _matches(session, typed: str, rows: list[Enrolment]) -> list[Match]:
    hits = search.search(session, typed, current_user, types=("person",), limit=MATCHES)
    ids = [hit.record_id for hit in hits]
    today = date.today()
    current = session.execute(
        select(Membership.person_id, Membership.organisation_id).where(
            Membership.person_id.in_(ids),
            or_(Membership.end_date.is_(None), Membership.end_date >= today),
        )
    ).all()
    names = _unit_names(session, {organisation_id for _person, organisation_id in current})
    on_list = {
        row.person_id: row.status for row in rows if row.status not in ("invited", "cancelled")
    }
    return [
        Match(
            hit.record_id,
            hit.label,
            hit.snippet,
            sorted(
                {(o, names[o]) for p, o in current if p == hit.record_id and o in names},
                key=lambda unit: unit[1],
            ),
            on_list.get(hit.record_id),
        )
        for hit in hits
    ]


# --------------------------------------------------------------------- helpers


def _training(case_id: int) -> Case:
    found = enrolments.training(db(), case_id, current_user)
    if found is None:
        abort(404)
    return found


def _commit_or_flash(write) -> bool:
    """Run ``write`` and commit; a refusal is rolled back and its messages flashed."""
    _result, errors = commit_or_errors(db(), write)
    for message in errors.values():
        flash(message, "error")
    return not errors


def _people(session, ids: set) -> dict[int, Person]:
    """The people of ``ids`` the user may see."""
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    query = records.visible(Person, current_user).where(Person.id.in_(ids))
    return {person.id: person for person in session.scalars(query)}


def _unit_names(session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    query = records.visible(Organisation, current_user).where(Organisation.id.in_(ids))
    return {unit.id: unit.name for unit in session.scalars(query)}


def _venue_names(session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    return dict(session.execute(select(Venue.id, Venue.name).where(Venue.id.in_(ids))).all())


def _full_name(person: Person | None) -> str:
    return person.full_name if person is not None else "—"


def _custom_id(case: Case, key: str) -> int | None:
    value = (case.custom or {}).get(key)
    return value if isinstance(value, int) else None


def _starts(case: Case) -> datetime | None:
    value = (case.custom or {}).get("training_starts_at")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _host():
    return current_app.extensions["kartoteka"].host
