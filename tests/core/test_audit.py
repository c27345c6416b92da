"""The audit trail: every change through the one write path leaves exactly one entry."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core import (
    audit,
    calendar,
    hookimpl,
    importing,
    memberships,
    merge,
    organisations,
    people,
    records,
    tasks,
    users,
)
from core.errors import ValidationError
from core.models import AuditEntry, Organisation, Person, User


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def trail(rt, record=None) -> list[AuditEntry]:
    """Entries oldest first, of one record (given as (type, id) or a record) or all."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if record is not None:
        record_type, record_id = record if isinstance(record, tuple) else \
            (audit.record_type_of(record), record.id)
        query = query.where(AuditEntry.record_type == record_type,
                            AuditEntry.record_id == record_id)
    with rt.session() as session:
        return list(session.scalars(query))


def org(session, rt, name="Gmina Kórnik", actor=None, **fields) -> Organisation:
    return organisations.create(session, rt.host, {"name": name, "type_key": "core.municipality",
                                                   **fields}, actor, allow_duplicates=True)


def person(session, first="Anna", last="Nowak", actor=None, **fields) -> Person:
    return people.create(session, {"first_name": first, "last_name": last, **fields}, actor,
                         allow_duplicates=True)


def admin(session) -> User:
    return users.create_user(session, "admin@example.com", "correct horse battery",
                             "Ala Admin", is_admin=True)


# --- what is recorded ---------------------------------------------------------------------

def test_create_change_bin_restore_and_purge_each_leave_one_entry(rt):
    with rt.session() as session, session.begin():
        boss = admin(session)
        kornik = org(session, rt, actor=boss, city="Kórnik")
    with rt.session() as session, session.begin():
        kornik = session.get(Organisation, kornik.id)
        organisations.update(session, rt.host, kornik, {"name": "Gmina i Miasto Kórnik"}, boss)
        records.soft_delete(session, kornik, boss)
        records.restore(session, kornik, boss)
        records.delete(session, kornik, boss)
    entries = trail(rt, ("organisation", kornik.id))
    assert [(e.action, e.actor_id, e.door) for e in entries] == [
        ("create", boss.id, "system"), ("update", boss.id, "system"),
        ("delete", boss.id, "system"), ("restore", boss.id, "system"),
        ("purge", boss.id, "system")]
    created, renamed, binned, restored, purged = entries
    # What was typed, not bookkeeping (ids, version, the name's search key) nor empty fields.
    assert created.changes == {"name": [None, "Gmina Kórnik"],
                               "type_key": [None, "core.municipality"],
                               "city": [None, "Kórnik"], "country": [None, "PL"]}
    assert renamed.changes == {"name": ["Gmina Kórnik", "Gmina i Miasto Kórnik"]}
    assert renamed.summary == "Gmina i Miasto Kórnik"
    assert binned.changes["deleted_at"][0] is None
    assert datetime.fromisoformat(binned.changes["deleted_at"][1]).tzinfo is not None
    assert restored.changes["deleted_at"][1] is None
    assert purged.changes["name"] == ["Gmina i Miasto Kórnik", None]


def test_a_change_to_nothing_new_leaves_no_entry(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt)
        organisations.update(session, rt.host, kornik, {"name": "Gmina Kórnik"})
    assert [e.action for e in trail(rt, kornik)] == ["create"]


def test_a_rolled_back_change_leaves_no_entry_and_a_committed_one_always_has_one(rt):
    with rt.session() as session:
        org(session, rt, "Wycofana")
        session.rollback()
    assert trail(rt) == []

    with rt.session() as session, session.begin():
        kept = org(session, rt, "Zapisana")
        with pytest.raises(ValidationError):
            with session.begin_nested():
                org(session, rt, "Z błędem w wierszu")
                raise ValidationError({"name": "refused"})
    assert [(e.action, e.summary) for e in trail(rt)] == [("create", "Zapisana")]
    assert trail(rt)[0].record_id == kept.id


def test_a_vetoed_change_leaves_no_entry(rt):
    class Veto:
        @hookimpl
        def kartoteka_before_record_save(self, record, changes, actor):
            if "notes" in changes and changes["notes"][1]:
                raise ValidationError({"notes": "Not today."})

    rt.host.pm.register(Veto(), name="veto")
    with rt.session() as session, session.begin():
        kornik = org(session, rt)
    with rt.session() as session:
        with pytest.raises(ValidationError):
            organisations.update(session, rt.host, session.get(Organisation, kornik.id),
                                 {"notes": "uwaga"})
        session.commit()
    assert [e.action for e in trail(rt, kornik)] == ["create"]


# --- doors --------------------------------------------------------------------------------

@pytest.mark.parametrize("door", ["api", "job", "plugin", "system"])
def test_the_door_of_a_change_is_the_one_it_came_through(rt, door):
    with rt.session() as session, session.begin(), audit.door(door):
        org(session, rt)
    assert [e.door for e in trail(rt)] == [door]


def test_doors_nest_and_the_outer_one_comes_back(rt):
    with rt.session() as session, session.begin():
        with audit.door("job"):
            org(session, rt, "W zadaniu")
            with audit.door("plugin"):
                org(session, rt, "Z wtyczki")
            org(session, rt, "Znów w zadaniu")
        org(session, rt, "Poza")
    assert [(e.summary, e.door) for e in trail(rt)] == [
        ("W zadaniu", "job"), ("Z wtyczki", "plugin"), ("Znów w zadaniu", "job"),
        ("Poza", "system")]


def test_an_unknown_door_is_refused():
    with pytest.raises(ValueError, match="unknown door 'mail'"):
        with audit.door("mail"):
            pass


def test_an_import_comes_through_the_import_door(rt, tmp_path):
    path = tmp_path / "gminy.csv"
    path.write_text("Nazwa;Typ\nGmina Kórnik;Gmina\nGmina Mosina;Gmina\n", encoding="utf-8")
    with rt.session() as session, session.begin():
        boss = admin(session)
    report = importing.run_import(rt.session, rt.host, path, "organisation",
                                  {"Nazwa": "name", "Typ": "type_key"}, actor=boss)
    assert report.created == 2
    imported = [e for e in trail(rt) if e.record_type == "organisation"]
    assert [(e.action, e.door, e.actor_id, e.summary) for e in imported] == [
        ("create", "import", boss.id, "Gmina Kórnik"), ("create", "import", boss.id,
                                                        "Gmina Mosina")]
    assert audit.current_door() == "system"


def test_a_dry_run_of_an_import_leaves_no_entry(rt, tmp_path):
    path = tmp_path / "gminy.csv"
    path.write_text("Nazwa;Typ\nGmina Kórnik;Gmina\n", encoding="utf-8")
    report = importing.run_import(rt.session, rt.host, path, "organisation",
                                  {"Nazwa": "name", "Typ": "type_key"}, dry_run=True)
    assert report.created == 1
    assert trail(rt) == []


def test_a_command_comes_through_the_command_line_door(cli, database_url):
    assert cli("init").returncode == 0
    made = cli("users", "create-admin", "--email", "ala@example.com",
               "--password", "długie hasło 123")
    assert made.returncode == 0, made.stderr
    from sqlalchemy.orm import Session

    from core.db import make_engine

    engine = make_engine(database_url)
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.record_type == "user")
                                .order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.door, entry.summary) == ("create", "cli", "ala@example.com")
        assert entry.changes["password_hash"] == [None, audit.HIDDEN]
    engine.dispose()


# --- values -------------------------------------------------------------------------------

def test_secrets_are_never_stored_only_that_they_changed(rt):
    with rt.session() as session, session.begin():
        boss = admin(session)
        calendar.ensure_feed_token(session, boss, boss)
        calendar.rotate_feed_token(session, boss, boss)
        token = boss.feed_token
    created, first_token, second_token = trail(rt, boss)
    assert created.changes["password_hash"] == [None, "***"]
    assert first_token.changes == {"feed_token": [None, "***"]}
    assert second_token.changes == {"feed_token": ["***", "***"]}
    with rt.session() as session:
        stored = " ".join(str(e.changes) for e in session.scalars(select(AuditEntry)))
    assert token not in stored and "argon2" not in stored


def test_dates_times_and_decimals_are_stored_as_text(rt):
    assert audit.stored_changes({
        "amount": (Decimal("12.50"), Decimal("13.00")),
        "due": (None, datetime(2025, 3, 1, 9, 30, tzinfo=UTC)),
        "day": (date(2025, 1, 2), None),
        "tags": ((), {"b"})}) == {
        "amount": ["12.50", "13.00"], "due": [None, "2025-03-01T09:30:00+00:00"],
        "day": ["2025-01-02", None], "tags": [[], ["b"]]}

    with rt.session() as session, session.begin():
        kornik = org(session, rt)
        anna = person(session)
        joined = memberships.join(session, anna, kornik, "skarbnik", date(2024, 1, 1))
        boss = admin(session)
        task = tasks.create(session, {"title": "Oddzwonić", "assignee_id": boss.id,
                                      "due_at": datetime(2025, 3, 1, 9, 30, tzinfo=UTC)})
    assert trail(rt, ("memberships", joined.id))[0].changes["start_date"] == \
        [None, "2024-01-01"]
    assert trail(rt, task)[0].changes["due_at"] == [None, "2025-03-01T09:30:00+00:00"]


def test_custom_field_values_are_recorded_one_by_one():
    assert audit.stored_changes({"custom": ({"members": 12, "since": "1990", "note": ""},
                                            {"members": 14, "since": "1990"})}) == {
        "custom.members": [12, 14]}
    assert audit.stored_changes({"custom": (None, {"members": 12, "since": date(1990, 1, 1)})}) \
        == {"custom.members": [None, 12], "custom.since": [None, "1990-01-01"]}


# --- merging ------------------------------------------------------------------------------

def test_a_merge_is_one_entry_on_each_record_naming_the_other(rt):
    with rt.session() as session, session.begin():
        boss = admin(session)
        keep = person(session, emails=["anna@kornik.pl"], actor=boss)
        drop = person(session, pesel="44051401359", emails=["anna.nowak@gmail.com"], actor=boss)
    with rt.session() as session, session.begin():
        merge.merge(session, session.get(Person, keep.id), session.get(Person, drop.id), boss)
    kept = trail(rt, keep)
    assert [e.action for e in kept] == ["create", "merge"]
    assert kept[-1].changes == {
        "pesel": ["", "44051401359"], "merged": [None, f"Anna Nowak (#{drop.id})"],
        "emails": [["anna@kornik.pl"], ["anna@kornik.pl", "anna.nowak@gmail.com"]]}
    assert kept[-1].actor_id == boss.id
    dropped = trail(rt, drop)
    assert [e.action for e in dropped] == ["create", "merge"]
    assert dropped[-1].changes["merged_into"] == [None, f"Anna Nowak (#{keep.id})"]
    assert dropped[-1].changes["deleted_at"][1] is not None


def test_a_merge_refused_leaves_no_entry(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt)
    with rt.session() as session:
        with pytest.raises(ValidationError):
            merge.merge(session, session.get(Organisation, kornik.id),
                        session.get(Organisation, kornik.id))
    assert [e.action for e in trail(rt)] == ["create"]


# --- reading ------------------------------------------------------------------------------

def test_a_records_history_comes_newest_first_a_page_at_a_time(rt):
    with rt.session() as session, session.begin():
        kornik = org(session, rt, "Gmina 0")
        for n in range(1, 6):
            organisations.update(session, rt.host, kornik, {"name": f"Gmina {n}"})
        other = org(session, rt, "Inna")
    with rt.session() as session:
        first = audit.page(session, audit.of_record("organisation", kornik.id), size=4)
        rest = audit.page(session, audit.of_record("organisation", kornik.id),
                          before=first.next_before, size=4)
    assert [e.summary for e in first.entries] == ["Gmina 5", "Gmina 4", "Gmina 3", "Gmina 2"]
    assert [e.summary for e in rest.entries] == ["Gmina 1", "Gmina 0"]
    assert rest.next_before is None
    assert other.id not in {e.record_id for e in first.entries + rest.entries}


def test_the_trail_is_filtered_by_actor_action_type_door_and_time(rt):
    with rt.session() as session, session.begin():
        boss = admin(session)
        kornik = org(session, rt, actor=boss)
        with audit.door("api"):
            person(session)
        records.soft_delete(session, kornik, boss)
    with rt.session() as session:
        def found(**filters) -> list[tuple[str, str]]:
            entries = session.scalars(audit.query(audit.Filters(**filters)))
            return [(e.record_type, e.action) for e in entries]

        assert found(actor_id=boss.id) == [("organisation", "delete"),
                                           ("organisation", "create")]
        assert found(action="delete") == [("organisation", "delete")]
        assert found(record_type="person") == [("person", "create")]
        assert found(door="api") == [("person", "create")]
        assert found(since=datetime(2000, 1, 1, tzinfo=UTC),
                     until=datetime(2000, 1, 2, tzinfo=UTC)) == []
        assert len(found(since=datetime(2000, 1, 1, tzinfo=UTC))) == 4
