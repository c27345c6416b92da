"""Schemathesis against the training plugin's operations in the live OpenAPI document,
as tests/core/test_api_schemathesis.py does for the core's (which runs without this
plugin): generated requests, valid and invalid, as an administrator with an API token,
on an installation with venues, trainings and enrolments. No answer may be a server
error, carry a status the operation does not name, another content type than the one
documented, or a body off its schema. SQLite only, as there."""

from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from schemathesis_checks import CHECKS, run
from test_api import token_for

from core import cases, people, users
from plugins.training import enrolments, venues

MAX_EXAMPLES = 5


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en", api_rate_limit="")


@pytest.fixture
def api_schema(app):
    rt = app.extensions["kartoteka"]
    token = token_for(rt)
    seed(app, rt)
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}", "Accept-Language": "en"},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "dictionaries": {"integer": {"dictionary": "ids", "probability": 0.6}},
            },
            "dictionaries": {"ids": {"values": [1, 2, 3]}, "etags": {"values": ["*", '"1"']}},
            "parameters": {"header.If-Match": {"dictionary": "etags", "probability": 0.8}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    return schema.include(path_regex="^/api/v1/training/")


def seed(app, rt):
    """Venues, people and trainings 1 to 3, each with an enrolment."""
    with app.test_request_context(), rt.session() as session, session.begin():
        admin = users.find_by_email(session, "api@example.com")
        starts = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
        for n, name in enumerate(("Anna", "Bartosz", "Celina"), start=1):
            venue = venues.create(session, {"name": f"Sala {n}", "capacity": 20}, admin)
            someone = people.create(
                session, {"first_name": name, "last_name": "Nowak"}, allow_duplicates=True
            )
            case = cases.create(
                session,
                rt.host,
                {
                    "title": f"Szkolenie {n}",
                    "process_key": "training.training",
                    "custom": {"training_starts_at": starts, "training_venue": venue.id},
                },
                actor=admin,
            )
            case.phase_key = "enrolment_open"
            enrolments.enrol(session, case, someone, admin)


@pytest.mark.slow
def test_every_training_operation_answers_as_the_document_says(api_schema):
    failures, succeeded = run(api_schema)
    assert not failures, "\n\n".join(failures)
    assert {
        "GET /api/v1/training/venues/{record_id}",
        "GET /api/v1/training/trainings/{case_id}/enrolments",
        "GET /api/v1/training/enrolments/{enrolment_id}",
    } <= succeeded
