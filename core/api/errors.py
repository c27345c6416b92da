"""Errors as application/problem+json (RFC 9457), with field-level messages.

A refused change answers 422 with ``errors``: {field: message}, in the language the
request asks for and in the installation's terms, the same messages the forms show.
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

from core import validation

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
    413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    428: "Precondition Required", 429: "Too Many Requests",
}


class ProblemSchema(Schema):
    """What ``problem`` answers, for the OpenAPI document; other members may follow
    (a 409 lists the ``duplicates``), as RFC 9457 allows."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Field-level messages, keyed by field (custom.<key> for custom "
                       "fields)."})


def problem(status: int, detail: str, errors: dict[str, str] | None = None, headers=None):
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def refused(errors: dict[str, str]):
    """A change refused by a service: 422 with each field's message."""
    return problem(422, _("The data was refused; see the message of each field."), errors)


def from_http(error: HTTPException):
    """flask-smorest's and Werkzeug's errors; webargs puts field problems in ``data``."""
    status = error.code or 500
    messages = (getattr(error, "data", None) or {}).get("messages")
    if messages:
        # webargs keys them by location ("json", "query"); the field names are enough.
        flat = {}
        for location in messages.values():
            flat.update(validation.flatten(location))
        return problem(422 if status in (400, 422) else status,
                       _("The data was refused; see the message of each field."), flat)
    detail = {401: _("Give an API token: Authorization: Bearer <token>."),
              404: _("There is no such resource."),
              405: _("This method is not allowed here.")}.get(status, error.description or "")
    allowed = getattr(error, "valid_methods", None)
    return problem(status, str(detail), headers={"Allow": ", ".join(allowed)} if allowed
                   else None)
