"""Consents and the register of processing purposes: an append-only history per person
and purpose, validity as one SQL rule shared by the filter language, and the API."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import consents, filters, people, records, segments, timeline, tokens, users
from core.db import utcnow
from core.errors import ValidationError
from core.models import Activity, AuditEntry, Consent, Organisation, Person, ProcessingPurpose

WORDING = "I agree to receive the association's newsletter by e-mail."


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en")


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


def purpose(session, key="newsletter", **data):
    return consents.create_purpose(session, {"key": key, "name": key.capitalize(),
                                             "legal_basis": "consent", **data})


def person(session, first="Anna", last="Nowak"):
    return people.create(session, {"first_name": first, "last_name": last},
                         allow_duplicates=True)


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def matching(rt, app, spec) -> set[str]:
    """First names of the people the filter selects, compiled as a list page would."""
    with app.test_request_context():
        from core.web.db import db

        query = filters.apply(records.visible(Person), Person, spec)
        return {p.first_name for p in db().scalars(query)}


# --------------------------------------------------------------------- history


def test_a_withdrawal_is_a_new_row_and_the_newest_row_is_the_state(rt):
    with rt.session() as session, session.begin():
        purpose(session)
        anna = person(session)
        consents.give(session, anna, "newsletter", "form", WORDING)
        assert consents.has_consent(session, anna.id, "newsletter")
    with rt.session() as session, session.begin():
        anna = session.get(Person, anna.id)
        consents.withdraw(session, anna, "newsletter", "staff", "Asked by phone to stop.")
    with rt.session() as session:
        anna = session.get(Person, anna.id)
        state = consents.current(session, anna)["newsletter"]
        assert (state.consent.state, state.valid) == ("withdrawn", False)
        assert not consents.has_consent(session, anna.id, "newsletter")
        rows = consents.history(session, anna)
        assert [(r.state, r.source, r.evidence) for r in rows] == [
            ("withdrawn", "staff", "Asked by phone to stop."), ("given", "form", WORDING)]
        events = timeline.timeline(session, anna)
        assert [(a.event, a.subject) for a in events][:2] == [
            ("consent_withdrawn", "Newsletter"), ("consent_given", "Newsletter")]
        assert timeline.label(events[0]) == "Consent withdrawn"
        trail = session.scalars(select(AuditEntry).where(AuditEntry.record_type == "consents")
                                .order_by(AuditEntry.id)).all()
        assert [(e.action, e.changes["state"][1]) for e in trail] == [
            ("create", "given"), ("create", "withdrawn")]


def test_giving_again_renews_and_the_purposes_retention_makes_a_consent_expire(rt):
    with rt.session() as session, session.begin():
        purpose(session, "survey", retention_days=30)
        anna = person(session)
        consents.give(session, anna, "survey", "import", WORDING, at=utcnow() - timedelta(40))
        assert not consents.current(session, anna)["survey"].valid
        consents.give(session, anna, "survey", "staff", WORDING)
        assert consents.current(session, anna)["survey"].valid
        assert len(consents.history(session, anna)) == 2


@pytest.mark.parametrize("change, errors", [
    (dict(purpose="newsletter", source="form", evidence="  "),
     {"evidence": "Give the exact wording the person agreed to."}),
    (dict(purpose="no_such_purpose", source="form", evidence=WORDING),
     {"purpose": "Choose a processing purpose from the register."}),
    (dict(purpose="newsletter", source="pigeon", evidence=WORDING),
     {"source": "Choose where the consent comes from."}),
    (dict(purpose="old", source="form", evidence=WORDING),
     {"purpose": "This purpose is no longer in use; consent to it cannot be given."}),
    (dict(purpose="newsletter", source="form", evidence="x" * 20001),
     {"evidence": "At most 20000 characters."}),
])
def test_bad_consents_are_refused_by_field_and_nothing_is_written(rt, change, errors):
    with rt.session() as session, session.begin():
        purpose(session)
        consents.deactivate_purpose(session, purpose(session, "old"))
        anna = person(session)
    activities = count(rt, Activity)
    with rt.session() as session, session.begin():
        with pytest.raises(ValidationError) as caught:
            consents.give(session, session.get(Person, anna.id), change["purpose"],
                          change["source"], change["evidence"])
    assert caught.value.errors == errors
    assert count(rt, Consent) == 0
    assert count(rt, Activity) == activities


def test_only_a_given_consent_can_be_withdrawn_and_any_purpose_can_be_withdrawn_from(rt):
    with rt.session() as session, session.begin():
        newsletter = purpose(session)
        anna = person(session)
        with pytest.raises(ValidationError) as caught:
            consents.withdraw(session, anna, "newsletter", "staff")
        assert caught.value.errors == {
            "purpose": "There is no consent to this purpose to withdraw."}
        consents.give(session, anna, newsletter, "form", WORDING)
        consents.deactivate_purpose(session, newsletter)
        assert not consents.has_consent(session, anna.id, "newsletter")
        consents.withdraw(session, anna, "newsletter", "portal")  # still possible
        with pytest.raises(ValidationError) as caught:
            consents.change(session, anna, "maybe", "newsletter", "form", WORDING)
        assert list(caught.value.errors) == ["state"]
        with pytest.raises(ValidationError) as caught:
            consents.give(session, anna, "newsletter", "form", WORDING,
                          at=utcnow() + timedelta(days=1))
        assert set(caught.value.errors) == {"at", "purpose"}


# --------------------------------------------------------------------- the filter language


@pytest.fixture
def card_index(rt):
    """Anna consents; Beata withdrew; Celina never did; Dorota consents to another
    purpose; Ewa's consent ran out with the purpose's retention."""
    with rt.session() as session, session.begin():
        purpose(session)
        purpose(session, "survey", retention_days=365)
        for first in ("Anna", "Beata", "Celina", "Dorota", "Ewa"):
            person(session, first, "Nowak")
        named = {p.first_name: p for p in session.scalars(select(Person))}
        consents.give(session, named["Anna"], "newsletter", "form", WORDING)
        consents.give(session, named["Beata"], "newsletter", "form", WORDING,
                      at=utcnow() - timedelta(days=2))
        consents.withdraw(session, named["Beata"], "newsletter", "form", "Unsubscribed.")
        consents.give(session, named["Dorota"], "survey", "form", WORDING)
        consents.give(session, named["Ewa"], "survey", "import", WORDING,
                      at=utcnow() - timedelta(days=400))
    return named


def test_the_consent_filter_selects_only_people_with_a_valid_consent(rt, app, card_index):
    assert matching(rt, app, {"consent": "newsletter"}) == {"Anna"}
    assert matching(rt, app, {"consent": {"purpose": "survey"}}) == {"Dorota"}
    assert matching(rt, app, {"not": {"consent": "newsletter"}}) == {
        "Beata", "Celina", "Dorota", "Ewa"}
    assert matching(rt, app, {"and": [{"consent": "newsletter"},
                                      {"field": "last_name", "op": "eq", "value": "nowak"}]}
                    ) == {"Anna"}
    with rt.session() as session:
        for first, p in card_index.items():
            assert consents.has_consent(session, p.id, "newsletter") == (first == "Anna")


def test_the_consent_filter_is_sql_and_works_in_segments(rt, app, card_index):
    sql = str(filters.compile_filter(Person, {"consent": "newsletter"}).compile(rt.engine))
    assert "consents" in sql and "processing_purposes" in sql
    with rt.session() as session, session.begin():
        boss = users.create_user(session, "boss@example.com", "correct horse battery",
                                 is_admin=True)
        segment = segments.save(session, "Newsletter", "person", {"consent": "newsletter"},
                                boss)
    with app.test_request_context():
        from core.web.db import db

        stored = segments.get(db(), segment.id, boss)
        query = segments.members(db(), stored, boss)
        assert [p.first_name for p in db().scalars(query)] == ["Anna"]
        assert segments.count(db(), stored, boss) == 1


@pytest.mark.parametrize("spec, model, message", [
    ({"consent": "no_such"}, Person, "There is no processing purpose 'no_such'."),
    ({"consent": {"purpose": 5}}, Person,
     'Give the key of a processing purpose, e.g. {"consent": "newsletter"}.'),
    ({"consent": {"purpose": "newsletter", "x": 1}}, Person,
     'Give the key of a processing purpose, e.g. {"consent": "newsletter"}.'),
    ({"consent": "newsletter"}, Organisation,
     "The condition 'consent' cannot be used for organisations."),
])
def test_bad_consent_conditions_are_refused_with_their_path(rt, app, card_index, spec, model,
                                                            message):
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        filters.compile_filter(model, spec)
    assert caught.value.errors == {"filter.consent": message}


# --------------------------------------------------------------------- the register


def test_the_register_refuses_bad_purposes_field_by_field(rt):
    with rt.session() as session, session.begin():
        purpose(session)
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as caught:
        consents.create_purpose(session, {"key": "Newsletter!", "name": " ",
                                          "legal_basis": "whim", "retention_days": 0,
                                          "data_categories": "e-mail"})
    assert caught.value.errors == {
        "key": "Use 1 to 64 small letters, digits and underscores.",
        "name": "Enter a name.", "legal_basis": "Choose a legal basis from the list.",
        "data_categories": "Not a valid list.",
        "retention_days": "Give a number of days from 1 to 36500, or leave it empty for "
                          "no limit."}
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as caught:
        purpose(session)
    assert caught.value.errors == {"key": "Another purpose already has this key."}
    assert count(rt, ProcessingPurpose) == 1


def test_a_purpose_is_changed_and_deactivated_with_its_key_kept_and_audited(rt):
    with rt.session() as session, session.begin():
        newsletter = purpose(session, data_categories=["name", " e-mail ", "name", ""])
        assert newsletter.data_categories == ["name", "e-mail"]
        consents.update_purpose(session, newsletter, {
            "key": "renamed", "name": "Monthly newsletter", "legal_basis": "consent",
            "retention_days": 730})
        consents.deactivate_purpose(session, newsletter)
    with rt.session() as session:
        stored = session.get(ProcessingPurpose, newsletter.id)
        assert (stored.key, stored.name, stored.retention_days, stored.active) == (
            "newsletter", "Monthly newsletter", 730, False)
        assert [p.key for p in consents.purposes(session, active_only=True)] == []
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.record_type == "processing_purposes").order_by(AuditEntry.id)).all()
        assert actions == ["create", "update", "update"]


# --------------------------------------------------------------------- the API


@pytest.fixture
def api(app, rt):
    with rt.session() as session, session.begin():
        user = users.create_user(session, "api@example.com", "correct horse battery",
                                 is_admin=True)
        token = tokens.create(session, user, "test")[1]
    client = app.test_client()

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


def test_the_api_gives_withdraws_and_lists_consents(rt, api):
    with rt.session() as session, session.begin():
        purpose(session)
        anna = person(session)
    given = api("post", f"/people/{anna.id}/consents",
                json={"purpose": "newsletter", "evidence": WORDING})
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["purpose"] == "newsletter"
    assert given.get_json()["source"] == "api"
    withdrawn = api("post", f"/people/{anna.id}/consents",
                    json={"purpose": "newsletter", "state": "withdrawn", "source": "form"})
    assert withdrawn.status_code == 201
    listed = api("get", f"/people/{anna.id}/consents").get_json()
    assert [(c["purpose"], c["state"], c["valid"]) for c in listed["current"]] == [
        ("newsletter", "withdrawn", False)]
    assert [c["state"] for c in listed["history"]] == ["withdrawn", "given"]
    paths = api("get", "/openapi.json").get_json()["paths"]
    assert "/api/v1/people/{record_id}/consents" in paths


@pytest.mark.parametrize("body, field, message", [
    ({"purpose": "newsletter"}, "evidence", "Give the exact wording the person agreed to."),
    ({"purpose": "nope", "evidence": WORDING}, "purpose",
     "Choose a processing purpose from the register."),
    ({"purpose": "newsletter", "evidence": WORDING, "actor_id": 1}, "actor_id",
     "Unknown field."),
    ({"purpose": "newsletter", "evidence": WORDING, "state": "maybe"}, "state",
     "Must be one of: given, withdrawn."),
])
def test_the_api_refuses_bad_consents_with_field_errors(rt, api, body, field, message):
    with rt.session() as session, session.begin():
        purpose(session)
        anna = person(session)
    response = api("post", f"/people/{anna.id}/consents", json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"][field] == message
    assert count(rt, Consent) == 0


def test_the_api_answers_404_for_an_unknown_person(api):
    assert api("get", "/people/999999/consents").status_code == 404
    response = api("post", "/people/999999/consents",
                   json={"purpose": "newsletter", "evidence": WORDING})
    assert response.status_code == 404


def test_the_filter_reaches_the_api_list(rt, api, card_index):
    spec = json.dumps({"consent": "newsletter"})
    found = api("get", f"/people/?filter={spec}").get_json()["items"]
    assert [p["first_name"] for p in found] == ["Anna"]
