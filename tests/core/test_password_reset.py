"""Password reset by an e-mailed single-use link: asking for it, the mail, choosing the
new password, and everything that must not work."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from core import auth_sessions, totp, users
from core.db import utcnow
from core.models import AuditEntry, PasswordReset, User
from page_helpers import flashes, show, text

PUBLIC_URL = "https://crm.example.org"
EMAIL, PASSWORD, NEW = "ola@example.com", "ola-password-1", "a brand new password"
SENT = "If an account has the address you gave, a link to choose a new password"
WRONG = "Wrong e-mail or password."
THROTTLED = "Too many requests for a new password. Try again in 60 minutes."
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/reset-password/[A-Za-z0-9_-]+)")


@pytest.fixture
def app(kartoteka_app_factory, kartoteka_smtp):
    return kartoteka_app_factory(default_locale="en", public_url=PUBLIC_URL,
                                 **kartoteka_smtp.settings())


@pytest.fixture
def staff(rt):
    with rt.session() as session, session.begin():
        return users.create_user(session, EMAIL, PASSWORD, "Ola Kot").id


def ask(client, email=EMAIL, **kwargs):
    return client.post("/forgot-password", data={"email": email}, **kwargs)


def mailed_link(smtp, n=-1) -> str:
    """The path of the link in the ``n``th message that arrived."""
    body = smtp.messages[n].get_body(("plain",)).get_content()
    return LINK.search(body).group(1)


def link_for(client, smtp, email=EMAIL) -> str:
    assert ask(client, email).status_code == 302
    return mailed_link(smtp)


def choose(client, path, new=NEW, again=None, **extra):
    return client.post(path, data={"new_password": new,
                                   "new_password_again": new if again is None else again,
                                   **extra})


def log_in(client, password, email=EMAIL):
    return client.post("/login", data={"email": email, "password": password})


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def fetch(rt, user_id) -> User:
    with rt.session() as session:
        return session.get(User, user_id)


def error_of(page: str, name: str) -> str:
    found = re.search(rf'<span class="error" id="e-{name}">(.*?)</span>', page)
    return found.group(1) if found else ""


def actions(rt, user_id) -> list[str]:
    with rt.session() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.record_type == "user", AuditEntry.record_id == user_id)
            .order_by(AuditEntry.id)))


# --- The journey ---------------------------------------------------------------------------

def test_forgotten_password_to_a_new_one_by_mail(app, rt, staff, kartoteka_smtp):
    earlier = app.test_client()
    assert log_in(earlier, PASSWORD).status_code == 302 and logged_in(earlier)

    client = app.test_client()
    assert '<a href="/forgot-password">Forgot your password?</a>' in show(client, "/login")
    response = ask(client, "  Ola@Example.com ")
    assert response.status_code == 302 and response.location == "/forgot-password/sent"
    assert SENT in show(client, "/forgot-password/sent")

    [mail] = kartoteka_smtp.messages
    assert mail["To"] == "Ola Kot <ola@example.com>"
    assert mail["Subject"] == "A new password for Kartoteka"
    body = mail.get_body(("plain",)).get_content()
    assert "open this link within 60 minutes" in body and "The link works once." in body
    path = mailed_link(kartoteka_smtp)

    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in text(form)
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    response = choose(client, path)
    assert response.status_code == 302 and response.location == "/login"
    assert any("Your new password is set" in f for f in flashes(show(client, "/login")))

    assert WRONG in text(log_in(client, PASSWORD)) and not logged_in(client)
    assert not logged_in(earlier)  # the session from before the reset has ended
    assert log_in(client, NEW).status_code == 302 and logged_in(client)
    trail = [a for a in actions(rt, staff) if a.startswith("password")]
    assert trail == ["password_reset_requested", "password_changed", "password_reset"]
    with rt.session() as session:
        [row] = session.scalars(select(PasswordReset)).all()
        token = path.rsplit("/", 1)[1]
        assert row.used_at is not None and row.token_hash == auth_sessions.digest(token)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, staff, kartoteka_smtp):
    client = app.test_client()
    unknown, known = ask(client, "nobody@example.com"), ask(client, EMAIL)
    assert (unknown.status_code, unknown.location) == (known.status_code, known.location)
    assert kartoteka_smtp.recipients == [EMAIL]


def test_a_switched_off_account_gets_no_mail_and_its_links_stop(app, rt, staff,
                                                                kartoteka_smtp):
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    with rt.session() as session, session.begin():
        users.deactivate(session, session.get(User, staff))
    response = ask(client)
    assert response.status_code == 302 and response.location == "/forgot-password/sent"
    assert len(kartoteka_smtp.messages) == 1
    assert choose(client, path).status_code == 404
    assert users.check_password(fetch(rt, staff), PASSWORD)


# --- Links that must not work --------------------------------------------------------------

def test_a_link_works_once(app, rt, staff, kartoteka_smtp):
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    assert choose(client, path).status_code == 302

    for response in (client.get(path), choose(client, path, "yet another password")):
        assert response.status_code == 410
        page = text(response)
        assert "The link has already been used" in page
        assert '<a class="button" href="/forgot-password">Ask for a new link</a>' in page
    assert users.check_password(fetch(rt, staff), NEW)


def test_an_expired_link_is_refused(app, rt, staff, kartoteka_smtp):
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    with rt.session() as session, session.begin():
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    for response in (client.get(path), choose(client, path)):
        assert response.status_code == 410 and "The link has expired." in text(response)
    assert users.check_password(fetch(rt, staff), PASSWORD)


def test_a_made_up_or_damaged_link_is_refused(app, staff, kartoteka_smtp):
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    damaged = path[:-1] + ("A" if path[-1] != "A" else "B")
    for url in (damaged, "/reset-password/x", "/reset-password/" + "a" * 500):
        response = client.get(url)
        assert response.status_code == 404 and "The link is not right" in text(response)


def test_a_link_sets_only_the_password_of_the_account_it_was_sent_to(app, rt, staff,
                                                                      kartoteka_smtp):
    with rt.session() as session, session.begin():
        other = users.create_user(session, "bartek@example.com", "bartek-password", "Bartek").id
    bartek = app.test_client()
    assert log_in(bartek, "bartek-password", "bartek@example.com").status_code == 302
    path = link_for(app.test_client(), kartoteka_smtp)

    response = choose(bartek, path, email="bartek@example.com", user_id=str(other))
    assert response.status_code == 302
    assert users.check_password(fetch(rt, staff), NEW)
    assert users.check_password(fetch(rt, other), "bartek-password")
    assert "password_changed" not in actions(rt, other)


def test_changing_the_password_voids_the_links_not_yet_used(app, rt, staff, kartoteka_smtp):
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    log_in(client, PASSWORD)
    assert client.post("/account/password", data={
        "old_password": PASSWORD, "new_password": NEW,
        "new_password_again": NEW}).status_code == 302
    response = client.get(path)
    assert response.status_code == 410
    assert "or the password was changed after it was sent" in text(response)


def test_a_new_password_voids_every_other_link_of_the_account(app, rt, staff, kartoteka_smtp):
    client = app.test_client()
    first, second = link_for(client, kartoteka_smtp), link_for(client, kartoteka_smtp)
    assert choose(client, second).status_code == 302
    assert client.get(first).status_code == 410
    assert users.check_password(fetch(rt, staff), NEW)


# --- The new password ----------------------------------------------------------------------

@pytest.mark.parametrize("new, again, field, message", [
    ("short", "short", "new_password", "The password must have at least 10 characters."),
    (NEW, NEW + "!", "new_password_again", "The two new passwords are not the same."),
    (PASSWORD, PASSWORD, "new_password", "Choose a password different from the current one."),
])
def test_a_weak_or_mistyped_password_is_a_field_error_and_changes_nothing(
        app, rt, staff, kartoteka_smtp, new, again, field, message):
    earlier = app.test_client()
    log_in(earlier, PASSWORD)
    client = app.test_client()
    path = link_for(client, kartoteka_smtp)
    before = fetch(rt, staff)

    response = choose(client, path, new, again)
    assert response.status_code == 200 and error_of(text(response), field) == message
    after = fetch(rt, staff)
    assert (after.password_hash, after.password_changed_at) == \
        (before.password_hash, before.password_changed_at)
    assert logged_in(earlier) and "password_reset" not in actions(rt, staff)
    assert choose(client, path).status_code == 302  # the link still works


def test_errors_and_mail_in_polish_the_installations_language(kartoteka_app_factory,
                                                              kartoteka_smtp):
    app = kartoteka_app_factory(public_url=PUBLIC_URL, **kartoteka_smtp.settings())
    with app.extensions["kartoteka"].session() as session, session.begin():
        users.create_user(session, EMAIL, PASSWORD, "Ola Kot")
    client = app.test_client()
    client.get("/lang/en")  # whoever asks, the mail is in the installation's language
    assert "Forgot your password?" in show(client, "/login")
    link_for(client, kartoteka_smtp)
    client.get("/lang/pl")
    assert kartoteka_smtp.messages[0]["Subject"] == "Nowe hasło do Kartoteki"
    page = text(choose(client, mailed_link(kartoteka_smtp), "krótkie", "inne"))
    assert error_of(page, "new_password") == "Hasło musi mieć co najmniej 10 znaków."
    assert error_of(page, "new_password_again") == "Dwa wpisane nowe hasła się różnią."
    assert error_of(text(ask(client, "nie-adres")), "email") == \
        "Podaj poprawny adres e-mail."


# --- Second factor, CSRF, throttling ---------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)


def test_a_reset_leaves_the_second_factor_on(app, rt, staff, kartoteka_smtp, monkeypatch):
    monkeypatch.setattr(totp, "utcnow", lambda: NOW)
    secret = totp.new_secret()
    with rt.session() as session, session.begin():
        totp.enable(session, session.get(User, staff), secret,
                    pyotp.TOTP(secret).at(NOW - timedelta(seconds=30)))
    client = app.test_client()
    assert choose(client, link_for(client, kartoteka_smtp)).status_code == 302

    response = log_in(client, NEW)
    assert response.status_code == 302 and response.location == "/login/code"
    assert not logged_in(client)
    assert client.post("/login/code", data={"code": pyotp.TOTP(secret).at(NOW)}) \
        .status_code == 302
    assert logged_in(client)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_both_forms_need_their_csrf_token(kartoteka_app_factory, kartoteka_smtp):
    app = kartoteka_app_factory(default_locale="en", public_url=PUBLIC_URL,
                                WTF_CSRF_ENABLED=True, **kartoteka_smtp.settings())
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        staff = users.create_user(session, EMAIL, PASSWORD).id
    client = app.test_client()
    assert ask(client).status_code == 400 and kartoteka_smtp.messages == []
    token = csrf_of(show(client, "/forgot-password"))
    assert client.post("/forgot-password", data={"email": EMAIL, "csrf_token": token}) \
        .status_code == 302
    path = mailed_link(kartoteka_smtp)

    assert choose(client, path).status_code == 400
    assert users.check_password(fetch(rt, staff), PASSWORD)
    token = csrf_of(show(client, path))
    assert choose(client, path, csrf_token=token).status_code == 302
    assert users.check_password(fetch(rt, staff), NEW)


def test_requests_for_one_address_are_limited_whether_or_not_it_has_an_account(
        app, staff, kartoteka_smtp):
    client = app.test_client()
    for email in (EMAIL, "nobody@example.com"):
        for _attempt in range(3):
            assert ask(client, email).status_code == 302
        response = ask(client, email)
        assert response.status_code == 200
        assert error_of(text(response), "email") == THROTTLED
    assert kartoteka_smtp.recipients == [EMAIL] * 3
    assert ask(client, "other@example.com").status_code == 302  # another address is not held


def test_requests_from_one_network_address_are_limited(app, staff, kartoteka_smtp):
    client = app.test_client()
    away = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    for n in range(20):
        assert ask(client, f"guess{n}@example.com", **away).status_code == 302
    response = ask(client, EMAIL, **away)
    assert error_of(text(response), "email") == THROTTLED
    assert kartoteka_smtp.messages == []
    assert ask(client, EMAIL).status_code == 302 and kartoteka_smtp.recipients == [EMAIL]


# --- For operators -------------------------------------------------------------------------

def test_an_operator_prints_a_link_without_mail(cli, kartoteka_app_factory, database_url,
                                                 monkeypatch):
    monkeypatch.setenv("KARTOTEKA_PUBLIC_URL", PUBLIC_URL)
    app = kartoteka_app_factory(default_locale="en", public_url=PUBLIC_URL)
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        user_id = users.create_user(session, EMAIL, PASSWORD).id

    assert cli("users", "reset-link", "nobody@example.com").returncode == 1
    printed = cli("users", "reset-link", EMAIL)
    assert printed.returncode == 0
    path = LINK.fullmatch(printed.stdout.strip()).group(1)
    client = app.test_client()
    assert choose(client, path).status_code == 302
    assert users.check_password(fetch(rt, user_id), NEW)
    assert "password_reset_requested" in actions(rt, user_id)

    with rt.session() as session, session.begin():
        users.deactivate(session, session.get(User, user_id))
    refused = cli("users", "reset-link", EMAIL)
    assert refused.returncode == 1 and "switched off" in refused.stderr
