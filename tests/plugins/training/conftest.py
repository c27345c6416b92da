"""The association's installation most of the training tests run in: the plugin
enabled, English, the association as the seller, inside a request."""

import pytest


@pytest.fixture
def app(kartoteka_app_factory):
    app = kartoteka_app_factory(["training"], default_locale="en",
                                company_name="Związek Gmin Wielkopolskich")
    with app.test_request_context():
        yield app


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]
