"""Public forms: a donor sign-up, a training registration, a request for an offer,
built by an administrator from fields and filled in by anyone at ``/forms/<key>``.

Each form asks for a person's names and whichever other fields the administrator
picked (built-in ones such as the e-mail address, and the people's custom fields), and
for agreement to its consent text. A submission adds the person, or finds them by their
e-mail address (whose details then stay as they are), tags them, records their consent
to the form's purpose with the wording and the sender's address as evidence, and mails
the staff the form names. A form with a process also opens a case of it about the
person (a request for an offer, a lead), with the answers to the case's own fields
("case.<key>"). What was sent is kept as a ``FormSubmission``.

Spam is held off without third-party services: a field people never see (bots fill
it in, and are thanked and forgotten) and a limit of submissions per network address.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit, cases, consents, events, outbox, people, permissions, tags
from core import fields as custom_fields
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.filters import custom_kind
from core.models import (
    Case,
    Consent,
    ContactPoint,
    FormSubmission,
    Person,
    ProcessingPurpose,
    PublicForm,
    User,
)
from core.terms import term
from core.validation import an_id, load_collecting, max_length

MANAGE = "core.manage_forms"
BUILTIN = {"first_name": _l("First name"), "last_name": _l("Last name"),
           "email": _l("E-mail"), "phone": _l("Phone"), "street": _l("Street"),
           "postal_code": _l("Postal code"), "city": _l("City")}
NAMES = ("first_name", "last_name")  # every form asks for them: a person has a name
CUSTOM = "custom."
CASE = "case."  # a custom field of the case a form with a process opens
HONEYPOT = "hp_x9"  # an input people never see; a meaningless name no autofill knows
CONSENT = "consent"
PER_HOUR = 10  # submissions from one network address in an hour, across all forms
MAX_TEXT = 2000  # characters kept of any one answer
# Custom fields a stranger is not asked for: a relation would let them probe which
# records exist, and a form answers each field with one value.
UNASKED = ("relation", "multi")


class FieldSchema(Schema):
    class Meta:
        unknown = RAISE

    field = fields.String(required=True, validate=max_length(70))
    required = fields.Boolean(load_default=False)


class FormSchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9-]{1,63}$", error=_l(
            "Use 2 to 64 small letters, digits and hyphens, such as darczyncy-2027.")),
        error_messages={"required": _l("Enter the form's address.")})
    title = fields.String(required=True, validate=max_length(200),
                          error_messages={"required": _l("Enter a title.")})
    intro = fields.String(load_default="", validate=max_length(5000))
    consent_text = fields.String(required=True, validate=max_length(5000), error_messages={
        "required": _l("Enter the consent text the sender agrees to.")})
    purpose_id = fields.Integer(load_default=None, allow_none=True, validate=an_id())
    process_key = fields.String(load_default=None, allow_none=True, validate=max_length(64),
                                metadata={"description": "Each submission opens a case of "
                                          "this process about the sender; null: none."})
    tags = fields.List(fields.String(validate=max_length(60)), load_default=list)
    thank_you = fields.String(load_default="", validate=max_length(5000))
    notify_user_ids = fields.List(fields.Integer(validate=an_id()), load_default=list)
    active = fields.Boolean(load_default=True)
    # Last: the name hides marshmallow's ``fields`` for the rest of the class.
    fields = fields.List(fields.Nested(FieldSchema), load_default=list,
                         validate=validate.Length(max=40))


# --- Administration ---------------------------------------------------------------------

def require(actor) -> None:
    if not permissions.can(actor, MANAGE):
        raise Forbidden(_("You may not manage public forms."))


def all_forms(session: Session) -> list[PublicForm]:
    return list(session.scalars(select(PublicForm).order_by(PublicForm.title,
                                                            PublicForm.id)))


def by_key(session: Session, key: str) -> PublicForm | None:
    """The form open to the public at ``key``; None if there is none or it is closed.
    A form whose purpose is no longer in use is closed too: it cannot take consents;
    and so is one whose process is not available (its plugin disabled)."""
    form = session.scalar(select(PublicForm).outerjoin(ProcessingPurpose).where(
        PublicForm.key == key, PublicForm.active,
        or_(PublicForm.purpose_id.is_(None), ProcessingPurpose.active)))
    if form is not None and form.process_key and \
            form.process_key not in getattr(events.host_of(session), "processes", {}):
        return None
    return form


def is_open(session: Session, form: PublicForm) -> bool:
    return by_key(session, form.key) is not None


def available_fields(session: Session, process_key: str | None = None) -> dict[str, str]:
    """What a form may ask for, by its name on the form: built-in fields, the people's
    custom fields, and with ``process_key`` the custom fields of that process's cases."""
    found = {name: str(label) for name, label in BUILTIN.items()}
    locale = _locale()
    for prefix, definition in _askable(session, process_key):
        found[prefix + definition.key] = definition.label(locale)
    return found


def _askable(session: Session, process_key: str | None) -> list[tuple[str, object]]:
    found = [(CUSTOM, d) for d in custom_fields.definitions(session, "person")]
    if process_key:
        found += [(CASE, d) for d in custom_fields.for_case(
            custom_fields.definitions(session, "case"), process_key)]
    return [(prefix, d) for prefix, d in found
            if not d.read_only and custom_kind(d) not in UNASKED]


def create(session: Session, data: dict, actor=None) -> PublicForm:
    require(actor)
    values = _clean(session, data, None)
    form = PublicForm(**values, created_by_id=getattr(actor, "id", None))
    session.add(form)
    session.flush()
    audit.write(session, form, "create", {k: (None, v) for k, v in values.items()}, actor,
                summary=form.title)
    return form


def update(session: Session, form: PublicForm, data: dict, actor=None) -> PublicForm:
    require(actor)
    values = _clean(session, data, form)
    changes = {k: (getattr(form, k), v) for k, v in values.items() if getattr(form, k) != v}
    for key, value in values.items():
        setattr(form, key, value)
    session.flush()
    if changes:
        audit.write(session, form, "update", changes, actor, summary=form.title)
    return form


def _clean(session: Session, data: dict, form: PublicForm | None) -> dict:
    """The form's settings, checked; every problem at once, keyed by field."""
    values, errors = load_collecting(FormSchema(), data)
    for name in ("title", "consent_text"):
        if name in values and not values[name].strip():
            errors[name] = _("Enter a title.") if name == "title" else \
                _("Enter the consent text the sender agrees to.")
    if "key" in values and session.scalar(select(PublicForm.id).where(
            PublicForm.key == values["key"], PublicForm.id != getattr(form, "id", 0))):
        errors["key"] = _("Another form has this address.")
    host = events.host_of(session)
    if values.get("process_key") and values["process_key"] not in getattr(host, "processes", {}):
        errors["process_key"] = _("Choose a process from the list.")
        values["process_key"] = None
    values["fields"] = _fields_of(session, values.get("fields", []), errors,
                                  values.get("process_key"))
    if values.get("purpose_id") is not None and session.scalar(select(
            ProcessingPurpose.id).where(ProcessingPurpose.id == values["purpose_id"],
                                        ProcessingPurpose.active)) is None:
        errors["purpose_id"] = _("Choose an active processing purpose.")
    for i, user_id in enumerate(values.get("notify_user_ids", [])):
        if session.scalar(select(User.id).where(User.id == user_id, User.active,
                                                User.kind == "staff")) is None:
            errors[f"notify_user_ids.{i}"] = _("Choose an active staff member.")
    if errors:
        raise ValidationError(errors)
    values["tags"] = list(dict.fromkeys(" ".join(t.split()) for t in values["tags"]
                                        if t.strip()))
    values["notify_user_ids"] = list(dict.fromkeys(values["notify_user_ids"]))
    for name in ("title", "intro", "consent_text", "thank_you"):
        values[name] = values[name].strip()
    return values


def _fields_of(session: Session, given: list[dict], errors: dict,
               process_key: str | None = None) -> list[dict]:
    """The names first (always required), then the fields picked, each once; a custom
    field every person (or every case the form opens) must have is required on the
    form too."""
    known = available_fields(session, process_key)
    found = {name: {"field": name, "required": True} for name in NAMES}
    for i, item in enumerate(given):
        name = item.get("field") if isinstance(item, dict) else None
        if name is None:
            continue  # refused by the schema already, at its own key
        if name not in known:
            errors[f"fields.{i}.field"] = _("There is no field “%(field)s”.", field=name)
        elif name not in found:
            found[name] = {"field": name, "required": bool(item.get("required"))}
    for prefix, d in _askable(session, process_key):
        if d.required and d.default is None:
            if prefix + d.key not in found:
                errors.setdefault("fields", _(
                    "Add the field %(field)s: every %(what)s must have it.",
                    field=d.label(_locale()),
                    what=term("core.person" if prefix == CUSTOM else "core.case")))
            else:
                found[prefix + d.key]["required"] = True
    return list(found.values())


def submissions(session: Session, form: PublicForm, limit: int = 200) -> list[FormSubmission]:
    return list(session.scalars(select(FormSubmission).where(
        FormSubmission.form_id == form.id).order_by(FormSubmission.id.desc()).limit(limit)))


# --- Submitting -------------------------------------------------------------------------

class TooMany(Exception):
    """Too many submissions from one address: try again later."""


def submit(session: Session, form: PublicForm, posted: dict, address: str
           ) -> FormSubmission:
    """Take what was sent through ``form`` from ``address``: the person added or found,
    tagged, their consent recorded, the form's case opened and the staff told, all in
    the caller's transaction.
    Refused with the problems by field name; ``TooMany`` when the address sent too much."""
    if _recent(session, address) >= PER_HOUR:
        raise TooMany()
    if (posted.get(HONEYPOT) or "").strip():
        return _keep(session, form, "spam", None, {}, address)
    answers = {item["field"]: _text(posted.get(item["field"])) for item in form.fields}
    errors = _missing(form, answers)
    if posted.get(CONSENT) not in ("1", "true", "on", True):
        errors[CONSENT] = _("Tick the box to agree; without it we cannot take the form.")
    with audit.door("form"):
        case_custom = _case_values(session, form, answers, errors)
        person, outcome = _person(session, form, answers, errors)
        submission = _keep(session, form, outcome, person, answers, address)
        if form.process_key:
            submission.case_id = _open_case(session, form, person, case_custom).id
        for name in form.tags:
            tags.tag(session, person, name)
        withdrawn = _withdrawn(session, form, person) if outcome == "matched" else False
        if form.purpose_id is not None and not withdrawn:
            consents.give(session, person, session.get(ProcessingPurpose, form.purpose_id),
                          "form", _evidence(form, address))
    _notify(session, form, person, answers, outcome, withdrawn,
            session.get(Case, submission.case_id) if submission.case_id else None)
    events.after_commit(session, "kartoteka_form_submitted", form=form,
                        submission=submission, person=person)
    return submission


def _case_values(session: Session, form: PublicForm, answers: dict, errors: dict) -> dict:
    """The answers to the case's fields, checked with the person's so that the sender
    hears of every problem at once."""
    if not form.process_key:
        return {}
    given = {k.removeprefix(CASE): v for k, v in answers.items() if k.startswith(CASE) and v}
    _cleaned, problems = custom_fields.load(session, Case, given, None, creating=True,
                                            process_key=form.process_key)
    for key, message in problems.items():
        errors.setdefault(CASE + key.removeprefix("custom."), message)
    return given


def _open_case(session: Session, form: PublicForm, person: Person, custom: dict) -> Case:
    """A case of the form's process about the sender, in its first phase, unowned
    until the staff take it."""
    host = events.host_of(session)
    if form.process_key not in getattr(host, "processes", {}):
        raise ValidationError({"_": _("This form cannot be sent now.")})
    title = f"{form.title}: {person.full_name}"[:300]
    return cases.create(session, host, {"title": title, "process_key": form.process_key,
                                        "custom": custom}, people=[(person, "")])


def _recent(session: Session, address: str) -> int:
    return session.scalar(select(func.count()).select_from(FormSubmission).where(
        FormSubmission.address == address,
        FormSubmission.created_at > utcnow() - timedelta(hours=1)))


def _text(value) -> str:
    return str(value or "").strip()[:MAX_TEXT]


def _missing(form: PublicForm, answers: dict) -> dict:
    return {item["field"]: _("Fill in this field.") for item in form.fields
            if item["required"] and not answers[item["field"]]}


def _person(session: Session, form: PublicForm, answers: dict, errors: dict
            ) -> tuple[Person, str]:
    """The person the answers are about: the one with the e-mail address given, or a
    new one. A known person's details stay as they are: a form proves no identity."""
    data = _person_data(answers)
    emails: list[str] = []
    try:  # every problem at once, the custom fields' too; the address as stored
        emails = custom_fields.validated(session, Person, data, None, people.clean)["emails"]
    except ValidationError as exc:
        for key, message in exc.errors.items():  # "Fill in this field." said it first
            errors.setdefault(_form_name(key), message)
    if errors:
        raise ValidationError(errors)
    known = _known(session, emails)  # "Anna@X.pl" finds anna@x.pl
    if known is not None:
        return known, "matched"
    return people.create(session, data, None, allow_duplicates=True), "created"


def _person_data(answers: dict) -> dict:
    address = {k: answers[k] for k in ("street", "postal_code", "city") if answers.get(k)}
    return {"first_name": answers.get("first_name", ""),
            "last_name": answers.get("last_name", ""),
            "emails": [answers["email"]] if answers.get("email") else [],
            "phones": [answers["phone"]] if answers.get("phone") else [],
            "addresses": [address] if address else [],
            "custom": {k.removeprefix(CUSTOM): v for k, v in answers.items()
                       if k.startswith(CUSTOM) and v}}


def _form_name(key: str) -> str:
    """A service's error key as the form names the input: "emails.0" is "email"."""
    return {"emails": "email", "phones": "phone"}.get(key.split(".")[0]) or \
        (key.split(".")[-1] if key.startswith("addresses.") else key)


def _known(session: Session, emails: list[str]) -> Person | None:
    if not emails:
        return None
    return session.scalar(select(Person).join(ContactPoint).where(
        ContactPoint.kind == "email", ContactPoint.value == emails[0],
        Person.deleted_at.is_(None)).order_by(Person.id).limit(1))


def _withdrawn(session: Session, form: PublicForm, person: Person) -> bool:
    """Whether the known person withdrew their consent to the form's purpose: a form
    anyone may send in their name does not renew it (the staff are told instead)."""
    if form.purpose_id is None:
        return False
    return session.scalar(select(Consent.state).where(
        Consent.person_id == person.id, Consent.purpose_id == form.purpose_id)
        .order_by(Consent.at.desc(), Consent.id.desc()).limit(1)) == "withdrawn"


def _evidence(form: PublicForm, address: str) -> str:
    return f"{form.title} (/forms/{form.key}, {address}): {form.consent_text}"[
        :consents.MAX_EVIDENCE]


def _keep(session: Session, form: PublicForm, outcome: str, person, answers: dict,
          address: str) -> FormSubmission:
    submission = FormSubmission(form_id=form.id, person_id=getattr(person, "id", None),
                                outcome=outcome, data=answers, address=address[:45])
    session.add(submission)
    session.flush()
    return submission


def _notify(session: Session, form: PublicForm, person: Person, answers: dict,
            outcome: str, withdrawn: bool = False, case: Case | None = None) -> None:
    staff = [u for u in (session.get(User, i) for i in form.notify_user_ids) if u]
    if not staff:
        return
    labels = available_fields(session, form.process_key)
    lines = [f"{labels.get(name, name)}: {value}" for name, value in answers.items() if value]
    if outcome == "matched":
        lines.append(_("The e-mail address belongs to %(who)s, whose details stay as they "
                       "were.", who=person.full_name))
    if withdrawn:
        lines.append(_("%(who)s withdrew their consent earlier; the form did not renew it. "
                       "Ask them to confirm before writing to them.", who=person.full_name))
    if case is not None:
        lines.append(_("Opened: %(case)s", case=case.title))
    outbox.notify(session, staff, _("New submission: %(form)s", form=form.title),
                  "\n".join(lines), about=[person, case] if case is not None else [person])


def label(form: PublicForm) -> str:
    return form.title


def _locale() -> str:
    from flask_babel import get_locale

    found = get_locale()
    return found.language if found else "pl"

