"""Staff pages of mailings (``core.send_mailings``): the list with each mailing's
counts, composing a new one, its page (who it reaches, a preview as one recipient, a
test to oneself, sending now or later, stopping, the progress of queueing and what
became of each message) and the list of unsubscribed addresses brought from another
mailing system.
"""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from core import consents, jobs, mailing, outbox, segments, unsubscribe
from core.errors import Forbidden, ValidationError
from core.models import DocumentTemplate, Mailing, OutboxMessage, Person
from core.web.admin import permission_required
from core.web.db import db
from core.web.documents import PREVIEW_HEAD, template_name
from core.web.forms import MAX_ID, commit_or_errors, commit_or_flash, form_id, local_datetime

bp = Blueprint("mailings", __name__, url_prefix="/mailings")
allowed = permission_required(mailing.PERMISSION)
PER_PAGE = 100  # recipients on a page of a mailing
CHOOSE_FROM = 100  # audience members offered for the preview
KIND_LABELS = {"marketing": _l("marketing (needs consent)"),
               "service": _l("service (what people asked for)")}
AUDIENCE_LABELS = {"segment": _l("a saved segment"), "case": _l("the people of a case"),
                   "people": _l("chosen people")}
STAT_LABELS = {"recipients": _l("recipients"), "sent": _l("sent"), "failed": _l("failed"),
               "skipped": _l("skipped"), "uncertain": _l("uncertain"),
               "unsubscribed": _l("unsubscribed")}


def _rt():
    return current_app.extensions["kartoteka"]


@bp.context_processor
def _helpers():
    return {"mailing_states": mailing.STATE_LABELS, "left_out_labels": mailing.LEFT_OUT_LABELS,
            "outbox_states": outbox.STATE_LABELS, "kind_labels": KIND_LABELS,
            "audience_labels": AUDIENCE_LABELS, "stat_labels": STAT_LABELS}


def _mailing(mailing_id: int) -> Mailing:
    found = db().get(Mailing, mailing_id)
    if found is None:
        abort(404)
    return found


# --------------------------------------------------------------------- the list


@bp.get("/")
@allowed
def index():
    session = db()
    found = mailing.visible_mailings(session, current_user)
    return render_template("core/mailings/index.html", mailings=found,
                           stats={m.id: mailing.stats(session, m) for m in found})


# --------------------------------------------------------------------- composing

FIELDS = ("name", "template", "kind", "purpose", "audience", "segment_id", "case_id",
          "person_ids", "note", "recurring")


def _options(session) -> dict:
    templates = session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.kind == "email", DocumentTemplate.active))
    return {
        "templates": sorted(((t.key, template_name(t)) for t in templates),
                            key=lambda o: o[1].casefold()),
        "kinds": list(KIND_LABELS.items()),
        "purposes": [(p.key, p.name) for p in consents.purposes(session, active_only=True)],
        "audiences": list(AUDIENCE_LABELS.items()),
        "segments": [(str(s.id), s.name) for s in
                     segments.visible_segments(session, current_user, "person")],
    }


def _person_ids(text: str) -> tuple[list[int], bool]:
    """Ids typed separated by commas, spaces or lines; whether all were numbers."""
    ids, ok = [], True
    for part in text.replace(",", " ").split():
        if part.isascii() and part.isdigit() and 0 < int(part) <= MAX_ID:
            ids.append(int(part))
        else:
            ok = False
    return ids, ok


@bp.route("/new", methods=["GET", "POST"])
@allowed
def new():
    session, errors = db(), {}
    values = {"kind": "marketing", "audience": "segment"}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in FIELDS}
        ids, ids_ok = _person_ids(values["person_ids"])
        data = {"name": values["name"], "template": values["template"],
                "kind": values["kind"], "purpose": values["purpose"] or None,
                "audience": values["audience"], "note": values["note"],
                "recurring": values["recurring"] == "1",
                "segment_id": form_id(values["segment_id"]),
                "case_id": form_id(values["case_id"]), "person_ids": ids}
        if values["case_id"] and data["case_id"] is None:
            data["case_id"] = 0  # not a number: "choose a case you may see"

        def write():
            created = mailing.create(session, data, current_user)
            if values["audience"] == "people" and not ids_ok:
                raise ValidationError({"person_ids": _("Give the people's numbers "
                                                       "separated by commas.")})
            return created

        created, errors = commit_or_errors(session, write)
        if values["audience"] == "people" and not ids_ok and "person_ids" not in errors:
            errors["person_ids"] = _("Give the people's numbers separated by commas.")
        if not errors:
            flash(_("The mailing was saved as a draft: check it, then send it."))
            return redirect(url_for("mailings.show", mailing_id=created.id), code=303)
    return render_template("core/mailings/new.html", values=values, errors=errors,
                           **_options(session))


def compose(person_ids: list[int]):
    """The composer with ``person_ids`` as its audience (a list's "Mail these"); it is
    sent to ``new`` like any other."""
    values = {"kind": "marketing", "audience": "people",
              "person_ids": ", ".join(str(i) for i in person_ids)}
    return render_template("core/mailings/new.html", values=values, errors={},
                           **_options(db()))


# --------------------------------------------------------------------- one mailing


def _preview_person(session, found: Mailing, person_id: int | None):
    """The audience member to preview as (``person_id`` if among them, else the first),
    and the first members to choose from."""
    query = mailing.audience(session, found, current_user)
    choices = list(session.scalars(query.limit(CHOOSE_FROM)))
    person = None
    if person_id:
        person = session.scalar(query.where(Person.id == person_id))
    return person or (choices[0] if choices else None), choices


@bp.get("/<int:mailing_id>")
@allowed
def show(mailing_id: int):
    session = db()
    found = _mailing(mailing_id)
    template = session.get(DocumentTemplate, found.template_id) if found.template_id else None
    # Counting the reach walks the whole audience: only while it can still change.
    reach = mailing.reach(session, found, current_user) \
        if found.state in ("draft", "scheduled") else None
    person, choices = _preview_person(session, found, form_id(request.args.get("person")))
    preview, preview_error = None, ""
    if person is not None:
        try:
            preview = mailing.preview(session, _rt(), found, person, current_user)
        except (ValidationError, Forbidden) as exc:
            preview_error = " ".join(exc.errors.values()) if isinstance(
                exc, ValidationError) else str(exc)
        except Exception as exc:  # noqa: BLE001 (a template that does not fill is shown)
            preview_error = _("The template could not be filled: %(error)s", error=str(exc))
    page = max(1, form_id(request.args.get("page")) or 1)
    rows = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.mailing_id == found.id).order_by(OutboxMessage.id)
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    recipients = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.mailing_id == found.id))
    job = jobs.get(session, found.job_id, current_user) if found.job_id else None
    return render_template(
        "core/mailings/mailing.html", mailing=found, template=template,
        template_label=template_name(template) if template else "", reach=reach,
        stats=mailing.stats(session, found), person=person, choices=choices,
        preview=preview, preview_error=preview_error, preview_head=PREVIEW_HEAD,
        rows=rows[:PER_PAGE], page=page, more=len(rows) > PER_PAGE, recipients=recipients,
        job=job, job_percent=jobs.percent(job) if job else None,
        purpose=consents.purpose_by_key(session, found.purpose_key)
        if found.purpose_key else None)


def _back(found: Mailing):
    return redirect(url_for("mailings.show", mailing_id=found.id), code=303)


@bp.post("/<int:mailing_id>/test")
@allowed
def send_test(mailing_id: int):
    session = db()
    found = _mailing(mailing_id)
    person, _choices = _preview_person(session, found, form_id(request.form.get("person")))
    if person is None:
        flash(_("The mailing reaches nobody you may see: there is no one to preview."),
              "error")
        return _back(found)
    address = current_user.email
    if commit_or_flash(session, lambda: mailing.send_test(session, _rt(), found, person,
                                                          current_user)) is not None:
        flash(_("A test message as %(name)s would get it was sent to %(address)s.",
                name=person.full_name, address=address))
    return redirect(url_for("mailings.show", mailing_id=found.id, person=person.id),
                    code=303)


@bp.post("/<int:mailing_id>/send")
@allowed
def send_now(mailing_id: int):
    session = db()
    found = _mailing(mailing_id)
    if commit_or_flash(session, lambda: mailing.send(session, found, current_user)):
        flash(_("The mailing is being sent."))
    return _back(found)


@bp.post("/<int:mailing_id>/schedule")
@allowed
def schedule(mailing_id: int):
    session = db()
    found = _mailing(mailing_id)
    at = local_datetime(request.form.get("at"))
    if at is None or isinstance(at, str):
        flash(_("Give the date and time to send it at."), "error")
        return _back(found)
    at = at.astimezone(UTC)
    if commit_or_flash(session, lambda: mailing.send(session, found, current_user, at=at)):
        flash(_("The mailing will be sent at the chosen time."))
    return _back(found)


@bp.post("/<int:mailing_id>/cancel")
@allowed
def cancel(mailing_id: int):
    session = db()
    found = _mailing(mailing_id)
    held = commit_or_flash(session, lambda: mailing.cancel(session, found, current_user))
    if held is not None:
        flash(_("The mailing was stopped; %(n)d messages were not sent.", n=held))
    return _back(found)


# --------------------------------------------------------------------- unsubscribed


@bp.route("/unsubscribes", methods=["GET", "POST"])
@allowed
def unsubscribes():
    session, errors, result = db(), {}, None
    purpose = ""
    if request.method == "POST":
        upload = request.files.get("file")
        purpose = request.form.get("purpose", "").strip()
        if upload is None or not upload.filename:
            errors = {"file": _("Choose a CSV file.")}
        else:
            data = upload.read()
            result, errors = commit_or_errors(session, lambda: unsubscribe.import_addresses(
                session, data, purpose or None, current_user,
                note=_("Imported from %(file)s", file=upload.filename)))
        if not errors:
            flash(_("The addresses were added to the no-marketing list."))
    purposes = [(p.key, p.name) for p in consents.purposes(session, active_only=True)]
    return render_template("core/mailings/unsubscribes.html", errors=errors, result=result,
                           purposes=purposes, purpose=purpose)
