"""Usage figures per period and the data-quality report (seed 001)."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from core import organisations, people, quality, timeline, usage
from core.db import utcnow
from core.errors import ValidationError
from core.models import Organisation, UsageEvent


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def org(session, host, name, **extra):
    return organisations.create(session, host, {"name": name, "type_key": "core.company",
                                                **extra}, allow_duplicates=True)


def test_logins_exports_and_records_added_are_counted_per_period(kartoteka_app_factory,
                                                                  kartoteka_login):
    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    kartoteka_login(app.test_client())
    kartoteka_login(app.test_client())
    start = utcnow() - timedelta(hours=1)
    with rt.session() as session, session.begin():
        usage.record(session, "export", None, "organisation")
        org(session, rt.host, "Alfa")
        org(session, rt.host, "Beta")
        people.create(session, {"first_name": "Jan", "last_name": "Kos"})
    with rt.session() as session:
        found = usage.summary(session, start, utcnow() + timedelta(seconds=1))
    assert (found.active_users, found.logins, found.exports) == (1, 2, 1)
    assert found.created["organisation"] == 2 and found.created["person"] == 1
    assert found.records_added == 3


def test_a_drop_in_use_shows_against_the_previous_period(rt):
    now = utcnow()
    with rt.session() as session, session.begin():
        for days_ago in (10, 9, 8, 2):  # three logins last week, one this week
            session.add(UsageEvent(kind="login", occurred_at=now - timedelta(days=days_ago)))
    with rt.session() as session:
        result = usage.compare(session, now - timedelta(days=7), now)
    assert (result.previous.logins, result.current.logins) == (3, 1)
    assert result.change("logins") == -66.7
    assert result.change("exports") is None


def test_an_unknown_usage_kind_is_a_programming_error(rt):
    with rt.session() as session, pytest.raises(ValueError):
        usage.record(session, "coffee")


def test_the_quality_report_lists_records_missing_required_fields(rt):
    with rt.session() as session, session.begin():
        quality.set_rule(session, "organisation", ["nip", "city", "custom.segment"], None)
        complete = org(session, rt.host, "Pełna", nip="7773061579", city="Kórnik")
        complete.custom = {"segment": "A"}
        org(session, rt.host, "Bez NIP", city="Poznań")
        org(session, rt.host, "Pusta")
    with rt.session() as session:
        found = {f.record.name: f for f in quality.report(session, "organisation")}
        assert quality.count(session, "organisation") == 2
    assert set(found) == {"Bez NIP", "Pusta"}
    assert found["Bez NIP"].missing == ["nip", "custom.segment"]
    assert found["Bez NIP"].completeness == 33
    assert found["Pusta"].completeness == 0


def test_a_record_without_activity_or_change_goes_stale(rt):
    long_ago = utcnow() - timedelta(days=400)
    with rt.session() as session, session.begin():
        quality.set_rule(session, "organisation", [], 365)
        quiet = org(session, rt.host, "Cicha")
        called = org(session, rt.host, "Dzwoniona")
        org(session, rt.host, "Świeża")
        session.execute(update(Organisation).where(Organisation.id.in_([quiet.id, called.id]))
                        .values(updated_at=long_ago))
        timeline.add(session, "call", "Telefon", [called])
    with rt.session() as session:
        found = quality.report(session, "organisation")
    assert [(f.record.name, f.stale) for f in found] == [("Cicha", True)]


def test_quality_rules_refuse_unknown_fields_and_bad_days(rt):
    with rt.session() as session:
        with pytest.raises(ValidationError) as bad_field:
            quality.set_rule(session, "organisation", ["nip", "id; drop table"], None)
        assert "id; drop table" in bad_field.value.errors["required"]
        with pytest.raises(ValidationError) as bad_days:
            quality.set_rule(session, "person", [], 0)
        assert set(bad_days.value.errors) == {"stale_days"}
        with pytest.raises(ValidationError):
            quality.set_rule(session, "invoice", [], 5)
    with rt.session() as session:
        assert quality.report(session, "organisation") == []


def test_administrators_see_usage_and_quality_pages_others_do_not(kartoteka_app_factory,
                                                                   kartoteka_login):
    app = kartoteka_app_factory()
    rt = app.extensions["kartoteka"]
    admin = kartoteka_login(app.test_client())
    page = admin.get("/admin/usage?period=week")
    assert page.status_code == 200 and "Aktywni użytkownicy" in page.text
    saved = admin.post("/admin/quality/organisation",
                       data={"required": "nip\ncity", "stale_days": "30"})
    assert saved.status_code == 302
    with rt.session() as session, session.begin():
        org(session, rt.host, "Bez danych")
    report = admin.get("/admin/quality/organisation").text
    assert "Bez danych" in report and "nip, city" in report
    refused = admin.post("/admin/quality/organisation", data={"required": "hasło"})
    assert refused.status_code == 200 and "hasło" in refused.text
    assert admin.get("/admin/quality/invoice").status_code == 404

    with rt.session() as session, session.begin():
        from core import users

        users.create_user(session, "staff@example.com", "staff-password-1")
    staff = kartoteka_login(app.test_client(), "staff@example.com", "staff-password-1")
    assert staff.get("/admin/usage").status_code == 403
    assert staff.get("/admin/quality/organisation").status_code == 403
