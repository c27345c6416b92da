"""Importing organisations and people from CSV and XLSX files, as a user would."""

import csv
import datetime
import io
import tracemalloc

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import importing, organisations, people
from core.errors import ValidationError
from core.importing import ImportFileError
from core.models import ImportMapping, Organisation, Person

NIP = "7773061579"
PESEL = "44051401359"
HEADERS = ["Nazwa", "Typ", "NIP", "Miejscowość", "Kod pocztowy"]
MAPPING = {"Nazwa": "name", "Typ": "type_key", "NIP": "nip", "Miejscowość": "city",
           "Kod pocztowy": "postal_code"}
POLISH_ROWS = [
    ["Zakład Gospodarki Komunalnej w Łodzi", "Firma", "", "Łódź", "90-001"],
    ["Stowarzyszenie Gęśla Jaźń", "Stowarzyszenie", "", "Żółkiewka", "22-335"],
    ["Świętokrzyska Fundacja Ćmy", "Fundacja", "", "Końskie", "26200"],
]


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def csv_bytes(rows, delimiter=";", encoding="utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def csv_file(tmp_path, rows, delimiter=";", encoding="utf-8", name="plik.csv"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, delimiter, encoding))
    return path


def xlsx_file(tmp_path, rows, name="plik.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def read(source, filename=None) -> list:
    with importing.open_rows(source, filename) as table:
        return [table.headers, *((number, dict(row), row.problem) for number, row in table)]


def stored(rt, model=Organisation) -> list:
    with rt.session() as session:
        if model is Person:
            found = session.scalars(select(Person).order_by(Person.id).options(
                selectinload(Person.contacts), selectinload(Person.addresses))).all()
            return [(p.first_name, p.last_name, p.pesel, p.contact_values("email"),
                     p.contact_values("phone"),
                     [(a.street, a.postal_code, a.city) for a in p.addresses]) for p in found]
        found = session.scalars(select(Organisation).order_by(Organisation.id)).all()
        return [(o.name, o.type_key, o.nip, o.city, o.postal_code) for o in found]


def count(rt, model=Organisation) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def run(rt, path, mapping=MAPPING, record_type="organisation", **options):
    return importing.run_import(rt.session, rt.host, path, record_type, mapping, **options)


def errors(report) -> list:
    return [(e.row, e.field, e.column, e.message) for e in report.errors]


def add_organisation(rt, name="Betonex", city="Poznań", **fields) -> int:
    with rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {
            "name": name, "type_key": "core.company", "nip": NIP, "city": city,
            **fields}).id


# -- reading ------------------------------------------------------------------------------

EXPECTED_POLISH = [
    ("Zakład Gospodarki Komunalnej w Łodzi", "core.company", "", "Łódź", "90-001"),
    ("Stowarzyszenie Gęśla Jaźń", "core.association", "", "Żółkiewka", "22-335"),
    ("Świętokrzyska Fundacja Ćmy", "core.foundation", "", "Końskie", "26-200"),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1250"])
def test_utf8_and_windows_1250_files_with_polish_letters_import_identically(
        rt, tmp_path, encoding):
    path = csv_file(tmp_path, [HEADERS, *POLISH_ROWS], encoding=encoding)
    report = run(rt, path)
    assert (report.created, report.failed, report.errors) == (3, 0, [])
    assert stored(rt) == EXPECTED_POLISH


def test_a_windows_1250_file_is_not_misread_as_utf8(tmp_path):
    utf8 = read(csv_file(tmp_path, [HEADERS, *POLISH_ROWS], name="utf8.csv"))
    path = csv_file(tmp_path, [HEADERS, *POLISH_ROWS], encoding="cp1250", name="cp.csv")
    with path.open("rb") as raw:
        assert importing.detect_encoding(raw) == "cp1250"
    cp1250 = read(path)
    assert cp1250 == utf8
    text = repr(cp1250)
    assert "Łódź" in text and "Żółkiewka" in text
    for mojibake in ("Å", "Ã", "Ä", "\ufffd"):
        assert mojibake not in text


def test_the_encoding_is_decided_from_every_byte_not_only_the_start(tmp_path):
    # 100 kB of plain ASCII rows, then one with Polish letters in Windows-1250.
    rows = [HEADERS, *([f"Firma {i:05d}", "Firma", "", "Poznan", "60-001"]
                       for i in range(2000)), ["Łąka", "Firma", "", "Łódź", "90-001"]]
    path = csv_file(tmp_path, rows, encoding="cp1250")
    assert path.stat().st_size > importing.SAMPLE
    last = read(path)[-1]
    assert last == (2002, dict(zip(HEADERS, ["Łąka", "Firma", "", "Łódź", "90-001"],
                                   strict=True)), None)


@pytest.mark.parametrize(("content", "message"), [
    (b"Nazwa;Miasto\r\nAb\x81c;\x98\r\n",
     "The file is neither UTF-8 nor Windows-1250 text: save it as CSV in UTF-8 and import "
     "it again."),
    ("Nazwa;Miasto\r\nŁódź;Łódź\r\n".encode("utf-16"),
     "The file is saved as UTF-16: save it as CSV in UTF-8 and import it again."),
    ("Nazwa;Miasto\r\n".encode("utf-16-le"),
     "The file is neither UTF-8 nor Windows-1250 text: save it as CSV in UTF-8 and import "
     "it again."),
    (b"", "The file is empty: the first row must hold the column headers."),
    (b"\r\n\r\n", "The first row must hold the column headers, but it is empty."),
    (b"Nazwa;Typ;Nazwa\r\nA;B;C\r\n", "The column header Nazwa appears more than once: "
                                      "give every column its own name."),
    (b"Nazwa; ;Typ\r\nA;B;C\r\n", "Column 2 has no header: give every column a name in "
                                  "the first row."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
     "This is an old Excel file (XLS): save it as XLSX or CSV and import that."),
    (b"PK\x03\x04 not really a zip",
     "The file cannot be opened as an XLSX workbook: save it again from the spreadsheet "
     "program."),
], ids=["undefined-bytes", "utf-16", "utf-16-no-bom", "empty", "blank", "duplicate-header",
        "empty-header", "xls", "broken-xlsx"])
def test_a_file_that_cannot_be_read_as_a_table_is_refused_with_the_reason(content, message):
    with pytest.raises(ImportFileError) as refused:
        importing.open_rows(io.BytesIO(content), "plik.csv" if content[:2] != b"PK" else None)
    assert str(refused.value) == message


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_and_tab_delimiters_are_recognised(tmp_path, delimiter):
    rows = [["Nazwa", "Uwagi", "Miejscowość"],
            ["Kowalski, Nowak i Wspólnicy", "uwaga; z separatorami\tw środku", "Poznań"],
            ["Agrobud", "", "Kórnik"]]
    headers, *found = read(csv_file(tmp_path, rows, delimiter=delimiter))
    assert headers == rows[0]
    assert found == [(2, dict(zip(rows[0], rows[1], strict=True)), None),
                     (3, dict(zip(rows[0], rows[2], strict=True)), None)]


def test_headers_are_trimmed_and_blank_rows_passed_over_keeping_row_numbers(tmp_path):
    content = b"\xef\xbb\xbf Nazwa ; Typ ;\r\nAgrobud;Firma;\r\n;;\r\n\r\nBetonex;Firma;\r\n"
    assert read(io.BytesIO(content), "plik.csv") == [
        ["Nazwa", "Typ"],
        (2, {"Nazwa": "Agrobud", "Typ": "Firma"}, None),
        (5, {"Nazwa": "Betonex", "Typ": "Firma"}, None)]


def test_a_stream_that_cannot_seek_is_read_all_the_same(tmp_path):
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    content = csv_bytes([HEADERS, *POLISH_ROWS], encoding="cp1250")
    assert read(Pipe(content), "plik.csv") == read(io.BytesIO(content), "plik.csv")


def test_xlsx_cells_come_as_text_with_dates_in_iso_and_numbers_without_decimals(tmp_path):
    path = xlsx_file(tmp_path, [
        [" Nazwa ", "NIP", "Założona", "Godzina", "Kwota", None],
        ["Agrobud", 7773061579, datetime.date(2024, 3, 9), datetime.datetime(2024, 3, 9, 8, 30),
         12.5, None],
        [None, None, None, None, None, None],
        ["Betonex", "777-306-15-79", datetime.datetime(2020, 1, 2), None, 3.0, None],
    ])
    assert read(path) == [
        ["Nazwa", "NIP", "Założona", "Godzina", "Kwota"],
        (2, {"Nazwa": "Agrobud", "NIP": NIP, "Założona": "2024-03-09",
             "Godzina": "2024-03-09T08:30:00", "Kwota": "12.5"}, None),
        (4, {"Nazwa": "Betonex", "NIP": "777-306-15-79", "Założona": "2020-01-02",
             "Godzina": "", "Kwota": "3"}, None),
    ]
    with path.open("rb") as stream:  # no file name: recognised by its first bytes
        assert read(stream)[0] == ["Nazwa", "NIP", "Założona", "Godzina", "Kwota"]


# -- mapping ------------------------------------------------------------------------------

def test_polish_and_english_headers_are_mapped_to_fields():
    assert importing.suggest_mapping(
        ["Nazwa", "NIP", "Miejscowość", "Kod pocztowy", "Adres e-mail", "Telefon", "Typ",
         "Telefon 2", "Województwo", "Coś innego"], "organisation") == {
        "Nazwa": "name", "NIP": "nip", "Miejscowość": "city", "Kod pocztowy": "postal_code",
        "Adres e-mail": "email", "Telefon": "phone", "Typ": "type_key",
        "Województwo": "region"}
    assert importing.suggest_mapping(
        ["Company name", "TAX ID", "Miasto", "Postal code", "E-mail", "Phone", "Type"],
        "organisation") == {
        "Company name": "name", "TAX ID": "nip", "Miasto": "city",
        "Postal code": "postal_code", "E-mail": "email", "Phone": "phone", "Type": "type_key"}
    assert importing.suggest_mapping(
        ["Imię", "Nazwisko", "PESEL", "E-mail", "Adres e-mail 2", "Telefon", "Tel. 2",
         "Miejscowość", "Nazwa"], "person") == {
        "Imię": "first_name", "Nazwisko": "last_name", "PESEL": "pesel", "E-mail": "emails",
        "Adres e-mail 2": "emails", "Telefon": "phones", "Tel. 2": "phones",
        "Miejscowość": "city"}


def test_a_mapping_that_cannot_work_is_refused_column_by_column():
    headers = ["Nazwa", "Skrót", "Miasto", "Miejscowość", "Kolor"]
    with pytest.raises(ValidationError) as refused:
        importing.check_mapping(headers, "organisation", {
            "Nazwa": "name", "Skrót": "name", "Miasto": "city", "Miejscowość": "city",
            "Kolor": "colour", "Brak": "notes"})
    assert refused.value.errors == {
        "Skrót": "Column Nazwa is already mapped to Name: map only one column to it.",
        "Miejscowość": "Column Miasto is already mapped to City: map only one column to it.",
        "Kolor": "Choose a field from the list.",
        "Brak": "The file has no column Brak.",
        "type_key": "Map a column to Type: every record needs it.",
    }
    assert importing.check_mapping(headers, "organisation", {"Nazwa": "name", "Kolor": ""},
                                   defaults={"type_key": "core.company"}) == {"Nazwa": "name"}


def test_several_columns_may_feed_a_persons_emails_and_phones():
    headers = ["Imię", "Nazwisko", "E-mail", "E-mail 2", "Telefon", "Komórka"]
    mapping = importing.suggest_mapping(headers, "person")
    assert importing.check_mapping(headers, "person", mapping) == mapping
    with pytest.raises(ValidationError) as refused:
        importing.check_mapping(headers, "person", {"E-mail": "emails"})
    assert refused.value.errors == {"first_name": "Map a column to First name: every record "
                                                  "needs it.",
                                    "last_name": "Map a column to Last name: every record "
                                                 "needs it."}


def test_the_mapping_comes_back_for_a_file_with_the_same_headers_in_another_order(
        rt, tmp_path):
    mapping = {"Nazwa": "name", "Rodzaj": "type_key", "Kolumna X": "notes", "Miasto": ""}
    path = csv_file(tmp_path, [["Nazwa", "Rodzaj", "Miasto", "Kolumna X"],
                               ["Agrobud", "Firma", "Kórnik", "stały klient"]])
    report = run(rt, path, mapping)
    assert report.created == 1
    with rt.session() as session:
        assert importing.last_mapping(session, ["Kolumna X", "Miasto", "Nazwa", "Rodzaj"],
                                      "organisation") == {
            "Nazwa": "name", "Rodzaj": "type_key", "Kolumna X": "notes"}
        assert importing.last_mapping(session, ["Nazwa", "Rodzaj"], "organisation") is None
        assert importing.last_mapping(session, ["Kolumna X", "Miasto", "Nazwa", "Rodzaj"],
                                      "person") is None
    with rt.session() as session, session.begin():
        importing.remember_mapping(session, [" Rodzaj ", "Nazwa", "Miasto", "Kolumna X"],
                                   "organisation", {"Nazwa": "name", "Rodzaj": "type_key"})
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(ImportMapping)) == 1
        assert importing.last_mapping(session, ["Miasto", "Kolumna X", "Rodzaj", "Nazwa"],
                                      "organisation") == {"Nazwa": "name",
                                                          "Rodzaj": "type_key"}


# -- importing ----------------------------------------------------------------------------

def test_bad_rows_are_reported_with_row_and_field_while_the_others_go_in(rt, tmp_path):
    path = csv_file(tmp_path, [
        HEADERS,
        ["Agrobud", "Firma", "777-306-15-79", "Kórnik", "62035"],
        ["Betonex", "Firma", "123", "Mosina", "62-050"],
        ["", "Firma", "", "Śrem", "63-100"],
        ["Cegielnia", "Firma", "Puszczykowo", "62-040"],
        ["Drukarnia", "Firma", "", "Dopiewo", "62-070", "nadmiarowa"],
        ["Elektrownia", "Zamek", "", "Luboń", "62-030"],
        ["Fabryka Mebli", "firma", "", "Komorniki", "62-052"],
    ])
    report = run(rt, path)
    assert (report.rows, report.created, report.failed) == (7, 2, 5)
    assert errors(report) == [
        (3, "nip", "NIP", "The NIP must have 10 digits."),
        (4, "name", "Nazwa", "Enter a name."),
        (5, "_", "", "This row has 4 columns but the headers have 5: check for a missing "
                     "or extra separator."),
        (6, "_", "", "This row has 6 columns but the headers have 5: check for a missing "
                     "or extra separator."),
        (7, "type_key", "Typ", "Choose a type from the list."),
    ]
    assert report.errors[0].values == {"Nazwa": "Betonex", "Typ": "Firma", "NIP": "123",
                                       "Miejscowość": "Mosina", "Kod pocztowy": "62-050"}
    assert stored(rt) == [("Agrobud", "core.company", NIP, "Kórnik", "62-035"),
                          ("Fabryka Mebli", "core.company", "", "Komorniki", "62-052")]


def test_a_report_describes_the_first_bad_rows_but_counts_them_all(rt, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(importing, "REPORT_LIMIT", 2)
    rows = [HEADERS, *([f"{n} Firma", "Firma", "12", "", ""] for n in "ABCDE")]
    report = run(rt, csv_file(tmp_path, rows))
    assert report.failed == 5
    assert [e.row for e in report.errors] == [2, 3]


def test_a_row_whose_end_cannot_be_found_is_reported_and_the_rows_before_it_kept(
        rt, tmp_path):
    rows = [["Nazwa", "Typ"], ["Agrobud", "Firma"]]
    content = csv_bytes(rows) + b'"Betonex;Firma\r\n' + b"Cegielnia;Firma\r\n" * 10000
    path = tmp_path / "plik.csv"
    path.write_bytes(content)
    report = run(rt, path, {"Nazwa": "name", "Typ": "type_key"})
    assert (report.created, report.failed) == (1, 1)
    assert errors(report) == [(3, "_", "", "This row cannot be read, nor any row after it: "
                                           "check for a quotation mark that is never closed.")]


def test_organisation_types_are_accepted_by_key_or_by_polish_or_english_label(rt, tmp_path):
    rows = [["Nazwa", "Typ"], ["Agrobud", "core.company"], ["Betonex", "COMPANY"],
            ["Gmina Kórnik", "gmina"], ["Powiat Poznański", "County"],
            ["Urząd Marszałkowski", "Samorząd Województwa"]]
    report = run(rt, csv_file(tmp_path, rows), {"Nazwa": "name", "Typ": "type_key"})
    assert (report.created, report.errors) == (5, [])
    assert [t for _n, t, *_ in stored(rt)] == [
        "core.company", "core.company", "core.municipality", "core.county",
        "core.voivodeship"]


def test_defaults_fill_a_field_the_file_does_not_have(rt, tmp_path):
    path = csv_file(tmp_path, [["Nazwa", "Typ"], ["Agrobud", ""], ["Gmina Kórnik", "Gmina"]])
    report = run(rt, path, {"Nazwa": "name", "Typ": "type_key"},
                 defaults={"type_key": "core.company"})
    assert report.created == 2
    assert [t for _n, t, *_ in stored(rt)] == ["core.company", "core.municipality"]


@pytest.mark.parametrize(("policy", "counts", "expected"), [
    ("skip", (1, 0, 1), [("Betonex", "core.company", NIP, "Poznań", ""),
                         ("Agrobud", "core.company", "", "Kórnik", "")]),
    ("update", (1, 1, 0), [("Betonex Sp. z o.o.", "core.company", NIP, "Kórnik", "62-035"),
                           ("Agrobud", "core.company", "", "Kórnik", "")]),
    ("create", (2, 0, 0), [("Betonex", "core.company", NIP, "Poznań", ""),
                           ("Betonex Sp. z o.o.", "core.company", NIP, "Kórnik", "62-035"),
                           ("Agrobud", "core.company", "", "Kórnik", "")]),
])
def test_duplicates_are_skipped_updated_or_created_as_asked(rt, tmp_path, policy, counts,
                                                             expected):
    existing = add_organisation(rt)
    path = csv_file(tmp_path, [HEADERS,
                               ["Betonex Sp. z o.o.", "", "777-306-15-79", "Kórnik", "62035"],
                               ["Agrobud", "Firma", "", "Kórnik", ""]])
    report = run(rt, path, on_duplicate=policy, defaults={"type_key": "core.company"})
    assert (report.created, report.updated, report.skipped) == counts
    assert stored(rt) == expected
    [duplicate] = report.duplicates
    assert (duplicate.row, duplicate.action) == (2, {"skip": "skipped", "update": "updated",
                                                     "create": "created"}[policy])
    assert duplicate.candidates == [{"id": existing, "reasons": ["same NIP", "same name"],
                                     "strong": True}]
    assert duplicate.record_id == {"skip": None, "update": existing,
                                   "create": existing + 1}[policy]


def test_a_duplicate_within_the_file_is_found_like_one_in_the_database(rt, tmp_path):
    path = csv_file(tmp_path, [HEADERS, ["Agrobud", "Firma", NIP, "Kórnik", ""],
                               ["Agrobud S.A.", "Firma", NIP, "Mosina", ""]])
    report = run(rt, path)
    assert (report.created, report.skipped) == (1, 1)
    assert stored(rt) == [("Agrobud", "core.company", NIP, "Kórnik", "")]


def test_a_dry_run_reports_the_same_as_the_real_run_but_writes_nothing(rt, tmp_path):
    add_organisation(rt)
    path = csv_file(tmp_path, [
        HEADERS, ["Agrobud", "Firma", "", "Kórnik", "62035"],
        ["Betonex", "Firma", NIP, "Kórnik", ""], ["Cegielnia", "Firma", "12", "Śrem", ""],
        ["Agrobud", "Firma", "", "Mosina", ""]])

    def summary(report):
        return (report.rows, report.created, report.updated, report.skipped, report.failed,
                errors(report), [(d.row, d.action, d.candidates[0]["reasons"])
                                 for d in report.duplicates])

    dry = run(rt, path, on_duplicate="update", dry_run=True, batch_size=2)
    assert dry.dry_run
    assert stored(rt) == [("Betonex", "core.company", NIP, "Poznań", "")]
    with rt.session() as session:
        assert importing.last_mapping(session, HEADERS, "organisation") is None
    real = run(rt, path, on_duplicate="update", batch_size=2)
    assert summary(dry) == summary(real) == (
        4, 1, 2, 0, 1, [(4, "nip", "NIP", "The NIP must have 10 digits.")],
        [(3, "updated", ["same NIP", "same name"]), (5, "updated", ["same name"])])
    assert stored(rt) == [("Betonex", "core.company", NIP, "Kórnik", ""),
                          ("Agrobud", "core.company", "", "Mosina", "62-035")]
    with rt.session() as session:
        assert importing.last_mapping(session, HEADERS, "organisation") == MAPPING


def test_an_xlsx_file_imports_like_a_csv_one(rt, tmp_path):
    path = xlsx_file(tmp_path, [
        ["Nazwa", "Typ", "NIP", "Miejscowość", "Kod pocztowy"],
        ["Agrobud", "Company", 7773061579, "Kórnik", "62-035"],
        [None, None, None, None, None],
        ["Betonex", "Firma", 123, "Mosina", 62050],
    ])
    calls = []
    report = run(rt, path, progress=lambda *args: calls.append(args))
    assert (report.created, errors(report)) == (
        1, [(4, "nip", "NIP", "The NIP must have 10 digits.")])
    assert calls == [(2, path.stat().st_size, path.stat().st_size)]
    assert stored(rt) == [("Agrobud", "core.company", NIP, "Kórnik", "62-035")]


def test_people_get_every_email_and_phone_column_and_their_address(rt, tmp_path):
    headers = ["Imię", "Nazwisko", "PESEL", "E-mail", "E-mail 2", "Telefon", "Ulica",
               "Miejscowość", "Kod pocztowy"]
    path = csv_file(tmp_path, [
        headers,
        ["Anna", "Nowak", "440514 01359", "Anna.Nowak@Kornik.PL", "a.nowak@gmail.com",
         "600 100 200, 61 817 00 00", "Poznańska 1", "Kórnik", "62035"],
        ["Jan", "Kowalski", "", "jan@kornik.pl", "jan(at)kornik.pl", "", "", "", ""],
        ["Ewa", "", "", "", "", "12 345", "", "", "6203"],
    ])
    mapping = importing.suggest_mapping(headers, "person")
    report = run(rt, path, mapping, "person")
    assert (report.created, report.failed) == (1, 2)
    assert errors(report) == [
        (3, "emails.1", "E-mail 2", "Not a valid email address."),
        (4, "last_name", "Nazwisko", "Enter a name."),
        (4, "phones.0", "Telefon", "A Polish phone number must have 9 digits."),
        (4, "addresses.0.postal_code", "Kod pocztowy",
         "The postal code must have 5 digits, written as NN-NNN."),
    ]
    assert stored(rt, Person) == [
        ("Anna", "Nowak", PESEL, ["anna.nowak@kornik.pl", "a.nowak@gmail.com"],
         ["+48600100200", "+48618170000"], [("Poznańska 1", "62-035", "Kórnik")])]


def test_updating_a_person_adds_the_new_contacts_to_those_kept(rt, tmp_path):
    with rt.session() as session, session.begin():
        people.create(session, {"first_name": "Anna", "last_name": "Nowak", "pesel": PESEL,
                                "emails": ["anna@kornik.pl"], "phones": ["600100200"],
                                "addresses": [{"street": "Długa 2", "city": "Kórnik"}]})
    path = csv_file(tmp_path, [["Imię", "Nazwisko", "PESEL", "E-mail", "Kod pocztowy"],
                               ["Anna", "Nowak-Kowalska", PESEL, "anna@gmail.com", "62-035"]])
    mapping = importing.suggest_mapping(["Imię", "Nazwisko", "PESEL", "E-mail",
                                         "Kod pocztowy"], "person")
    report = run(rt, path, mapping, "person", on_duplicate="update")
    assert report.updated == 1
    assert stored(rt, Person) == [
        ("Anna", "Nowak-Kowalska", PESEL, ["anna@kornik.pl", "anna@gmail.com"],
         ["+48600100200"], [("Długa 2", "62-035", "Kórnik")])]


def test_progress_is_reported_after_every_batch_up_to_the_whole_file(rt, tmp_path):
    rows = [HEADERS, *([f"{n} Firma", "Firma", "", "Kórnik", ""] for n in "ABCDE")]
    path = csv_file(tmp_path, rows)
    calls = []
    report = run(rt, path, progress=lambda *args: calls.append(args), batch_size=2)
    size = path.stat().st_size
    assert report.created == 5
    assert [done for done, _read, _total in calls] == [2, 4, 5]
    assert {total for *_rest, total in calls} == {size}
    assert [read for _done, read, _total in calls] == sorted(read for _d, read, _t in calls)
    assert calls[-1] == (5, size, size)


def test_a_preview_shows_what_the_first_rows_would_become_and_writes_nothing(rt, tmp_path):
    existing = add_organisation(rt)
    path = csv_file(tmp_path, [
        HEADERS, ["  Agrobud ", "Gmina", "777-306-15-79", "Kórnik", "62035"],
        ["Cegielnia", "Firma", "12", "Śrem", ""], ["Drukarnia", "Firma", "", "Luboń", ""],
        ["Elektrownia", "Firma", "", "Mosina", ""]])
    shown = importing.preview(rt.session, rt.host, path, "organisation", MAPPING, rows=3,
                              on_duplicate="update")
    assert [(p.row, p.action) for p in shown] == [(2, "update"), (3, "fail"), (4, "create")]
    assert {k: shown[0].values[k] for k in ("name", "type_key", "nip", "postal_code")} == {
        "name": "Agrobud", "type_key": "core.municipality", "nip": NIP,
        "postal_code": "62-035"}
    assert shown[0].candidates == [{"id": existing, "reasons": ["same NIP"], "strong": True}]
    assert [(e.field, e.column, e.message) for e in shown[1].errors] == [
        ("nip", "NIP", "The NIP must have 10 digits.")]
    assert count(rt) == 1


@pytest.mark.slow
def test_a_20_mb_file_imports_in_constant_memory(rt, tmp_path):
    """Streaming keeps one row and one batch in memory, whatever the file's size.

    Every row carries a 5,000-letter column that is not imported, so the file is
    about 20 MB and its text, held whole, would take at least that much (twice that as
    Python strings of Polish letters). Streaming measured about 4 MB here, so half the
    file's size is a limit with room to spare that holding the file would break. (The
    speed of large imports is measured in bench/, not here.)
    """
    path = tmp_path / "duzy.csv"
    with path.open("w", encoding="cp1250", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["Nazwa", "Typ", "Załącznik"])
        for i in range(4000):
            writer.writerow([f"{i:05d} Spółdzielnia", "Firma", "żółw " * 1000])
    size = path.stat().st_size
    calls = []
    tracemalloc.start()
    try:
        report = run(rt, path, {"Nazwa": "name", "Typ": "type_key"},
                     progress=lambda *args: calls.append(args))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (report.created, report.failed) == (4000, 0)
    assert count(rt) == 4000
    assert len(calls) == 9 and calls[-1] == (4000, size, size)
    assert size > 20_000_000
    assert peak < size / 2, f"peak {peak / 1e6:.1f} MB for a file of {size / 1e6:.1f} MB"
