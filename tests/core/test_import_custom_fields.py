"""Custom fields in imports: offered for mapping, converted and validated by the schema
the forms and the API use, reported by row and label, and re-importable from an export."""

import csv
import datetime
import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import exporting, field_definitions, importing, organisations, records, users
from core.errors import ValidationError
from core.models import FieldDefinition, Organisation

NIP = "7773061579"
CHOICES = {"choices": [{"value": "lead", "label_pl": "Potencjalny", "label_en": "Prospect"},
                       {"value": "client", "label_pl": "Klient", "label_en": "Client"}]}
TOPICS = {"choices": [
    {"value": "pv", "label_pl": "Fotowoltaika", "label_en": "Photovoltaics"},
    {"value": "heat", "label_pl": "Pompy ciepła", "label_en": "Heat pumps"},
    {"value": "storage", "label_pl": "Magazyny energii", "label_en": "Energy storage"}]}
FIELDS = [
    {"key": "signed", "type": "date", "label_pl": "Data podpisania", "label_en": "Signed on",
     "help_en": "The day the contract was signed."},
    {"key": "budget", "type": "money", "label_pl": "Budżet", "label_en": "Budget"},
    {"key": "rate", "type": "decimal", "label_pl": "Stawka", "label_en": "Rate"},
    {"key": "segment", "type": "choice", "label_pl": "Segment", "label_en": "Segment",
     "options": CHOICES},
    {"key": "topics", "type": "multi_choice", "label_pl": "Tematy", "label_en": "Topics",
     "options": TOPICS},
    {"key": "active", "type": "boolean", "label_pl": "Aktywny", "label_en": "Active"},
    {"key": "remarks", "type": "text", "label_pl": "Uwagi handlowca",
     "label_en": "Sales remarks"},
    {"key": "erp_id", "type": "text", "label_pl": "Numer w ERP", "label_en": "ERP number",
     "read_only": True},
    {"key": "secret", "type": "text", "label_pl": "Tajne", "label_en": "Secret",
     "hidden": True},
    {"key": "board_note", "type": "text", "label_pl": "Notatka zarządu",
     "label_en": "Board note", "edit_roles": ["manager"]},
]
REQUIRED = {"key": "contract", "type": "text", "label_pl": "Numer umowy",
            "label_en": "Contract number", "required": True}
HEADERS = ["Nazwa", "Typ", "Numer umowy", "Data podpisania", "Budżet", "Stawka", "Segment",
           "Tematy", "Aktywny"]
MAPPING = {"Nazwa": "name", "Typ": "type_key", "Numer umowy": "custom.contract",
           "Data podpisania": "custom.signed", "Budżet": "custom.budget",
           "Stawka": "custom.rate", "Segment": "custom.segment", "Tematy": "custom.topics",
           "Aktywny": "custom.active"}


def staff_member(rt):
    """A staff member without the "manager" role."""
    with rt.session() as session, session.begin():
        return users.find_by_email(session, "staff@example.com") or users.create_user(
            session, "staff@example.com", "correct horse battery", roles=["staff"])


def define(rt, *definitions) -> None:
    with rt.session() as session, session.begin():
        for data in definitions:
            field_definitions.create(session, {"record_type": "organisation", **data})


@pytest.fixture
def defined(app, rt):
    define(rt, *FIELDS, REQUIRED)
    with app.test_request_context():
        yield rt


def csv_file(tmp_path, rows, name="firmy.csv"):
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def xlsx_file(tmp_path, rows, name="firmy.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(rt, path, mapping=MAPPING, **options):
    return importing.run_import(rt.session, rt.host, path, "organisation", mapping, **options)


def customs(rt) -> dict:
    with rt.session() as session:
        return {o.name: o.custom for o in session.scalars(select(Organisation))}


def count(rt) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(Organisation))


def problems(report) -> list:
    return [(e.row, e.column, e.label, e.message) for e in report.errors]


# -- what can be mapped -------------------------------------------------------------------

def test_editable_custom_fields_are_offered_with_their_label(defined):
    with defined.session() as session:
        offered = importing.fields("organisation", session)
        staff = importing.fields("organisation", session, staff_member(defined))
    assert {k: v for k, v in offered.items() if k.startswith("custom.")} == {
        "custom.signed": "Signed on", "custom.budget": "Budget", "custom.rate": "Rate",
        "custom.segment": "Segment", "custom.topics": "Topics", "custom.active": "Active",
        "custom.remarks": "Sales remarks", "custom.board_note": "Board note",
        "custom.contract": "Contract number"}
    assert offered["name"] == "Name"
    assert "custom.board_note" not in staff and "custom.signed" in staff


def test_mapping_a_field_that_is_not_offered_is_refused(defined, tmp_path):
    headers = ["Nazwa", "Typ", "Numer umowy", "ERP", "Tajne", "Zarząd"]
    mapping = {"Nazwa": "name", "Typ": "type_key", "Numer umowy": "custom.contract",
               "ERP": "custom.erp_id", "Tajne": "custom.secret", "Zarząd": "custom.board_note"}
    with defined.session() as session, pytest.raises(ValidationError) as refused:
        importing.check_mapping(headers, "organisation", mapping, session=session,
                                actor=staff_member(defined))
    assert refused.value.errors == {"ERP": "Choose a field from the list.",
                                    "Tajne": "Choose a field from the list.",
                                    "Zarząd": "Choose a field from the list."}
    path = csv_file(tmp_path, [headers, ["Agrobud", "Firma", "U/1", "E-1", "x", "y"]])
    with pytest.raises(ValidationError) as refused:
        run(defined, path, mapping, actor=staff_member(defined))
    assert set(refused.value.errors) == {"ERP", "Tajne", "Zarząd"}
    assert count(defined) == 0


def test_a_required_custom_field_must_be_mapped_unless_it_has_a_default(defined):
    with defined.session() as session, pytest.raises(ValidationError) as refused:
        importing.check_mapping(["Nazwa", "Typ"], "organisation",
                                {"Nazwa": "name", "Typ": "type_key"}, session=session)
    assert refused.value.errors == {
        "custom.contract": "Map a column to Contract number: every record needs it."}
    with defined.session() as session, session.begin():
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == "contract"))
        field_definitions.change(session, row, {"default": "brak"})
    with defined.session() as session:
        assert importing.check_mapping(["Nazwa", "Typ"], "organisation",
                                       {"Nazwa": "name", "Typ": "type_key"},
                                       session=session) == {"Nazwa": "name",
                                                            "Typ": "type_key"}


def test_the_mapping_is_suggested_by_label_in_either_language_or_by_key(defined):
    headers = ["Nazwa", "Typ", "Data podpisania", "Budget", "SEGMENT", "topics", "Aktywny 2",
               "Numer w ERP", "Tajne", "custom.rate", "Coś innego"]
    with defined.session() as session:
        assert importing.suggest_mapping(headers, "organisation", session) == {
            "Nazwa": "name", "Typ": "type_key", "Data podpisania": "custom.signed",
            "Budget": "custom.budget", "SEGMENT": "custom.segment", "topics": "custom.topics",
            "Aktywny 2": "custom.active", "custom.rate": "custom.rate"}
        assert importing.suggest_mapping(["Notatka zarządu"], "organisation", session,
                                         staff_member(defined)) == {}


def test_a_remembered_mapping_with_custom_fields_comes_back(defined, tmp_path):
    path = csv_file(tmp_path, [HEADERS, ["Agrobud", "Firma", "U/1", "", "", "", "", "", ""]])
    assert run(defined, path).created == 1
    with defined.session() as session:
        assert importing.initial_mapping(session, list(reversed(HEADERS)),
                                         "organisation") == MAPPING
    with defined.session() as session, session.begin():
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == "rate"))
        field_definitions.change(session, row, {"read_only": True})
    with defined.session() as session:
        remembered = importing.initial_mapping(session, HEADERS, "organisation")
    assert remembered == {k: v for k, v in MAPPING.items() if v != "custom.rate"}


# -- values -------------------------------------------------------------------------------

EXPECTED = {
    "Agrobud": {"contract": "U/1/2024", "signed": "2024-12-31",
                "budget": {"amount": "12500.50", "currency": "PLN"}, "rate": 0.75,
                "segment": "lead", "topics": ["pv", "heat"], "active": True},
    "Betonex": {"contract": "U/2/2024", "signed": "2024-03-01",
                "budget": {"amount": "99.00", "currency": "PLN"}, "rate": 12,
                "segment": "client", "topics": ["storage", "pv"], "active": False},
}


def test_each_type_is_read_from_csv_as_people_write_it(defined, tmp_path):
    path = csv_file(tmp_path, [
        HEADERS,
        ["Agrobud", "Firma", "U/1/2024", "31.12.2024", "12 500,50", "0,75", "Prospect",
         "Fotowoltaika; heat", "tak"],
        ["Betonex", "Firma", "U/2/2024", "2024-03-01", "99", "12", "klient",
         "storage, Photovoltaics", "NIE"],
    ])
    report = run(defined, path)
    assert (report.created, report.failed, report.errors) == (2, 0, [])
    assert customs(defined) == EXPECTED


def test_each_type_is_read_from_xlsx_cells_as_stored(defined, tmp_path):
    path = xlsx_file(tmp_path, [
        HEADERS,
        ["Agrobud", "Firma", "U/1/2024", datetime.datetime(2024, 12, 31), 12500.5, 0.75,
         "lead", "pv;heat", True],
        ["Betonex", "Firma", "U/2/2024", datetime.date(2024, 3, 1), 99, 12, "Client",
         "Energy storage, pv", "FAŁSZ"],
    ])
    report = run(defined, path)
    assert (report.created, report.failed, report.errors) == (2, 0, [])
    assert customs(defined) == EXPECTED


BAD_ROWS = [
    HEADERS,
    ["Dobra", "Firma", "U/1", "1.02.2024", "", "", "", "", ""],
    ["Zła data", "Firma", "U/2", "31.02.2024", "", "", "", "", ""],
    ["Zły wybór", "Firma", "U/3", "", "", "", "fioletowy", "pv; wiatr", ""],
    ["Bez umowy", "Firma", "", "", "", "abc", "", "", "może"],
]
BAD_REPORT = [
    (3, "Data podpisania", "Signed on", "Not a valid date."),
    (4, "Segment", "Segment", "'fioletowy' is not one of the choices: lead, client."),
    (4, "Tematy", "Topics", "'wiatr' is not one of the choices: pv, heat, storage."),
    (5, "Stawka", "Rate", "Not a valid number."),
    (5, "Aktywny", "Active", "Not a valid boolean."),
    (5, "Numer umowy", "Contract number", "Fill in Contract number."),
]


@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_values_are_reported_by_row_column_and_label_and_never_written(
        defined, tmp_path, dry_run):
    report = run(defined, csv_file(tmp_path, BAD_ROWS), dry_run=dry_run)
    assert (report.created, report.failed) == (1, 3)
    assert sorted(problems(report)) == sorted(BAD_REPORT)
    assert customs(defined) == ({} if dry_run else {"Dobra": {"contract": "U/1",
                                                              "signed": "2024-02-01"}})


def test_bad_values_in_xlsx_are_reported_alike(defined, tmp_path):
    report = run(defined, xlsx_file(tmp_path, BAD_ROWS))
    assert sorted(problems(report)) == sorted(BAD_REPORT)
    assert count(defined) == 1


def test_the_preview_shows_custom_values_and_errors(defined, tmp_path):
    shown = importing.preview(defined.session, defined.host, csv_file(tmp_path, BAD_ROWS),
                              "organisation", MAPPING)
    assert shown[0].values["custom"] == {"contract": "U/1", "signed": "2024-02-01"}
    assert [(e.field, e.column, e.label) for e in shown[1].errors] == [
        ("custom.signed", "Data podpisania", "Signed on")]


def test_an_update_changes_the_imported_values_and_keeps_the_others(defined, tmp_path):
    with defined.session() as session, session.begin():
        org_id = organisations.create(session, defined.host, {
            "name": "Agrobud", "type_key": "core.company", "nip": NIP,
            "custom": {"contract": "U/1", "segment": "lead", "remarks": "stały klient",
                       "topics": ["pv"]}}).id
    path = csv_file(tmp_path, [["Nazwa", "Typ", "NIP", "Segment", "Tematy", "Stawka"],
                               ["Agrobud", "Firma", NIP, "Klient", "", "1,5"]])
    mapping = {"Nazwa": "name", "Typ": "type_key", "NIP": "nip", "Segment": "custom.segment",
               "Tematy": "custom.topics", "Stawka": "custom.rate"}
    # The file has no contract number: the default lets the row through, and an update
    # keeps the number the record has.
    with defined.session() as session, session.begin():
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == "contract"))
        field_definitions.change(session, row, {"default": "brak"})
    report = run(defined, path, mapping, on_duplicate="update")
    assert (report.updated, report.created, report.failed) == (1, 0, 0)
    with defined.session() as session:
        assert session.get(Organisation, org_id).custom == {
            "contract": "U/1", "segment": "client", "remarks": "stały klient",
            "topics": ["pv"], "rate": 1.5}
    bad = csv_file(tmp_path, [["Nazwa", "Typ", "NIP", "Segment", "Tematy", "Stawka"],
                              ["Agrobud", "Firma", NIP, "lead", "", "dużo"]], name="zly.csv")
    report = run(defined, bad, mapping, on_duplicate="update")
    assert (report.updated, problems(report)) == (0, [(2, "Stawka", "Rate",
                                                       "Not a valid number.")])
    with defined.session() as session:
        assert session.get(Organisation, org_id).custom["segment"] == "client"


# -- export and import again --------------------------------------------------------------

@pytest.mark.parametrize("fmt, delimiter", [("csv", ";"), ("csv", ","), ("xlsx", ",")])
def test_an_export_is_imported_again_with_the_mapping_suggested(defined, tmp_path, fmt,
                                                                delimiter):
    values = {**EXPECTED["Agrobud"], "remarks": "stały klient", "erp_id": "E-7"}
    with defined.session() as session, session.begin():
        organisations.create(session, defined.host, {
            "name": "Agrobud", "type_key": "core.company", "city": "Kórnik",
            "custom": values})
    path = tmp_path / f"eksport.{fmt}"
    with defined.session() as session, path.open("wb") as out:
        columns = exporting.default_columns(session, defined.host, Organisation)
        exporting.export(session, records.visible(Organisation), columns, out, fmt, delimiter)
    with importing.open_rows(path) as table:
        headers = table.headers
    with defined.session() as session:
        mapping = importing.suggest_mapping(headers, "organisation", session)
    assert set(headers) - set(mapping) == {"ERP number"}  # read-only: not imported
    assert {v for v in mapping.values() if v.startswith("custom.")} == {
        "custom.contract", "custom.signed", "custom.budget", "custom.rate",
        "custom.segment", "custom.topics", "custom.active", "custom.remarks",
        "custom.board_note"}
    with defined.session() as session, session.begin():
        for org in session.scalars(select(Organisation)):
            session.delete(org)
    report = run(defined, path, mapping)
    assert (report.created, report.errors) == (1, [])
    assert customs(defined) == {"Agrobud": {k: v for k, v in values.items()
                                            if k != "erp_id"}}


# -- a plugin's field type ----------------------------------------------------------------

def test_a_plugin_field_type_is_imported_when_the_plugin_is_enabled(kartoteka_app_factory,
                                                                   tmp_path):
    app = kartoteka_app_factory(["photovoltaics"], default_locale="en")
    rt = app.extensions["kartoteka"]
    path = csv_file(tmp_path, [["Nazwa", "Typ", "Moc instalacji"],
                               ["Dom Kowalskich", "Firma", "9,84"],
                               ["Dom Nowaków", "Firma", "-3"]])
    with app.test_request_context():
        with rt.session() as session:
            mapping = importing.suggest_mapping(["Nazwa", "Typ", "Moc instalacji"],
                                                "organisation", session)
        assert mapping["Moc instalacji"] == "custom.photovoltaics_power"
        report = run(rt, path, mapping)
    assert report.created == 1
    assert problems(report) == [(3, "Moc instalacji", "Installed power",
                                 "Give a power above 0 and at most 50000 kWp.")]
    assert customs(rt) == {"Dom Kowalskich": {"photovoltaics_power": 9.84}}


# -- the wizard ---------------------------------------------------------------------------

def upload(client, content: bytes, name="firmy.csv") -> str:
    response = client.post("/import/", data={"record_type": "organisation",
                                             "file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


def test_the_mapping_page_offers_custom_fields_and_reports_their_problems(app, rt, client):
    define(rt, *FIELDS, REQUIRED)
    content = (b"Nazwa;Typ;Numer umowy;Data podpisania;Segment;Numer w ERP\n"
               b"Agrobud;Firma;U/1;31.12.2024;Klient;E-1\n"
               b"Betonex;Firma;U/2;32.12.2024;lead;E-2\n")
    wizard = upload(client, content)
    page = client.get(wizard).get_data(as_text=True)
    assert re.findall(r'<option value="([a-z_.]+)" (?:title="[^"]*" )?selected', page) == [
        "name", "type_key", "custom.contract", "custom.signed", "custom.segment"]
    assert 'value="custom.remarks"' in page and 'value="custom.board_note"' in page
    assert 'value="custom.erp_id"' not in page and 'value="custom.secret"' not in page
    assert "The day the contract was signed." in page  # the field's help
    assert "Single choice" in page and "Multiple choice" in page  # the field's type
    form = {"map-0": "name", "map-1": "type_key", "map-2": "custom.contract",
            "map-3": "custom.signed", "map-4": "custom.segment", "on_duplicate": "skip"}
    preview = client.post(wizard, data={**form, "action": "preview"}).get_data(as_text=True)
    assert "Signed on: 31 Dec 2024" in preview or "Signed on: Dec 31, 2024" in preview
    assert "Segment: Client" in preview
    tried = client.post(wizard, data={**form, "action": "run", "dry_run": "1"}
                        ).get_data(as_text=True)
    assert "created: 1" in tried and "with errors: 1" in tried
    assert re.search(r"<td>3</td><td>Data podpisania</td><td>Signed on</td>"
                     r"<td>Not a valid date.</td>", tried)
    assert count(rt) == 0
    client.post(wizard, data={**form, "action": "run"})
    assert customs(rt) == {"Agrobud": {"contract": "U/1", "signed": "2024-12-31",
                                       "segment": "client"}}
    without = {k: v for k, v in form.items() if k != "map-2"}
    second = upload(client, content)
    refused = client.post(second, data={**without, "action": "run"}).get_data(as_text=True)
    assert "Map a column to Contract number: every record needs it." in refused
    assert count(rt) == 1
