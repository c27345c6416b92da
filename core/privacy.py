"""The rights of the people in the card index: access, erasure and retention (GDPR).

*Access*: ``access_export`` gives everything held about a person as a ZIP: person.json
(the record, contacts, addresses, memberships, custom fields, consents, timeline,
tasks, cases, public-form submissions, links, files and the audit entries about them)
and the attached files.

*Erasure*: ``anonymise`` replaces a person's personal data with neutral placeholders
through ``core.records`` (vetoable, audited, announced) and keeps the record's id, its
memberships, links, consents and other rows that point at it, so invoices and other
records the law requires stay whole. Plugins keep what they must through
``kartoteka_before_anonymise``. Erased are: the name, PESEL, e-mails, phones,
addresses, notes and custom field values of the person and of the records merged into
it; the text of notes, calls, meetings and e-mails about the person alone (activities
shared with other records lose only the person's name, e-mails, phones and PESEL);
those strings in the titles of their tasks and in the notes and evidence of their
consents; their files, deleted from disk once the transaction commits; and the
address, name and text of every message in the outbox to them or about them alone
(mail not yet sent to them is not sent).

The audit trail is append-only except here: a trail that kept the erased values would
defeat the erasure. In the entries of the person's own rows (the person, those merged
into it, the activities about them alone, their files and consents) every erased
field's values become ``***``; in the entries of the records around them
(organisations they belonged to, shared activities, tasks, linked records) only the
person's name, e-mails, phones, PESEL and file names are replaced; e-mails, phones and
PESEL are also replaced wherever else in the trail they occur. Kept are who changed
what, when and through which door, so the trail still shows that the data existed and
was erased, and by whom. The anonymisation itself is an "anonymise" entry on the
person; anonymising again erases whatever was added since and is otherwise a no-op.

*Retention*: ``past_retention`` is the query of people whose every purpose has run
out (see ``core.consents.holds``): data nobody may keep any longer.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    Text,
    and_,
    cast,
    event,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import inspect as inspect_model
from sqlalchemy.orm import Session, aliased, selectinload

from core import attachments, audit, consents, events, people, records, usage
from core import fields as custom_fields
from core.config import Settings
from core.db import utcnow
from core.errors import Forbidden
from core.models import (
    Activity,
    ActivityLink,
    Attachment,
    AuditEntry,
    Case,
    CasePerson,
    Consent,
    FormSubmission,
    Membership,
    Organisation,
    OutboxMessage,
    Person,
    ProcessingPurpose,
    PublicForm,
    RecordLink,
    Task,
    TaskLink,
)
from core.text import name_key

ACTION = "anonymise"  # the audit trail's name for it
ERASED = audit.HIDDEN
KEEPABLE = ("name", "pesel", "emails", "phones", "addresses", "notes", "attachments")
# Fields of a person's own rows whose values the trail forgets; the name each is kept by.
PERSONAL = {"first_name": "name", "last_name": "name", "pesel": "pesel", "notes": "notes",
            "emails": "emails", "phones": "phones", "addresses": "addresses",
            "subject": "", "body": "", "data": "", "title": "", "description": "",
            "evidence": "", "note": "", "filename": "attachments"}
MIN_TRACE = 3  # shorter strings are not searched for: they would match everywhere
FILES_TO_REMOVE = "kartoteka_privacy_files"


# --------------------------------------------------------------------- what is held


@dataclass
class Held:
    """The rows about a person and the records merged into them."""

    people: list[Person]
    activities: list[Activity]
    tasks: list[Task]
    attachments: list[Attachment]
    consents: list[Consent]
    memberships: list[Membership]
    links: list[RecordLink]

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.people]


def held(session: Session, person: Person) -> Held:
    everyone = [person, *merged_into(session, person)]
    ids = [p.id for p in everyone]
    linked = select(ActivityLink.activity_id).where(ActivityLink.record_type == "person",
                                                    ActivityLink.record_id.in_(ids))
    tasks = select(TaskLink.task_id).where(TaskLink.record_type == "person",
                                           TaskLink.record_id.in_(ids))
    return Held(
        everyone,
        list(session.scalars(select(Activity).where(Activity.id.in_(linked))
                             .options(selectinload(Activity.links))
                             .order_by(Activity.occurred_at, Activity.id))),
        list(session.scalars(select(Task).where(Task.id.in_(tasks)).order_by(Task.id))),
        list(session.scalars(select(Attachment).where(Attachment.record_type == "person",
                                                      Attachment.record_id.in_(ids))
                             .order_by(Attachment.id))),
        list(session.scalars(select(Consent).where(Consent.person_id.in_(ids))
                             .order_by(Consent.at, Consent.id))),
        list(session.scalars(select(Membership).where(Membership.person_id.in_(ids))
                             .order_by(Membership.id))),
        list(session.scalars(select(RecordLink).where(or_(
            and_(RecordLink.source_type == "person", RecordLink.source_id.in_(ids)),
            and_(RecordLink.target_type == "person", RecordLink.target_id.in_(ids))))
            .order_by(RecordLink.id))))


def merged_into(session: Session, person: Person) -> list[Person]:
    """The records merged into ``person``, and those merged into them."""
    found, frontier = [], [person.id]
    while frontier:
        rows = list(session.scalars(select(Person).where(Person.merged_into_id.in_(frontier))))
        found += rows
        frontier = [p.id for p in rows]
    return found


# --------------------------------------------------------------------- access


def access_export(session: Session, person: Person, actor=None,
                  settings: Settings | None = None) -> bytes:
    """Everything held about ``person`` as a ZIP; the export is audited (the caller
    commits)."""
    settings = settings or _settings()
    rows = held(session, person)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = _add_files(archive, settings, rows.attachments)
        document = _document(session, person, rows, files)
        archive.writestr("person.json", json.dumps(document, ensure_ascii=False, indent=2))
    audit.write(session, person, "export", {"files": [None, len(files)]}, actor)
    usage.record(session, "export", actor, "person")
    return buffer.getvalue()


def _add_files(archive: zipfile.ZipFile, settings: Settings,
               rows: list[Attachment]) -> dict[int, str]:
    """Attachment id -> its name in the archive, for the files still on disk."""
    names = {}
    for row in rows:
        path = attachments.path_of(settings, row)
        if path.is_file():
            names[row.id] = f"files/{row.id}-{row.filename}"
            archive.write(path, names[row.id])
    return names


def _document(session: Session, person: Person, rows: Held, files: dict[int, str]) -> dict:
    organisations = {o.id: o.name for o in session.scalars(select(Organisation).where(
        Organisation.id.in_([m.organisation_id for m in rows.memberships])))}
    return {
        "exported_at": utcnow().isoformat(),
        "person": _row(person),
        "contacts": [_row(c) for c in person.contacts],
        "addresses": [_row(a) for a in person.addresses],
        "custom_fields": _custom(session, person),
        "memberships": [{**_row(m), "organisation": organisations.get(m.organisation_id)}
                        for m in rows.memberships],
        "consents": [{**_row(c), "purpose": c.purpose.key, "purpose_name": c.purpose.name,
                      "legal_basis": c.purpose.legal_basis} for c in rows.consents],
        "activities": [{**_row(a), "links": [[k.record_type, k.record_id] for k in a.links]}
                       for a in rows.activities],
        "tasks": [_row(t) for t in rows.tasks],
        "cases": _cases(session, rows.people),
        "form_submissions": _submissions(session, rows.ids),
        "links": [_row(k) for k in rows.links],
        "attachments": [{**_row(a, skip={"stored_name"}), "file": files.get(a.id)}
                        for a in rows.attachments],
        "merged_records": [{**_row(p), "contacts": [_row(c) for c in p.contacts],
                            "addresses": [_row(a) for a in p.addresses]}
                           for p in rows.people[1:]],
        "audit": [_row(e) for e in session.scalars(
            select(AuditEntry).where(_about(_own_refs(rows))).order_by(AuditEntry.id))],
    }


def _submissions(session: Session, ids: list[int]) -> list[dict]:
    """What the person sent through public forms, with the form's title and the consent
    text they agreed to, which is part of what they were told."""
    rows = session.execute(select(FormSubmission, PublicForm.title, PublicForm.consent_text)
                           .join(PublicForm, PublicForm.id == FormSubmission.form_id)
                           .where(FormSubmission.person_id.in_(ids))
                           .order_by(FormSubmission.created_at, FormSubmission.id))
    return [{**_row(sent), "form": title, "consent_text": consent}
            for sent, title, consent in rows]


def _cases(session: Session, people: list[Person]) -> list[dict]:
    """The cases the person is involved in, in which role."""
    found = session.execute(
        select(CasePerson.role, Case).join(Case, Case.id == CasePerson.case_id)
        .where(CasePerson.person_id.in_([p.id for p in people])).order_by(Case.id))
    return [{"role": role, "case_id": case.id, "title": case.title,
             "process": case.process_key, "phase": case.phase_key} for role, case in found]


def _row(record, skip: frozenset | set = frozenset()) -> dict:
    return {a.key: audit.json_safe(getattr(record, a.key))
            for a in inspect_model(type(record)).column_attrs if a.key not in skip}


def _custom(session: Session, person: Person) -> list[dict]:
    labels = _custom_labels(session)
    return [{"key": key, "label": labels.get(key, key), "value": audit.json_safe(value)}
            for key, value in sorted((person.custom or {}).items())]


def _custom_labels(session: Session) -> dict[str, str]:
    from core.web.i18n import current_locale

    locale = current_locale() if has_app_context() else "en"
    return {d.key: d.label(locale) for d in custom_fields.definitions(session, "person")}


# --------------------------------------------------------------------- erasure


@dataclass
class Plan:
    """What anonymising a person would erase, for the confirmation page."""

    name: str
    pesel: bool
    emails: int
    phones: int
    addresses: int
    notes: bool
    custom: list[str]
    attachments: int
    activities: int
    tasks: int
    merged: int


def plan(session: Session, person: Person) -> Plan:
    rows = held(session, person)
    labels = _custom_labels(session)
    return Plan(person.full_name, bool(person.pesel), len(person.contact_values("email")),
                len(person.contact_values("phone")), len(person.addresses),
                bool(person.notes.strip()),
                [labels.get(k, k) for k in sorted(person.custom or {})],
                len(rows.attachments), len(rows.activities), len(rows.tasks),
                len(rows.people) - 1)


def anonymise(session: Session, person: Person, actor=None,
              settings: Settings | None = None) -> bool:
    """Erase ``person``'s personal data (see the module's docstring); True the first
    time. Administrators only; ``actor`` None is the system (the command line). The
    caller commits; the files go once it has. ``settings`` (where files are kept)
    defaults to the current web application's."""
    if actor is not None and not getattr(actor, "is_admin", False):
        raise Forbidden(_("Only administrators may anonymise a person."))
    keep: set[str] = set()
    host = events.host_of(session)
    if host is not None:
        host.call_each("kartoteka_before_anonymise", person=person, keep=keep)
    first_time = not is_anonymised(session, person.id)
    rows = held(session, person)
    names, identifiers = _traces(rows, keep)
    pattern = _pattern(names + identifiers)
    for one in rows.people:
        _erase_person(session, one, keep, actor)
    own = _erase_activities(session, rows, pattern, actor)
    _erase_mail(session, rows, own)
    _erase_tasks(session, rows.tasks, pattern, actor)
    _erase_consents(session, rows.consents, pattern, actor)
    session.execute(update(FormSubmission).where(FormSubmission.person_id.in_(rows.ids))
                    .values(data={}, address=""))  # what a public form took from them
    if "attachments" not in keep and rows.attachments:
        _remove_files(session, rows.attachments, settings or _settings(), actor)
    if first_time and not is_anonymised(session, person.id):
        audit.write(session, person, ACTION, {}, actor)
    present = {("person", p.id): _present(p) for p in rows.people}
    present.update({("activity", a.id): {"subject": a.subject, "body": a.body}
                    for a in own})
    _scrub_trail(session, rows, own, present, names, identifiers, keep)
    return first_time


def is_anonymised(session: Session, person_id: int) -> bool:
    return bool(session.scalar(select(_anonymised(person_id))))


def _anonymised(person_id) -> exists:
    return exists().where(AuditEntry.record_type == "person",
                          AuditEntry.record_id == person_id, AuditEntry.action == ACTION)


def _traces(rows: Held, keep: set[str]) -> tuple[list[str], list[str]]:
    """What to look for in text: names (and file names), and identifiers (e-mails,
    phones, PESEL), which are unique enough to be looked for anywhere."""
    names, identifiers = set(), set()
    for p in rows.people:
        if "name" not in keep and p.last_name != _placeholder(p)[1]:
            names |= {p.full_name, f"{p.last_name} {p.first_name}".strip()}
        if "pesel" not in keep:
            identifiers.add(p.pesel)
        for kind in ("email", "phone"):
            if f"{kind}s" not in keep:
                identifiers |= set(p.contact_values(kind))
    if "attachments" not in keep:
        names |= {a.filename for a in rows.attachments}
    return (sorted(t for t in names if len(t) >= MIN_TRACE),
            sorted(t for t in identifiers if len(t) >= MIN_TRACE))


def _pattern(traces: list[str]) -> re.Pattern | None:
    if not traces:
        return None
    longest_first = sorted(traces, key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in longest_first), re.IGNORECASE)


def _redact(value, pattern: re.Pattern | None):
    """``value`` (text, or JSON of texts) with every trace replaced."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, pattern) for k, v in value.items()}
    return value


def _erase_person(session: Session, person: Person, keep: set[str], actor) -> None:
    values = {"custom": custom_fields.Cleaned(
        {k: v for k, v in (person.custom or {}).items() if f"custom.{k}" in keep})}
    if "name" not in keep:
        first, last = _placeholder(person)
        values.update(first_name=first, last_name=last, name_key=name_key(f"{first} {last}"))
    for name in ("pesel", "notes"):
        if name not in keep:
            values[name] = ""
    old = people.contact_lists(person)
    related = {k: (v, []) for k, v in old.items() if k not in keep and v}
    records.update(session, person, values, actor, related=related, action=ACTION)
    person.contacts = [c for c in person.contacts if f"{c.kind}s" in keep]
    if "addresses" not in keep:
        person.addresses = []
    session.flush()


def _placeholder(person: Person) -> tuple[str, str]:
    """The name an anonymised person is shown by: "Anonymised #12"."""
    return _("Anonymised"), f"#{person.id}"


def _erase_activities(session: Session, rows: Held, pattern, actor) -> list[Activity]:
    """Notes, calls, meetings and e-mails about the person alone lose their text; the
    others (system events, shared activities) lose the traces. Returns the former."""
    own, ids = [], set(rows.ids)
    for activity in rows.activities:
        alone = all(k.record_type == "person" and k.record_id in ids for k in activity.links)
        if alone and activity.kind != "system":
            own.append(activity)
            values = {"subject": ERASED if activity.subject else "", "body": ""}
        else:
            values = {"subject": _redact(activity.subject, pattern),
                      "body": _redact(activity.body, pattern)}
        values["data"] = _redact(activity.data, pattern)
        records.update(session, activity, values, actor)
    return own


def _erase_mail(session: Session, rows: Held, own: list[Activity]) -> None:
    """The outbox keeps each message as it went out: to the person, or on their own
    timeline. Mail still waiting is not sent; every copy loses the address, the name
    and the text (the message's id, state and consent stay, for the record)."""
    mine = or_(OutboxMessage.person_id.in_(rows.ids),
               OutboxMessage.activity_id.in_([a.id for a in own]))
    session.execute(update(OutboxMessage).where(
        mine, OutboxMessage.state.in_(("queued", "claimed"))).values(
        state="skipped", error=_("The person was anonymised."), claimed_by="",
        lease_until=None).execution_options(synchronize_session=False))
    for message in session.scalars(select(OutboxMessage).where(mine)):
        message.to_address, message.to_name, message.headers = "", "", {}
        message.subject, message.text_body, message.html_body = ERASED, "", ""


def _erase_tasks(session: Session, tasks: list[Task], pattern, actor) -> None:
    for task in tasks:
        records.update(session, task, {"title": _redact(task.title, pattern),
                                       "description": _redact(task.description, pattern)},
                       actor)


def _erase_consents(session: Session, rows: list[Consent], pattern, actor) -> None:
    """The wording agreed to is no personal data and proves the consent: it stays."""
    for consent in rows:
        records.update(session, consent, {"note": "",
                                          "evidence": _redact(consent.evidence, pattern)},
                       actor)


def _remove_files(session: Session, rows: list[Attachment], settings: Settings,
                  actor) -> None:
    for row in rows:
        path = attachments.path_of(settings, row)
        records.delete(session, row, actor)
        session.info.setdefault(FILES_TO_REMOVE, []).append(path)


def _present(person: Person) -> dict:
    """A person's values as they are now: what the trail may go on showing."""
    return {"first_name": person.first_name, "last_name": person.last_name,
            "pesel": person.pesel, "notes": person.notes, **people.contact_lists(person),
            **{f"custom.{k}": v for k, v in (person.custom or {}).items()}}


# --------------------------------------------------------------------- the audit trail


def _own_refs(rows: Held, own: list[Activity] | None = None) -> dict[str, set[int]]:
    """The person's own rows, as the trail names them."""
    refs = {"person": set(rows.ids), "attachments": {a.id for a in rows.attachments},
            "consents": {c.id for c in rows.consents},
            "memberships": {m.id for m in rows.memberships}}
    if own is not None:
        refs["activity"] = {a.id for a in own}
    return refs


def _around_refs(rows: Held) -> dict[str, set[int]]:
    """The records around the person, whose entries may name them."""
    refs: dict[str, set[int]] = {
        "activity": {a.id for a in rows.activities}, "task": {t.id for t in rows.tasks},
        "organisation": {m.organisation_id for m in rows.memberships},
        "record_links": {k.id for k in rows.links}}
    ids = set(rows.ids)
    for k in rows.links:
        for kind, other in ((k.source_type, k.source_id), (k.target_type, k.target_id)):
            if not (kind == "person" and other in ids):
                refs.setdefault(kind, set()).add(other)
    return refs


def _about(refs: dict[str, set[int]]):
    parts = [and_(AuditEntry.record_type == kind, AuditEntry.record_id.in_(sorted(ids)))
             for kind, ids in refs.items() if ids]
    return or_(*parts) if parts else false()


def _mentions(traces: list[str]):
    """The entry's summary or changes contain one of ``traces``, in any case. SQLite
    keeps JSON with non-ASCII letters escaped (\\u00f3), so that spelling is looked for
    too."""
    changes = func.lower(cast(AuditEntry.changes, Text))
    summary = func.lower(AuditEntry.summary)
    parts = []
    for trace in traces:
        for form in {trace.lower(), json.dumps(trace)[1:-1].lower()}:
            parts += [changes.contains(form, autoescape=True),
                      summary.contains(form, autoescape=True)]
    return or_(*parts) if parts else false()


def _scrub_trail(session: Session, rows: Held, own: list[Activity], present: dict,
                 names: list[str], identifiers: list[str], keep: set[str]) -> None:
    own_refs = _own_refs(rows, own)
    around = _around_refs(rows)
    for kind, ids in own_refs.items():
        around.setdefault(kind, set()).update(ids)
    query = select(AuditEntry).where(or_(
        and_(_about(around), or_(_about(own_refs), _mentions(names + identifiers))),
        _mentions(identifiers)))
    pattern = _pattern(names + identifiers)
    owned = {(kind, i) for kind, ids in own_refs.items() for i in ids}
    for entry in session.scalars(query):
        ref = (entry.record_type, entry.record_id)
        _scrub(entry, present.get(ref, {}) if ref in owned else None, pattern, keep)
    session.flush()


def _scrub(entry: AuditEntry, present: dict | None, pattern, keep: set[str]) -> None:
    """Forget erased values: every value of a personal field of the person's own rows
    (``present`` holds what may stay), and the traces anywhere in the entry."""
    changes = {}
    for name, values in (entry.changes or {}).items():
        if present is not None and _erasable(name, keep):
            values = _forget(values, present.get(name))
        changes[name] = _redact(values, pattern)
    summary = _redact(entry.summary or "", pattern)
    if changes != entry.changes:
        entry.changes = changes
    if summary != entry.summary:
        entry.summary = summary


def _erasable(name: str, keep: set[str]) -> bool:
    if name.startswith("custom."):
        return name not in keep
    return name in PERSONAL and PERSONAL[name] not in keep


def _forget(values, present):
    """Each side of an ``[old, new]`` pair (or a single value) that is not empty and not
    what the record holds now."""
    if isinstance(values, list) and len(values) == 2:
        return [_forget_one(v, present) for v in values]
    return _forget_one(values, present)


def _forget_one(value, present):
    if value in (None, "", [], {}) or value == present:
        return value
    return ERASED


# --------------------------------------------------------------------- files


@event.listens_for(Session, "after_commit")
def _delete_erased_files(session: Session) -> None:
    if not session.in_nested_transaction():
        for path in session.info.pop(FILES_TO_REMOVE, []):
            Path(path).unlink(missing_ok=True)


@event.listens_for(Session, "after_transaction_end")
def _keep_files_of_undone_erasure(session: Session, transaction) -> None:
    """An erasure that did not commit leaves the files where they were."""
    if transaction.parent is None:
        session.info.pop(FILES_TO_REMOVE, None)


# --------------------------------------------------------------------- retention


@dataclass
class Expired:
    """A person whose data nobody may keep any longer, with what they were held for."""

    person: Person
    states: list[consents.State]
    ended: datetime | None  # when the last purpose ran out


def past_retention(actor=None, now: datetime | None = None) -> Select:
    """People who have consent rows, none of which holds any longer, and who are not
    anonymised yet (those in the bin too: their data is still held): one query,
    whatever the number of people."""
    c, p = aliased(Consent), aliased(ProcessingPurpose)
    still_held = exists().where(c.person_id == Person.id, c.purpose_id == p.id,
                                consents.newest(c), consents.holds(c, p, now))
    return (records.visible(Person, actor, include_deleted=True)
            .where(Person.merged_into_id.is_(None),
                   exists().where(Consent.person_id == Person.id), ~still_held,
                   ~_anonymised(Person.id))
            .order_by(Person.name_key, Person.id))


def retention_report(session: Session, actor=None, limit: int = 200) -> list[Expired]:
    found = list(session.scalars(past_retention(actor).limit(limit)))
    states = consents.current_of(session, [p.id for p in found])
    return [Expired(p, list(states.get(p.id, {}).values()),
                    _ended(list(states.get(p.id, {}).values()))) for p in found]


def _ended(states: list[consents.State]) -> datetime | None:
    """When the last of the purposes ran out; a deactivated purpose ran out when it
    was last changed."""
    ends = []
    for s in states:
        days = s.purpose.retention_days
        if not s.purpose.active:
            ends.append(s.purpose.updated_at)
        else:
            ends.append(s.consent.at + timedelta(days=days) if days else s.consent.at)
    return max(ends) if ends else None


def _settings() -> Settings:
    return current_app.extensions["kartoteka"].settings
