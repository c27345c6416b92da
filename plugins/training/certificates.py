"""Certificates of attendance (TR-6): one for each person who attended, filled from the
template ``training.certificate`` (administrators edit it like any other), numbered in
its series and kept on the person's card, where the participant downloads it from the
portal any time.

The step to "certificates issued" starts a job that makes them, each committed with its
enrolment's note of it, so a job run again after a crash makes only the missing ones.
The staff may start it again (a late correction of attendance) from the list.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import documents, jobs, records
from core.errors import KartotekaError, ValidationError
from core.models import Attachment, Case, Document, DocumentTemplate, Job, Person, User
from plugins.training.models import Enrolment

TEMPLATE = "training.certificate"
JOB = "training.certificates"
PHASES = ("certified",)


def start(session: Session, case: Case, actor=None) -> Job:
    """Have the missing certificates made in the background (the step to "certified"
    runs this; the staff may again)."""
    if case.phase_key not in PHASES:
        raise ValidationError({"case_id": _("Certificates are issued once the training is "
                                            "settled.")})
    return jobs.start(session, JOB, _("Certificates: %(title)s", title=case.title),
                      {"case_id": case.id, "actor_id": getattr(actor, "id", None)}, actor)


def missing(session: Session, case: Case) -> list[Enrolment]:
    """The attendees without a certificate, or whose certificate's file was deleted."""
    kept = select(Document.id).join(Attachment, Attachment.id == Document.attachment_id) \
        .where(Attachment.deleted_at.is_(None))
    return list(session.scalars(select(Enrolment).where(
        Enrolment.case_id == case.id, Enrolment.status == "attended",
        or_(Enrolment.certificate_id.is_(None), Enrolment.certificate_id.not_in(kept)))
        .order_by(Enrolment.id)))


def issue(session: Session, rt, case: Case, row: Enrolment, actor=None) -> Document:
    """Make one attendee's certificate and note it on the enrolment."""
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == TEMPLATE))
    if template is None or not template.active:
        raise ValidationError({"template": _("The certificate template is switched off.")})
    person = session.get(Person, row.person_id)
    document = documents.generate(session, rt.host, rt.settings, template, case, actor,
                                  person=person)
    records.update(session, row, {"certificate_id": document.id}, actor)
    return document


def of(session: Session, row: Enrolment) -> Document | None:
    return session.get(Document, row.certificate_id) if row.certificate_id else None


def of_rows(session: Session, rows: list[Enrolment]) -> dict[int, Document]:
    """Enrolment id -> its certificate, for a whole list in one query."""
    ids = {row.certificate_id: row.id for row in rows if row.certificate_id}
    if not ids:
        return {}
    return {ids[d.id]: d for d in session.scalars(select(Document).where(
        Document.id.in_(list(ids))))}


def run(rt, job, progress) -> dict:
    """The job: each certificate in a transaction of its own."""
    made, failed = 0, []
    with rt.session() as session:
        case = session.get(Case, job.params["case_id"])
        actor_id = job.params.get("actor_id")
        actor = session.get(User, actor_id) if actor_id else None
        ids = [row.id for row in missing(session, case)] if case is not None else []
        progress.set_total(len(ids))
        for row_id in ids:
            row = session.get(Enrolment, row_id)
            try:
                issue(session, rt, case, row, actor)
                session.commit()
                made += 1
            except KartotekaError as exc:
                session.rollback()
                failed.append({"id": row.person_id, "error": str(exc)})
            progress.advance()
    return {"made": made, "failed": failed}
