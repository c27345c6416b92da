"""A plugin's own record type in the REST API, served the way the core serves its records.

``blueprint`` gives the routes of one model: a list a page at a time (cursor pages; also
``filter`` and ``sort`` once the record type's fields are registered with
``core.filters.register``), create, read, change with ``If-Match`` and delete. Every
query starts from ``records.visible`` and every write goes through ``core.records``, so
the caller's record access, the plugins' checks, the audit trail and the record events
apply as on the staff pages. A plugin returns it from
``kartoteka_register_api_blueprints``, which mounts it under ``/api/v1/<plugin>``; a
route the plugin writes itself finds its caller with ``caller()``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort as http_abort
from flask import current_app, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from core import filters, permissions, records
from core.api import records as api_records
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.validation import max_length
from core.web.db import db
from core.web.i18n import current_locale


def caller():
    """The account calling the API: the token's, or the staff session's."""
    return actor()


class PageArgs(schemas.Sparse, schemas.Strict):
    """A list without filters: ``limit`` and ``after``, as the core's lists take them."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, schemas.PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


def blueprint(name: str, model: type, schema: type[Schema], *, description: str = "",
              permission: str | None = None, create: Callable | None = None,
              update: Callable | None = None, delete: Callable | None = None) -> Blueprint:
    """The routes of ``model`` at ``/api/v1/<plugin>/<name>``, read and written as
    ``schema`` (list its writable fields; ``id`` and ``version`` dump-only).

    :param permission: a permission key every call needs (403 otherwise), such as
        ``"visits.record"``; record access still applies to each record.
    :param create: ``create(session, data, actor) -> record``; by default
        ``records.create(session, model(**data), actor)``.
    :param update: ``update(session, record, data, actor, version) -> record``; by
        default ``records.update(session, record, data, actor, expected_version=version)``.
    :param delete: ``delete(session, record, actor)``, what DELETE does instead of
        deleting: retiring a record that others still refer to, say. The first line of
        its docstring is the operation's summary in the OpenAPI document.

    The model needs ``id`` and a ``version`` column SQLAlchemy counts
    (``__mapper_args__ = {"version_id_col": version}``): it is the ETag. One with a
    ``deleted_at`` column is deleted to the bin; another is deleted for good.
    """
    if not hasattr(model, "version"):
        raise TypeError(f"{model.__name__} needs a version column: it is the ETag")
    bp = Blueprint(name, __name__, url_prefix=f"/{name}", description=description)
    filterable = _filterable(model)
    make, change, remove = create or _create, update or _update, delete or _delete
    removal = {"summary": (delete.__doc__ or "").strip().splitlines()[0]} \
        if delete is not None and delete.__doc__ else {}

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(schemas.ListArgs if filterable else PageArgs, location="query")
        @bp.response(200, schemas.page_schema(schema))
        @bp.alt_response(403, description="The caller lacks the permission these need.")
        def get(self, args):
            """List the records the caller may see, a page at a time."""
            _allowed(permission)
            if not filterable:
                _unfiltered()
            return api_records.page(model, records.visible(model, actor()), args)

        @bp.arguments(schema)
        @bp.response(201, schema)
        @bp.alt_response(403, description="The caller may not create this record.")
        @bp.alt_response(422, description="Field-level errors.")
        def post(self, data):
            """Create a record."""
            _allowed(permission)
            session = db()
            try:
                record = make(session, model, data, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return record, 201, {"ETag": api_records._etag(record),
                                 "Location": f"{request.base_url.rstrip('/')}/{record.id}"}

    @bp.route("/<int:record_id>")
    class Item(MethodView):
        @bp.response(200, schema)
        @bp.alt_response(404, description="No such record, or the caller may not see it.")
        def get(self, record_id):
            """Read one record."""
            _allowed(permission)
            record = _get(model, record_id)
            return record, 200, {"ETag": api_records._etag(record)}

        @bp.arguments(schema(partial=True))
        @bp.response(200, schema)
        @bp.alt_response(403, description="The caller may not change this record.")
        @bp.alt_response(412, description="The record changed since the ETag was read.")
        @bp.alt_response(422, description="Field-level errors.")
        @bp.alt_response(428, description="If-Match is missing.")
        def patch(self, data, record_id):
            """Change some fields; send the ETag you read in If-Match."""
            _allowed(permission)
            session = db()
            record = _get(model, record_id)
            version = api_records._if_match(record)
            if isinstance(version, tuple):
                return version[0]
            try:
                change(session, record, data, actor(), version)
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return record, 200, {"ETag": api_records._etag(record)}

        @bp.response(204)
        @bp.alt_response(403, description="The caller may not delete this record.")
        @bp.doc(**removal)
        def delete(self, record_id):
            """Delete the record: to the bin if it has one."""
            _allowed(permission)
            session = db()
            record = _get(model, record_id)
            try:
                remove(session, record, actor())
                session.commit()
            except (ValidationError, Forbidden) as exc:
                session.rollback()
                return refusal(exc)
            return None

    return bp


def _create(session, model: type, data: dict, actor):
    return records.create(session, model(**data), actor)


def _update(session, record, data: dict, actor, version: int):
    return records.update(session, record, data, actor, expected_version=version)


def _delete(session, record, actor) -> None:
    if hasattr(type(record), "deleted_at"):
        records.soft_delete(session, record, actor)
    else:
        records.delete(session, record, actor)


def _filterable(model: type) -> bool:
    record_type = getattr(model, "record_type", None)
    return isinstance(record_type, str) and record_type in filters.FIELDS


def _unfiltered() -> None:
    """A list without filter fields refuses ``filter`` and ``sort`` rather than ignore
    them (a query's unknown parameters are otherwise passed over)."""
    asked = [name for name in ("filter", "sort") if name in request.args]
    if asked:
        api_records._bad({name: _("This list cannot be filtered or sorted.")
                          for name in asked})


def _allowed(permission: str | None) -> None:
    if permission and not permissions.can(actor(), permission):
        found = current_app.extensions["kartoteka"].host.permissions.get(permission)
        name = found.label(current_locale()) if found else permission
        http_abort(403, _("This needs the permission “%(name)s”.", name=name))


def _get(model: type, record_id: int):
    record = records.get(db(), model, record_id, actor())
    if record is None:
        abort(404)
    return record


def if_match() -> int | None:
    """The version the client read, from an optional If-Match header (the ETag of a
    plugin's record); a tag that is not one of ours is 412."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tag = header.removeprefix("W/").strip('"')
    if not tag.isdigit():
        http_abort(412, _("The If-Match header holds no ETag of this record."))
    return int(tag)


def refusal(exc: ValidationError | Forbidden):
    """A service's refusal as the API answers it: 403, 412 for a stale version, 422."""
    if isinstance(exc, Forbidden):
        return problem(403, str(exc))
    if "version" in exc.errors:
        return problem(412, exc.errors["version"])
    return refused(exc.errors)
