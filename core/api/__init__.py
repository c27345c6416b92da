"""The REST API under /api/v1: flask-smorest resources, OpenAPI document, reference page.

The staff pages keep their own HTML error pages: the API's problem+json answers apply
only to paths under /api/.
"""

from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, json, request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

import core
from core.api import (
    activities,
    auth,
    bank_statements,
    billing_runs,
    branding,
    calculations,
    cases,
    consents,
    contracts,
    documents,
    errors,
    exports,
    fields,
    idempotency,
    imports,
    inputs,
    invoices,
    jobs,
    links,
    mailings,
    openapi,
    payments,
    plugin_routes,
    plugins,
    price_lists,
    public_forms,
    ratelimit,
    records,
    schemas,
    segments,
    sparse,
    tasks,
    terms,
    webhooks,
)

PREFIX = "/api/v1"


class Api(SmorestApi):
    ERROR_SCHEMA = errors.ProblemSchema  # documented as problem+json by openapi.document

    def _register_error_handlers(self):
        """Errors are answered by ``init_app``'s handler, for API paths only."""

    def _openapi_json(self):
        return self._app.response_class(json.dumps(openapi.document(self), indent=2),
                                        mimetype="application/json")


def init_app(app: Flask, csrf) -> Api:
    app.config.update(
        API_TITLE="Kartoteka", API_VERSION=core.__version__, OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="/docs",
        OPENAPI_REDOC_URL="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
    )
    api = Api(app, spec_kwargs={
        "info": {"description": "Kartoteka's REST API."},
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schemas.schema_name)})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    blueprints = [records.blueprint(r) for r in records.RESOURCES] + [
        fields.blueprint(), consents.blueprint(), *cases.blueprints(), *documents.blueprints(),
        *mailings.blueprints(), *jobs.blueprints(), *webhooks.blueprints(),
        *activities.blueprints(), *tasks.blueprints(), *segments.blueprints(),
        *terms.blueprints(), *plugins.blueprints(), *imports.blueprints(),
        *invoices.blueprints(), *payments.blueprints(), *exports.blueprints()]
    blueprints += bank_statements.blueprints()
    blueprints += billing_runs.blueprints() + contracts.blueprints()
    blueprints += public_forms.blueprints() + branding.blueprints()
    blueprints += links.blueprints()
    blueprints += price_lists.blueprints() + calculations.blueprints()
    blueprints += plugin_routes.blueprints(app, csrf, blueprints)  # /api/v1/<plugin>/...
    for bp in blueprints:
        bp.before_request(auth.authenticate)
        bp.before_request(inputs.refuse_unstorable)
        bp.before_request(idempotency.claim)
        bp.after_request(idempotency.settle)
        bp.after_request(sparse.trim)
        bp.teardown_request(idempotency.release_unsettled)
        csrf.exempt(bp)  # checked in auth.authenticate for session calls
        api.register_blueprint(bp, url_prefix=f"{PREFIX}{bp.url_prefix}")
    app.register_error_handler(HTTPException, _http_error)
    ratelimit.init_app(app, app.extensions["kartoteka"].settings)
    return api


def _http_error(error: HTTPException):
    if request.path.startswith("/api/"):
        return errors.from_http(error)
    return error
