"""Public forms (core.public_forms): building a form with its field-level checks and
permission, and what a submission does: a person added or found by e-mail, tagged, their
consent recorded with evidence, the staff mailed, the submission kept; bad input refused
by the form's input names with nothing written; bots and floods held off."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core import (
    consents,
    field_definitions,
    organisations,
    privacy,
    public_forms,
    records,
    roles,
    tags,
    users,
)
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import (
    ActivityLink,
    AuditEntry,
    Consent,
    FormSubmission,
    OutboxMessage,
    Person,
    ProcessingPurpose,
    PublicForm,
    User,
)

PASSWORD = "correct horse battery"
KEY = "darczyncy-2027"
TITLE = "Donor sign-up"
WORDING = "I agree that the association keeps my details to thank me and report on donations."
HOME = "203.0.113.5"
ANNA = {"first_name": "Anna", "last_name": "Nowak", "email": "anna@example.com",
        "phone": "601 234 567", "street": "ul. Polna 3", "postal_code": "60001",
        "city": "Poznań", "custom.amount": "250", "consent": "on"}


@pytest.fixture
def world(rt) -> dict[str, int]:
    """An administrator, a forms editor (by role), staff without the permission, the
    donors' purpose and a custom field of people; their ids by name."""
    with rt.session() as s, s.begin():
        editors = roles.create(s, "forms", "Forms")
        roles.set_permissions(s, editors, [public_forms.MANAGE])
        found = {
            "admin": users.create_user(s, "admin@example.com", PASSWORD, "Admin",
                                       is_admin=True).id,
            "editor": users.create_user(s, "editor@example.com", PASSWORD, "Ewa Edytorka",
                                        roles=["staff", "forms"]).id,
            "clerk": users.create_user(s, "clerk@example.com", PASSWORD, "Klara Kowalska").id,
            "purpose": consents.create_purpose(s, {
                "key": "donors", "name": "Donors", "legal_basis": "consent"}).id,
        }
        field_definitions.create(s, {"record_type": "person", "key": "amount",
                                     "type": "integer", "label_pl": "Kwota",
                                     "label_en": "Amount"}, host=rt.host)
    return found


def settings(world, **extra) -> dict:
    return {"key": KEY, "title": TITLE, "intro": "Join our donors.",
            "fields": [{"field": "email", "required": True}, {"field": "phone"},
                       {"field": "street"}, {"field": "postal_code"}, {"field": "city"},
                       {"field": "custom.amount", "required": True}],
            "consent_text": WORDING, "purpose_id": world["purpose"],
            "tags": ["donor", "  web   form "], "thank_you": "Thank you!",
            "notify_user_ids": [world["clerk"]], **extra}


def new_form(rt, world, actor="admin", **extra) -> int:
    with rt.session() as s, s.begin():
        return public_forms.create(s, settings(world, **extra), s.get(User, world[actor])).id


def refused(rt, world, actor="admin", **extra) -> dict:
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as caught:
            public_forms.create(s, settings(world, **extra), s.get(User, world[actor]))
    return caught.value.errors


def send(rt, posted: dict, address: str = HOME, key: str = KEY) -> tuple[str, int | None, int]:
    """Submit through the open form at ``key`` in a transaction of its own: the outcome,
    the person's id and the submission's id."""
    with rt.session() as s, s.begin():
        form = public_forms.by_key(s, key)
        submission = public_forms.submit(s, form, posted, address)
        return submission.outcome, submission.person_id, submission.id


def count(rt, model) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------- building a form


def test_a_form_asks_for_the_names_first_and_always_requires_them(rt, world):
    form_id = new_form(rt, world, fields=[
        {"field": "email"}, {"field": "first_name", "required": False},
        {"field": "city", "required": True}, {"field": "email", "required": True}])
    with rt.session() as s:
        form = s.get(PublicForm, form_id)
        assert form.fields == [{"field": "first_name", "required": True},
                               {"field": "last_name", "required": True},
                               {"field": "email", "required": False},
                               {"field": "city", "required": True}]
        assert (form.key, form.title, form.consent_text) == (KEY, TITLE, WORDING)
        assert form.tags == ["donor", "web form"]
        assert form.notify_user_ids == [world["clerk"]]
        assert (form.active, form.created_by_id) == (True, world["admin"])
        assert public_forms.by_key(s, KEY).id == form_id
        trail = s.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "public_forms")).all()
        assert [(e.action, e.record_id, e.summary) for e in trail] == [
            ("create", form_id, TITLE)]


def test_an_unknown_field_is_refused_at_its_place_in_the_list(rt, world):
    errors = refused(rt, world, fields=[{"field": "email"}, {"field": "password_hash"},
                                        {"field": "custom.shoe_size"}])
    assert errors == {"fields.1.field": "There is no field “password_hash”.",
                      "fields.2.field": "There is no field “custom.shoe_size”."}
    assert count(rt, PublicForm) == 0


def test_a_second_form_at_the_same_address_is_refused(rt, world):
    new_form(rt, world)
    assert refused(rt, world, title="Another") == {"key": "Another form has this address."}
    assert count(rt, PublicForm) == 1


@pytest.mark.parametrize("key", ["a", "Darczyncy", "-darczyncy", "darczyncy 2027",
                                 "darczyńcy", "x" * 65])
def test_a_badly_formed_address_is_refused(rt, world, key):
    assert refused(rt, world, key=key) == {
        "key": "Use 2 to 64 small letters, digits and hyphens, such as darczyncy-2027."}


def test_an_empty_title_and_consent_text_are_refused_together(rt, world):
    assert refused(rt, world, title="   ", consent_text="\n ") == {
        "title": "Enter a title.",
        "consent_text": "Enter the consent text the sender agrees to."}
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError) as caught:
            public_forms.create(s, {"fields": []})
    assert caught.value.errors == {
        "key": "Enter the form's address.", "title": "Enter a title.",
        "consent_text": "Enter the consent text the sender agrees to."}
    assert count(rt, PublicForm) == 0


def test_an_inactive_or_unknown_purpose_is_refused(rt, world):
    with rt.session() as s, s.begin():
        old = consents.create_purpose(s, {"key": "old", "name": "Old",
                                          "legal_basis": "consent"})
        consents.deactivate_purpose(s, old)
    message = {"purpose_id": "Choose an active processing purpose."}
    assert refused(rt, world, purpose_id=old.id) == message
    assert refused(rt, world, purpose_id=world["purpose"] + 999) == message
    assert count(rt, PublicForm) == 0


def test_only_active_staff_accounts_are_notified(rt, world):
    with rt.session() as s, s.begin():
        gone = users.create_user(s, "gone@example.com", PASSWORD, "Gone")
        users.deactivate(s, gone)
        org = organisations.create(s, rt.host, {"name": "Gmina Kórnik",
                                                "type_key": "core.municipality"})
        portal = users.create_user(s, "portal@example.com", PASSWORD, "Portal",
                                   portal_of=org)
    errors = refused(rt, world, notify_user_ids=[world["clerk"], gone.id, portal.id, 99999])
    assert errors == {"notify_user_ids.1": "Choose an active staff member.",
                      "notify_user_ids.2": "Choose an active staff member.",
                      "notify_user_ids.3": "Choose an active staff member."}
    assert count(rt, PublicForm) == 0


def test_a_custom_field_every_person_must_have_must_be_on_the_form_and_is_required(
        app, rt, world):
    with rt.session() as s, s.begin():
        field_definitions.create(s, {"record_type": "person", "key": "member_no",
                                     "type": "text", "label_pl": "Numer członka",
                                     "label_en": "Member number", "required": True},
                                 host=rt.host)
    with app.test_request_context():
        assert refused(rt, world) == {
            "fields": "Add the field Member number: every person must have it."}
        form_id = new_form(rt, world, fields=[{"field": "custom.member_no",
                                               "required": False}])
    with rt.session() as s:
        assert s.get(PublicForm, form_id).fields[-1] == {"field": "custom.member_no",
                                                          "required": True}


def test_a_user_without_the_permission_may_not_build_forms_and_nothing_is_written(rt, world):
    trail = count(rt, AuditEntry)
    with rt.session() as s, s.begin():
        clerk = s.get(User, world["clerk"])
        with pytest.raises(Forbidden):
            public_forms.create(s, settings(world), clerk)
    assert count(rt, PublicForm) == 0
    assert count(rt, AuditEntry) == trail
    form_id = new_form(rt, world)
    with rt.session() as s, s.begin():
        with pytest.raises(Forbidden):
            public_forms.update(s, s.get(PublicForm, form_id), settings(world, title="Hacked"),
                                s.get(User, world["clerk"]))
    with rt.session() as s:
        assert s.get(PublicForm, form_id).title == TITLE


def test_a_role_granting_the_permission_lets_a_user_build_and_change_forms(rt, world):
    form_id = new_form(rt, world, actor="editor")
    new_form(rt, world, actor="admin", key="szkolenie", title="Training")
    with rt.session() as s, s.begin():
        editor = s.get(User, world["editor"])
        form = s.get(PublicForm, form_id)
        with pytest.raises(ValidationError) as caught:
            public_forms.update(s, form, settings(world, key="szkolenie"), editor)
        assert caught.value.errors == {"key": "Another form has this address."}
        public_forms.update(s, form, settings(world, title="  Donors 2027 ", active=False),
                            editor)
    with rt.session() as s:
        form = s.get(PublicForm, form_id)
        assert (form.key, form.title, form.active, form.created_by_id) == (
            KEY, "Donors 2027", False, world["editor"])
        assert public_forms.by_key(s, KEY) is None
        changes = s.scalars(select(AuditEntry.changes).where(
            AuditEntry.record_type == "public_forms", AuditEntry.record_id == form_id,
            AuditEntry.action == "update")).all()
        assert changes == [{"title": [TITLE, "Donors 2027"], "active": [True, False]}]
        assert [f.title for f in public_forms.all_forms(s)] == ["Donors 2027", "Training"]


def test_an_inactive_form_is_not_found_by_its_address(rt, world):
    new_form(rt, world, active=False)
    new_form(rt, world, key="szkolenie", title="Training")
    with rt.session() as s:
        assert public_forms.by_key(s, KEY) is None
        assert public_forms.by_key(s, "szkolenie").title == "Training"
        assert public_forms.by_key(s, "no-such-form") is None


# --------------------------------------------------------------------- submitting


def test_a_submission_adds_a_tagged_person_with_consent_and_tells_the_staff(app, rt, world):
    new_form(rt, world)
    with app.test_request_context():
        outcome, person_id, submission_id = send(rt, ANNA)
    assert outcome == "created"
    with rt.session() as s:
        anna = s.get(Person, person_id)
        assert (anna.first_name, anna.last_name) == ("Anna", "Nowak")
        assert anna.contact_values("email") == ["anna@example.com"]
        assert anna.contact_values("phone") == ["+48601234567"]
        assert [(a.street, a.postal_code, a.city) for a in anna.addresses] == [
            ("ul. Polna 3", "60-001", "Poznań")]
        assert anna.custom == {"amount": 250}
        assert tags.tags_of(s, anna) == ["donor", "web form"]

        assert consents.has_consent(s, person_id, "donors")
        (consent,) = consents.history(s, anna)
        assert (consent.state, consent.source) == ("given", "form")
        assert consent.evidence == f"{TITLE} (/forms/{KEY}, {HOME}): {WORDING}"

        (message,) = s.scalars(select(OutboxMessage)).all()
        assert (message.to_address, message.kind, message.subject) == (
            "clerk@example.com", "service", f"New submission: {TITLE}")
        assert message.text_body.splitlines() == [
            "First name: Anna", "Last name: Nowak", "E-mail: anna@example.com",
            "Phone: 601 234 567", "Street: ul. Polna 3", "Postal code: 60001",
            "City: Poznań", "Amount: 250"]
        assert s.scalars(select(ActivityLink.record_id).where(
            ActivityLink.activity_id == message.activity_id,
            ActivityLink.record_type == "person")).all() == [person_id]

        submission = s.get(FormSubmission, submission_id)
        assert (submission.outcome, submission.person_id, submission.address) == (
            "created", person_id, HOME)
        assert submission.data == {
            "first_name": "Anna", "last_name": "Nowak", "email": "anna@example.com",
            "phone": "601 234 567", "street": "ul. Polna 3", "postal_code": "60001",
            "city": "Poznań", "custom.amount": "250"}
        form = public_forms.by_key(s, KEY)
        assert [x.id for x in public_forms.submissions(s, form)] == [submission_id]
        doors = set(s.scalars(select(AuditEntry.door).where(
            AuditEntry.record_type == "person", AuditEntry.record_id == person_id)))
        assert doors == {"form"}


def test_missing_answers_and_an_unticked_box_are_all_refused_and_nothing_is_written(
        rt, world):
    new_form(rt, world)
    trail = count(rt, AuditEntry)
    with pytest.raises(ValidationError) as caught:
        send(rt, {"first_name": "Anna", "last_name": " ", "email": "",
                  "custom.amount": "", "city": "Poznań"})
    assert caught.value.errors == {
        "last_name": "Fill in this field.", "email": "Fill in this field.",
        "custom.amount": "Fill in this field.",
        "consent": "Tick the box to agree; without it we cannot take the form."}
    with pytest.raises(ValidationError) as caught:
        send(rt, {**ANNA, "consent": ""})
    assert caught.value.errors == {
        "consent": "Tick the box to agree; without it we cannot take the form."}
    assert [count(rt, m) for m in (Person, FormSubmission, Consent, OutboxMessage)] == [
        0, 0, 0, 0]
    assert count(rt, AuditEntry) == trail


@pytest.mark.parametrize("change, errors", [
    ({"email": "anna@"}, {"email": "Not a valid email address."}),
    ({"postal_code": "6000"},
     {"postal_code": "The postal code must have 5 digits, written as NN-NNN."}),
    ({"email": "anna(at)example.com", "postal_code": "600-011"},
     {"email": "Not a valid email address.",
      "postal_code": "The postal code must have 5 digits, written as NN-NNN."}),
    ({"custom.amount": "a lot"}, {"custom.amount": "Not a valid integer."}),
    ({"custom.amount": "a lot", "email": "anna@"},
     {"custom.amount": "Not a valid integer.", "email": "Not a valid email address."}),
])
def test_a_bad_answer_is_refused_at_its_input_and_nothing_is_written(rt, world, change,
                                                                       errors):
    new_form(rt, world)
    with pytest.raises(ValidationError) as caught:
        send(rt, {**ANNA, **change})
    assert caught.value.errors == errors
    assert [count(rt, m) for m in (Person, FormSubmission, Consent, OutboxMessage)] == [
        0, 0, 0, 0]


def test_the_same_e_mail_again_finds_the_known_person_and_keeps_their_details(
        app, rt, world):
    new_form(rt, world)
    first = send(rt, ANNA)
    with app.test_request_context():
        outcome, person_id, submission_id = send(rt, {
            **ANNA, "first_name": "Joanna", "last_name": "Kowalska",
            "email": " Anna@Example.COM ", "city": "Gniezno", "custom.amount": "10"},
            address="198.51.100.7")
    assert (outcome, person_id) == ("matched", first[1])
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 1
        anna = s.get(Person, person_id)
        assert (anna.first_name, anna.last_name) == ("Anna", "Nowak")
        assert [a.city for a in anna.addresses] == ["Poznań"]
        assert anna.custom == {"amount": 250}
        assert consents.has_consent(s, person_id, "donors")
        assert [(c.state, c.evidence) for c in consents.history(s, anna)] == [
            ("given", f"{TITLE} (/forms/{KEY}, 198.51.100.7): {WORDING}"),
            ("given", f"{TITLE} (/forms/{KEY}, {HOME}): {WORDING}")]
        submission = s.get(FormSubmission, submission_id)
        assert (submission.outcome, submission.person_id) == ("matched", person_id)
        assert submission.data["first_name"] == "Joanna"
        newest = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert newest.text_body.splitlines()[-1] == (
            "The e-mail address belongs to Anna Nowak, whose details stay as they were.")


def test_a_deleted_person_is_not_matched(rt, world):
    new_form(rt, world)
    _outcome, first_id, _ = send(rt, ANNA)
    with rt.session() as s, s.begin():
        records.soft_delete(s, s.get(Person, first_id))
    outcome, person_id, _ = send(rt, ANNA)
    assert outcome == "created"
    assert person_id != first_id


def test_a_filled_in_hidden_field_is_spam_kept_but_acted_on_no_further(rt, world):
    new_form(rt, world)
    outcome, person_id, submission_id = send(rt, {**ANNA, public_forms.HONEYPOT: "http://cheap.example"})
    assert (outcome, person_id) == ("spam", None)
    with rt.session() as s:
        submission = s.get(FormSubmission, submission_id)
        assert (submission.outcome, submission.data, submission.address) == (
            "spam", {}, HOME)
    assert [count(rt, m) for m in (Person, Consent, OutboxMessage)] == [0, 0, 0]
    assert send(rt, {**ANNA, public_forms.HONEYPOT: "   "})[0] == "created"  # blank is not a bot


def test_the_eleventh_submission_in_an_hour_from_one_address_is_refused(rt, world):
    new_form(rt, world)
    new_form(rt, world, key="szkolenie", title="Training")
    assert public_forms.PER_HOUR == 10
    for n in range(public_forms.PER_HOUR):
        key = KEY if n % 2 else "szkolenie"  # the limit is across all forms
        assert send(rt, {**ANNA, "email": f"donor{n}@example.com"}, key=key)[0] == "created"
    with pytest.raises(public_forms.TooMany):
        send(rt, {**ANNA, "email": "eleventh@example.com"})
    with pytest.raises(public_forms.TooMany):  # a bot too, before it is thanked
        send(rt, {**ANNA, public_forms.HONEYPOT: "x"})
    assert count(rt, FormSubmission) == 10
    assert count(rt, Person) == 10
    assert send(rt, {**ANNA, "email": "neighbour@example.com"},
                address="198.51.100.7")[0] == "created"
    with rt.session() as s, s.begin():
        s.execute(update(FormSubmission).where(FormSubmission.address == HOME).values(
            created_at=utcnow() - timedelta(minutes=61)))
    assert send(rt, {**ANNA, "email": "later@example.com"})[0] == "created"
    assert count(rt, Person) == 12


@pytest.mark.parametrize("fields", [[{"required": True}], [{"field": "x" * 80}], ["email"]])
def test_a_malformed_list_of_fields_is_refused_by_field(rt, world, fields):
    errors = refused(rt, world, fields=fields)
    assert list(errors) and all(key.startswith("fields.0") for key in errors)


def test_a_form_whose_purpose_is_no_longer_in_use_is_closed(rt, world):
    new_form(rt, world)
    with rt.session() as s, s.begin():
        consents.deactivate_purpose(s, s.get(ProcessingPurpose, world["purpose"]))
    with rt.session() as s:
        assert public_forms.by_key(s, KEY) is None


def test_a_form_does_not_renew_a_consent_the_person_withdrew(rt, world):
    new_form(rt, world)
    _outcome, person_id, _id = send(rt, ANNA)
    with rt.session() as s, s.begin():
        consents.withdraw(s, s.get(Person, person_id), "donors", "email", "unsubscribed")
    outcome, again, _id = send(rt, ANNA, address="198.51.100.7")  # anyone may type her address
    with rt.session() as s:
        assert (outcome, again) == ("matched", person_id)
        assert not consents.has_consent(s, person_id, "donors")
        bodies = s.scalars(select(OutboxMessage.text_body).order_by(OutboxMessage.id)).all()
        assert "withdrew their consent earlier; the form did not renew it" in bodies[-1]


def test_anonymising_a_person_empties_what_their_submissions_kept(rt, world):
    new_form(rt, world)
    _outcome, person_id, submission_id = send(rt, ANNA)
    with rt.session() as s, s.begin():
        privacy.anonymise(s, s.get(Person, person_id), settings=rt.settings)
    with rt.session() as s:
        kept = s.get(FormSubmission, submission_id)
        assert (kept.data, kept.address, kept.person_id) == ({}, "", person_id)


def test_the_persons_data_access_export_holds_what_they_sent_through_forms(rt, world):
    import io
    import json
    import zipfile

    new_form(rt, world)
    _outcome, person_id, submission_id = send(rt, ANNA)
    with rt.session() as s:
        archive = privacy.access_export(s, s.get(Person, person_id), settings=rt.settings)
    sent = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("person.json"))
    [submission] = sent["form_submissions"]
    assert submission["id"] == submission_id and submission["address"] == HOME
    assert submission["data"]["email"] == "anna@example.com"
    assert submission["form"] and submission["consent_text"]


def test_a_stranger_is_not_asked_for_a_relation_or_several_choices(rt, world):
    with rt.session() as s, s.begin():
        field_definitions.create(s, {"record_type": "person", "key": "employer",
                                     "type": "relation", "label_pl": "Pracodawca",
                                     "label_en": "Employer",
                                     "options": {"target": "organisation"}}, host=rt.host)
    with rt.session() as s:
        assert "custom.employer" not in public_forms.available_fields(s)
    assert refused(rt, world, fields=[{"field": "custom.employer"}]) == {
        "fields.0.field": "There is no field “custom.employer”."}
