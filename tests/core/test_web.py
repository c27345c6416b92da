"""The web application as a browser and a load balancer see it."""

import re

import pytest
from sqlalchemy import update

import core
from core import users
from core.db import make_engine
from core.models import User
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD

WRONG_PASSWORD = "Nieprawidłowy e-mail lub hasło."


def add_user(app, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, active=True):
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        user = users.create_user(session, email, password)
        user.active = active


def deactivate(app, email=ADMIN_EMAIL):
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        session.execute(update(User).where(User.email == email).values(active=False))


def log_in(client, next_url=None, password=ADMIN_PASSWORD):
    url = "/login" if next_url is None else f"/login?next={next_url}"
    return client.post(url, data={"email": ADMIN_EMAIL, "password": password})


def assert_anonymous(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --------------------------------------------------------------------- /healthz


def test_healthz_reports_version_database_and_enabled_plugins(kartoteka_app_factory):
    app = kartoteka_app_factory(["training", "grants"])
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "version": core.__version__, "database": "ok",
                             "plugins": ["grants", "training"]}


def test_healthz_answers_503_when_the_database_is_unreachable(kartoteka_app_factory,
                                                              monkeypatch):
    app = kartoteka_app_factory()
    unreachable = make_engine("postgresql://postgres@127.0.0.1:1/test")
    monkeypatch.setattr(app.extensions["kartoteka"], "engine", unreachable)
    try:
        response = app.test_client().get("/healthz")
    finally:
        unreachable.dispose()
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert response.json["database"].startswith("error")
    assert response.json["version"] == core.__version__


# --------------------------------------------------------------------- language


def test_an_anonymous_visitor_is_sent_to_the_login_page(kartoteka_app_factory):
    response = kartoteka_app_factory().test_client().get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2F"


def test_the_login_page_is_polish_by_default_and_english_on_request(kartoteka_app_factory):
    client = kartoteka_app_factory().test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Zaloguj się" in page and '<html lang="pl">' in page

    assert client.get("/lang/en").status_code == 302
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and "Zaloguj się" not in page and '<html lang="en">' in page


def test_an_unknown_language_code_changes_nothing(kartoteka_app_factory):
    client = kartoteka_app_factory().test_client()
    client.get("/lang/xx")
    assert "Zaloguj się" in client.get("/login").get_data(as_text=True)

    client.get("/lang/en")
    client.get("/lang/xx")
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and "Zaloguj się" not in page


# --------------------------------------------------------------------- logging in


def test_a_wrong_password_is_refused_in_polish(kartoteka_app_factory):
    app = kartoteka_app_factory()
    add_user(app)
    client = app.test_client()
    response = log_in(client, password="not the password")
    assert response.status_code == 200
    assert WRONG_PASSWORD in response.get_data(as_text=True)
    assert_anonymous(client)


def test_an_unknown_e_mail_gets_the_same_message_as_a_wrong_password(kartoteka_app_factory):
    client = kartoteka_app_factory().test_client()
    response = client.post("/login", data={"email": "nobody@example.com",
                                           "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    assert WRONG_PASSWORD in response.get_data(as_text=True)


def test_logging_in_leads_to_the_start_page_listing_the_enabled_plugins(
        kartoteka_app_factory):
    app = kartoteka_app_factory(["training"])
    add_user(app)
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"

    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Włączone wtyczki" in text and "Szkolenia" in text
    assert "Dotacje" not in text


def test_login_honours_a_local_next_page(kartoteka_app_factory):
    app = kartoteka_app_factory()
    add_user(app)
    response = log_in(app.test_client(), next_url="/reports%3Fyear%3D2026")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports?year=2026"


@pytest.mark.parametrize("next_url", ["http://evil.example/", "//evil.example",
                                      "https://evil.example/login"])
def test_login_never_redirects_to_another_host(kartoteka_app_factory, next_url):
    app = kartoteka_app_factory()
    add_user(app)
    response = log_in(app.test_client(), next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_deactivated_user_cannot_log_in(kartoteka_app_factory):
    app = kartoteka_app_factory()
    add_user(app, active=False)
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 200
    assert WRONG_PASSWORD in response.get_data(as_text=True)
    assert_anonymous(client)


def test_a_user_deactivated_while_logged_in_is_logged_out(kartoteka_app_factory,
                                                          kartoteka_login):
    app = kartoteka_app_factory()
    client = kartoteka_login(app.test_client())
    assert client.get("/").status_code == 200
    deactivate(app)
    assert_anonymous(client)


# --------------------------------------------------------------------- logging out, CSRF


def test_logout_is_post_only_and_ends_the_session(kartoteka_app_factory, kartoteka_login):
    app = kartoteka_app_factory()
    client = kartoteka_login(app.test_client())
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200

    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Wylogowano." in client.get("/login").get_data(as_text=True)
    assert_anonymous(client)


def token_from(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_with_csrf_a_login_without_token_is_refused(kartoteka_app_factory):
    app = kartoteka_app_factory(WTF_CSRF_ENABLED=True)
    add_user(app)
    client = app.test_client()
    client.get("/login")
    response = log_in(client)
    assert response.status_code == 400
    assert_anonymous(client)

    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_with_csrf_a_logout_without_token_keeps_the_session(kartoteka_app_factory):
    app = kartoteka_app_factory(WTF_CSRF_ENABLED=True)
    add_user(app)
    client = app.test_client()
    token = token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                "csrf_token": token})
    assert client.post("/logout").status_code == 400
    page = client.get("/")
    assert page.status_code == 200

    response = client.post("/logout", data={"csrf_token": token_from(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert_anonymous(client)


# --------------------------------------------------------------------- plugin pages


def test_a_plugin_page_is_not_served_while_the_plugin_is_disabled(
        kartoteka_app_factory, kartoteka_login, third_party):
    app = kartoteka_app_factory()
    client = kartoteka_login(app.test_client())
    assert client.get("/visits/").status_code == 404
