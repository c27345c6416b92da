"""Browser journeys: the real application served on a free local port, driven by
Playwright in Debian's headless Chromium.

Chromium comes from the system (``/usr/bin/chromium``, or ``KARTOTEKA_CHROMIUM``); with
CI=true a missing browser stops the run instead of skipping these tests. The database
layer is tested on both databases elsewhere: the journeys use SQLite. Screenshots of
the pages a journey reaches are written to ``KARTOTEKA_SCREENSHOTS`` (default
``.venv/screenshots``) as artefacts to look at.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("KARTOTEKA_CHROMIUM") or shutil.which("chromium") or ""
IN_CI = os.environ.get("CI", "").lower() == "true"
SHOTS = Path(os.environ.get("KARTOTEKA_SCREENSHOTS", ROOT / ".venv" / "screenshots"))
PASSWORD = "correct horse battery"
# The flags a sandboxed, offline machine needs (no background calls home).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    if CHROMIUM and os.access(CHROMIUM, os.X_OK):
        return
    if IN_CI:
        raise pytest.UsageError("Chromium is not installed (apt-get install chromium); "
                                "the browser tests are mandatory when CI=true.")
    skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)")
    for item in items:
        if "e2e" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture
def kartoteka_database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'kartoteka.db'}"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield found
        found.close()


class Site:
    """The served application: its address, its runtime, and helpers for journeys."""

    def __init__(self, app, url: str):
        self.app, self.url = app, url
        self.rt = app.extensions["kartoteka"]

    def user(self, email: str, admin: bool = False, supervisor: str | None = None,
             roles: tuple[str, ...] = ("staff",), name: str = "") -> int:
        from core import users

        with self.app.app_context(), self.rt.session() as s, s.begin():
            user = users.create_user(s, email, PASSWORD, full_name=name, is_admin=admin,
                                     roles=list(roles))
            if supervisor:
                user.supervisor_id = users.find_by_email(s, supervisor).id
            return user.id

    def login(self, page, email: str, locale: str = "en"):
        """Log in as ``email`` and choose the language with the switch in the top bar."""
        page.goto(f"{self.url}/lang/{locale}")
        page.goto(f"{self.url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page


@pytest.fixture
def site_plugins() -> list[str]:
    """The plugins the served installation has; a journey's module may say others."""
    return ["printing"]


@pytest.fixture
def site(kartoteka_app_factory, site_plugins):
    app = kartoteka_app_factory(site_plugins, default_locale="pl", WTF_CSRF_ENABLED=True,
                                secure_cookies=False, TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()


@pytest.fixture
def context(browser):
    found = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 860})
    yield found
    found.close()


@pytest.fixture
def page(context, request):
    found = context.new_page()
    found.set_default_timeout(10_000)
    yield found
    SHOTS.mkdir(parents=True, exist_ok=True)
    found.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)


@pytest.fixture
def mail_site(kartoteka_app_factory, kartoteka_smtp):
    """Like ``site``, with mail going to the ``kartoteka_smtp`` server and ``public_url``
    set to the served address, so that links in the mail (unsubscribe) lead back here.
    The port is taken first and the app built on it, then handed to the server."""
    server = make_server("127.0.0.1", 0, lambda environ, start_response: [], threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = kartoteka_app_factory(default_locale="pl", WTF_CSRF_ENABLED=True,
                                secure_cookies=False, TESTING=False, public_url=url,
                                **kartoteka_smtp.settings())
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(app, url)
    server.shutdown()
    thread.join()


@pytest.fixture
def shoot(request):
    """Save a screenshot of another page of the journey: ``shoot(page, "suffix")``."""
    def save(found, suffix: str):
        SHOTS.mkdir(parents=True, exist_ok=True)
        found.screenshot(path=str(SHOTS / f"{request.node.name}-{suffix}.png"), full_page=True)
    return save
