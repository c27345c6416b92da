"""Fixtures of the staff pages' tests: an English app, a logged-in client, a Polish one.

A test module that needs another app or client defines its own, which takes precedence.
"""

import pytest


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en")


@pytest.fixture
def rt(app):
    """The running installation behind ``app``: its sessions and plugin host."""
    return app.extensions["kartoteka"]


@pytest.fixture
def client(app, kartoteka_login):
    return kartoteka_login(app.test_client())


@pytest.fixture
def polish(kartoteka_app_factory, kartoteka_login):
    """A logged-in client of an installation in its default language, Polish."""
    return kartoteka_login(kartoteka_app_factory().test_client())
