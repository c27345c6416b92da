"""Importing in batches: what each row meets, and what plugins, search and the trail see.

Rows are cleaned one by one, looked up for duplicates a batch at a time and written in
bulk; these tests hold that to what the services do for a single record.
"""

import csv
import io

import pytest
from sqlalchemy import select

from core import ValidationError, audit, hookimpl, importing, people, records, search
from core.models import AuditEntry, Person

PESEL = "44051401359"
HEADERS = ["Imię", "Nazwisko", "PESEL", "E-mail", "Telefon", "Miejscowość"]
MAPPING = {"Imię": "first_name", "Nazwisko": "last_name", "PESEL": "pesel",
           "E-mail": "emails", "Telefon": "phones", "Miejscowość": "city"}


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


class Listener:
    """A plugin written in the test: refuses Kowalski, and notes every new person."""

    def __init__(self):
        self.heard, self.versions = [], []

    @hookimpl
    def kartoteka_before_record_save(self, record, changes):
        if isinstance(record, Person) and changes.get("last_name", (None, ""))[1] == \
                "Kowalski":
            raise ValidationError({"last_name": "Kowalski may not be imported here."})

    @hookimpl
    def kartoteka_record_created(self, record):
        if isinstance(record, Person):
            self.heard.append((record.id, record.full_name, record.contact_values("email")))
            self.versions.append((record.version, record.created_at is not None))


@pytest.fixture
def listener(rt):
    plugin = Listener()
    rt.host.pm.register(plugin, name="listener")
    return plugin


def csv_file(tmp_path, rows, name="osoby.csv"):
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows([HEADERS, *rows])
    path = tmp_path / name
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def run(rt, path, **options):
    return importing.run_import(rt.session, rt.host, path, "person", MAPPING, **options)


def person(rt, **values) -> int:
    with rt.session() as session, session.begin():
        return people.create(session, values, allow_duplicates=True).id


def stored(rt) -> list:
    with rt.session() as session:
        return [(p.id, p.full_name, p.pesel, p.contact_values("email"),
                 p.contact_values("phone"))
                for p in session.scalars(select(Person).order_by(Person.id))]


def test_rows_meet_duplicates_in_their_batch_in_earlier_batches_and_in_the_database(
        rt, tmp_path):
    zofia = person(rt, first_name="Zofia", last_name="Mazur", pesel=PESEL,
                   phones=["600 100 200"])
    gone = person(rt, first_name="Teresa", last_name="Lis", emails=["teresa@lis.pl"])
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Person, gone))
    path = csv_file(tmp_path, [
        ["Anna", "Nowak", "", "anna@nowak.pl", "601 200 300", "Kórnik"],
        ["Jan", "Wiśniewski", "", "ANNA@nowak.pl", "", "Mosina"],  # same batch
        ["Ewa", "Zielińska", PESEL, "", "", "Śrem"],  # the database, by PESEL
        ["Piotr", "Wójcik", "", "", "+48 601-200-300", "Luboń"],  # an earlier batch
        ["Anna", "Nowakowa", "", "", "", "Kórnik"],  # a similar name only
        ["Maria", "Dąbrowska", "", "teresa@lis.pl", "", "Puszczykowo"],  # one in the bin
        ["Agata", "Mazur", "", "", "600100200", "Dopiewo"],  # the database, by phone
    ])
    report = run(rt, path, batch_size=3)
    anna = gone + 1
    assert (report.created, report.skipped, report.failed) == (2, 5, 0)
    assert [(d.row, d.action, d.record_id, d.candidates) for d in report.duplicates] == [
        (3, "skipped", None, [{"id": anna, "reasons": ["same e-mail"], "strong": True}]),
        (4, "skipped", None, [{"id": zofia, "reasons": ["same PESEL"], "strong": True}]),
        (5, "skipped", None, [{"id": anna, "reasons": ["same phone"], "strong": True}]),
        (6, "skipped", None, [{"id": anna, "reasons": ["similar name"], "strong": False}]),
        (8, "skipped", None, [{"id": zofia, "reasons": ["same phone"], "strong": True}]),
    ]
    assert [name for _id, name, *_ in stored(rt)] == [
        "Zofia Mazur", "Teresa Lis", "Anna Nowak", "Maria Dąbrowska"]


def test_the_strongest_candidate_comes_first_and_a_name_adds_to_its_reasons(rt, tmp_path):
    namesake = person(rt, first_name="Anna", last_name="Nowak")
    same = person(rt, first_name="Anna", last_name="Nowak", emails=["anna@nowak.pl"])
    path = csv_file(tmp_path, [["Anna", "Nowak", "", "anna@nowak.pl", "", ""]])
    report = run(rt, path, on_duplicate="create")
    assert report.duplicates[0].candidates == [
        {"id": same, "reasons": ["same e-mail", "same name"], "strong": True},
        {"id": namesake, "reasons": ["same name"], "strong": False}]
    assert report.duplicates[0].record_id == same + 1


def test_a_row_may_update_a_person_created_earlier_in_the_same_batch(rt, tmp_path):
    path = csv_file(tmp_path, [
        ["Anna", "Nowak", PESEL, "anna@nowak.pl", "", "Kórnik"],
        ["Anna", "Nowak", PESEL, "", "601 200 300", ""],
        ["Jan", "Wiśniewski", "", "jan@kornik.pl", "", "Mosina"],
    ])
    report = run(rt, path, on_duplicate="update")
    assert (report.created, report.updated) == (2, 1)
    [anna, jan] = stored(rt)
    assert anna[1:] == ("Anna Nowak", PESEL, ["anna@nowak.pl"], ["+48601200300"])
    assert jan[1:] == ("Jan Wiśniewski", "", ["jan@kornik.pl"], [])
    [duplicate] = report.duplicates
    assert (duplicate.row, duplicate.action, duplicate.record_id) == (3, "updated", anna[0])
    assert duplicate.candidates[0]["reasons"] == ["same PESEL", "same name"]


def test_a_later_row_sees_a_person_as_an_earlier_row_has_changed_them(rt, tmp_path):
    other = "02070803628"
    path = csv_file(tmp_path, [
        ["Anna", "Nowak", PESEL, "anna@nowak.pl", "", ""],
        ["Anna", "Nowak", other, "anna@nowak.pl", "", ""],  # updates Anna's PESEL
        ["Ewa", "Zielińska", PESEL, "", "", ""],  # Anna's PESEL as it was: no one's now
    ])
    report = run(rt, path, on_duplicate="update")
    assert (report.created, report.updated) == (2, 1)
    [anna, ewa] = stored(rt)
    assert (anna[1:3], ewa[1:3]) == (("Anna Nowak", other), ("Ewa Zielińska", PESEL))
    assert [(d.row, d.record_id, d.candidates[0]["reasons"]) for d in report.duplicates] == [
        (3, anna[0], ["same e-mail", "same name"])]


def test_plugins_hear_of_each_imported_person_once_it_is_committed(rt, listener, tmp_path):
    path = csv_file(tmp_path, [
        ["Anna", "Nowak", "", "anna@nowak.pl", "", ""],
        ["Jan", "Wiśniewski", "", "jan@kornik.pl", "", ""],
        ["Ewa", "Zielińska", "", "", "", ""],
    ])
    run(rt, path, dry_run=True)
    assert listener.heard == []
    run(rt, path, batch_size=2)
    assert listener.heard == [(person_id, name, emails)
                              for person_id, name, _pesel, emails, _ in stored(rt)]
    assert [name for _id, name, _emails in listener.heard] == [
        "Anna Nowak", "Jan Wiśniewski", "Ewa Zielińska"]
    assert listener.versions == [(1, True)] * 3


def test_a_plugins_veto_refuses_the_row_under_its_column_and_leaves_no_trace(
        rt, listener, tmp_path):
    path = csv_file(tmp_path, [
        ["Anna", "Nowak", "", "anna@nowak.pl", "", ""],
        ["Jan", "Kowalski", "", "jan@kornik.pl", "", ""],
        ["Jan", "Wiśniewski", "", "jan@kornik.pl", "", ""],
    ])
    report = run(rt, path)
    assert [(e.row, e.field, e.column, e.message) for e in report.errors] == [
        (3, "last_name", "Nazwisko", "Kowalski may not be imported here.")]
    assert report.errors[0].values["Nazwisko"] == "Kowalski"
    # The refused row is no one's duplicate: the next row with its e-mail goes in.
    assert (report.created, report.failed, report.skipped) == (2, 1, 0)
    assert [name for _id, name, *_ in stored(rt)] == ["Anna Nowak", "Jan Wiśniewski"]


def test_an_imported_person_is_found_by_search_as_soon_as_the_import_ends(rt, tmp_path):
    path = csv_file(tmp_path, [["Żaneta", "Łęcka", PESEL, "zaneta@lecka.pl",
                                "601 200 300", "Kórnik"]])
    run(rt, path)
    [(imported, *_)] = stored(rt)
    with rt.session() as session:
        for typed in ("zane", "Łęck", "zaneta@lecka", "601 200", PESEL):
            found = search.search(session, typed, types=("person",))
            assert [(h.record_type, h.record_id) for h in found] == [("person", imported)], \
                typed


def test_each_imported_person_has_the_trail_entry_a_form_would_leave_and_a_dry_run_none(
        rt, tmp_path):
    row = ["Anna", "Nowak", PESEL, "anna@nowak.pl", "601 200 300", "Kórnik"]
    run(rt, csv_file(tmp_path, [row]), dry_run=True)
    with rt.session() as session:
        assert session.scalars(select(AuditEntry)).all() == []
    by_form = person(rt, first_name="Anna", last_name="Nowak", pesel=PESEL,
                     emails=["anna@nowak.pl"], phones=["601 200 300"],
                     addresses=[{"city": "Kórnik"}])
    run(rt, csv_file(tmp_path, [row]), on_duplicate="create")
    [by_form_entry, imported_entry] = [_entry(rt, person_id)
                                       for person_id, *_ in stored(rt)]
    assert (imported_entry.action, imported_entry.door, imported_entry.summary) == (
        "create", "import", "Anna Nowak")
    assert imported_entry.record_id == by_form + 1
    assert imported_entry.changes["emails"] == [None, ["anna@nowak.pl"]]
    assert _columns(imported_entry) == {**_columns(by_form_entry), "door": "import"}


def _columns(entry: AuditEntry) -> dict:
    """What an entry says, without what differs between any two entries."""
    return {c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns
            if c.key not in ("id", "at", "record_id")}


def _entry(rt, person_id: int) -> AuditEntry:
    with rt.session() as session:
        [entry] = session.scalars(audit.of_record("person", person_id)).all()
        return entry


def test_people_added_after_an_import_get_ids_of_their_own(rt, tmp_path):
    run(rt, csv_file(tmp_path, [["Anna", "Nowak", "", "", "", ""],
                                ["Jan", "Wiśniewski", "", "", "", ""]]), dry_run=True)
    run(rt, csv_file(tmp_path, [["Ewa", "Zielińska", "", "", "", ""],
                                ["Piotr", "Wójcik", "", "", "", ""]]))
    later = person(rt, first_name="Maria", last_name="Dąbrowska")
    run(rt, csv_file(tmp_path, [["Agata", "Lis", "", "", "", ""]], name="druga.csv"))
    ids = [person_id for person_id, *_ in stored(rt)]
    assert len(set(ids)) == 4 and ids == sorted(ids) and ids[2] == later
