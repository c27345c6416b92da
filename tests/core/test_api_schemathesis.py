"""Schemathesis against the live OpenAPI document: every operation the document lists
gets a bounded number of generated requests (its examples, the boundary values of its
parameters and bodies, then random ones), valid and invalid, as an administrator with
an API token, on an installation with records, custom fields of every type and two
plugins' processes. No answer may be a server error, carry a status the operation
does not name, another content type than the one documented, or a body off its schema.

Generation is deterministic (the same requests on every run). The integers and texts
the generator draws are often the installation's own ids and keys, so that most
requests reach real records rather than stopping at 404. schemathesis's own pytest
plugin does not work with this pytest, so its engine runs the phases and the test
reports each failure with the request that reproduces it.

It runs on SQLite only: what it tests is the API and its document, the same on both
databases, and a second run on PostgreSQL would double one of the suite's longest tests.
"""

import pytest
import schemathesis
from schemathesis_checks import CHECKS, run
from sqlalchemy import select
from test_api import token_for

from core import field_definitions, users
from core.models import DocumentTemplate, NumberSeries, ProcessingPurpose
from mail_helpers import newsletter_audience

# Random requests per operation, after its examples and boundary values: the whole run
# takes 35 s on two idle cores, 75 s on two busy ones.
MAX_EXAMPLES = 5
# A custom field of every core type, with the options that shape their schemas.
FIELDS = {"text": {}, "long_text": {}, "integer": {"min": 1, "max": 10},
          "decimal": {"places": 2, "min": 0}, "money": {"currency": "EUR"},
          "percentage": {"min": 0, "max": 100}, "date": {}, "datetime": {}, "boolean": {},
          "choice": {"choices": [{"value": "lead"}, {"value": "client"}]},
          "multi_choice": {"choices": [{"value": "print"}, {"value": "web"}]},
          "email": {}, "phone": {}, "url": {}, "nip": {}, "regon": {}, "pesel": {},
          "iban": {}, "relation": {"target": "person"}}


@pytest.fixture
def backend():
    """SQLite only (see the module's docstring)."""
    return "sqlite"


@pytest.fixture
def app(kartoteka_app_factory, kartoteka_smtp):
    # No rate limit: hundreds of calls a second are the point here.
    return kartoteka_app_factory(["printing", "photovoltaics"], default_locale="en",
                                 api_rate_limit="", **kartoteka_smtp.settings())


@pytest.fixture
def api_schema(app, rt):
    """The document as the running app serves it, with the installation's ids and keys
    for the generator to draw on."""
    token = token_for(rt)
    seed(app, rt, token)
    config = schemathesis.Config.from_dict({
        "headers": {"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none",
                       "dictionaries": {
                           "integer": {"dictionary": "ids", "probability": 0.6},
                           "string": {"dictionary": "keys", "probability": 0.3}}},
        "dictionaries": {"ids": {"values": [1, 2, 3]},
                         "keys": {"values": installation_keys(rt)},
                         "etags": {"values": ["*", '"1"']}},
        "parameters": {"header.If-Match": {"dictionary": "etags", "probability": 0.8}},
        # Deleting takes the third of each; the first two stay for the other operations.
        "operations": [{"include-method": "DELETE",
                        "parameters": {"path.record_id": 3, "path.case_id": 3}}],
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},  # the document declares no links
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def seed(app, rt, token):
    """Custom fields of every type, and ids 1 to 3 of people (two consented to the
    newsletter), organisations and cases; a document of case 1, and a mailing."""
    with rt.session() as session, session.begin():
        for kind, options in FIELDS.items():
            field_definitions.create(session, {"record_type": "organisation",
                                               "key": f"f_{kind}", "type": kind,
                                               "label_pl": kind, "options": options})
        newsletter_audience(session, users.find_by_email(session, "api@example.com"))
    organisation = {"type_key": "core.municipality", "custom": {
        "f_integer": 3, "f_relation": 1, "f_money": {"amount": "12.50", "currency": "EUR"},
        "f_multi_choice": ["web"], "f_date": "2024-05-01", "photovoltaics_power": "9.84"}}
    case = {"title": "Banners", "process_key": "printing.project", "organisation_id": 1,
            "amount": "1200.00"}
    client = app.test_client()
    for path, body in (
            *(("/organizations/", {**organisation, "name": name})
              for name in ("Gmina Kórnik", "Gmina Mosina", "Gmina Puszczykowo")),
            *(("/cases/", case) for _ in range(3)),
            ("/documents/", {"template": "printing.offer", "record_type": "case",
                             "record_id": 1}),
            ("/mailings/", {"name": "News", "template": "test.newsletter",
                            "purpose": "newsletter", "audience": "people",
                            "person_ids": [1, 2, 3]})):
        response = client.post(f"/api/v1{path}", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201, response.get_json()


def installation_keys(rt) -> list[str]:
    """The keys this installation knows: processes, phases, templates, number series,
    consent purposes, organisation types."""
    with rt.session() as session:
        keys = [*session.scalars(select(DocumentTemplate.key)),
                *session.scalars(select(NumberSeries.key)),
                *session.scalars(select(ProcessingPurpose.key))]
    for process in rt.host.processes.values():
        keys += [process.key, *(phase.key for phase in process.phases)]
    keys += list(rt.host.organisation_types)
    return sorted(set(keys))


@pytest.mark.slow
def test_every_operation_answers_as_the_document_says(api_schema):
    failures, succeeded = run(api_schema)
    assert not failures, "\n\n".join(failures)
    # The requests reached real records, not only 404s.
    assert {f"GET /api/v1{path}" for path in (
        "/organizations/{record_id}", "/people/{record_id}", "/cases/{case_id}",
        "/documents/{document_id}", "/documents/{document_id}/pdf",
        "/mailings/{mailing_id}")} <= succeeded
