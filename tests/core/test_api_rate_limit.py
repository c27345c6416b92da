"""Rate limiting of the API: per token, per account for the UI's session calls, per
address without credentials; 429 as problem+json with Retry-After; the staff pages and
the API's own document never limited; counts shared through Redis between processes."""

import os
import time
import types
import uuid

import limits.storage.memory
import limits.strategies
import pytest
import redis
from sqlalchemy import func, select

from core import config, runtime, tokens, users
from core.errors import StartupError
from core.models import Organisation
from core.web import create_app
from core.web.app import attach

REDIS_URL = os.environ.get("KARTOTEKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 3


@pytest.fixture(autouse=True)
def counts_at_one_instant(monkeypatch):
    """The counts kept in this process see the instant the test starts: its calls never
    straddle two windows, where the sliding window forgets part of the first and would
    let a call through."""
    instant = time.time()
    now = types.SimpleNamespace(time=lambda: instant)
    monkeypatch.setattr(limits.storage.memory, "time", now)
    monkeypatch.setattr(limits.strategies, "time", now)


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", api_rate_limit=f"{LIMIT} per minute")


def token_for(rt, email="api@example.com") -> str:
    with rt.session() as session, session.begin():
        user = users.find_by_email(session, email) or users.create_user(
            session, email, "correct horse battery", is_admin=True)
        return tokens.create(session, user, "test")[1]


def caller(app, token):
    client = app.test_client()

    def call(path="/organizations/", method="get", **kwargs):
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


def use_up(call, times=LIMIT):
    for n in range(times):
        response = call()
        assert response.status_code in (200, 401), response.get_json()
        assert response.headers["X-RateLimit-Limit"] == str(LIMIT)
        assert response.headers["X-RateLimit-Remaining"] == str(LIMIT - n - 1)
        assert "Retry-After" not in response.headers


def assert_refused(response):
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 429 and f"at most {LIMIT} in 60 s" in body["detail"]
    assert 0 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > 0


def test_the_call_after_the_limit_is_refused_with_429_and_writes_nothing(app, rt):
    api = caller(app, token_for(rt))
    use_up(api)
    assert_refused(api())
    refused = api(method="post", json={"name": "Gmina Kórnik", "type_key": "core.company"})
    assert_refused(refused)
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_another_token_is_not_affected(app, rt):
    first = caller(app, token_for(rt))
    use_up(first)
    assert_refused(first())
    assert caller(app, token_for(rt))().status_code == 200  # the same account's other one
    assert caller(app, token_for(rt, "other@example.com"))().status_code == 200
    assert first().status_code == 429


def test_the_uis_session_calls_are_counted_for_the_account(app, rt, kartoteka_login):
    client = kartoteka_login(app.test_client())
    use_up(lambda: client.get("/api/v1/organizations/"))
    assert_refused(client.get("/api/v1/organizations/"))
    # The account's token has a count of its own.
    assert caller(app, token_for(rt, "admin@example.com"))().status_code == 200


def test_calls_without_credentials_are_counted_per_address(app):
    client = app.test_client()
    use_up(lambda: client.get("/api/v1/people/"))
    assert_refused(client.get("/api/v1/people/"))
    elsewhere = client.get("/api/v1/people/", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 401


def test_the_staff_pages_and_the_api_document_are_not_limited(app, rt, kartoteka_login):
    client = kartoteka_login(app.test_client())
    use_up(lambda: client.get("/api/v1/organizations/"))
    for _ in range(LIMIT + 2):
        for path in ("/", "/organisations/", "/api/v1/openapi.json", "/api/v1/docs"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "X-RateLimit-Limit" not in response.headers, path
    assert client.get("/api/v1/organizations/").status_code == 429


def test_a_new_runtime_of_the_app_counts_afresh(app, rt):
    """What keeps one test's counts from the next: each gets the app on a new runtime."""
    anonymous = app.test_client()
    use_up(lambda: anonymous.get("/api/v1/people/"))
    assert anonymous.get("/api/v1/people/").status_code == 429
    fresh = runtime.start(rt.settings)
    try:
        attach(app, fresh)
        assert anonymous.get("/api/v1/people/").status_code == 401
    finally:
        attach(app, rt)
        fresh.engine.dispose()


def test_an_empty_setting_means_no_limit(kartoteka_app_factory):
    app = kartoteka_app_factory(default_locale="en", api_rate_limit="")
    api = caller(app, token_for(app.extensions["kartoteka"]))
    for _ in range(20):
        response = api()
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("setting, value", [("api_rate_limit", "lots"),
                                            ("rate_limit_url", "carrier-pigeon://loft")])
def test_a_wrong_setting_stops_the_start(kartoteka_database_url, kartoteka_instance_path,
                                         setting, value):
    with pytest.raises(StartupError, match=setting):
        create_app({"database_url": kartoteka_database_url,
                    "instance_path": str(kartoteka_instance_path), setting: value})


def test_the_counts_go_to_redis_when_the_settings_say_so():
    from core.api.ratelimit import storage_uri

    def uri(**settings):
        return storage_uri(config.load(settings, environ={}))

    assert uri() == "memory://"
    assert uri(jobs_url="immediate") == "memory://"
    assert uri(jobs_url="redis://queue:6379/1") == "redis://queue:6379/1"
    assert uri(jobs_url="unix:///run/redis.sock") == "redis+unix:///run/redis.sock"
    assert uri(jobs_url="redis://queue/1", rate_limit_url="redis://limits/2") == \
        "redis://limits/2"


@pytest.fixture
def redis_url(request):
    """The Redis server of the machine; CI must have it, elsewhere its absence skips."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return REDIS_URL


def test_processes_sharing_redis_share_the_counts(kartoteka_app_factory, redis_url):
    settings = {"default_locale": "en", "api_rate_limit": f"{LIMIT} per minute",
                "rate_limit_url": redis_url}
    one, two = kartoteka_app_factory(**settings), kartoteka_app_factory(**settings)
    assert one is not two
    token = token_for(one.extensions["kartoteka"], f"{uuid.uuid4().hex}@example.com")
    use_up(caller(one, token), LIMIT - 1)
    assert caller(two, token)().headers["X-RateLimit-Remaining"] == "0"
    assert_refused(caller(one, token)())
