"""Importing CSV and XLSX files through the API: the staff pages' importer, as a job.

``POST /imports/`` takes the file as multipart/form-data with the record type, the
column mapping (or a saved mapping's id, or neither: the mapping the staff pages would
start from), the policy for likely duplicates, the type of organisations without one
and ``dry_run``. Everything that can be checked before a row is read (the file, the
columns, the fields, the options) is checked at once and refused with 422 naming the
part of the request (``file``, ``mapping.<column>``, ``type_key``...), keeping nothing.
The rows are then imported by the job the staff pages start ("import.run"): 202 with
the job, its Location the job's address. ``GET /imports/{job_id}`` is what the job did:
the counts and each refused row with its messages, as the staff pages' report shows
them. ``POST /imports/preview`` shows what the first rows would become and writes
nothing. Every route needs the ``core.import`` permission; reading a file's rows also
the right to create records of the type.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import abort as http_abort
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from core import importing, jobs, organisations, permissions
from core.api import schemas
from core.api.auth import actor
from core.api.errors import refused
from core.api.jobs import JobSchema, describe
from core.errors import KartotekaError, ValidationError
from core.models import ImportMapping, Job
from core.terms import term
from core.validation import max_length
from core.web.db import db
from core.web.forms import MAX_ID

PERMISSION = "core.import"
TYPES = tuple(importing.FIELDS)  # organisation, person
PREVIEW_MAX = 100  # rows a preview shows at most


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_imports_blueprint()]


def _runtime():
    return current_app.extensions["kartoteka"]


def _require() -> None:
    """Every route here needs the permission to import."""
    if not permissions.can(actor(), PERMISSION):
        http_abort(403, _("Importing needs the permission to import data."))


def _require_create(record_type: str) -> None:
    """Rows become records: someone who may create none of the type is refused first."""
    if permissions.level(actor(), record_type, "create") == "none":
        http_abort(403, _("You may not create %(what)s.",
                          what=term(f"core.{record_type}", case="gen", plural=True)))


# ------------------------------------------------------------------ schemas


class MappingText(fields.String):
    """A JSON object in a form field: column header -> field key."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            found = json.loads(text)
        except (ValueError, RecursionError):
            found = None
        if not isinstance(found, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
            raise SchemaError(_('Give a JSON object of columns and fields, such as '
                                '{"Nazwa": "name"}.'))
        return found


class _ImportFileInSchema(schemas.Strict):
    """The parts of a multipart/form-data request that name a file and how to read it."""

    file = Upload(required=True, metadata={"description": "A CSV (UTF-8 or Windows-1250; "
                                                          "comma, semicolon or tab) or XLSX "
                                                          "file; its first row names the "
                                                          "columns."})
    record_type = fields.String(required=True, validate=validate.OneOf(TYPES))
    mapping = MappingText(load_default=None, metadata={
        "description": 'JSON: column -> field key (see /imports/fields), such as {"Nazwa": '
                       '"name", "Wielkość": "custom.size"}; a column left out is skipped. '
                       "Without mapping and mapping_id: the mapping last used for a file "
                       "with these columns, else one suggested from their names."})
    mapping_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID),
                                metadata={"description": "A saved mapping's id (see "
                                                         "/imports/mappings) instead of "
                                                         "mapping."})
    on_duplicate = fields.String(load_default="skip", validate=validate.OneOf(
        importing.POLICIES), metadata={"description": "A row that looks like an existing "
                                                     "record: skip it, update that record, "
                                                     "or create a new one anyway."})
    type_key = fields.String(load_default="", validate=max_length(64), metadata={
        "description": "Organisations: the type of rows that give none."})


class ImportInSchema(_ImportFileInSchema):
    """The multipart/form-data request that starts an import."""

    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "Check every row as the import would, and keep nothing."})


class ImportPreviewInSchema(_ImportFileInSchema):
    """The multipart/form-data request of a preview."""

    rows = fields.Integer(load_default=20, validate=validate.Range(1, PREVIEW_MAX), metadata={
        "description": "How many of the first rows to show."})


class ImportRowErrorSchema(Schema):
    field = fields.String(metadata={"description": '"nip", "emails.1", "custom.size"; "_" '
                                                   "for the whole row."})
    column = fields.String(metadata={"description": "The file's column it came from; "
                                                    "empty when none."})
    label = fields.String(metadata={"description": "The field's name in the installation's "
                                                   "language."})
    message = fields.String()


class ImportRefusedRowSchema(Schema):
    row = fields.Integer(metadata={"description": "As a spreadsheet numbers it: the "
                                                  "headers are row 1."})
    values = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The row as read: column -> text."})
    errors = fields.List(fields.Nested(ImportRowErrorSchema))


class ImportCandidateSchema(Schema):
    id = fields.Integer()
    reasons = fields.List(fields.String())
    strong = fields.Boolean()


class ImportDuplicateRowSchema(Schema):
    row = fields.Integer()
    action = fields.String(metadata={"description": "skipped, updated or created"})
    record_id = fields.Integer(allow_none=True, metadata={
        "description": "The record updated or created."})
    candidates = fields.List(fields.Nested(ImportCandidateSchema), metadata={
        "description": "The records it resembles, the likeliest first."})


class ImportReportSchema(Schema):
    """What an import did; while its job runs, what it has done so far."""

    id = fields.Integer(metadata={"description": "The job's id."})
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    error = fields.String(metadata={"description": "Why the job failed."})
    record_type = fields.String()
    filename = fields.String()
    dry_run = fields.Boolean(metadata={"description": "Nothing was kept."})
    rows = fields.Integer(metadata={"description": "Rows read."})
    created = fields.Integer()
    updated = fields.Integer()
    skipped = fields.Integer(metadata={"description": "Likely duplicates left out."})
    failed = fields.Integer(metadata={"description": "Rows refused."})
    refused = fields.List(fields.Nested(ImportRefusedRowSchema), metadata={
        "description": "Each refused row with its messages (the first 1000 problems)."})
    duplicates = fields.List(fields.Nested(ImportDuplicateRowSchema), metadata={
        "description": "Rows that resembled existing records, and what was done (the "
                       "first 1000)."})
    job_url = fields.String()


class ImportPreviewRowSchema(Schema):
    row = fields.Integer()
    action = fields.String(metadata={"description": "create, update, skip, or fail: not "
                                                    "imported, see errors."})
    values = fields.Dict(metadata={"description": "What would be stored, normalised as the "
                                                  "forms store it."})
    errors = fields.List(fields.Nested(ImportRowErrorSchema))
    candidates = fields.List(fields.Nested(ImportCandidateSchema))


class ImportPreviewSchema(Schema):
    headers = fields.List(fields.String())
    mapping = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The mapping used: column -> field key."})
    rows = fields.List(fields.Nested(ImportPreviewRowSchema))


class ImportFieldSchema(Schema):
    key = fields.String(metadata={"description": 'What a mapping names: "city", '
                                                 '"custom.size".'})
    label = fields.String()
    required = fields.Boolean(metadata={"description": "Every new record needs it."})


class ImportFieldArgs(schemas.Strict):
    record_type = fields.String(required=True, validate=validate.OneOf(TYPES))


class ImportMappingListArgs(schemas.Strict):
    record_type = fields.String(validate=validate.OneOf(TYPES))


class SavedImportMappingSchema(Schema):
    id = fields.Integer()
    record_type = fields.String()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    updated_at = fields.DateTime()


def _multipart(schema_class: type[Schema]) -> dict:
    return {"required": True, "content": {"multipart/form-data": {"schema": schema_class}}}


# ------------------------------------------------------------------ routes


def _imports_blueprint() -> Blueprint:
    bp = Blueprint("api_imports", __name__, url_prefix="/imports",
                   description="Importing organisations and people from CSV and XLSX files")

    @bp.route("/")
    class Collection(MethodView):
        @bp.doc(requestBody=_multipart(ImportInSchema))
        @bp.response(202, JobSchema, description="Started: the job imports the rows; "
                                                 "``GET /jobs/{id}`` (the Location) shows "
                                                 "how far it has got, ``GET "
                                                 "/imports/{id}`` what it did.")
        @bp.alt_response(403, description="Needs the core.import permission and the right "
                                          "to create records of the type.")
        @bp.alt_response(413, description="The request is larger than the upload limit.")
        @bp.alt_response(415, description="Not multipart/form-data.")
        @bp.alt_response(422, description="Field-level errors: file (none, too large, "
                                          "unreadable), mapping.<column> (no such column, "
                                          "no such field, mapped twice), a required field "
                                          "no column fills, mapping_id, type_key, options.")
        def post(self):
            """Import a file in a background job (``dry_run``: check it and keep nothing).
            The mapping is remembered for the next file with the same columns."""
            _require()
            data = _form(ImportInSchema)
            session = db()
            try:
                upload = _prepare(session, data)
            except ValidationError as exc:
                return refused(exc.errors)
            job_id = _start(session, upload, data)
            job = session.get(Job, job_id)
            session.refresh(job)  # jobs run at once (tests, scripts) are done already
            return describe(job), 202, {"Location": url_for("api_jobs.Item", job_id=job_id,
                                                            _external=True)}

    @bp.route("/preview")
    class Preview(MethodView):
        @bp.doc(requestBody=_multipart(ImportPreviewInSchema))
        @bp.response(200, ImportPreviewSchema)
        @bp.alt_response(403, description="Needs the core.import permission and the right "
                                          "to create records of the type.")
        @bp.alt_response(413, description="The request is larger than the upload limit.")
        @bp.alt_response(415, description="Not multipart/form-data.")
        @bp.alt_response(422, description="The same field-level errors as starting an "
                                          "import.")
        def post(self):
            """What the first rows would become: the values stored or each field's
            message, and the records each resembles. Nothing is written or kept."""
            _require()
            data = _form(ImportPreviewInSchema)
            session = db()
            try:
                upload = _prepare(session, data)
            except ValidationError as exc:
                return refused(exc.errors)
            rt = _runtime()
            try:
                shown = importing.preview(
                    rt.Session, rt.host, upload.path, data["record_type"], upload.mapping,
                    rows=data["rows"], on_duplicate=data["on_duplicate"],
                    defaults=upload.defaults, actor=actor())
            finally:
                upload.path.unlink(missing_ok=True)
            return {"headers": upload.headers, "mapping": upload.mapping,
                    "rows": [_preview_row(r) for r in shown]}

    @bp.route("/<int:job_id>")
    class Item(MethodView):
        @bp.response(200, ImportReportSchema)
        @bp.alt_response(403, description="Needs the core.import permission.")
        @bp.alt_response(404, description="No such import, or another account started it.")
        def get(self, job_id):
            """What an import did (an administrator sees everyone's): the counts, the
            refused rows with their messages, and the likely duplicates met."""
            _require()
            job = jobs.get(db(), job_id, actor())
            if job is None or job.kind != "import.run":
                abort(404)
            return _report_out(job)

    @bp.route("/fields")
    class Fields(MethodView):
        @bp.arguments(ImportFieldArgs, location="query")
        @bp.response(200, ImportFieldSchema(many=True))
        @bp.alt_response(403, description="Needs the core.import permission.")
        def get(self, args):
            """The fields a column can be mapped to: the built-in ones and the custom
            fields the caller may fill."""
            _require()
            session, record_type = db(), args["record_type"]
            needed = set(importing.required_fields(record_type, session, actor()))
            return [{"key": key, "label": str(label), "required": key in needed}
                    for key, label in importing.fields(record_type, session, actor()).items()]

    @bp.route("/mappings")
    class Mappings(MethodView):
        @bp.arguments(ImportMappingListArgs, location="query")
        @bp.response(200, SavedImportMappingSchema(many=True))
        @bp.alt_response(403, description="Needs the core.import permission.")
        def get(self, args):
            """The saved mappings: the last one used for each set of columns."""
            _require()
            query = select(ImportMapping).order_by(ImportMapping.id)
            if args.get("record_type"):
                query = query.where(ImportMapping.record_type == args["record_type"])
            return list(db().scalars(query))

    return bp


# ------------------------------------------------------------------ checking a request


@dataclass(frozen=True)
class _Upload:
    """A file kept in the upload folder, with its columns and the mapping checked."""

    path: Path
    filename: str
    headers: list[str]
    mapping: dict[str, str]
    defaults: dict


def _form(schema_class: type[Schema]) -> dict:
    """The request's form and file as ``schema_class`` loads them (415 or 422 if they
    are not), from someone who may create records of the type (403 if not)."""
    if request.mimetype != "multipart/form-data":
        http_abort(415, _("Send the file and the options as multipart/form-data."))
    try:
        data = schema_class().load({**request.form.to_dict(), **request.files.to_dict()})
    except SchemaError as exc:
        abort(422, messages={"form": exc.messages})
    _require_create(data["record_type"])
    return data


def _prepare(session, data: dict) -> _Upload:
    """Keep the upload and check it with the mapping and the options; a ValidationError
    keyed by the request's fields refuses it, and then nothing is kept."""
    sent = data["file"]
    if not isinstance(sent, FileStorage) or not sent.filename:
        raise ValidationError({"file": _("Choose a CSV or XLSX file.")})
    suffix = ".xlsx" if sent.filename.lower().endswith(".xlsx") else ".csv"
    path = importing.upload_folder(_runtime().settings) / f"{secrets.token_hex(16)}{suffix}"
    sent.save(path)
    try:
        headers = _headers(path, sent.filename)
        mapping, defaults = _mapping(session, data, headers)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = sent.filename.replace("\x00", "")  # the job keeps it in JSON
    return _Upload(path, filename, headers, mapping, defaults)


def _headers(path: Path, filename: str) -> list[str]:
    limit = _runtime().settings.max_upload_mb
    if path.stat().st_size > int(limit) * 1024 * 1024:
        raise ValidationError({"file": _("The file is larger than the limit of %(limit)s MB.",
                                         limit=limit)})
    try:
        with importing.open_rows(path, filename) as table:
            return list(table.headers)
    except KartotekaError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    except Exception as exc:  # a damaged file: any reader error means the same to the user
        raise ValidationError({"file": _("The file cannot be read: save it again as CSV or "
                                         "XLSX and try once more.")}) from exc


def _mapping(session, data: dict, headers: list[str]) -> tuple[dict[str, str], dict]:
    """The mapping to import with (checked against the file) and the default values."""
    record_type, errors, defaults = data["record_type"], {}, {}
    if data["type_key"]:
        if record_type != "organisation":
            errors["type_key"] = _("Only organisations have a type.")
        elif data["type_key"] not in organisations.types(session, _runtime().host):
            errors["type_key"] = _("Choose a type from the list.")
        else:
            defaults["type_key"] = data["type_key"]
    mapping = data["mapping"]
    if mapping is not None and data["mapping_id"] is not None:
        errors["mapping_id"] = _("Send either mapping or mapping_id, not both.")
        mapping = None
    elif data["mapping_id"] is not None:
        saved = session.get(ImportMapping, data["mapping_id"])
        if saved is None or saved.record_type != record_type:
            errors["mapping_id"] = _("There is no saved mapping with this id for this "
                                     "record type.")
        mapping = saved.mapping if saved is not None else None
    elif mapping is None:
        mapping = importing.initial_mapping(session, headers, record_type, actor())
    if mapping is not None and "mapping_id" not in errors:
        try:
            mapping = importing.check_mapping(headers, record_type, mapping, defaults,
                                              session, actor())
        except ValidationError as exc:
            # A column's problem is the mapping's; a field no column fills keeps its key.
            errors = {**{f"mapping.{key}" if key in mapping else key: message
                         for key, message in exc.errors.items()}, **errors}
    if errors:
        raise ValidationError(errors)
    return mapping, defaults


def _start(session, upload: _Upload, data: dict) -> int:
    """The import job, committed (and, with jobs run at once, done); the upload is
    removed if the job cannot be started."""
    try:
        job = importing.start_job(
            session, upload.path.stem, {"stored": upload.path.name,
                                        "filename": upload.filename,
                                        "record_type": data["record_type"]},
            upload.mapping, data["on_duplicate"], upload.defaults, actor(),
            dry_run=data["dry_run"])
        job.params = {**job.params, "report_url": url_for("api_imports.Item", job_id=job.id,
                                                          _external=True)}
        job_id = job.id
        session.commit()
    except BaseException:
        session.rollback()
        upload.path.unlink(missing_ok=True)
        raise
    return job_id


# ------------------------------------------------------------------ answers


def _report_out(job: Job) -> dict:
    """The counts committed so far (all of them once the job is done) and the problems
    of the rows they cover, from the report the job leaves next to the upload."""
    params = job.params or {}
    found = importing.load_report(_runtime().settings, params.get("token", ""))
    counts = params.get("checkpoint") or {}
    last_row = counts.get("last_row", 0)
    errors = [e for e in found[0].errors if e.row <= last_row] if found else []
    duplicates = [d for d in found[0].duplicates if d.row <= last_row] if found else []
    return {"id": job.id, "state": job.state, "error": job.error,
            "record_type": params.get("record_type"), "filename": params.get("filename"),
            "dry_run": bool(params.get("dry_run")),
            **{name: counts.get(name, 0)
               for name in ("rows", "created", "updated", "skipped", "failed")},
            "refused": _refused_rows(errors),
            "duplicates": [{"row": d.row, "action": d.action, "record_id": d.record_id,
                            "candidates": d.candidates} for d in duplicates],
            "job_url": url_for("api_jobs.Item", job_id=job.id, _external=True)}


def _refused_rows(errors: list[importing.RowError]) -> list[dict]:
    """The report's problems, one entry a row with every message of the row."""
    rows: dict[int, dict] = {}
    for error in errors:
        entry = rows.setdefault(error.row, {"row": error.row, "values": error.values,
                                            "errors": []})
        entry["errors"].append(_error_out(error))
    return list(rows.values())


def _error_out(error: importing.RowError) -> dict:
    return {"field": error.field, "column": error.column, "label": error.label,
            "message": error.message}


def _preview_row(shown: importing.PreviewRow) -> dict:
    return {"row": shown.row, "action": shown.action, "values": shown.values,
            "errors": [_error_out(e) for e in shown.errors],
            "candidates": shown.candidates}
