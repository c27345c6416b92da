"""Documents: templates plugins ship and administrators edit, and PDFs made from them.

Plugins ship default templates (``kartoteka_register_templates``); they are added to the
database once and are the administrators' to change from then on. Each change is a new
version; a document records the version that made it, and going back is saving an old
version again. A document is filled from plain data about its record (``context``),
numbered from its template's series, drawn as PDF by WeasyPrint and kept as an
attachment of the record, with its checksum, never changed: making it again makes a
new document. The record's timeline (and its organisation's) says so.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import attachments, audit, events, jobs, numbering, permissions, records, templating
from core import timeline as timelines
from core.config import Settings
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import (
    Case,
    CasePerson,
    Document,
    DocumentTemplate,
    Job,
    NumberSeries,
    Organisation,
    Person,
    TemplateVersion,
    User,
)
from core.terms import _locale, term

# The kinds of template the core knows; a plugin may add its own with ``kind_title``.
KINDS = {
    "email": {"pl": "E-mail", "en": "E-mail"},
    "letter": {"pl": "Pismo", "en": "Letter"},
    "contract": {"pl": "Umowa", "en": "Contract"},
    "offer": {"pl": "Oferta", "en": "Offer"},
    "certificate": {"pl": "Zaświadczenie", "en": "Certificate"},
    "invoice": {"pl": "Faktura / rozliczenie", "en": "Invoice / settlement"},
}
SUBJECTS = {"organisation": Organisation, "person": Person, "case": Case}
log = logging.getLogger(__name__)
_LOCAL_KEY = re.compile(r"^local\.[a-z][a-z0-9_]{0,50}$")


# --- Shared parts of documents ------------------------------------------------------------
# Every template may ``{% include %}`` these by name, after setting the variables each
# uses; their look comes from core/pdf.py's PAGE_CSS (accent: ``:root { --accent: … }``).

PARTIALS = {
    # The issuer's letterhead: logo, name, details; ``title`` (and ``subtitle``), the
    # number and the date (after ``dated``, "Data" unless set).
    "letterhead.html": """<table class="head"><tr>
  {% if company.logo %}
  <td class="logo"><img class="logo" src="{{ company.logo }}" alt=""></td>
  {% endif %}
  <td>
    <div class="company">{{ company.name }}</div>
    <div class="details">{% for line in company.details %}{{ line }}<br>{% endfor %}</div>
  </td>
  <td class="title">
    <h1>{{ title }}</h1>
    {% if subtitle is defined and subtitle %}<div class="subtitle">{{ subtitle }}</div>{% endif %}
    {% if document.number %}<div class="number">nr {{ document.number }}</div>{% endif %}
    <div class="dated">{{ dated|default("Data") }}: {{ day(today) }}</div>
  </td>
</tr></table>
""",
    # The client under ``label``: the organisation (name, address, NIP), or on a case of
    # a household, its first person (name, address); nothing without either.
    "client.html": """{% if organisation %}
<div class="label">{{ label }}</div>
<div class="party-name">{{ organisation.name }}</div>
{% if organisation.street %}<div>{{ organisation.street }}</div>{% endif %}
{% if organisation.postal_code or organisation.city %}
<div>{{ organisation.postal_code }} {{ organisation.city }}</div>
{% endif %}
{% if organisation.country and organisation.country != "PL" %}
<div>{{ organisation.country }}</div>
{% endif %}
{% if organisation.nip %}<div>NIP: {{ organisation.nip }}</div>{% endif %}
{% elif people is defined and people %}
<div class="label">{{ label }}</div>
<div class="party-name">{{ people[0].full_name }}</div>
{% if people[0].street %}<div>{{ people[0].street }}</div>{% endif %}
{% if people[0].postal_code or people[0].city %}
<div>{{ people[0].postal_code }} {{ people[0].city }}</div>
{% endif %}
{% endif %}
""",
    # The issuer as a party under ``label``: name and details.
    "issuer.html": """<div class="label">{{ label }}</div>
<div class="party-name">{{ company.name }}</div>
{% for line in company.details %}<div>{{ line }}</div>{% endfor %}
""",
    # The person looking after the case (``owner``) under ``label``; nothing without one.
    "owner.html": """{% if owner %}
<div class="label">{{ label }}</div>
<div class="party-name">{{ owner.name }}</div>
<div>{{ owner.email }}</div>
{% endif %}
""",
    # Two places to sign, ``left`` and ``right`` written under the line (either may be
    # empty: no place there), each with an optional ``left_above``/``right_above``.
    "signatures.html": """<table class="signatures"><tr>
  {% for text, above in ((left, left_above|default("")), (right, right_above|default(""))) %}
  <td>
    {% if text %}
    {% if above %}<div>{{ above }}</div>{% endif %}
    <div class="space"></div>
    <div class="line">{{ text }}</div>
    {% endif %}
  </td>
  {% endfor %}
</tr></table>
""",
}
templating.INCLUDES.update(PARTIALS)


@dataclass(frozen=True)
class Series:
    """A number series a plugin ships with its templates."""

    key: str
    name: str
    pattern: str
    reset: str = "yearly"


@dataclass(frozen=True)
class Template:
    """A default template a plugin ships.

    :param key: '<plugin>.<name>'.
    :param kind: one of ``KINDS`` or the plugin's own (then give ``kind_title``).
    :param subject_type: what it is filled from: organisation, person or case.
    :param body: HTML with Jinja2 (for e-mails, ``subject`` and ``text_body`` too).
    :param series: the number series its documents take numbers from.
    :param requires: checks a case must pass before the document is issued (the offer
        only once its calculation is approved); each reason refuses it, unless an
        administrator switched that check off in the case's process.
    :param processes: the processes whose cases it is for (none: every case).
    :param needs: keys of plain data it is filled with besides its record (``extra`` of
        ``generate``), which only the plugin's own pages and API give: such a template is
        not offered among a record's documents, and is refused without them.
    """

    key: str
    kind: str
    subject_type: str
    name: dict[str, str]
    body: str
    subject: str = ""
    text_body: str = ""
    series: Series | None = None
    kind_title: dict[str, str] = field(default_factory=dict)
    requires: tuple = ()
    processes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


# --- Templates ---------------------------------------------------------------------------

def ship(session: Session, shipped: Template) -> DocumentTemplate | None:
    """Add a plugin's template (and its series) unless it is there: edits stay."""
    if shipped.series is not None and session.get(NumberSeries, shipped.series.key) is None:
        session.add(NumberSeries(key=shipped.series.key, name=shipped.series.name,
                                 pattern=shipped.series.pattern, reset=shipped.series.reset))
    if session.scalar(select(DocumentTemplate.id).where(DocumentTemplate.key == shipped.key)):
        session.flush()
        return None
    row = DocumentTemplate(key=shipped.key, kind=shipped.kind, subject_type=shipped.subject_type,
                           name_pl=shipped.name.get("pl", shipped.key),
                           name_en=shipped.name.get("en", shipped.key),
                           series_key=shipped.series.key if shipped.series else None)
    session.add(row)
    session.flush()
    _new_version(session, row, shipped.body, shipped.subject, shipped.text_body,
                 _("As shipped"), None)
    # As a field a plugin ships: an entry made by the system, at start-up.
    audit.event(session, "create", "template", {"key": shipped.key, "series": row.series_key},
                None, summary=row.name_pl)
    return row


def create(session: Session, data: dict, actor=None) -> DocumentTemplate:
    """An administrator's own template, ``local.<name>``."""
    _require(actor)
    errors = {}
    key = str(data.get("key", "")).strip()
    if not _LOCAL_KEY.match(key):
        errors["key"] = _("Use local. and then lower-case letters, digits and underscores.")
    elif session.scalar(select(DocumentTemplate.id).where(DocumentTemplate.key == key)):
        errors["key"] = _("This key is taken.")
    if data.get("subject_type") not in SUBJECTS:
        errors["subject_type"] = _("Choose what the template is filled from.")
    if not str(data.get("kind", "")).strip():
        errors["kind"] = _("Choose a kind.")
    if not str(data.get("name_pl", "")).strip():
        errors["name_pl"] = _("Enter a name.")
    errors.update(_series_problem(session, data.get("series_key")))
    errors.update(_syntax(data))
    if errors:
        raise ValidationError(errors)
    row = DocumentTemplate(key=key, kind=data["kind"].strip(), subject_type=data["subject_type"],
                           name_pl=data["name_pl"].strip(),
                           name_en=str(data.get("name_en") or data["name_pl"]).strip(),
                           series_key=data.get("series_key") or None)
    session.add(row)
    session.flush()
    _new_version(session, row, data.get("body", ""), data.get("subject", ""),
                 data.get("text_body", ""), data.get("note", ""), actor)
    audit.event(session, "create", "template", {"key": key}, actor, summary=row.name_pl)
    return row


def save(session: Session, template: DocumentTemplate, data: dict, actor=None
         ) -> TemplateVersion:
    """A new version of the template's text (and perhaps a new name or series)."""
    _require(actor)
    errors = _syntax(data)
    errors.update(_series_problem(session, data.get("series_key", template.series_key)))
    if "name_pl" in data and not str(data["name_pl"]).strip():
        errors["name_pl"] = _("Enter a name.")
    if errors:
        raise ValidationError(errors)
    for name in ("name_pl", "name_en"):
        if str(data.get(name, "")).strip():
            setattr(template, name, str(data[name]).strip())
    if "series_key" in data:
        template.series_key = data["series_key"] or None
    current = current_version(session, template)
    version = _new_version(session, template, data.get("body", current.body),
                           data.get("subject", current.subject),
                           data.get("text_body", current.text_body), data.get("note", ""), actor)
    audit.event(session, "update", "template", {"key": template.key, "version": version.number},
                actor, summary=template.name_pl)
    return version


def revert(session: Session, template: DocumentTemplate, number: int, actor=None
           ) -> TemplateVersion:
    """Use an earlier version's text again, as a new version."""
    old = session.scalar(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id, TemplateVersion.number == number))
    if old is None:
        raise ValidationError({"version": _("There is no such version.")})
    return save(session, template, {"body": old.body, "subject": old.subject,
                                    "text_body": old.text_body,
                                    "note": _("Back to version %(n)d", n=number)}, actor)


def _new_version(session: Session, template: DocumentTemplate, body: str, subject: str,
                 text_body: str, note: str, actor) -> TemplateVersion:
    number = (session.scalar(select(func.max(TemplateVersion.number))
                             .where(TemplateVersion.template_id == template.id)) or 0) + 1
    version = TemplateVersion(template_id=template.id, number=number, body=body or "",
                              subject=(subject or "")[:300], text_body=text_body or "",
                              note=(note or "")[:300], created_at=utcnow(),
                              created_by_id=getattr(actor, "id", None))
    session.add(version)
    session.flush()
    template.current_version_id = version.id
    session.flush()
    return version


def _syntax(data: dict) -> dict:
    errors = {}
    for name in ("body", "subject", "text_body"):
        if data.get(name):
            try:
                templating.check(data[name], name)
            except templating.TemplateProblem as exc:
                errors.update(exc.errors)
    return errors


def _series_problem(session: Session, key) -> dict:
    if key and session.get(NumberSeries, key) is None:
        return {"series_key": _("Choose a number series from the list.")}
    return {}


def _require(actor) -> None:
    if not permissions.can(actor, "core.manage_templates"):
        raise Forbidden(_("You may not change templates."))


def current_version(session: Session, template: DocumentTemplate) -> TemplateVersion:
    return session.get(TemplateVersion, template.current_version_id)


def history(session: Session, template: DocumentTemplate) -> list[TemplateVersion]:
    return list(session.scalars(select(TemplateVersion).where(
        TemplateVersion.template_id == template.id).order_by(TemplateVersion.number.desc())))


def templates_for(session: Session, subject_type: str, host=None, record=None
                  ) -> list[DocumentTemplate]:
    """The active templates a record of this type can be made into a document with;
    given the ``record``, only those made for it (a print project's offer is not
    offered on an installation)."""
    found = session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.subject_type == subject_type, DocumentTemplate.active,
        DocumentTemplate.kind != "email").order_by(DocumentTemplate.name_pl))
    return [t for t in found if (record is None or fits(host, t, record))
            and not _needs(host, t)]


def _needs(host, template: DocumentTemplate) -> tuple[str, ...]:
    shipped = host.templates.get(template.key) if host is not None else None
    return shipped.needs if shipped is not None else ()


def fits(host, template: DocumentTemplate, record) -> bool:
    """Whether the template is for this record: a case of one of its processes."""
    shipped = host.templates.get(template.key) if host is not None else None
    return not (shipped and shipped.processes and isinstance(record, Case)
                and record.process_key not in shipped.processes)


# --- The data a template sees ------------------------------------------------------------

def context(session: Session, host, record, actor=None, settings: Settings | None = None,
            number: str | None = None) -> dict:
    """Plain data about ``record`` for a template: no ORM objects, nothing to climb."""
    found = {"today": date.today(), "term": _term,
             "document": {"number": number or "", "date": date.today()},
             "company": _company(settings)}
    if isinstance(record, Organisation):
        found["organisation"] = _organisation(session, record, actor)
    elif isinstance(record, Person):
        found["person"] = _person(session, record, actor)
    elif isinstance(record, Case):
        found.update(_case(session, host, record, actor))
    if host is not None:
        for plugin, data in host.call_each("kartoteka_document_context", session=session,
                                           record=record, actor=actor):
            found.setdefault(plugin, data)
    return found


def _term(key: str, case: str = "nom", count: int = 1) -> str:
    return term(str(key), case=str(case), count=count if isinstance(count, int) else 1)


def _company(settings: Settings | None) -> dict:
    from core import pdf

    if settings is None:
        return {"name": "", "details": [], "logo": ""}
    logo = pdf.logo_path(settings)
    return {"name": settings.company_name, "details": settings.company_details.splitlines(),
            "logo": pdf.LOGO_URL if logo is not None and logo.is_file() else ""}


def _custom(session: Session, record, actor, definitions=None) -> dict:
    """Custom fields the actor may see, as people read them ("12 500,00 zł", "tak")."""
    from core import fields

    values = record.custom or {}
    if definitions is None:
        definitions = fields.definitions(session, type(record).record_type)
    return {d.key: "" if values.get(d.key) in (None, "") else _shown(session, record, d, actor)
            for d in definitions if fields.may_see(d, actor)}


def _shown(session: Session, record, definition, actor) -> str:
    """A value as people read it; a related record by its name, looked up here because
    documents and mailings are also filled by jobs, outside any request."""
    from core import fields

    value = record.custom[definition.key]
    if definition.type == "relation" and isinstance(value, int):
        target = (definition.options or {}).get("target", "")
        # A mailing fills the same trainer for thousands: each label is looked up once.
        labels = session.info.setdefault("documents.labels", {})
        key = (target, value, getattr(actor, "id", None))
        if key not in labels:
            model = records.record_types().get(target)
            found = records.get(session, model, value, actor) if model is not None else None
            labels[key] = getattr(found, "name", None) or getattr(found, "full_name", None)
        if labels[key]:
            return labels[key]
    return fields.display(record, definition)


def _organisation(session: Session, org: Organisation | None, actor) -> dict:
    if org is None:
        return {}
    return {"id": org.id, "name": org.name, "short_name": org.short_name, "nip": org.nip,
            "regon": org.regon, "krs": org.krs, "email": org.email, "phone": org.phone,
            "street": org.street, "postal_code": org.postal_code, "city": org.city,
            "region": org.region, "country": org.country, "custom": _custom(session, org, actor)}


def person_data(session: Session, person: Person, actor=None, definitions=None) -> dict:
    """What a template sees of a person (``person.first_name``...); a caller filling
    many (a mailing) passes the person field ``definitions`` read once."""
    return _person(session, person, actor, definitions)


def _person(session: Session, person: Person, actor, definitions=None) -> dict:
    emails = [c.value for c in person.contacts if c.kind == "email"]
    phones = [c.value for c in person.contacts if c.kind == "phone"]
    home = person.addresses[0] if person.addresses else None
    return {"id": person.id, "first_name": person.first_name, "last_name": person.last_name,
            "full_name": person.full_name, "email": emails[0] if emails else "",
            "phone": phones[0] if phones else "",
            "street": home.street if home else "", "postal_code": home.postal_code if home else "",
            "city": home.city if home else "",
            "custom": _custom(session, person, actor, definitions)}


def _user(user: User | None) -> dict:
    return {"name": user.full_name or user.email, "email": user.email} if user else {}


def _case(session: Session, host, case: Case, actor) -> dict:
    from core import workflow

    process = host.processes.get(case.process_key)
    org = records.get(session, Organisation, case.organisation_id, actor) \
        if case.organisation_id else None
    people = session.execute(select(Person, CasePerson.role)
                             .join(CasePerson, CasePerson.person_id == Person.id)
                             .where(CasePerson.case_id == case.id).order_by(Person.id)).all()
    return {
        "case": {"id": case.id, "title": case.title, "description": case.description,
                 "amount": case.amount, "cost": case.cost, "currency": case.currency,
                 "margin": case.margin, "process": process.key if process else "",
                 "phase": workflow.phase_name(process, case.phase_key) if process else "",
                 "created_at": case.created_at, "custom": _custom(session, case, actor)},
        "organisation": _organisation(session, org, actor),
        "owner": _user(session.get(User, case.owner_id) if case.owner_id else None),
        "people": [{**_person(session, p, actor), "role": role} for p, role in people],
        "calculation": _calculation(session, case),
        "notes": _notes(session, case),
        "parent": _parent(session, host, case, actor),
    }


NOTES_LIMIT = 200  # notes a document lists, the oldest first


def _notes(session: Session, case: Case) -> list[dict]:
    """The notes people wrote on the case, oldest first, each with its author (a
    complaint's answer quotes what everyone who took part said)."""
    from core.models import Activity, ActivityLink

    rows = session.execute(
        select(Activity, User).join(ActivityLink, ActivityLink.activity_id == Activity.id)
        .outerjoin(User, User.id == Activity.created_by_id)
        .where(ActivityLink.record_type == "case", ActivityLink.record_id == case.id,
               Activity.kind == "note", Activity.event == "")
        .order_by(Activity.occurred_at, Activity.id).limit(NOTES_LIMIT)).all()
    return [{"author": _user(user).get("name", ""), "at": note.occurred_at,
             "subject": note.subject, "body": note.body} for note, user in rows]


def _parent(session: Session, host, case: Case, actor) -> dict:
    """The case this one is a subprocess of, if the actor may see it: what it is and
    where it stands."""
    from core import workflow

    parent = records.get(session, Case, case.parent_id, actor) if case.parent_id else None
    if parent is None:
        return {}
    process = host.processes.get(parent.process_key)
    return {"id": parent.id, "title": parent.title, "description": parent.description,
            "amount": parent.amount, "currency": parent.currency,
            "process": process.key if process else "",
            "phase": workflow.phase_name(process, parent.phase_key) if process else "",
            "created_at": parent.created_at}


def _calculation(session: Session, case: Case) -> dict:
    """The latest version of the case's calculation as the customer sees it: the lines
    at their prices and the totals; the costs and the mark-up stay inside."""
    from core import calculations

    found = calculations.of_case(session, case)
    if not found:
        return {}
    latest = found[0]
    return {"number": latest.number, "status": latest.status, "currency": latest.currency,
            "net": latest.net, "vat": latest.vat, "gross": latest.gross, "note": latest.note,
            "lines": [{"description": line.description, "category": line.category,
                       "quantity": line.quantity, "unit": line.unit,
                       "unit_price": line.unit_price, "vat_rate": line.vat_rate,
                       "net": line.net, "vat": line.vat, "gross": line.gross}
                      for line in latest.lines]}


# --- Making documents --------------------------------------------------------------------

def preview(session: Session, host, template: DocumentTemplate, record, actor=None,
            settings: Settings | None = None, body: str | None = None) -> str:
    """The template (or ``body``, a text being edited) filled for ``record``, as HTML,
    with the number it would get shown as a placeholder."""
    _visible(session, record, actor)
    source = body if body is not None else current_version(session, template).body
    placeholder = _("(number given on issue)") if template.series_key else ""
    return templating.render(source, context(session, host, record, actor, settings,
                                             placeholder))


def generate(session: Session, host, settings: Settings, template: DocumentTemplate, record,
             actor=None, person: Person | None = None, extra: dict | None = None) -> Document:
    """Number, fill and draw the document, and keep it on the record. With ``person``,
    a case's document for one of its people (a certificate of attendance): the template
    sees ``person`` as well, and the document is kept on the person's card. ``extra``
    is plain data a plugin adds for its own templates (one payment request of a case)."""
    if template.kind == "email":
        raise ValidationError({"template": _("E-mail templates are sent in mailings.")})
    if template.subject_type != _subject_type(record):
        raise ValidationError({"template": _("This template is not for this record.")})
    _visible(session, record, actor)
    permissions.require(session, actor, record, "edit", {})
    _ready(session, host, template, record)
    if any(key not in (extra or {}) for key in _needs(host, template)):
        raise ValidationError({"template": _(
            "This document is made from its own section of the record, not from here.")})
    version = current_version(session, template)
    number = numbering.issue(session, template.series_key) if template.series_key else None
    filled = {**(extra or {}), **context(session, host, record, actor, settings, number)}
    keeper = record
    if person is not None and isinstance(record, Case):
        filled["person"], keeper = _person(session, person, actor), person
    html = templating.render(version.body, filled)
    from core import pdf as pdfs

    pdf = pdfs.render(html, settings)
    name = template.name_en if _locale() == "en" and template.name_en else template.name_pl
    title = f"{name} {number}" if number else name
    stored = attachments.store(session, settings, keeper, _filename(title), io.BytesIO(pdf),
                               actor, declared_type="application/pdf")
    document = Document(template_id=template.id, template_version_id=version.id,
                        record_type=records.ref(keeper)[0], record_id=keeper.id,
                        series_key=template.series_key if number else None, number=number,
                        title=title[:300], attachment_id=stored.id, created_at=utcnow(),
                        created_by_id=getattr(actor, "id", None))
    session.add(document)
    session.flush()
    about = _about(session, record) + ([keeper] if keeper is not record else [])
    timelines.record_event(session, "document_generated", about, subject=title, actor=actor,
                           data={"document_id": document.id, "number": number,
                                 "attachment_id": stored.id, "version": version.number})
    audit.write(session, document, "create", {"number": (None, number),
                                              "template": (None, template.key),
                                              "version": (None, version.number)}, actor)
    events.after_commit(session, "kartoteka_document_generated", document=document, actor=actor)
    return document


def _subject_type(record) -> str:
    return next((k for k, model in SUBJECTS.items() if isinstance(record, model)), "")


def _visible(session: Session, record, actor) -> None:
    if records.get(session, type(record), record.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))


def _about(session: Session, record) -> list:
    if isinstance(record, Case):
        from core import workflow

        return workflow.about_case(session, record)
    return [record]


def _filename(title: str) -> str:
    safe = re.sub(r"[^\w.\- ]+", "-", title).strip(" -.") or "document"
    return f"{safe[:150]}.pdf"


# Bulk generation: one document per record, made by a background job.

MAX_RECORDS = 5000  # records one job makes documents for


def _ready(session: Session, host, template: DocumentTemplate, record) -> None:
    """The template is for this case, and the case passes the shipped template's checks
    (those an administrator left on); their reasons refuse the document."""
    from core import workflow

    if not fits(host, template, record):
        raise ValidationError({"template": _("This template is not for this record.")})
    shipped = host.templates.get(template.key) if isinstance(record, Case) else None
    if shipped is None or not shipped.requires:
        return
    process = host.processes.get(record.process_key)
    values = workflow.settings(session, process) if process else {}
    reasons = {f"check.{check.key}": workflow.localised(reason)
               for check in shipped.requires if workflow.check_enabled(values, check)
               and (reason := check.test(session, record))}
    if reasons:
        raise ValidationError(reasons)


def generate_many(session: Session, template: DocumentTemplate | None, record_type: str,
                  record_ids=None, segment_id=None, actor=None) -> Job:
    """Start a job that makes a document from ``template`` for each record: those of
    ``record_ids`` or the members of the saved segment ``segment_id`` (either, not both),
    at most ``MAX_RECORDS``. Bad input is a ``ValidationError`` keyed by field and no job;
    an actor who may edit no record of the type is refused. Whether each record may be
    seen and changed is checked again when its document is made: a record that may not
    is listed among the job's failures, never made."""
    errors = {}
    if template is None or not template.active:
        errors["template"] = _("Choose a template from the list.")
    elif template.kind == "email":
        errors["template"] = _("E-mail templates are sent in mailings.")
    elif template.subject_type != record_type:
        errors["record_type"] = _("This template is not for this kind of record.")
    if errors:
        raise ValidationError(errors)
    model = SUBJECTS[record_type]
    if permissions.level(actor, record_type, "edit") == "none":
        raise Forbidden(_("You may not do this with this record."))
    has_ids = record_ids not in (None, "", [])
    if has_ids and segment_id not in (None, ""):
        raise ValidationError({"segment_id": _("Choose a segment or give the records, "
                                               "not both.")})
    if segment_id not in (None, ""):
        ids = _segment_ids(session, segment_id, record_type, actor)
    else:
        ids = _given_ids(record_ids)
        visible = session.scalar(select(func.count()).select_from(
            records.visible(model, actor).where(model.id.in_(ids)).subquery())) if ids else 0
        if ids and not visible:
            raise ValidationError({"record_ids": _("There are no such records, or you may "
                                                   "not see them.")})
    name = template.name_en if _locale() == "en" and template.name_en else template.name_pl
    return jobs.start(session, BULK_JOB, _("%(template)s for %(n)d records", template=name,
                                           n=len(ids)),
                      {"template_id": template.id, "record_type": record_type,
                       "record_ids": ids, "actor_id": getattr(actor, "id", None)},
                      actor, total=len(ids))


def _given_ids(given) -> list[int]:
    """Whole numbers, each once, in the order given; at most MAX_RECORDS."""
    if isinstance(given, str):
        given = [part for part in re.split(r"[\s,;]+", given) if part]
    if not isinstance(given, (list, tuple)) or not given:
        raise ValidationError({"record_ids": _("Give the numbers of the records.")})
    ids = []
    for value in given:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise ValidationError({"record_ids": _("Not a record's number: %(value)s",
                                                   value=str(value)[:20])})
        ids.append(value)
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_RECORDS:
        raise ValidationError({"record_ids": _("At most %(n)d records at a time.",
                                               n=MAX_RECORDS)})
    return ids


def _segment_ids(session: Session, segment_id, record_type: str, actor) -> list[int]:
    from core import segments

    segment = segments.get(session, segment_id, actor) \
        if isinstance(segment_id, int) and not isinstance(segment_id, bool) else None
    if segment is None or segment.record_type != record_type:
        raise ValidationError({"segment_id": _("Choose a segment from the list.")})
    model = SUBJECTS[record_type]
    members = segments.members(session, segment, actor).with_only_columns(model.id)
    ids = list(session.scalars(members.order_by(model.id).limit(MAX_RECORDS + 1)))
    if not ids:
        raise ValidationError({"segment_id": _("The segment has no records now.")})
    if len(ids) > MAX_RECORDS:
        raise ValidationError({"segment_id": _("At most %(n)d records at a time.",
                                               n=MAX_RECORDS)})
    return ids


BULK_JOB = "documents.bulk"


@jobs.handler(BULK_JOB)
def _bulk_job(rt, job, progress) -> dict:
    """Make the documents of ``generate_many``, each committed on its own with the job's
    result (``made``, ``document_ids``) in the same transaction: a document and the note
    that it was made are kept together or not at all, so a job run again after a crash
    skips exactly the records that got their document and makes the rest."""
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError, IntegrityError

    params = job.params
    ids = list(params.get("record_ids") or [])
    progress.set_total(len(ids))
    with rt.session() as session:
        stored = session.scalar(select(Job.result).where(Job.id == job.id)) or {}
        made = [int(i) for i in stored.get("document_ids") or []]
        model = SUBJECTS.get(params.get("record_type", ""))
        done = set(session.scalars(select(Document.record_id).where(
            Document.id.in_(made), Document.record_type == params.get("record_type")))) \
            if made else set()
        failed: list[dict] = []
        result = {"made": len(made), "failed": failed, "document_ids": made}
        actor = session.get(User, params["actor_id"]) if params.get("actor_id") else None
        template = session.get(DocumentTemplate, params.get("template_id") or 0)
        gone = None
        if params.get("actor_id") and (actor is None or not actor.active):
            gone = _("The account that started this is no longer in use.")
        elif template is None or not template.active or model is None:
            gone = _("The template is no longer in use.")
        session.rollback()
        progress.advance(len(done))
        for record_id in ids:
            if record_id in done:
                continue
            if gone is not None:
                failed.append({"id": record_id, "error": gone})
                progress.advance()
                continue
            try:
                record = records.get(session, model, record_id, actor)
                if record is None:
                    raise Forbidden(_("There is no such record, or you may not see it."))
                document = generate(session, rt.host, rt.settings, template, record, actor)
                made.append(document.id)
                result["made"] = len(made)
                session.execute(update(Job).where(Job.id == job.id).values(result=result))
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                message = "; ".join(map(str, exc.errors.values())) \
                    if isinstance(exc, ValidationError) else str(exc)
                failed.append({"id": record_id, "error": message})
            except IntegrityError:
                session.rollback()
                failed.append({"id": record_id, "error": _(
                    "The number this document would get is taken already: check the "
                    "patterns of the number series.")})
            except DBAPIError:
                session.rollback()
                raise  # the database is away: the job is run again later
            except Exception as exc:  # noqa: BLE001 (one record's failure is its own)
                session.rollback()
                log.exception("document for %s %s in job %s", params.get("record_type"),
                              record_id, job.id)
                failed.append({"id": record_id, "error": _("It could not be made (%(what)s).",
                                                           what=type(exc).__name__)})
            progress.advance()
    return result


def for_record(session: Session, record, actor=None) -> list[Document]:
    """The documents made for ``record``, newest first (only if the actor sees it)."""
    if records.get(session, type(record), record.id, actor, include_deleted=True) is None:
        return []
    record_type, record_id = records.ref(record)
    return list(session.scalars(select(Document).where(
        Document.record_type == record_type, Document.record_id == record_id)
        .order_by(Document.created_at.desc(), Document.id.desc())))
