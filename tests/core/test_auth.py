"""Logging in: server-side sessions, replayed cookies, fixation, lockout, throttling, the
second factor and the audit trail of logins."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import extract_parameters, profiles
from sqlalchemy import select, update

from core import audit, auth_sessions, login_throttle, totp, users
from core.db import utcnow
from core.models import AuditEntry, AuthSession, LoginAttempt, User
from page_helpers import flashes, show, text

WRONG = "Wrong e-mail or password."
LOCKED = "Too many failed attempts to log in with this e-mail address. Try again in"
THROTTLED = "Too many failed attempts to log in from your network address. Try again in"
STAFF_EMAIL, STAFF_PASSWORD = "ola@example.com", "ola-password-1"


@pytest.fixture
def staff(rt):
    """A staff account that is not the administrator."""
    with rt.session() as session, session.begin():
        return users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD, "Ola Kot").id


def log_in(client, email=STAFF_EMAIL, password=STAFF_PASSWORD, **kwargs):
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def copy_cookie(source, target) -> None:
    """What a thief does with a copied cookie: present it from another browser."""
    target.set_cookie("session", source.get_cookie("session").value)


def sessions_of(rt, user_id) -> list[AuthSession]:
    with rt.session() as session:
        return list(session.scalars(select(AuthSession).where(AuthSession.user_id == user_id)))


def entries(rt, action) -> list[AuditEntry]:
    with rt.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


# --- Passwords -----------------------------------------------------------------------------

def test_passwords_are_stored_with_argon2s_production_parameters(app, rt, monkeypatch,
                                                                kartoteka_quick_passwords):
    """The other tests hash with the cheapest parameters (core.testing); this one puts
    back the hasher core.users defines and logs in with what it stored."""
    monkeypatch.setattr(users, "hasher", kartoteka_quick_passwords)
    with rt.session() as session, session.begin():
        users.create_user(session, STAFF_EMAIL, STAFF_PASSWORD)
    assert log_in(app.test_client()).status_code == 302
    with rt.session() as session:
        stored = users.find_by_email(session, STAFF_EMAIL).password_hash
    assert extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY


# --- Server-side sessions ------------------------------------------------------------------

def test_the_cookie_holds_a_session_token_stored_only_as_its_hash(app, rt, staff):
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    data = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie("session").value)
    token = data["_user_id"]
    assert token != str(staff) and len(token) > 30
    [row] = sessions_of(rt, staff)
    assert row.token_hash == auth_sessions.digest(token) and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(days=7)
    assert logged_in(client)


def test_plain_http_development_can_turn_the_secure_flag_off(kartoteka_app_factory, rt, staff):
    plain = kartoteka_app_factory(default_locale="en", secure_cookies=False)
    response = log_in(plain.test_client())
    assert response.status_code == 302 and "Secure" not in response.headers["Set-Cookie"]


def test_a_cookie_replayed_after_logout_is_refused(app, staff):
    victim, thief = app.test_client(), app.test_client()
    log_in(victim)
    copy_cookie(victim, thief)
    assert logged_in(thief)  # the copy is as good as the original while the session lives

    victim.post("/logout")
    assert not logged_in(victim) and not logged_in(thief)


def test_a_cookie_replayed_after_a_password_change_is_refused(app, rt, staff):
    here, elsewhere, thief = app.test_client(), app.test_client(), app.test_client()
    log_in(here)
    log_in(elsewhere)
    copy_cookie(elsewhere, thief)
    response = here.post("/account/password", data={
        "old_password": STAFF_PASSWORD, "new_password": "a new password 2",
        "new_password_again": "a new password 2"})
    assert response.status_code == 302
    assert logged_in(here)  # the session the change was made in goes on
    assert not logged_in(elsewhere) and not logged_in(thief)
    assert log_in(app.test_client()).status_code == 200  # the old password is refused
    assert log_in(app.test_client(), password="a new password 2").status_code == 302


def test_a_cookie_replayed_after_deactivation_is_refused_also_by_the_api(app, rt, staff):
    victim, thief = app.test_client(), app.test_client()
    log_in(victim)
    copy_cookie(victim, thief)
    assert thief.get("/api/v1/organizations/").status_code == 200  # the UI's session calls
    with rt.session() as session, session.begin():
        users.deactivate(session, session.get(User, staff))
    assert not logged_in(victim) and not logged_in(thief)
    assert thief.get("/api/v1/organizations/").status_code == 401
    assert all(row.revoked_at is not None for row in sessions_of(rt, staff))

    with rt.session() as session, session.begin():
        users.activate(session, session.get(User, staff))
    assert not logged_in(thief)  # coming back opens no old session
    assert log_in(app.test_client()).status_code == 302


def test_logging_in_starts_a_new_session_so_a_planted_one_gains_nothing(app, rt, staff):
    victim, attacker = app.test_client(), app.test_client()
    victim.get("/lang/en")  # the victim's browser has a session before logging in
    planted = victim.get_cookie("session").value
    attacker.set_cookie("session", planted)

    log_in(victim)
    assert victim.get_cookie("session").value != planted
    assert logged_in(victim) and not logged_in(attacker)

    other = app.test_client()
    log_in(other)
    tokens = {row.token_hash for row in sessions_of(rt, staff)}
    assert len(tokens) == 2  # each login has a session of its own


def test_a_session_ends_when_unused_too_long_and_after_its_lifetime(app, rt, staff):
    idle, old = app.test_client(), app.test_client()
    log_in(idle)
    log_in(old)
    first, second = sorted(row.id for row in sessions_of(rt, staff))
    now = utcnow()
    with rt.session() as session, session.begin():
        session.execute(update(AuthSession).where(AuthSession.id == first)
                        .values(last_seen_at=now - timedelta(hours=12, minutes=1)))
        session.execute(update(AuthSession).where(AuthSession.id == second)
                        .values(expires_at=now - timedelta(seconds=1)))
    assert not logged_in(idle) and not logged_in(old)


def test_use_is_noted_at_most_once_a_minute(app, rt, staff):
    client = app.test_client()
    log_in(client)
    [row] = sessions_of(rt, staff)
    client.get("/")
    assert sessions_of(rt, staff)[0].last_seen_at == row.last_seen_at

    earlier = utcnow() - timedelta(minutes=2)
    with rt.session() as session, session.begin():
        session.execute(update(AuthSession).values(last_seen_at=earlier))
    client.get("/")
    assert sessions_of(rt, staff)[0].last_seen_at > earlier + timedelta(minutes=1)


# --- Lockout and throttling ----------------------------------------------------------------

def test_five_failures_lock_the_account_even_for_the_right_password(app, rt, staff):
    client = app.test_client()
    for attempt in range(1, 6):
        page = text(log_in(client, password=f"wrong {attempt}"))
        assert WRONG in page
        assert (LOCKED in page) == (attempt == 5)
    page = text(log_in(client))
    assert "Try again in 15 minutes." in page and WRONG not in page
    assert not logged_in(client)
    with rt.session() as session:
        locked_until = session.get(User, staff).locked_until
    assert timedelta(minutes=14) < locked_until - utcnow() <= timedelta(minutes=15)

    # Once the failures are older than the window, the right password works again.
    with rt.session() as session, session.begin():
        session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
    assert log_in(client).status_code == 302 and logged_in(client)


def test_the_lock_does_not_tell_whether_an_account_exists(app, staff):
    answers = {}
    for email in (STAFF_EMAIL, "nobody@example.com"):
        client = app.test_client()
        for attempt in range(5):
            log_in(client, email=email, password=f"wrong {attempt}")
        answers[email] = text(log_in(client, email=email, password="wrong again"))
    assert LOCKED in answers[STAFF_EMAIL] and LOCKED in answers["nobody@example.com"]


def test_a_success_does_not_wipe_earlier_failures(app, staff):
    client = app.test_client()
    for attempt in range(4):
        log_in(client, password=f"wrong {attempt}")
    assert log_in(client).status_code == 302
    client.post("/logout")
    assert LOCKED in text(log_in(client, password="wrong again"))


def test_many_failures_from_one_address_hold_that_address_back(app, rt, staff):
    with rt.session() as session, session.begin():  # 19 guesses at other accounts
        session.add_all(LoginAttempt(at=utcnow(), email=f"guess{n}@example.com",
                                     ip="127.0.0.1", success=False) for n in range(19))
    client = app.test_client()
    page = text(log_in(client, email="guess@example.com", password="guess"))
    assert WRONG in page and THROTTLED in page
    page = text(log_in(client))
    assert THROTTLED in page and not logged_in(client)

    elsewhere = app.test_client()
    assert log_in(elsewhere, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302


def test_throttling_is_shared_through_the_database(kartoteka_app_factory, staff, app):
    other_process = kartoteka_app_factory(default_locale="en")
    for attempt in range(5):
        log_in(other_process.test_client(), password=f"wrong {attempt}")
    assert LOCKED in text(log_in(app.test_client()))


def test_the_lock_message_counts_down_the_minutes(app):
    with app.test_request_context():
        soon = login_throttle.Refusal("account", utcnow() + timedelta(seconds=30))
        assert soon.message().endswith("Try again in 1 minute.")


# --- Two-step login ------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize(("proxies", "recorded"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_callers_address_is_taken_from_a_proxy_only_when_one_is_trusted(
        kartoteka_app_factory, proxies, recorded):
    app = kartoteka_app_factory(default_locale="en", trusted_proxies=proxies)
    app.test_client().post("/login", data={"email": "nobody@example.com", "password": "x"},
                           headers={"X-Forwarded-For": "203.0.113.9"})
    with app.extensions["kartoteka"].session() as session:
        assert session.scalars(select(LoginAttempt.ip)).all() == [recorded]


@pytest.fixture
def frozen(monkeypatch):
    """The second factor's clock, stopped, so the codes of each step are known."""
    monkeypatch.setattr(totp, "utcnow", lambda: NOW)


def code_at(secret, steps=0) -> str:
    return pyotp.TOTP(secret).at(NOW + timedelta(seconds=30 * steps))


@pytest.fixture
def secret(rt, staff, frozen) -> str:
    """The staff account with the second factor on, enrolled with the previous step's
    code."""
    value = totp.new_secret()
    with rt.session() as session, session.begin():
        totp.enable(session, session.get(User, staff), value, code_at(value, -1))
    return value


def send_code(client, code):
    return client.post("/login/code", data={"code": code})


def test_with_the_second_factor_the_password_alone_does_not_log_in(app, rt, staff, secret):
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert not logged_in(client) and sessions_of(rt, staff) == []
    assert "Enter the six-digit code" in show(client, "/login/code")

    page = text(send_code(client, code_at(secret, 5)))
    assert "The code is not right." in page and not logged_in(client)
    assert send_code(client, code_at(secret)).status_code == 302
    assert logged_in(client) and len(sessions_of(rt, staff)) == 1


def test_a_code_is_accepted_once(app, staff, secret):
    first = app.test_client()
    log_in(first)
    send_code(first, code_at(secret))
    assert logged_in(first)

    second = app.test_client()
    log_in(second)
    assert "The code is not right." in text(send_code(second, code_at(secret)))
    assert "The code is not right." in text(send_code(second, code_at(secret, -1)))
    assert not logged_in(second)
    assert send_code(second, code_at(secret, 1)).status_code == 302  # the next step's code


def test_wrong_codes_count_towards_the_lock(app, staff, secret):
    client = app.test_client()
    log_in(client)
    for _attempt in range(4):
        assert "The code is not right." in text(send_code(client, "000000"))
    response = send_code(client, "000000")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert any(LOCKED in f for f in flashes(show(client, "/login")))
    assert LOCKED in text(log_in(client))


def test_the_code_step_expires_and_needs_the_password_first(app, staff, secret):
    client = app.test_client()
    assert send_code(client, code_at(secret)).headers["Location"] == "/login"
    log_in(client)
    with client.session_transaction() as flask_session:
        pending = flask_session["pending_login"]
        flask_session["pending_login"] = {**pending, "at": pending["at"] - 301}
    response = send_code(client, code_at(secret))
    assert response.headers["Location"] == "/login" and not logged_in(client)


def test_codes_that_are_not_six_digits_are_refused(frozen):
    secret = totp.new_secret()
    assert totp.matching_step(secret, code_at(secret)) is not None
    assert totp.matching_step(secret, " " + code_at(secret)[:3] + " " + code_at(secret)[3:])
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦", code_at(secret, 2)):
        assert totp.matching_step(secret, bad) is None


# --- The audit trail of logins -------------------------------------------------------------

def test_logins_failures_and_logouts_are_audited_without_passwords(app, rt, staff):
    client = app.test_client()
    log_in(client, password="my secret guess")
    log_in(client, email="nobody@example.com", password="another secret guess")
    log_in(client)
    client.post("/logout")

    [wrong, unknown] = entries(rt, "login_failed")
    assert wrong.record_type == "user" and wrong.record_id == staff
    assert wrong.changes == {"email": [None, STAFF_EMAIL], "ip": [None, "127.0.0.1"],
                             "reason": [None, "password"]}
    assert unknown.record_id is None and unknown.changes["email"] == [None,
                                                                      "nobody@example.com"]
    [login] = entries(rt, "login")
    assert login.actor_id == staff and login.changes == {"ip": [None, "127.0.0.1"]}
    [logout] = entries(rt, "logout")
    assert logout.actor_id == staff and logout.door == "ui"
    with rt.session() as session:
        everything = str([(e.changes, e.summary) for e in session.scalars(audit.query())])
    assert "secret guess" not in everything and STAFF_PASSWORD not in everything


def test_the_admin_login_of_the_test_fixtures_still_works(client):
    assert "Account" in show(client, "/")
