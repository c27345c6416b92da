"""An integrator with only the OpenAPI document and a token: an organisation with custom
fields, its people, a case moved through every phase of its process, and the case's
documents fetched as PDFs. Each path and field name is read from the document first."""

import pytest

from core import field_definitions, tokens, users, workflow

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en",
                                 company_name="Drukarnia Test sp. z o.o.")


@pytest.fixture
def integrator(app, rt):
    with rt.session() as session, session.begin():
        field_definitions.create(session, {
            "record_type": "organisation", "key": "members", "type": "integer",
            "label_pl": "Liczba członków", "label_en": "Members"})
        account = users.create_user(session, "integrator@example.com", PASSWORD,
                                    is_admin=True)
        token = tokens.create(session, account, "accounting sync")[1]
    client = app.test_client()

    def call(method, path, **kwargs):
        kwargs["headers"] = {"Authorization": f"Bearer {token}", "Accept-Language": "en",
                             **kwargs.get("headers", {})}
        return getattr(client, method)(path, **kwargs)

    return call


def operation(spec: dict, method: str, path: str) -> dict:
    found = spec["paths"].get(path, {}).get(method)
    assert found is not None, f"{method.upper()} {path} is not in the document"
    return found


def moved(api, case_path: str, target: str) -> dict:
    etag = api("get", case_path).headers["ETag"]
    answer = api("post", f"{case_path}/move", json={"target": target},
                 headers={"If-Match": etag})
    assert answer.status_code == 200, (target, answer.get_json())
    return answer.get_json()


def test_an_integrator_does_the_whole_journey_from_the_document(integrator, rt):
    api = integrator
    spec = api("get", "/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    # The document names the custom field, its type and title, and the processes.
    members = schemas["Organisation"]["properties"]["custom"]["properties"]["members"]
    assert (members["type"], members["title"]) == ("integer", "Members")
    for method, path in [("post", "/api/v1/organizations/"), ("post", "/api/v1/people/"),
                         ("post", "/api/v1/cases/"), ("post", "/api/v1/cases/{case_id}/move"),
                         ("patch", "/api/v1/cases/{case_id}"), ("post", "/api/v1/documents/"),
                         ("get", "/api/v1/documents/{document_id}/pdf")]:
        operation(spec, method, path)
    operation(spec, "get", "/api/v1/processes/{key}")
    processes = next(p for p in spec["paths"]["/api/v1/processes/{key}"]["parameters"]
                     if p["name"] == "key")["schema"]["enum"]
    assert processes == ["printing.complaint", "printing.project"]
    process = api("get", "/api/v1/processes/printing.project").get_json()

    org = api("post", "/api/v1/organizations/", json={
        "name": "Gmina Kórnik", "type_key": "core.municipality", "custom": {"members": 12}})
    assert org.status_code == 201, org.get_json()
    assert org.get_json()["custom"] == {"members": 12}
    org_id = org.get_json()["id"]
    person = api("post", "/api/v1/people/", json={
        "first_name": "Anna", "last_name": "Nowak", "emails": ["anna@kornik.pl"]})
    assert person.status_code == 201, person.get_json()

    case = api("post", "/api/v1/cases/", json={
        "title": "Banners for the harvest festival", "process_key": "printing.project",
        "organisation_id": org_id, "amount": "1200.00", "currency": "PLN"})
    assert case.status_code == 201, case.get_json()
    case_path = case.headers["Location"].split("http://localhost")[-1]
    assert case.get_json()["phase_key"] == process["phases"][0]["key"]

    # The house prints from its own design: no customer files to check.
    with rt.session() as session, session.begin():
        workflow.change_settings(session, rt.host.processes["printing.project"],
                                 {"check.printing.files_checked": "off"}, actor=None)
    # Each check is met by the field the process names, then the case moves on.
    confirmations = {"order": ["printing_documents_received"],
                     "production": ["printing_signed_order"], "closed": ["printing_delivered"]}
    for target in ["calculation", "offer", "order", "production", "delivery", "closed"]:
        if target == "closed":  # the project is closed once it is invoiced
            invoice = api("post", "/api/v1/invoices/", json={
                "organisation_id": org_id, "case_id": case.get_json()["id"],
                "lines": [{"description": "Banners", "quantity": "1", "unit_price": "1200.00",
                           "vat_rate": "23"}]})
            assert invoice.status_code == 201, invoice.get_json()
            issued = api("post", f"/api/v1/invoices/{invoice.get_json()['id']}/issue")
            assert issued.status_code == 200, issued.get_json()
        if target in confirmations:
            etag = api("get", case_path).headers["ETag"]
            ticked = api("patch", case_path, headers={"If-Match": etag}, json={
                "custom": dict.fromkeys(confirmations[target], True)})
            assert ticked.status_code == 200, ticked.get_json()
        assert moved(api, case_path, target)["phase_key"] == target

        if target == "offer":
            made = api("post", "/api/v1/documents/", json={
                "template": "printing.offer", "record_type": "case",
                "record_id": case.get_json()["id"]})
            assert made.status_code == 201, made.get_json()
    history = api("get", f"{case_path}/history").get_json()
    assert [step["to_phase"] for step in history] == [
        "inquiry", "calculation", "offer", "order", "production", "delivery", "closed"]

    listed = api("get", "/api/v1/documents/", query_string={
        "record_type": "case", "record_id": case.get_json()["id"]}).get_json()
    assert [d["template"] for d in listed] == ["printing.offer"]
    pdf = api("get", f"/api/v1/documents/{listed[0]['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
