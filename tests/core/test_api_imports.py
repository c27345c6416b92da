"""Imports through the API: a CSV or XLSX file posted with its mapping and options is
checked up front (every problem named by field, nothing kept), then imported by the
staff pages' job; its report lists each refused row with its messages. Dry runs,
previews, saved mappings, the fields a column can fill, and who may do what."""

import csv
import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import field_definitions, importing, roles, tokens, users
from core.db import utcnow
from core.models import ImportMapping, Job, Organisation, Person

PASSWORD = "correct horse battery"
NIP = "7773061579"
ROWS = [["Nazwa", "NIP"], ["Gmina Czempiń", ""], ["Gmina Kórnik", ""], ["Zła", "123"],
        ["Gmina Mosina", ""], ["Gmina Puszczykowo", ""]]
MAPPING = {"Nazwa": "name", "NIP": "nip"}
FORM = {"record_type": "organisation", "mapping": json.dumps(MAPPING),
        "type_key": "core.municipality", "on_duplicate": "create"}


def csv_bytes(rows, delimiter=";") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def token(rt, email, admin=False, permissions=None, access=None) -> str:
    """A token of a new account; with ``permissions`` or ``access``, of a role of its own
    instead of the built-in staff role (which may import)."""
    with rt.session() as s, s.begin():
        user = users.create_user(s, email, PASSWORD, is_admin=admin)
        if permissions is not None or access is not None:
            role = roles.create(s, email.split("@")[0], email)
            roles.set_permissions(s, role, list(permissions or ()))
            roles.set_access(s, role, access or {})
            roles.assign(s, user, [role.key])
        return tokens.create(s, user, "test")[1]


def caller(app, secret):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def send(api, data: bytes | None = None, name="gminy.csv", path="/imports/", **form):
    """POST a file and the options as multipart/form-data."""
    fields = {**FORM, **form}
    fields = {k: v for k, v in fields.items() if v is not None}
    if data is not None:
        fields["file"] = (io.BytesIO(data), name)
    return api("post", path, data=fields, content_type="multipart/form-data")


@pytest.fixture
def admin(app, rt):
    return caller(app, token(rt, "admin@example.com", admin=True))


@pytest.fixture
def clerk(app, rt):
    return caller(app, token(rt, "clerk@example.com"))  # the built-in staff role


def names(rt, model=Organisation) -> list[str]:
    with rt.session() as s:
        column = Organisation.name if model is Organisation else Person.last_name
        return sorted(s.scalars(select(column)))


def count(rt, model) -> int:
    with rt.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def kept_files(rt) -> list[str]:
    return sorted(p.name for p in importing.upload_folder(rt.settings).iterdir())


# ------------------------------------------------------------------ importing


def test_an_import_runs_as_a_job_whose_report_lists_each_refused_row(clerk, rt):
    started = send(clerk, csv_bytes(ROWS))
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert started.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert (job["kind"], job["state"], job["title"]) == ("import.run", "done",
                                                         "Import: gminy.csv")
    assert job["result"] == {"rows": 5, "created": 4, "updated": 0, "skipped": 0,
                             "failed": 1, "report": f"http://localhost/api/v1/imports/"
                                                    f"{job['id']}"}
    assert names(rt) == ["Gmina Czempiń", "Gmina Kórnik", "Gmina Mosina", "Gmina Puszczykowo"]
    polled = clerk("get", f"/jobs/{job['id']}").get_json()
    assert (polled["state"], polled["percent"]) == ("done", 100)

    report = clerk("get", f"/imports/{job['id']}")
    assert report.status_code == 200
    body = report.get_json()
    assert {k: body[k] for k in ("state", "record_type", "filename", "dry_run", "rows",
                                 "created", "updated", "skipped", "failed")} == {
        "state": "done", "record_type": "organisation", "filename": "gminy.csv",
        "dry_run": False, "rows": 5, "created": 4, "updated": 0, "skipped": 0, "failed": 1}
    assert body["refused"] == [{"row": 4, "values": {"Nazwa": "Zła", "NIP": "123"},
                                "errors": [{"field": "nip", "column": "NIP", "label": "NIP",
                                            "message": "The NIP must have 10 digits."}]}]
    assert body["duplicates"] == []
    assert body["job_url"].endswith(f"/api/v1/jobs/{job['id']}")
    # The file is gone once imported; the report stays.
    assert [name.endswith(".report.json") for name in kept_files(rt)] == [True]
    # The mapping is remembered for the next file with these columns.
    saved = clerk("get", "/imports/mappings?record_type=organisation").get_json()
    assert [m["mapping"] for m in saved] == [MAPPING]


def test_a_person_file_in_xlsx_with_the_mapping_suggested_from_its_headers(admin, rt):
    rows = [["Imię", "Nazwisko", "E-mail", "Telefon 2"],
            ["Anna", "Nowak", "anna@example.com", "600 100 200"],
            ["Jan", "", "jan@example.com", ""]]
    started = send(admin, xlsx_bytes(rows), name="ludzie.xlsx", record_type="person",
                   mapping=None, type_key=None, on_duplicate=None)
    assert started.status_code == 202, started.get_json()
    body = admin("get", f"/imports/{started.get_json()['id']}").get_json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["refused"][0]["row"] == 3
    assert body["refused"][0]["errors"][0]["field"] == "last_name"
    assert body["refused"][0]["errors"][0]["column"] == "Nazwisko"
    assert names(rt, Person) == ["Nowak"]
    saved = admin("get", "/imports/mappings?record_type=person").get_json()
    assert saved[0]["mapping"] == {"Imię": "first_name", "Nazwisko": "last_name",
                                   "E-mail": "emails", "Telefon 2": "phones"}


def test_a_row_like_an_existing_record_updates_it_when_asked(admin, rt):
    existing = admin("post", "/organizations/", json={
        "name": "Gmina Kórnik", "type_key": "core.municipality", "nip": NIP}).get_json()
    rows = [["Nazwa", "NIP", "Miasto"], ["Gmina Kórnik", "777-306-15-79", "Kórnik"]]
    started = send(admin, csv_bytes(rows), on_duplicate="update",
                   mapping=json.dumps({"Nazwa": "name", "NIP": "nip", "Miasto": "city"}))
    body = admin("get", f"/imports/{started.get_json()['id']}").get_json()
    assert (body["created"], body["updated"]) == (0, 1)
    duplicate = body["duplicates"][0]
    assert (duplicate["row"], duplicate["action"], duplicate["record_id"]) == (
        2, "updated", existing["id"])
    assert duplicate["candidates"][0]["id"] == existing["id"]
    assert admin("get", f"/organizations/{existing['id']}").get_json()["city"] == "Kórnik"


def test_a_dry_run_checks_every_row_in_the_job_and_keeps_nothing(clerk, rt):
    started = send(clerk, csv_bytes(ROWS), dry_run="true")
    assert started.status_code == 202
    job = started.get_json()
    assert job["result"]["dry_run"] is True and job["result"]["created"] == 4
    body = clerk("get", f"/imports/{job['id']}").get_json()
    assert body["dry_run"] is True and (body["created"], body["failed"]) == (4, 1)
    assert body["refused"][0]["errors"][0]["message"] == "The NIP must have 10 digits."
    assert names(rt) == []
    assert clerk("get", "/imports/mappings").get_json() == []


def test_a_preview_shows_what_the_first_rows_would_become_and_writes_nothing(admin, rt):
    admin("post", "/organizations/", json={"name": "Gmina Kórnik",
                                           "type_key": "core.municipality"})
    preview = send(admin, csv_bytes(ROWS), path="/imports/preview", mapping=None,
                   on_duplicate="skip", rows="3")
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["headers"] == ["Nazwa", "NIP"] and body["mapping"] == MAPPING
    assert [(r["row"], r["action"]) for r in body["rows"]] == [
        (2, "create"), (3, "skip"), (4, "fail")]
    assert body["rows"][0]["values"]["name"] == "Gmina Czempiń"
    assert body["rows"][0]["values"]["type_key"] == "core.municipality"
    assert body["rows"][1]["candidates"][0]["reasons"]
    assert body["rows"][2]["errors"] == [{"field": "nip", "column": "NIP", "label": "NIP",
                                          "message": "The NIP must have 10 digits."}]
    assert names(rt) == ["Gmina Kórnik"] and count(rt, Job) == 0 and kept_files(rt) == []
    too_many = send(admin, csv_bytes(ROWS), path="/imports/preview", rows="500")
    assert set(too_many.get_json()["errors"]) == {"rows"}


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("form, data, name, field, message", [
    ({}, None, None, "file", "Missing data for required field."),
    ({}, b"", "puste.csv", "file",
     "The file is empty: the first row must hold the column headers."),
    ({}, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "stary.xls", "file",
     "This is an old Excel file (XLS): save it as XLSX or CSV and import that."),
    ({}, b"PK\x03\x04not really a workbook", "zepsuty.xlsx", "file",
     "The file cannot be opened as an XLSX workbook: save it again from the spreadsheet "
     "program."),
    ({"mapping": json.dumps({**MAPPING, "Miasto": "city"})}, ..., None, "mapping.Miasto",
     "The file has no column Miasto."),
    ({"mapping": json.dumps({"Nazwa": "name", "NIP": "vat"})}, ..., None, "mapping.NIP",
     "Choose a field from the list."),
    ({"mapping": json.dumps({"Nazwa": "name", "NIP": "name"})}, ..., None, "mapping.NIP",
     "Column Nazwa is already mapped to Name: map only one column to it."),
    ({"mapping": json.dumps({"NIP": "nip"})}, ..., None, "name",
     "Map a column to Name: every record needs it."),
    ({"type_key": ""}, ..., None, "type_key", "Map a column to Type: every record needs it."),
    ({"type_key": "core.spaceship"}, ..., None, "type_key", "Choose a type from the list."),
    ({"record_type": "person", "mapping": json.dumps({"Nazwa": "last_name"})}, ..., None,
     "type_key", "Only organisations have a type."),
    ({"mapping": "Nazwa=name"}, ..., None, "mapping",
     'Give a JSON object of columns and fields, such as {"Nazwa": "name"}.'),
    ({"mapping": "[1, 2]"}, ..., None, "mapping",
     'Give a JSON object of columns and fields, such as {"Nazwa": "name"}.'),
    ({"mapping_id": "1"}, ..., None, "mapping_id",
     "Send either mapping or mapping_id, not both."),
    ({"mapping": None, "mapping_id": "999"}, ..., None, "mapping_id",
     "There is no saved mapping with this id for this record type."),
    ({"on_duplicate": "merge"}, ..., None, "on_duplicate",
     "Must be one of: skip, update, create."),
    ({"record_type": "case"}, ..., None, "record_type",
     "Must be one of: organisation, person."),
    ({"dry_run": "perhaps"}, ..., None, "dry_run", "Not a valid boolean."),
    ({"colour": "red"}, ..., None, "colour", "Unknown field."),
])
def test_a_bad_request_is_refused_naming_its_field_and_leaves_nothing(
        clerk, rt, form, data, name, field, message):
    response = send(clerk, csv_bytes(ROWS) if data is ... else data, name=name or "gminy.csv",
                    **form)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][field] == message
    assert count(rt, Job) == 0 and count(rt, Organisation) == 0 and count(rt, Person) == 0
    assert kept_files(rt) == []


def test_every_problem_is_named_at_once(clerk):
    response = send(clerk, csv_bytes(ROWS), type_key="core.spaceship",
                    mapping=json.dumps({"Nazwa": "nazwa", "Kod": "postal_code"}))
    assert response.get_json()["errors"] == {
        "type_key": "Choose a type from the list.",
        "mapping.Nazwa": "Choose a field from the list.",
        "mapping.Kod": "The file has no column Kod.",
        "name": "Map a column to Name: every record needs it."}


def test_a_saved_mapping_is_used_by_its_id_for_its_record_type_only(admin, rt):
    send(admin, csv_bytes(ROWS[:2]))
    with rt.session() as s:
        saved = s.scalar(select(ImportMapping.id))
    again = send(admin, csv_bytes([ROWS[0], ["Gmina Luboń", ""]]), mapping=None,
                 mapping_id=str(saved))
    assert again.status_code == 202 and again.get_json()["result"]["created"] == 1
    as_people = send(admin, csv_bytes(ROWS), record_type="person", type_key=None,
                     mapping=None, mapping_id=str(saved))
    assert as_people.get_json()["errors"] == {
        "mapping_id": "There is no saved mapping with this id for this record type."}
    assert names(rt) == ["Gmina Czempiń", "Gmina Luboń"]


def test_a_file_over_the_limit_is_refused_and_not_kept(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", max_upload_mb=1)
    rt = app.extensions["kartoteka"]
    api = caller(app, token(rt, "big@example.com", admin=True))
    rows = [ROWS[0]] + [[f"Gmina {n:07d}", ""] for n in range(70_000)]
    data = csv_bytes(rows)
    assert 1024 * 1024 < len(data) < 2 * 1024 * 1024  # within the room left for the form
    response = send(api, data)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "file": "The file is larger than the limit of 1 MB."}
    whole = send(api, data * 2)  # more than the request may carry at all
    assert whole.status_code == 413 and whole.mimetype == "application/problem+json"
    assert whole.get_json()["detail"] == "The file is larger than the limit of 1 MB."
    assert count(rt, Job) == 0 and kept_files(rt) == []


def test_a_file_must_come_as_multipart_form_data(clerk, rt):
    response = clerk("post", "/imports/", json={"record_type": "organisation"})
    assert response.status_code == 415
    assert response.get_json()["detail"] == \
        "Send the file and the options as multipart/form-data."


# ------------------------------------------------------------------ who may import


def test_without_the_import_permission_every_import_route_answers_403(app, rt, clerk):
    job_id = send(clerk, csv_bytes(ROWS)).get_json()["id"]
    reader = caller(app, token(rt, "reader@example.com", permissions=(),
                               access={("*", "read"): "all", ("*", "create"): "all"}))
    answers = [send(reader, csv_bytes(ROWS)),
               send(reader, csv_bytes(ROWS), path="/imports/preview"),
               reader("get", f"/imports/{job_id}"),
               reader("get", "/imports/fields?record_type=organisation"),
               reader("get", "/imports/mappings")]
    for answer in answers:
        assert answer.status_code == 403
        assert answer.get_json()["detail"] == "Importing needs the permission to import data."
    assert count(rt, Job) == 1 and len(names(rt)) == 4


def test_someone_who_may_create_no_record_of_the_type_is_refused(app, rt):
    importer = caller(app, token(rt, "peopleonly@example.com", permissions=("core.import",),
                                 access={("person", "create"): "all"}))
    refused = send(importer, csv_bytes(ROWS))
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "You may not create organisations."
    assert count(rt, Job) == 0 and kept_files(rt) == []
    rows = [["Imię", "Nazwisko"], ["Anna", "Nowak"]]
    started = send(importer, csv_bytes(rows), record_type="person", mapping=None,
                   type_key=None)
    assert started.status_code == 202 and started.get_json()["result"]["created"] == 1


def test_a_row_updating_a_record_out_of_the_importers_reach_is_refused_alone(app, rt, admin):
    theirs = admin("post", "/organizations/", json={
        "name": "Gmina Kórnik", "type_key": "core.municipality", "nip": NIP}).get_json()
    importer = caller(app, token(rt, "own@example.com", permissions=("core.import",), access={
        ("organisation", "read"): "all", ("organisation", "create"): "all",
        ("organisation", "edit"): "own"}))
    rows = [["Nazwa", "NIP", "Miasto"], ["Gmina Kórnik", NIP, "Kórnik"],
            ["Gmina Mosina", "", "Mosina"]]
    started = send(importer, csv_bytes(rows), on_duplicate="update",
                   mapping=json.dumps({"Nazwa": "name", "NIP": "nip", "Miasto": "city"}))
    job = started.get_json()
    assert job["state"] == "done", job
    body = importer("get", f"/imports/{job['id']}").get_json()
    assert (body["created"], body["updated"], body["failed"]) == (1, 0, 1)
    assert body["refused"][0]["row"] == 2
    assert body["refused"][0]["errors"] == [{
        "field": "_", "column": "", "label": "",
        "message": "You may not do this with this record."}]
    assert admin("get", f"/organizations/{theirs['id']}").get_json()["city"] == ""


def test_a_report_is_its_importers_and_the_administrators(app, rt, clerk, admin):
    job_id = send(clerk, csv_bytes(ROWS)).get_json()["id"]
    colleague = caller(app, token(rt, "colleague@example.com"))
    assert colleague("get", f"/imports/{job_id}").status_code == 404
    assert admin("get", f"/imports/{job_id}").get_json()["created"] == 4
    with rt.session() as s, s.begin():
        other = Job(kind="documents.bulk", title="Letters", params={}, created_at=utcnow())
        s.add(other)
        s.flush()
        other_id = other.id
    assert admin("get", f"/jobs/{other_id}").status_code == 200
    assert admin("get", f"/imports/{other_id}").status_code == 404  # a job, not an import
    assert clerk("get", "/imports/999999").status_code == 404


# ------------------------------------------------------------------ what can be mapped


def test_the_fields_a_column_can_fill_include_the_custom_ones(rt, clerk):
    with rt.session() as s, s.begin():
        field_definitions.create(s, {"record_type": "organisation", "key": "size",
                                     "type": "integer", "label_pl": "Wielkość",
                                     "label_en": "Size", "required": True},
                                 host=rt.host)
    found = clerk("get", "/imports/fields?record_type=organisation")
    assert found.status_code == 200
    fields = {f["key"]: f for f in found.get_json()}
    assert fields["name"] == {"key": "name", "label": "Name", "required": True}
    assert fields["nip"]["required"] is False
    assert fields["custom.size"] == {"key": "custom.size", "label": "Size", "required": True}
    assert set(clerk("get", "/imports/fields?record_type=case").get_json()["errors"]) == {
        "record_type"}
    refused = send(clerk, csv_bytes(ROWS))
    assert refused.get_json()["errors"] == {
        "custom.size": "Map a column to Size: every record needs it."}


def test_the_openapi_document_describes_the_imports(clerk):
    document = clerk("get", "/openapi.json").get_json()
    start = document["paths"]["/api/v1/imports/"]["post"]
    body = start["requestBody"]["content"]["multipart/form-data"]["schema"]
    schema = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["file"] == {
        "type": "string", "format": "binary", "description": schema["properties"]["file"][
            "description"]}
    assert set(schema["required"]) == {"file", "record_type"}
    assert "202" in start["responses"] and "422" in start["responses"]
    assert "/api/v1/imports/{job_id}" in document["paths"]
    assert "/api/v1/imports/preview" in document["paths"]
    assert "ImportReport" in document["components"]["schemas"]

