"""What the expertise tests read of the staff pages and of the REST API's answers: a
client logged in, a form's CSRF token, and a refusal's messages by field."""

import re

from core.testing import ADMIN_EMAIL
from tests.plugins.expertise.conftest import PASSWORD

PROBLEM = "application/problem+json"


def login(app, email=ADMIN_EMAIL):
    """A test client of the staff pages, logged in as ``email``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def refused(response, status=422) -> dict:
    """The messages by field of an API refusal: problem+json with ``status``."""
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json().get("errors", {})
