"""Mailings: an e-mail template sent, personalised, to a segment, a case's people or a
hand-picked list; now or at a set time.

Queueing is a job: it walks the audience page by page, leaves out whoever has no
address, no valid consent (marketing mail) or a suppressed address, fills the template
for each of the rest and writes their messages to the outbox, where delivery takes
over. Each recipient is queued once per mailing (the outbox is unique on mailing and
person), so a retried job carries on where the last attempt stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from marshmallow import RAISE, Schema, fields
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core import (
    audit,
    bulk,
    consents,
    documents,
    jobs,
    outbox,
    permissions,
    records,
    segments,
    templating,
    unsubscribe,
    validation,
)
from core import fields as custom_fields
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import (
    Attachment,
    Case,
    CasePerson,
    DocumentTemplate,
    Job,
    Mailing,
    OutboxMessage,
    Person,
    Segment,
    Suppression,
    User,
)
from core.models.mailing import AUDIENCES
from core.models.outbox import KINDS

PAGE = 500
PART = 10_000  # people a preparing job takes on: the parts of a large mailing are shared
WAIT_SECONDS = 0.5  # between looks at the parts other workers are preparing
MAX_PEOPLE = 10_000  # a hand-picked list
PERMISSION = "core.send_mailings"

REPEAT = timedelta(hours=1)  # how often a recurring mailing looks for new recipients
STATE_LABELS = {"draft": _l("draft"), "scheduled": _l("scheduled"), "queuing": _l("queuing"),
                "active": _l("recurring"),
                "sending": _l("sending"), "done": _l("sent"), "cancelled": _l("cancelled")}
LEFT_OUT_LABELS = {"no_address": _l("no e-mail address"),
                   "no_consent": _l("no valid consent"),
                   "suppressed": _l("address on the no-marketing list")}


class MailingSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validation.max_length(200))
    template = fields.String(required=True)  # an e-mail template's key
    kind = fields.String(load_default="marketing")
    purpose = fields.String(load_default=None, allow_none=True)
    audience = fields.String(required=True)
    segment_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validation.an_id())
    case_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                             validate=validation.an_id())
    person_ids = fields.List(fields.Integer(strict=True, validate=validation.an_id()),
                             load_default=list)
    attachment_ids = fields.List(fields.Integer(strict=True, validate=validation.an_id()),
                                 load_default=list)
    own_document = fields.String(load_default=None, allow_none=True)  # a template's key
    note = fields.String(load_default="", validate=validation.max_length(5000))
    recurring = fields.Boolean(load_default=False)


# --------------------------------------------------------------------- composing


def create(session: Session, data: dict, actor) -> Mailing:
    _require(actor)
    values = _clean(session, data, actor)
    mailing = Mailing(**values, state="draft", created_by_id=actor.id, created_at=utcnow())
    return records.create(session, mailing, actor)


def update(session: Session, mailing: Mailing, data: dict, actor) -> Mailing:
    _require(actor)
    if mailing.state not in ("draft", "scheduled"):
        raise ValidationError({"mailing": _("A mailing that is being sent or was sent "
                                            "cannot be changed.")})
    values = _clean(session, data, actor)
    return records.update(session, mailing, values, actor)


def _clean(session: Session, data: dict, actor) -> dict:
    """Checked values; every problem at once, keyed by field."""
    values, errors = validation.load_collecting(MailingSchema(), data)
    name = values.get("name", "").strip() if isinstance(values.get("name"), str) else ""
    if "name" in values and not name:
        errors["name"] = _("Enter a name.")
    template = _template(session, values.get("template"), "email")
    if "template" in values and template is None:
        errors["template"] = _("Choose an e-mail template.")
    kind = values.get("kind")
    if kind not in KINDS:
        errors["kind"] = _("Choose marketing or service mail.")
    purpose = values.get("purpose") or None
    if kind == "marketing":
        found = consents.purpose_by_key(session, purpose) if purpose else None
        if found is None or not found.active:
            errors["purpose"] = _("Marketing mail goes only to people who consented: choose "
                                  "the consent purpose it is sent under.")
        elif found.legal_basis != "consent":
            errors["purpose"] = _("Marketing mail needs a purpose whose legal basis is "
                                  "consent.")
    audience = values.get("audience")
    if audience not in AUDIENCES:
        errors["audience"] = _("Choose who receives it: a segment, a case's people or "
                               "chosen people.")
    elif audience == "segment":
        segment = segments.get(session, values.get("segment_id") or 0, actor)
        if segment is None or segment.record_type != "person":
            errors["segment_id"] = _("Choose a saved segment of people.")
    elif audience == "people":
        ids = list(dict.fromkeys(values.get("person_ids") or []))
        if not ids:
            errors["person_ids"] = _("Choose at least one person.")
        elif len(ids) > MAX_PEOPLE:
            errors["person_ids"] = _("At most %(n)d people; save a segment for more.",
                                     n=MAX_PEOPLE)
        elif session.scalar(select(func.count()).select_from(
                records.visible(Person, actor).where(Person.id.in_(ids)).subquery())) \
                != len(ids):
            errors["person_ids"] = _("Some of the people do not exist or you may not see "
                                     "them.")
        values["person_ids"] = ids
    # A mailing about a case (an invitation to a training) fills its template from the
    # case, whoever its audience is.
    case_id = values.get("case_id")
    if "case_id" in errors or (case_id is None and audience == "case") or (
            case_id is not None and records.get(session, Case, case_id, actor) is None):
        errors["case_id"] = _("Choose a case you may see.")
    attachment_ids = list(dict.fromkeys(values.get("attachment_ids") or []))
    if attachment_ids and session.scalar(select(func.count()).select_from(Attachment).where(
            Attachment.id.in_(attachment_ids), Attachment.deleted_at.is_(None))) \
            != len(attachment_ids):
        errors["attachment_ids"] = _("Some of the attached files no longer exist.")
    own = None
    if values.get("own_document"):
        own = _template(session, values["own_document"], None)
        if own is None or own.kind == "email" or own.subject_type != "person":
            errors["own_document"] = _("Choose a document template filled from a person.")
    if errors:
        raise ValidationError(errors)
    return {"name": name, "template_id": template.id, "kind": kind,
            "purpose_key": purpose if kind == "marketing" else None, "audience": audience,
            "segment_id": values.get("segment_id") if audience == "segment" else None,
            "case_id": values.get("case_id"),
            "person_ids": values.get("person_ids", []) if audience == "people" else [],
            "attachment_ids": attachment_ids,
            "own_document_template_id": own.id if own else None,
            "note": values.get("note", "").strip(), "recurring": bool(values.get("recurring"))}


def _template(session: Session, key, kind: str | None) -> DocumentTemplate | None:
    if not isinstance(key, str):
        return None
    found = session.scalar(select(DocumentTemplate).where(DocumentTemplate.key == key,
                                                          DocumentTemplate.active))
    if found is None or (kind is not None and found.kind != kind):
        return None
    return found


def _require(actor) -> None:
    if not permissions.can(actor, PERMISSION):
        raise Forbidden(_("Sending mailings needs the permission to send mailings."))


# --------------------------------------------------------------------- the audience


def audience(session: Session, mailing: Mailing, actor=None) -> Select:
    """The people the mailing is for (those ``actor`` may see), by id."""
    query = records.visible(Person, actor)
    if mailing.audience == "segment":
        segment = session.get(Segment, mailing.segment_id) if mailing.segment_id else None
        if segment is None:
            return query.where(False)
        try:
            query = segments.members(session, segment, actor)
        except ValidationError:  # it filters on a field the actor may not see: nobody
            return query.where(False)
    elif mailing.audience == "case":
        query = query.where(Person.id.in_(select(CasePerson.person_id).where(
            CasePerson.case_id == mailing.case_id)))
    else:
        query = query.where(Person.id.in_(mailing.person_ids or [0]))
    return query.order_by(Person.id)


@dataclass
class Reach:
    """Who a mailing would reach, counted before sending."""

    total: int
    receive: int
    left_out: dict[str, int]


def reach(session: Session, mailing: Mailing, actor=None) -> Reach:
    people = audience(session, mailing, actor).subquery()
    total = session.scalar(select(func.count()).select_from(people))
    left = {"no_address": 0, "no_consent": 0, "suppressed": 0}
    for page in _pages(session, mailing, actor):
        for _person, _address, reason in _sort(session, mailing, page):
            if reason:
                left[reason] += 1
    return Reach(total, total - sum(left.values()), left)


def _pages(session: Session, mailing: Mailing, actor, after: int = 0,
           upto: int | None = None):
    """The audience (with ids above ``after`` and up to ``upto``), PAGE people at a
    time, with their contacts loaded."""
    base = audience(session, mailing, actor).options(selectinload(Person.contacts))
    if upto is not None:
        base = base.where(Person.id <= upto)
    while True:
        page = list(session.scalars(base.where(Person.id > after).limit(PAGE)))
        if not page:
            return
        yield page
        after = page[-1].id


def _sort(session: Session, mailing: Mailing, people: list[Person]):
    """(person, address, why left out or "") for each person of a page."""
    addresses = {p.id: address_of(p) for p in people}
    consenting = set()
    suppressed = set()
    if mailing.kind == "marketing":
        consenting = consents.valid_among(session, list(addresses), mailing.purpose_key)
        suppressed = set(session.scalars(select(Suppression.address).where(
            Suppression.address.in_([a.lower() for a in addresses.values() if a]))))
    for person in people:
        address = addresses[person.id]
        if not address:
            yield person, "", "no_address"
        elif mailing.kind == "marketing" and person.id not in consenting:
            yield person, address, "no_consent"
        elif address.lower() in suppressed:
            yield person, address, "suppressed"
        else:
            yield person, address, ""


def address_of(person: Person) -> str:
    """The person's primary e-mail address, or the first one they have."""
    emails = sorted((c for c in person.contacts if c.kind == "email"),
                    key=lambda c: (not c.is_primary, c.id or 0))
    return emails[0].value if emails else ""


# --------------------------------------------------------------------- personalising


class Letter:
    """A mailing's template with what every recipient shares (the sender, the case,
    the date) worked out once; ``fill`` adds one person."""

    def __init__(self, session: Session, rt, mailing: Mailing, actor=None):
        template = session.get(DocumentTemplate, mailing.template_id) \
            if mailing.template_id else None
        if template is None:
            raise ValidationError({"template": _("The mailing's template no longer "
                                                 "exists.")})
        self.session, self.rt, self.mailing, self.actor = session, rt, mailing, actor
        self.version = documents.current_version(session, template)
        self.subject = self.version.subject or template.name_pl
        self.shared = documents.context(session, rt.host, None, actor, rt.settings)
        case = session.get(Case, mailing.case_id) if mailing.case_id else None
        if case is not None:
            self.shared.update(documents.context(session, rt.host, case, actor, rt.settings))
        self.portal = f"{rt.settings.public_url.rstrip('/')}/"
        self.definitions = custom_fields.definitions(session, "person")
        # The unsubscribe footer, translated once rather than for each of 100,000 people.
        self.text_footer = "\n\n-- \n" + _(
            "To stop receiving these messages, unsubscribe: %(link)s") + "\n"
        self.html_footer = (
            Markup('\n<p style="font-size:small;color:#666">{} <a href="').format(
                _("To stop receiving these messages,")),
            Markup('">{}</a>.</p>').format(_("unsubscribe")))

    def fill(self, person: Person, message_id: str = "<preview>") -> dict:
        """The subject, plain text and HTML ``person`` gets, and its unsubscribe link."""
        mailing, settings = self.mailing, self.rt.settings
        marketing = mailing.kind == "marketing"
        links = {"portal": self.portal,
                 "unsubscribe": unsubscribe.link(settings, person.id, mailing.purpose_key,
                                                 message_id) if marketing else ""}
        context = {**self.shared, "links": links,
                   "person": documents.person_data(self.session, person, self.actor,
                                                   self.definitions)}
        subject = templating.render(self.subject, context, "subject", html=False)
        html = templating.render(self.version.body, context, "body")
        text = templating.render(self.version.text_body, context, "text_body", html=False) \
            if self.version.text_body.strip() else _text_of(html)
        if marketing:
            text = text.rstrip() + self.text_footer % {"link": links["unsubscribe"]}
            head, tail = self.html_footer
            html = Markup(html) + head + links["unsubscribe"] + tail
        return {"subject": " ".join(subject.split())[:300], "text": text, "html": str(html),
                "unsubscribe": links["unsubscribe"]}


def personalise(session: Session, rt, mailing: Mailing, person: Person,
                message_id: str = "<preview>", actor=None) -> dict:
    """The subject, plain text and HTML ``person`` gets."""
    return Letter(session, rt, mailing, actor).fill(person, message_id)


def tell(session: Session, rt, template_key: str, person: Person, case: Case | None = None,
         actor=None) -> int | None:
    """Queue ``person`` a service e-mail from a template, filled about ``case`` (an
    enrolment confirmed): on their timeline and the case's like any message, sent by
    ``actor``. It is the installation's letter, so it is filled with every field, not
    only those ``actor`` sees. None when they have no address or an administrator
    switched the template off."""
    template = _template(session, template_key, "email")
    address = address_of(person)
    if template is None or not template.active or not address:
        return None
    # The letter's shape only: a mailing of one is not kept.
    shape = Mailing(name=template.key, template_id=template.id, kind="service",
                    case_id=case.id if case is not None else None)
    message_id = outbox.new_message_id(rt.settings)
    found = Letter(session, rt, shape).fill(person, message_id)
    about = [("person", person.id)] + ([("case", case.id)] if case is not None else [])
    return outbox.queue(session, [outbox.Draft(
        to_address=address, to_name=person.full_name, subject=found["subject"],
        text_body=found["text"], html_body=found["html"], person_id=person.id,
        case_id=shape.case_id, about=about, message_id=message_id)], actor)[0]


def _text_of(html: str) -> str:
    """A plain-text part for a template that has none: the HTML without tags."""
    import html as htmllib
    import re

    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</h\d>|</li>", "\n", html)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n{3,}", "\n\n", htmllib.unescape(text)).strip()


def preview(session: Session, rt, mailing: Mailing, person: Person, actor) -> dict:
    """The message as ``person`` would get it (the actor must be able to see them)."""
    if records.get(session, Person, person.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))
    return personalise(session, rt, mailing, person, actor=actor)


def send_test(session: Session, rt, mailing: Mailing, person: Person, actor) -> int:
    """Send the message as ``person`` would get it to the actor's own address."""
    _require(actor)
    found = preview(session, rt, mailing, person, actor)
    ids = outbox.queue(session, [outbox.Draft(
        to_address=actor.email, to_name=actor.full_name or "",
        subject=_("[Test] %(subject)s", subject=found["subject"])[:300],
        text_body=found["text"], html_body=found["html"], kind="service",
        attachments=list(mailing.attachment_ids or []))], actor)
    return ids[0]


# --------------------------------------------------------------------- sending


def send(session: Session, mailing: Mailing, actor, at: datetime | None = None) -> Mailing:
    """Send now, or at ``at``: the mailing is queued by a job then."""
    _require(actor)
    if mailing.state not in ("draft", "scheduled"):
        raise ValidationError({"mailing": _("This mailing was already sent.")})
    template = session.get(DocumentTemplate, mailing.template_id) \
        if mailing.template_id else None
    if template is None or not template.active:
        raise ValidationError({"template": _("The mailing's template no longer exists.")})
    if at is not None:
        if at.tzinfo is None or at <= utcnow():
            raise ValidationError({"scheduled_at": _("Give a moment in the future.")})
        records.update(session, mailing, {"state": "scheduled", "scheduled_at": at}, actor)
        return mailing
    return _start(session, mailing, actor)


def _start(session: Session, mailing: Mailing, actor) -> Mailing:
    job = jobs.start(session, "mailing.queue", _("Mailing: %(name)s", name=mailing.name),
                     {"mailing_id": mailing.id, "actor_id": getattr(actor, "id", None)},
                     actor)
    records.update(session, mailing, {"state": "queuing", "queued_at": utcnow(),
                                      "job_id": job.id}, actor)
    return mailing


def cancel(session: Session, mailing: Mailing, actor) -> int:
    """Stop a mailing: a scheduled one goes back to draft; from one being sent, the
    messages not yet handed over are not sent. Returns how many were held back."""
    _require(actor)
    if mailing.state == "scheduled":
        records.update(session, mailing, {"state": "draft", "scheduled_at": None}, actor)
        return 0
    if mailing.state not in ("queuing", "sending", "active"):
        raise ValidationError({"mailing": _("Only a scheduled mailing or one being sent can "
                                            "be stopped.")})
    held = outbox.hold_back(session, mailing.id, _("The mailing was stopped."))
    records.update(session, mailing, {"state": "cancelled"}, actor)
    return held


@jobs.handler("mailing.queue")
def _queue_job(rt, job, progress) -> dict:
    """Prepare the mailing (the job behind ``send``). The audience is cut into parts of
    PART people, each a job of its own that any worker may take, so that several
    workers share a large mailing; this job takes the parts nobody has, waits for the
    rest, then hands the mailing over to delivery."""
    with rt.session() as session:
        mailing = session.get(Mailing, job.params["mailing_id"])
        if mailing is None or mailing.state == "cancelled":
            return {"queued": 0}
        parts = job.params.get("parts")  # a retry finds the parts it made before
        if parts is None:
            parts = _cut(session, job, mailing, progress)
        else:
            progress.set_total(job.total or 0)
    results = _work_off(rt, parts, progress)
    return _handed_over(rt, job, results)


def _cut(session: Session, job, mailing: Mailing, progress) -> list[int]:
    """The part jobs of the mailing's audience, noted on ``job``; queued at the commit."""
    actor = session.get(User, job.params.get("actor_id") or 0)
    ids = list(session.scalars(audience(session, mailing, actor).with_only_columns(
        Person.id)))
    progress.set_total(len(ids))
    tops = ids[PART - 1::PART]
    if ids and (not tops or tops[-1] != ids[-1]):
        tops.append(ids[-1])
    parts = [jobs.start(session, "mailing.queue_part",
                        _("Mailing: %(name)s, part %(n)d of %(of)d", name=mailing.name,
                          n=n + 1, of=len(tops)),
                        {"mailing_id": mailing.id, "actor_id": job.params.get("actor_id"),
                         "after": after, "upto": upto}, actor,
                        total=None).id
             for n, (after, upto) in enumerate(zip([0, *tops[:-1]], tops, strict=True))]
    noted = session.get(Job, job.id)
    noted.params = {**noted.params, "parts": parts}
    session.commit()
    return parts


def _work_off(rt, parts: list[int], progress) -> list[dict]:
    """Run each part no worker is running, until every part is done; their results."""
    waiting = list(parts)
    while True:
        for part in waiting:
            jobs.run(rt, part)  # returns at once if another worker has it meanwhile
        with rt.session() as session:
            rows = session.execute(select(Job.id, Job.state, Job.done, Job.result, Job.error)
                                   .where(Job.id.in_(parts))).all()
        waiting = [r.id for r in rows if r.state == "queued"]
        progress.reached(sum(r.done or 0 for r in rows))
        failed = [r.error for r in rows if r.state == "failed"]
        if failed:
            raise RuntimeError(failed[0])
        if all(r.state == "done" for r in rows):
            return [r.result or {} for r in rows]
        time.sleep(WAIT_SECONDS)


def _handed_over(rt, job, results: list[dict]) -> dict:
    """Every part written: the mailing goes to delivery, with who was left out."""
    left = {"no_address": 0, "no_consent": 0, "suppressed": 0}
    for result in results:
        for reason, count in (result.get("left_out") or {}).items():
            left[reason] = left.get(reason, 0) + count
    with rt.session() as session:
        mailing = session.get(Mailing, job.params["mailing_id"])
        actor = session.get(User, job.params.get("actor_id") or 0)
        if mailing.state != "cancelled":
            mailing.state = "active" if mailing.recurring else "sending"
            mailing.left_out = left
        audit.write(session, mailing, "update", {"state": ("queuing", mailing.state)}, actor)
        jobs.after_commit(session, lambda q: q.deliver())  # and so marked done when all went
        session.commit()
    return {"queued": sum(r.get("queued", 0) for r in results), "left_out": left}


@jobs.handler("mailing.queue_part")
def _queue_part(rt, job, progress) -> dict:
    """Write the messages of one part of a mailing's audience to the outbox; a person
    whose message is already there (an earlier attempt) is not written again."""
    params = job.params
    with rt.session() as session:
        mailing = session.get(Mailing, params["mailing_id"])
        actor = session.get(User, params.get("actor_id") or 0)
        left = {"no_address": 0, "no_consent": 0, "suppressed": 0}
        if mailing is None or mailing.state == "cancelled":
            return {"queued": 0, "left_out": left}
        done = set(session.scalars(select(OutboxMessage.person_id).where(
            OutboxMessage.mailing_id == mailing.id, OutboxMessage.person_id > params["after"],
            OutboxMessage.person_id <= params["upto"])))
        with bulk.fewer_collections():
            queued = _queue_pages(session, rt, mailing, actor, params, done, left, progress)
    return {"queued": queued, "left_out": left}


def _queue_pages(session: Session, rt, mailing: Mailing, actor, params: dict, done: set,
                 left: dict, progress) -> int:
    """The part's people a page at a time, each page's messages committed together."""
    queued = 0
    letter = Letter(session, rt, mailing, actor)
    for page in _pages(session, mailing, actor, params["after"], params["upto"]):
        drafts = []
        about = outbox.about_people(session, [p.id for p in page])
        for person, address, reason in _sort(session, mailing, page):
            if reason:
                left[reason] += 1
            elif person.id not in done:
                drafts.append(_draft(session, rt, letter, person, address, about[person.id]))
        queued += len(outbox.queue(session, drafts, actor))
        session.commit()
        progress.advance(len(page))
    return queued


def _draft(session: Session, rt, letter: Letter, person: Person, address: str,
           about: list) -> outbox.Draft:
    mailing = letter.mailing
    message_id = outbox.new_message_id(rt.settings)
    found = letter.fill(person, message_id)
    own = _own_document(session, rt, mailing, person, letter.actor)
    if mailing.case_id:
        about.append(("case", mailing.case_id))
    return outbox.Draft(
        to_address=address, to_name=person.full_name, subject=found["subject"],
        text_body=found["text"], html_body=found["html"], kind=mailing.kind,
        purpose_key=mailing.purpose_key, person_id=person.id, case_id=mailing.case_id,
        mailing_id=mailing.id, attachments=list(mailing.attachment_ids or []) + own,
        about=about, message_id=message_id,
        headers=unsubscribe.headers(found["unsubscribe"]) if found["unsubscribe"] else {})


def _own_document(session: Session, rt, mailing: Mailing, person: Person, actor) -> list[int]:
    """Each recipient's own document (a certificate), made for them and kept on their
    card."""
    if not mailing.own_document_template_id:
        return []
    template = session.get(DocumentTemplate, mailing.own_document_template_id)
    if template is None:
        return []
    document = documents.generate(session, rt.host, rt.settings, template, person, actor)
    return [document.attachment_id] if document.attachment_id else []


@jobs.every_minute("mailing.scheduled")
def start_scheduled(rt, now: datetime | None = None) -> int:
    """Start the mailings whose time has come."""
    return _start_due(rt, (Mailing.state == "scheduled")
                      & (Mailing.scheduled_at <= (now or utcnow())))


@jobs.every_minute("mailing.recurring")
def repeat_recurring(rt, now: datetime | None = None) -> int:
    """Start another round of each recurring mailing whose last round is an hour old:
    it reaches the people who joined its audience since."""
    return _start_due(rt, (Mailing.state == "active")
                      & (Mailing.queued_at <= (now or utcnow()) - REPEAT))


def _start_due(rt, condition) -> int:
    """Start the mailings that meet ``condition``, on behalf of whoever wrote them."""
    with rt.session() as session:
        due = list(session.scalars(select(Mailing).where(condition)
                                   .with_for_update(skip_locked=True)))
        for mailing in due:
            actor = session.get(User, mailing.created_by_id) if mailing.created_by_id else None
            _start(session, mailing, actor)
        session.commit()
    return len(due)


@jobs.every_minute("mailing.finished")
def mark_finished(rt) -> None:
    """A mailing whose messages are all settled is done."""
    from core.models.outbox import FINAL

    with rt.session() as session, session.begin():
        for mailing in session.scalars(select(Mailing).where(Mailing.state == "sending")):
            open_ = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.mailing_id == mailing.id, OutboxMessage.state.not_in(FINAL)))
            if not open_:
                mailing.state = "done"


outbox.AFTER_DELIVERY.append(mark_finished)


# --------------------------------------------------------------------- reading


def visible_mailings(session: Session, actor, limit: int = 200) -> list[Mailing]:
    if not permissions.can(actor, PERMISSION):
        return []
    return list(session.scalars(select(Mailing).order_by(Mailing.id.desc()).limit(limit)))


def stats(session: Session, mailing: Mailing) -> dict[str, int]:
    """Recipients, sent, failed, unsubscribed... and who was left out, by reason."""
    found = outbox.counts(session, mailing.id)
    found.update({f"left_out_{k}": v for k, v in (mailing.left_out or {}).items()})
    return found
