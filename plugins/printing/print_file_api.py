"""Print files in the REST API, under /api/v1/printing (PR-9).

``projects/<case_id>/print-files``: a print project's files (GET) and a new one sent as
multipart/form-data with its parameters (POST). ``print-files/<id>``: one file;
``/file`` its bytes; ``/check`` and ``/reject`` prepress's verdict (needs
``printing.check_print_files``); ``/replace`` a corrected version of a rejected file,
multipart like the first. Reading needs the project to be visible, sending files the
right to change it. ``If-Match`` with the file's version is optional on the changes; a
stale one answers 412. Portal accounts find nothing here (404).
"""

from __future__ import annotations

from flask import abort as http_abort
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import fields
from werkzeug.exceptions import RequestEntityTooLarge

from core.api import crud, schemas
from core.api.auth import staff_only
from core.api.invoices import committed
from core.models import Case
from core.web.attachments import send_attachment
from core.web.db import db
from plugins.printing import print_files
from plugins.printing.models import STATUSES, PrintFile

MULTIPART_OVERHEAD = 64 * 1024  # the parameters around the file


class PrintFileOutSchema(print_files.PrintFileSchema):
    """A print file with its parameters and where it stands; ``version`` is its ETag."""

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it in If-Match to check, reject "
                       "or replace only the version you saw."})
    case_id = fields.Integer(dump_only=True, metadata={
        "description": "The print project: a case of printing.project."})
    revision = fields.Integer(dump_only=True, metadata={
        "description": "1 for the first upload; one more with each corrected version."})
    filename = fields.String(dump_only=True)
    content_type = fields.Function(lambda f: f.attachment.content_type, dump_only=True)
    size = fields.Function(lambda f: f.attachment.size, dump_only=True, metadata={
        "description": "In bytes."})
    sha256 = fields.Function(lambda f: f.attachment.sha256, dump_only=True)
    attachment_id = fields.Integer(dump_only=True, metadata={
        "description": "The project's attachment holding the bytes."})
    download_url = fields.Method("_download", dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES), "description":
                           "received: waiting for prepress; checked: fit to print; "
                           "rejected: see rejection_reason, waiting for a corrected version."})
    status_name = fields.Function(lambda f: print_files.status_name(f.status),
                                  dump_only=True, metadata={
                                      "description": "In the caller's language."})
    received_at = fields.DateTime(dump_only=True)
    received_by_id = fields.Integer(dump_only=True, allow_none=True)
    reviewed_at = fields.DateTime(dump_only=True, allow_none=True, metadata={
        "description": "When it was checked or rejected; null while received."})
    reviewed_by_id = fields.Integer(dump_only=True, allow_none=True)
    rejection_reason = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _download(self, found: PrintFile) -> str:
        return url_for("api_printing.printing_print_files.PrintFileBytes",
                       file_id=found.id, _external=True)


class PrintFileUploadSchema(print_files.PrintFileSchema, schemas.Strict):
    """The multipart/form-data request that sends a print file."""

    file = Upload(required=True, metadata={"description": "PDF, JPEG or PNG."})


class RejectionInSchema(print_files.RejectionSchema, schemas.Strict):
    pass


class NoBodySchema(schemas.Strict):
    pass


projects_bp = Blueprint("printing_project_files", __name__, url_prefix="/projects",
                        description="A print project's print files")
files_bp = Blueprint("printing_print_files", __name__, url_prefix="/print-files",
                     description="Print files checked, rejected and replaced")
BLUEPRINTS = [projects_bp, files_bp]
for _bp in BLUEPRINTS:
    _bp.before_request(staff_only(lambda: None))  # a portal account: 404 before anything

UPLOAD_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": PrintFileUploadSchema}}}


@projects_bp.route("/<int:case_id>/print-files")
class ProjectFiles(MethodView):
    @projects_bp.response(200, PrintFileOutSchema(many=True))
    @projects_bp.alt_response(404, description="No print project of this id that the "
                                               "caller may see.")
    def get(self, case_id):
        """The project's print files, the first sent first."""
        session = db()
        return print_files.listed(session, _project(case_id), crud.caller())

    @projects_bp.doc(requestBody=UPLOAD_BODY)
    @projects_bp.response(201, PrintFileOutSchema)
    @projects_bp.alt_response(403, description="The caller may not change the project.")
    @projects_bp.alt_response(413, description="The request is larger than the upload limit.")
    @projects_bp.alt_response(415, description="Not multipart/form-data.")
    @projects_bp.alt_response(422, description="Field-level errors: file (missing, too large, "
                                               "not PDF, JPEG or PNG, not what its name "
                                               "says), width_mm, height_mm, dpi, "
                                               "colour_profile, bleed_mm; _ when the "
                                               "project is closed or lost.")
    def post(self, case_id):
        """Send a print file with its parameters: it is received, attached to the
        project and waits for prepress."""
        case = _project(case_id)
        data, upload = _multipart()
        return _committed(lambda session: print_files.add(
            session, _settings(), case, data, upload, crud.caller()), 201)


@files_bp.route("/<int:file_id>")
class OneFile(MethodView):
    @files_bp.response(200, PrintFileOutSchema)
    def get(self, file_id):
        """One print file; the ETag is its version."""
        found = _file(file_id)
        return found, 200, {"ETag": f'"{found.version}"'}


@files_bp.route("/<int:file_id>/file")
class PrintFileBytes(MethodView):
    @files_bp.doc(responses={"200": {"description": "The file as it was sent.", "content": {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("application/pdf", "image/jpeg", "image/png")}}})
    @files_bp.alt_response(404, description="No such file, or the caller may not see its "
                                            "project.")
    def get(self, file_id):
        """Download the print file's current version."""
        return send_attachment(_file(file_id).attachment)


@files_bp.route("/<int:file_id>/check")
class Check(MethodView):
    @files_bp.arguments(NoBodySchema, required=False)
    @files_bp.response(200, PrintFileOutSchema)
    @files_bp.alt_response(403, description="Needs printing.check_print_files.")
    @files_bp.alt_response(412, description="If-Match was sent and the file changed since.")
    @files_bp.alt_response(422, description="status: checked already, or rejected (it waits "
                                            "for a corrected version); _ when the project "
                                            "is closed or lost.")
    def post(self, _data, file_id):
        """Prepress found the file fit to print."""
        found = _file(file_id)
        version = crud.if_match()
        return _committed(lambda session: print_files.check(
            session, found, crud.caller(), version))


@files_bp.route("/<int:file_id>/reject")
class Reject(MethodView):
    @files_bp.arguments(RejectionInSchema)
    @files_bp.response(200, PrintFileOutSchema)
    @files_bp.alt_response(403, description="Needs printing.check_print_files.")
    @files_bp.alt_response(412, description="If-Match was sent and the file changed since.")
    @files_bp.alt_response(422, description="reason: missing or empty; status: rejected "
                                            "already.")
    def post(self, data, file_id):
        """Reject the file with the reason the customer is told; a checked file may be
        rejected too, for a fault found later."""
        found = _file(file_id)
        version = crud.if_match()
        return _committed(lambda session: print_files.reject(
            session, found, data, crud.caller(), version))


@files_bp.route("/<int:file_id>/replace")
class Replace(MethodView):
    @files_bp.doc(requestBody=UPLOAD_BODY)
    @files_bp.response(200, PrintFileOutSchema)
    @files_bp.alt_response(403, description="The caller may not change the project.")
    @files_bp.alt_response(412, description="If-Match was sent and the file changed since.")
    @files_bp.alt_response(413, description="The request is larger than the upload limit.")
    @files_bp.alt_response(415, description="Not multipart/form-data.")
    @files_bp.alt_response(422, description="Field-level errors as for a new file; file "
                                            "also when it was not rejected or is the very "
                                            "file that was.")
    def post(self, file_id):
        """Send a corrected version of a rejected file, with its parameters: it is
        received again; the rejected version stays among the project's attachments."""
        found = _file(file_id)
        version = crud.if_match()
        data, upload = _multipart()
        return _committed(lambda session: print_files.replace(
            session, _settings(), found, data, upload, crud.caller(), version))


def _multipart() -> tuple[dict, tuple | None]:
    """The parameters and the file of a multipart request; nothing over the limit is read."""
    if request.mimetype != "multipart/form-data":
        http_abort(415, _("Send the file and its parameters as multipart/form-data."))
    limit_mb = _settings().max_upload_mb
    request.max_content_length = limit_mb * 1024 * 1024 + MULTIPART_OVERHEAD
    try:
        sent = request.files.get("file")
        data = request.form.to_dict()
    except RequestEntityTooLarge:
        http_abort(413, _("The file is larger than the limit of %(limit)s MB.",
                          limit=limit_mb))
    extra = set(request.files) - {"file"}
    if extra:
        abort(422, messages={"form": {k: [_("Unknown field.")] for k in sorted(extra)}})
    upload = (sent.filename, sent.stream, sent.mimetype) if sent and sent.filename else None
    return data, upload


def _committed(change, status: int = 200):
    """Committed and answered; a stale If-Match is 412."""
    return committed(change, status, refuse=crud.refusal)


def _project(case_id: int) -> Case:
    found = print_files.project(db(), case_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _file(file_id: int) -> PrintFile:
    found = print_files.get(db(), file_id, crud.caller())
    if found is None:
        abort(404)
    return found


def _settings():
    return current_app.extensions["kartoteka"].settings
