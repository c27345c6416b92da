"""My account: changing the password, the second factor, my sessions and my API tokens."""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from core import users
from core.db import utcnow
from core.models import ApiToken, AuditEntry, AuthSession, User
from page_helpers import flashes, show, text, visible

EMAIL, PASSWORD = "ola@example.com", "ola-password-1"


@pytest.fixture
def staff(rt):
    with rt.session() as session, session.begin():
        return users.create_user(session, EMAIL, PASSWORD, "Ola Kot").id


def logged_in_client(app, email=EMAIL, password=PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}) \
        .status_code == 302
    return client


@pytest.fixture
def me(app, staff):
    return logged_in_client(app)


def fetch_user(rt, user_id) -> User:
    with rt.session() as session:
        return session.get(User, user_id)


def error_of(page: str, name: str) -> str:
    found = re.search(rf'<span class="error" id="e-{name}">(.*?)</span>', page)
    return found.group(1) if found else ""


def audit_actions(rt, user_id) -> list[str]:
    with rt.session() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.record_type == "user", AuditEntry.record_id == user_id)
            .order_by(AuditEntry.id)))


def test_the_account_page_is_linked_from_every_page_and_needs_a_login(app, me):
    assert '<a href="/account/">Account</a>' in show(me, "/")
    page = show(me, "/account/")
    for heading in ("Password", "Two-step login", "Where you are logged in", "API tokens"):
        assert f"<h2>{heading}</h2>" in page
    anonymous = app.test_client().get("/account/")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")


# --- Password ------------------------------------------------------------------------------

def change(client, old, new, again=None):
    return client.post("/account/password", data={
        "old_password": old, "new_password": new,
        "new_password_again": new if again is None else again})


def test_a_wrong_current_password_is_a_field_error_and_changes_nothing(app, rt, staff, me):
    before = fetch_user(rt, staff)
    page = text(change(me, "not my password", "a brand new password"))
    assert error_of(page, "old_password") == "The current password is not right."
    after = fetch_user(rt, staff)
    assert after.password_hash == before.password_hash
    assert after.password_changed_at == before.password_changed_at
    assert "password_changed" not in audit_actions(rt, staff)


def test_a_short_or_mistyped_new_password_is_refused(app, rt, staff, me):
    page = text(change(me, PASSWORD, "short"))
    assert error_of(page, "new_password") == "The password must have at least 10 characters."
    page = text(change(me, PASSWORD, "a brand new password", "a brand new pasword"))
    assert error_of(page, "new_password_again") == "The two new passwords are not the same."
    page = text(change(me, PASSWORD, PASSWORD))
    assert "different from the current one" in error_of(page, "new_password")
    assert users.check_password(fetch_user(rt, staff), PASSWORD)


def test_a_new_password_ends_the_other_sessions_and_is_audited(app, rt, staff, me):
    other = logged_in_client(app)
    before = fetch_user(rt, staff).password_changed_at
    response = change(me, PASSWORD, "a brand new password")
    assert response.status_code == 302
    assert flashes(show(me, "/account/")) == [
        "Your password has been changed; your other sessions have ended."]
    assert other.get("/").status_code == 302
    user = fetch_user(rt, staff)
    assert users.check_password(user, "a brand new password")
    assert user.password_changed_at > before
    with rt.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "password_changed")).one()
    assert entry.actor_id == staff and entry.changes["password_hash"] == ["***", "***"]


# --- The second factor ---------------------------------------------------------------------

def enrolment_key(page: str) -> str:
    return re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ",
                                                                                         "")


def test_enrolment_shows_a_qr_code_and_needs_a_valid_code(app, rt, staff, me):
    page = show(me, "/account/two-factor")
    assert "<svg" in page and 'class="segno"' in page
    secret = enrolment_key(page)
    assert enrolment_key(show(me, "/account/two-factor")) == secret  # same until confirmed

    wrong = text(me.post("/account/two-factor", data={"code": "123456"}))
    assert error_of(wrong, "code").startswith("The code is not right.")
    assert fetch_user(rt, staff).totp_secret is None

    response = me.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert fetch_user(rt, staff).totp_secret == secret
    assert "On: after the password" in show(me, "/account/")
    assert "totp_on" in audit_actions(rt, staff)
    with rt.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "totp_on")).one()
    assert secret not in str(entry.changes)

    # Logging in now takes a code.
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.headers["Location"] == "/login/code"


def test_turning_the_second_factor_off_takes_the_password(app, rt, staff, me):
    secret = enrolment_key(show(me, "/account/two-factor"))
    me.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})

    page = text(me.post("/account/two-factor/off", data={"totp_password": "a guess"}))
    assert error_of(page, "totp_password") == "The password is not right."
    assert fetch_user(rt, staff).totp_secret == secret

    assert me.post("/account/two-factor/off",
                   data={"totp_password": PASSWORD}).status_code == 302
    assert fetch_user(rt, staff).totp_secret is None
    assert audit_actions(rt, staff)[-2:] == ["totp_on", "totp_off"]
    assert logged_in_client(app).get("/").status_code == 200


# --- Sessions ------------------------------------------------------------------------------

def test_my_sessions_are_listed_and_the_others_can_be_ended(app, rt, staff, me):
    other = logged_in_client(app)
    page = show(me, "/account/")
    section = visible(page.split('id="sessions"')[1].split("</section>")[0])
    assert section.count("127.0.0.1") == 2 and "this device" in section

    me.post("/account/sessions/others")
    assert flashes(show(me, "/account/")) == ["1 other session has ended."]
    assert other.get("/").status_code == 302 and me.get("/").status_code == 200


def test_one_session_can_be_ended_but_not_someone_elses(app, rt, staff, me, kartoteka_login):
    other = logged_in_client(app)
    admin = kartoteka_login(app.test_client())
    with rt.session() as session:
        mine = session.scalars(select(AuthSession.id).where(AuthSession.user_id == staff)
                               .order_by(AuthSession.id)).all()
        admins = session.scalars(select(AuthSession.id).where(
            AuthSession.user_id != staff)).all()
    assert me.post(f"/account/sessions/{admins[0]}/end").status_code == 404
    assert admin.get("/").status_code == 200
    assert me.post(f"/account/sessions/{mine[1]}/end").status_code == 302
    assert other.get("/").status_code == 302 and me.get("/").status_code == 200


# --- API tokens ----------------------------------------------------------------------------

def created_token(page: str) -> str:
    return re.search(r'<input class="wide" id="new-token" readonly value="([^"]+)"',
                     page).group(1)


def test_a_token_is_shown_once_works_and_is_refused_once_revoked(app, rt, staff, me):
    response = me.post("/account/tokens", data={"name": "Website forms", "expires_days": ""})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = created_token(text(response))
    assert token.startswith("kt_")
    page = show(me, "/account/")
    assert token not in page and "Website forms" in page
    assert f"kt_{token.split('_')[1]}_…" in page and "does not expire" in page

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/organizations/", headers=bearer).status_code == 200
    assert "never" not in visible(show(me, "/account/").split('id="tokens"')[1])

    with rt.session() as session:
        token_id = session.scalars(select(ApiToken.id).where(ApiToken.user_id == staff)).one()
    assert me.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/organizations/", headers=bearer).status_code == 401
    assert "revoked" in show(me, "/account/")


def test_a_token_with_an_expiry_and_bad_token_forms(app, rt, staff, me):
    page = text(me.post("/account/tokens", data={"name": "", "expires_days": ""}))
    assert error_of(page, "name") == "Give the token a name of at most 100 characters."
    for bad in ("0", "-3", "abc", "99999"):
        page = text(me.post("/account/tokens", data={"name": "Sync", "expires_days": bad}))
        assert error_of(page, "expires_days") == \
            "Enter a whole number of days from 1 to 3650.", bad
        assert 'value="Sync"' in page
    with rt.session() as session:
        assert session.scalars(select(ApiToken)).all() == []

    me.post("/account/tokens", data={"name": "Sync", "expires_days": "30"})
    with rt.session() as session:
        row = session.scalars(select(ApiToken)).one()
    assert timedelta(days=29, hours=23) < row.expires_at - utcnow() <= timedelta(days=30)


def test_someone_elses_token_cannot_be_revoked(app, rt, staff, me, kartoteka_login):
    admin = kartoteka_login(app.test_client())
    token = created_token(text(admin.post("/account/tokens", data={"name": "Admin's"})))
    with rt.session() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    assert me.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert "Admin&#39;s" not in show(me, "/account/") and "Admin's" not in text(
        me.get("/account/"))
    assert app.test_client().get("/api/v1/organizations/", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
