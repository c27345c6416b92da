"""Documents, their templates and number series through the API.

Every call goes through the services the staff pages use (``core.documents``,
``core.numbering``). A record is read with ``records.get`` for the caller, so documents
of a record the caller may not see are 404 (list, read, download, generate, preview),
never 403. Generating needs the right to edit the record (403 otherwise); a refused
generation answers 422 with field errors: a template problem names its line
(``template.body``: "Line 3: ..."). Changing a template saves a new version and, like
changing a number series, needs the ``core.manage_templates`` permission. Generating
for many records at once is a background job: 202 with the job, its Location the
job's address.
"""

from __future__ import annotations

from flask import current_app, request, send_file, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import select

from core import attachments, documents, jobs, numbering, permissions, records, templating
from core.api import schemas
from core.api.auth import actor
from core.api.errors import problem, refused
from core.api.jobs import JobSchema
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import (
    Attachment,
    Document,
    DocumentTemplate,
    Job,
    NumberSeries,
    TemplateVersion,
)
from core.validation import an_id
from core.web.attachments import content_disposition
from core.web.db import db
from core.web.i18n import current_locale

MANAGE = "core.manage_templates"


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    return [_documents_blueprint(), _templates_blueprint(), _series_blueprint()]


def _runtime():
    return current_app.extensions["kartoteka"]


# ------------------------------------------------------------------ documents


def _documents_blueprint() -> Blueprint:
    bp = Blueprint("api_documents", __name__, url_prefix="/documents",
                   description="Documents made from templates, kept as PDFs on records")

    @bp.route("/")
    class Collection(MethodView):
        @bp.arguments(schemas.DocumentListArgs, location="query")
        @bp.response(200, schemas.DocumentSchema(many=True))
        @bp.alt_response(404, description="The record does not exist or the caller may "
                                          "not see it.")
        def get(self, args):
            """The documents made for a record, newest first."""
            session = db()
            record = _record(args["record_type"], args["record_id"])
            return [_document_out(session, d)
                    for d in documents.for_record(session, record, actor())]

        @bp.arguments(schemas.DocumentInSchema)
        @bp.response(201, schemas.DocumentSchema)
        @bp.alt_response(403, description="The caller may not change this record.")
        @bp.alt_response(404, description="The record does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Field-level errors: no such template, not for "
                                          "this record, or a problem in the template "
                                          "(template.body names its line).")
        def post(self, data):
            """Make a document from a template for a record: numbered from the
            template's series, drawn as PDF and kept as an attachment of the record."""
            session = db()
            record = _record(data["record_type"], data["record_id"])
            template = session.scalar(select(DocumentTemplate).where(
                DocumentTemplate.key == data["template"], DocumentTemplate.active))
            if template is None:
                return refused({"template": _("Choose a template from the list.")})
            runtime = _runtime()
            try:
                document = documents.generate(session, runtime.host, runtime.settings,
                                              template, record, actor())
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return problem(403, str(exc))
            except ValidationError as exc:
                session.rollback()
                errors = exc.errors
                if isinstance(exc, templating.TemplateProblem):
                    errors = {f"template.{key}": message for key, message in errors.items()}
                return refused(errors)
            return _document_out(session, document), 201, {
                "Location": f"{request.base_url.rstrip('/')}/{document.id}"}

    @bp.route("/<int:document_id>")
    class Item(MethodView):
        @bp.response(200, schemas.DocumentSchema)
        def get(self, document_id):
            """Read one document: its number, template and version, and its file's
            checksum and size."""
            return _document_out(db(), _document(document_id))

    @bp.route("/<int:document_id>/pdf")
    class Pdf(MethodView):
        @bp.doc(responses={"200": {"description": "The PDF.", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
        @bp.alt_response(404, description="No such document, its file was removed, or "
                                          "the caller may not see its record.")
        def get(self, document_id):
            """Download the document's PDF."""
            document = _document(document_id)
            attachment = _attachment(db(), document)
            if attachment is None:
                abort(404)
            path = attachments.path_of(_runtime().settings, attachment)
            if not path.is_file():
                current_app.logger.error("document %s: file %s is missing", document.id, path)
                abort(404)
            response = send_file(path, mimetype="application/pdf", max_age=0,
                                 conditional=True, etag=attachment.sha256)
            response.headers["Content-Disposition"] = content_disposition(attachment.filename)
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
            return response

    return bp


def _record(record_type: str, record_id: int):
    """The record if the caller may see it; 404 otherwise (its existence is not told)."""
    model = documents.SUBJECTS.get(record_type)
    record = records.get(db(), model, record_id, actor()) if model is not None else None
    if record is None:
        abort(404)
    return record


def _document(document_id: int) -> Document:
    """The document if the caller may see its record; 404 otherwise."""
    document = db().get(Document, document_id)
    if document is None:
        abort(404)
    _record(document.record_type, document.record_id)
    return document


def _attachment(session, document: Document) -> Attachment | None:
    attachment = session.get(Attachment, document.attachment_id) \
        if document.attachment_id else None
    if attachment is None or attachment.deleted_at is not None:
        return None
    return attachment


def _document_out(session, document: Document) -> dict:
    template = session.get(DocumentTemplate, document.template_id) \
        if document.template_id else None
    version = session.get(TemplateVersion, document.template_version_id) \
        if document.template_version_id else None
    attachment = _attachment(session, document)
    return {
        "id": document.id, "number": document.number, "title": document.title,
        "template": template.key if template else None,
        "template_version": version.number if version else None,
        "record_type": document.record_type, "record_id": document.record_id,
        "created_at": document.created_at, "created_by_id": document.created_by_id,
        "filename": attachment.filename if attachment else None,
        "size": attachment.size if attachment else None,
        "sha256": attachment.sha256 if attachment else None,
        "download_url": url_for("api_documents.Pdf", document_id=document.id,
                                _external=True) if attachment else None,
    }


# ------------------------------------------------------------------ templates


def _templates_blueprint() -> Blueprint:
    bp = Blueprint("api_templates", __name__, url_prefix="/templates",
                   description="Document templates and their versions")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, schemas.TemplateSchema(many=True))
        def get(self):
            """Every template, by key."""
            _staff_only()
            session = db()
            found = session.scalars(select(DocumentTemplate).order_by(DocumentTemplate.key))
            return [_template_out(session, t) for t in found]

    @bp.route("/<key>")
    class Item(MethodView):
        @bp.response(200, schemas.TemplateDetailSchema)
        def get(self, key):
            """Read a template with the text of the version in use; the ETag is its
            version's number."""
            session = db()
            template = _template(key)
            out = _template_out(session, template, detail=True)
            return out, 200, {"ETag": f'"{out["version"]}"'}

        @bp.arguments(schemas.TemplateInSchema)
        @bp.response(200, schemas.TemplateDetailSchema)
        @bp.alt_response(403, description="Needs the core.manage_templates permission.")
        @bp.alt_response(412, description="If-Match was sent and another version was "
                                          "saved meanwhile.")
        @bp.alt_response(422, description="Field-level errors; a syntax error names its "
                                          "line.")
        def put(self, data, key):
            """Save a new version of the template's text (needs the
            core.manage_templates permission). If-Match with the version read is
            optional; when sent, a version saved meanwhile answers 412."""
            session = db()
            template = _template(key)
            if not permissions.can(actor(), MANAGE):
                return problem(403, _("You may not change templates."))
            stale = _stale(session, template)
            if stale is not None:
                return stale
            try:
                documents.save(session, template, data, actor())
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return problem(403, str(exc))
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            out = _template_out(session, template, detail=True)
            return out, 200, {"ETag": f'"{out["version"]}"'}

    @bp.route("/<key>/versions")
    class Versions(MethodView):
        @bp.response(200, schemas.TemplateVersionSchema(many=True))
        def get(self, key):
            """Every version of the template's text, newest first."""
            session = db()
            template = _template(key)
            return [{"number": v.number, "current": v.id == template.current_version_id,
                     "subject": v.subject, "body": v.body, "text_body": v.text_body,
                     "note": v.note, "created_at": v.created_at,
                     "created_by_id": v.created_by_id}
                    for v in documents.history(session, template)]

    @bp.route("/<key>/preview")
    class Preview(MethodView):
        @bp.arguments(schemas.PreviewInSchema)
        @bp.response(200, schemas.PreviewSchema)
        @bp.alt_response(404, description="The record does not exist or the caller may "
                                          "not see it.")
        @bp.alt_response(422, description="Not for this record, or a problem in the text "
                                          "(body names its line).")
        def post(self, data, key):
            """The template (or ``body``, a text not saved yet) filled for a record, as
            HTML; nothing is numbered or kept."""
            session = db()
            template = _template(key)
            record = _record(data["record_type"], data["record_id"])
            if template.subject_type != data["record_type"]:
                return refused({"record_type": _("This template is not for this record.")})
            runtime = _runtime()
            try:
                html = documents.preview(session, runtime.host, template, record, actor(),
                                         runtime.settings, body=data["body"])
            except Forbidden as exc:
                return problem(403, str(exc))
            except ValidationError as exc:
                return refused(exc.errors)
            return {"html": html}

    @bp.route("/<key>/generate-many")
    class GenerateMany(MethodView):
        @bp.arguments(GenerateManyInSchema)
        @bp.response(202, JobSchema, description="Started: the job makes the documents; "
                                                 "``GET /jobs/{id}`` (the Location) shows "
                                                 "how far it has got and, when done, its "
                                                 "result: made, failed, document_ids.")
        @bp.alt_response(403, description="The caller may change no record of the "
                                          "template's type.")
        @bp.alt_response(404, description="No such template.")
        @bp.alt_response(422, description="Field-level errors: an e-mail or retired "
                                          "template, another record type, no records, "
                                          "too many, or no such segment.")
        def post(self, data, key):
            """Make a document from the template for each of many records (``record_ids``,
            or the members of the saved segment ``segment_id``; at most 5000) in a
            background job. Each record the caller may not see or change when its turn
            comes is left out and listed among the job's failures."""
            session = db()
            template = _template(key)
            try:
                job = documents.generate_many(
                    session, template, data["record_type"] or template.subject_type,
                    record_ids=data["record_ids"], segment_id=data["segment_id"],
                    actor=actor())
                job_id = job.id
                session.commit()
            except Forbidden as exc:
                session.rollback()
                return problem(403, str(exc))
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            job = session.get(Job, job_id)
            session.refresh(job)  # jobs run at once (tests, scripts) are done already
            return _job_out(job), 202, {"Location": url_for("api_jobs.Item", job_id=job_id,
                                                            _external=True)}

    return bp


class GenerateManyInSchema(schemas.Strict):
    record_ids = fields.List(fields.Integer(strict=True, validate=an_id()), load_default=None,
                             allow_none=True, validate=validate.Length(max=documents.MAX_RECORDS),
                             metadata={"description": "The records' ids (or segment_id)."})
    segment_id = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=an_id(),
        metadata={"description": "A saved segment the caller may see: its members now."})
    record_type = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The template's own if left out."})


def _job_out(job: Job) -> dict:
    return {"id": job.id, "kind": job.kind, "title": job.title, "state": job.state,
            "done": job.done, "total": job.total, "percent": jobs.percent(job),
            "error": job.error, "result": job.result or {}, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at}


def _staff_only() -> None:
    """Portal accounts see nothing of the templates."""
    if permissions.grants(actor(), db()).portal_organisation is not None:
        abort(404)


def _template(key: str) -> DocumentTemplate:
    _staff_only()
    template = db().scalar(select(DocumentTemplate).where(DocumentTemplate.key == key))
    if template is None:
        abort(404)
    return template


def _template_out(session, template: DocumentTemplate, detail: bool = False) -> dict:
    locale = current_locale()
    version = documents.current_version(session, template) \
        if template.current_version_id else None
    out = {"key": template.key, "kind": template.kind, "kind_name": _kind_name(template),
           "name": template.name_en if locale == "en" else template.name_pl,
           "subject_type": template.subject_type, "series_key": template.series_key,
           "version": version.number if version else None, "active": template.active}
    if detail:
        out.update(name_pl=template.name_pl, name_en=template.name_en,
                   subject=version.subject if version else "",
                   body=version.body if version else "",
                   text_body=version.text_body if version else "",
                   note=version.note if version else "",
                   updated_at=version.created_at if version else None,
                   updated_by_id=version.created_by_id if version else None)
    return out


def _kind_name(template: DocumentTemplate) -> str:
    titles = documents.KINDS.get(template.kind)
    if titles is None:
        shipped = _runtime().host.templates.get(template.key)
        titles = shipped.kind_title if shipped is not None else {}
    return titles.get(current_locale()) or titles.get("en") or template.kind


def _stale(session, template: DocumentTemplate):
    """A 412 answer when If-Match names another version than the one in use."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    version = documents.current_version(session, template) \
        if template.current_version_id else None
    tag = header.removeprefix("W/").strip('"')
    if version is None or tag != str(version.number):
        return problem(412, _("The record was changed by someone else meanwhile; "
                              "read it again and apply your change to that."))
    return None


# ------------------------------------------------------------------ number series


def _series_blueprint() -> Blueprint:
    bp = Blueprint("api_number_series", __name__, url_prefix="/number-series",
                   description="Number series documents take their numbers from")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, schemas.NumberSeriesSchema(many=True))
        def get(self):
            """Every number series, with the number the next document would get."""
            _staff_only()
            session = db()
            found = session.scalars(select(NumberSeries).order_by(NumberSeries.key))
            return [_series_out(session, s) for s in found]

    @bp.route("/<key>")
    class Item(MethodView):
        @bp.arguments(schemas.NumberSeriesInSchema)
        @bp.response(200, schemas.NumberSeriesSchema)
        @bp.alt_response(201, schema=schemas.NumberSeriesSchema,
                         description="A new series was added.")
        @bp.alt_response(403, description="Needs the core.manage_templates permission.")
        @bp.alt_response(422, description="Field-level errors, such as a pattern without "
                                          "{seq}.")
        def put(self, data, key):
            """Add a series or change one (needs the core.manage_templates permission).
            Numbers already issued stay as they are."""
            _staff_only()
            if not permissions.can(actor(), MANAGE):
                return problem(403, _("You may not change templates."))
            session = db()
            new = session.get(NumberSeries, key) is None
            try:
                series = numbering.save_series(session, key, data["name"], data["pattern"],
                                               data["reset"], actor())
                session.commit()
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            return _series_out(session, series), 201 if new else 200

    return bp


def _series_out(session, series: NumberSeries) -> dict:
    now = utcnow()
    last = numbering.last_issued(session, series.key, numbering.period_of(series.reset, now))
    try:
        upcoming = numbering.format_number(series.pattern, now, last + 1)
    except (ValueError, KeyError, IndexError, TypeError):  # a pattern saved unchecked
        upcoming = None
    return {"key": series.key, "name": series.name, "pattern": series.pattern,
            "reset": series.reset, "next_number": upcoming}
