"""Exporting lists to CSV and XLSX: what is visible, translated, and safe to open."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core import exporting, organisations, people, records
from core.exporting import Column
from core.models import ContactPoint, Organisation, Person

NIP = "7773061579"
ORGANISATION_HEADERS = ["Organisation name", "Short name", "Type", "NIP", "REGON", "KRS",
                        "E-mail", "Phone", "Website", "Street and number", "Postal code", "City",
                        "Region", "Country", "Notes"]


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory()


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


def add(session, rt, name, **fields) -> Organisation:
    return organisations.create(session, rt.host, {"name": name, "type_key": "core.company",
                                                   **fields}, allow_duplicates=True)


def export(rt, query, columns=None, fmt="csv", delimiter=",") -> bytes:
    out = io.BytesIO()
    with rt.session() as session:
        model = query.column_descriptions[0]["entity"]
        columns = columns or exporting.default_columns(session, rt.host, model)
        exporting.export(session, query, columns, out, fmt, delimiter)
    return out.getvalue()


def csv_rows(content: bytes, delimiter=",") -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


def xlsx_cells(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows()]


def xlsx_rows(content: bytes) -> list[list]:
    return [[c.value for c in row] for row in xlsx_cells(content)]


@pytest.fixture
def three(rt):
    """Two organisations in Kórnik, one of them in the bin, and one in Mosina."""
    with rt.session() as session, session.begin():
        add(session, rt, "Agrobud", nip=NIP, city="Kórnik", postal_code="62035",
            phone="600 100 200", email="biuro@agrobud.pl")
        records.soft_delete(session, add(session, rt, "Betonex", city="Kórnik"))
        add(session, rt, "Cegielnia", city="Mosina")


def kornik():
    return (records.visible(Organisation).where(Organisation.city == "Kórnik")
            .order_by(Organisation.name_key))


def test_an_export_of_a_filtered_list_holds_only_the_records_one_can_see(rt, three):
    expected = [ORGANISATION_HEADERS,
                ["Agrobud", "", "Company", NIP, "", "", "biuro@agrobud.pl", "'+48600100200",
                 "", "", "62-035", "Kórnik", "", "PL", ""]]
    assert csv_rows(export(rt, kornik())) == expected
    assert xlsx_rows(export(rt, kornik(), fmt="xlsx")) == [
        [v if v != "" else None for v in row] for row in expected]
    everything = records.visible(Organisation, include_deleted=True).where(
        Organisation.city == "Kórnik").order_by(Organisation.name_key)
    assert [r[0] for r in csv_rows(export(rt, everything))[1:]] == ["Agrobud", "Betonex"]


def test_headers_and_types_come_in_the_users_language(app, rt, three):
    with app.test_request_context():
        content = export(rt, kornik(), fmt="xlsx")
    header, row = xlsx_rows(content)
    assert header[:4] == ["Nazwa organizacji", "Nazwa skrócona", "Typ", "NIP"]
    assert header[11] == "Miejscowość"
    assert row[:3] == ["Agrobud", None, "Firma"]


@pytest.mark.parametrize(("value", "safe"), [
    ('=HYPERLINK("http://evil.example","Kliknij")', '\'=HYPERLINK("http://evil.example",'
                                                    '"Kliknij")'),
    ("+48600100200", "'+48600100200"), ("-1", "'-1"), ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+2", "'\t=1+2"), ("\r=1+2", "'\r=1+2"), ("a=b", "a=b"), ("", ""),
    ("Łódź", "Łódź"), (-1, -1), (2.5, 2.5), (Decimal("-3.50"), Decimal("-3.50")), (None, None),
])
def test_neutralise_makes_formula_text_inert_and_leaves_numbers_alone(value, safe):
    assert exporting.neutralise(value) == safe


def test_formula_cells_are_neutralised_in_csv_and_xlsx_while_numbers_stay_numbers(rt):
    with rt.session() as session, session.begin():
        add(session, rt, '=HYPERLINK("http://evil.example","Kliknij")',
            short_name="@SUM(A1:A9)", phone="+48 600 100 200", notes="-1",
            website="=cmd|' /C calc'!A0")
    columns = ["name", "short_name", "phone", "notes", "website",
               Column("Surowy", lambda org: "\r=1+2"), Column("Saldo", lambda org: -1),
               Column("Kwota", lambda org: Decimal("3.50")),
               Column("Udział", lambda org: 0.25)]
    query = records.visible(Organisation)
    safe = ['\'=HYPERLINK("http://evil.example","Kliknij")', "'@SUM(A1:A9)", "'+48600100200",
            "'-1", "'=cmd|' /C calc'!A0", "'\r=1+2"]
    assert csv_rows(export(rt, query, columns))[1] == [*safe, "-1", "3.50", "0.25"]
    header, row = xlsx_cells(export(rt, query, columns, fmt="xlsx"))
    # An XML parser may read the line break back as \n (the standard library's does).
    values = [c.value.replace("\r", "\n") if c.data_type == "s" else c.value for c in row]
    assert values == [*safe[:-1], "'\n=1+2", -1, 3.5, 0.25]
    assert [c.data_type for c in row] == ["s"] * 6 + ["n"] * 3


def test_a_semicolon_csv_writes_decimal_commas_for_polish_excel(rt):
    with rt.session() as session, session.begin():
        add(session, rt, "Kowalski; Nowak i Wspólnicy")
    columns = ["name", Column("Kwota", lambda org: Decimal("1234.50")),
               Column("Liczba", lambda org: 7)]
    content = export(rt, records.visible(Organisation), columns, delimiter=";")
    assert b'"Kowalski; Nowak i Wsp\xc3\xb3lnicy";1234,50;7' in content
    assert csv_rows(content, ";") == [["Name", "Kwota", "Liczba"],
                                      ["Kowalski; Nowak i Wspólnicy", "1234,50", "7"]]


def test_times_are_written_in_utc_and_control_characters_dropped_from_xlsx(rt):
    with rt.session() as session, session.begin():
        org = add(session, rt, "Agrobud", notes="linia\x01druga\x0b")
        created = org.created_at
    columns = ["name", "notes", Column("Utworzono", lambda org: org.created_at)]
    query = records.visible(Organisation)
    header, row = xlsx_rows(export(rt, query, columns, fmt="xlsx"))
    naive_utc = created.astimezone(datetime.UTC).replace(tzinfo=None)
    assert row[:2] == ["Agrobud", "liniadruga"]
    assert abs(row[2] - naive_utc) < datetime.timedelta(milliseconds=1)
    assert csv_rows(export(rt, query, columns))[1][2] == naive_utc.isoformat(sep=" ")


def test_people_are_exported_in_batches_with_their_contacts_and_address(rt):
    count = exporting.BATCH + 20
    with rt.session() as session, session.begin():
        people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                "emails": ["anna@kornik.pl", "a.nowak@gmail.com"],
                                "phones": ["600 100 200"], "addresses": [
                                    {"street": "Długa 2", "postal_code": "62035",
                                     "city": "Kórnik"}]})
        records.soft_delete(session, people.create(session, {"first_name": "Jan",
                                                             "last_name": "Usunięty"}))
        session.add_all(Person(first_name="Osoba", last_name=f"{i:04d}", contacts=[
            ContactPoint(kind="email", value=f"osoba{i}@example.com")]) for i in range(count))
    query = records.visible(Person).order_by(Person.last_name, Person.id)
    header, *rows = csv_rows(export(rt, query))
    assert header == ["First name", "Last name", "PESEL", "E-mail addresses", "Phones",
                      "Street and number", "Postal code", "City", "Region", "Country", "Notes"]
    assert len(rows) == count + 1
    assert rows[0] == ["Osoba", "0000", "", "osoba0@example.com", "", "", "", "", "", "", ""]
    assert rows[-2][3] == f"osoba{count - 1}@example.com"
    assert rows[-1] == ["Anna", "Nowak", "", "anna@kornik.pl, a.nowak@gmail.com",
                        "'+48600100200", "Długa 2", "62-035", "Kórnik", "", "PL", ""]
    assert len(xlsx_rows(export(rt, query, fmt="xlsx"))) == count + 2


def test_an_unknown_format_or_a_model_without_default_columns_is_a_programming_error(rt):
    with rt.session() as session:
        with pytest.raises(ValueError, match="fmt must be one of"):
            exporting.export(session, records.visible(Organisation), ["name"], io.BytesIO(),
                             "ods")
        with pytest.raises(ValueError, match="No default columns for ContactPoint"):
            exporting.default_columns(session, rt.host, ContactPoint)
