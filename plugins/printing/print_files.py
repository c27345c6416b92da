"""Print files (PR-9): the customer's graphics for a print project, with what prepress
needs to know of each: the format, the resolution, the colour profile and the bleed.

A file is received when it is uploaded; prepress (``printing.check_print_files``) checks
it or rejects it with a reason the customer is told. A rejected file is replaced by a
new upload, which is received again; the rejected bytes stay on the project among its
attachments. The bytes go through ``core.attachments`` (size limit, type sniffing,
checksum); only the types a print can be made from are taken. Whoever may read the
project sees its files, whoever may change it adds and replaces them. Every change is
in the audit trail (through ``core.records``) and on the project's timeline.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as Invalid
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import attachments, permissions, records, timeline
from core.config import Settings
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.models import Attachment, Case
from core.terms import term, term_adj, upper_first
from core.validation import MAX_ID, load_collecting, max_length
from plugins.printing.models import PrintFile
from plugins.printing.process import PROJECT

PROCESS = PROJECT.key
CHECK = "printing.check_print_files"
FILE_TYPES = ("pdf", "jpg", "jpeg", "png")  # of the core's accepted types, those printed from
MAX_MM = 100_000  # a 100 m roll of banner: larger is a typing mistake
MAX_DPI = 4800
MAX_BLEED_MM = 500
# Offered as the colour profile is typed; any other may be given.
PROFILES = ("ISO Coated v2 (ECI)", "ISO Coated v2 300% (ECI)", "PSO Coated v3",
            "FOGRA39", "FOGRA51", "GRACoL 2013", "sRGB IEC61966-2.1", "Adobe RGB (1998)")
# How each status is shown: Polish forms per gender (see core.terms.agree), so that the
# word agrees with the term an installation calls print files by.
STATUS_LABELS = {"received": _l("received"), "checked": _l("checked"),
                 "rejected": _l("rejected")}


def _filled(value: str) -> None:
    if not value.strip():
        raise Invalid(_("Enter the colour profile, such as ISO Coated v2 (ECI)."))


class PrintFileSchema(Schema):
    """The parameters of a print file, as the customer or the account manager gives them."""

    width_mm = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(1, MAX_MM, error=_l("Give a size from {min} to {max} mm.")),
        error_messages={"required": _l("Enter the width of the print in millimetres."),
                        "invalid": _l("Enter a whole number of millimetres.")},
        metadata={"description": "The width of the print, without the bleed, in mm."})
    height_mm = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(1, MAX_MM, error=_l("Give a size from {min} to {max} mm.")),
        error_messages={"required": _l("Enter the height of the print in millimetres."),
                        "invalid": _l("Enter a whole number of millimetres.")},
        metadata={"description": "The height of the print, without the bleed, in mm."})
    dpi = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(1, MAX_DPI, error=_l("Give a resolution from {min} to "
                                                     "{max} dpi.")),
        error_messages={"required": _l("Enter the resolution in dpi."),
                        "invalid": _l("Enter a whole number of dpi.")},
        metadata={"description": "The resolution at the print's size, in dots per inch."})
    colour_profile = fields.String(
        required=True, validate=[max_length(100), _filled],
        error_messages={"required": _l("Enter the colour profile, such as ISO Coated v2 "
                                       "(ECI).")},
        metadata={"description": "The ICC profile or standard the file was prepared in, "
                                 f"such as {', '.join(PROFILES[:4])} or sRGB."})
    bleed_mm = fields.Integer(
        load_default=0, strict=False,
        validate=validate.Range(0, MAX_BLEED_MM, error=_l("The bleed is from {min} to {max} "
                                                          "mm; 0 for none.")),
        error_messages={"invalid": _l("Enter a whole number of millimetres.")},
        metadata={"description": "The bleed on each edge, in mm; 0: none."})
    notes = fields.String(load_default="", validate=max_length(2000), metadata={
        "description": "What prepress should know: the panels of a split print, a finish."})


class RejectionSchema(Schema):
    reason = fields.String(
        required=True, validate=max_length(2000),
        error_messages={"required": _l("Say why the file is rejected: the customer is told.")},
        metadata={"description": "What is wrong, for the customer to fix: required."})


# --- Reading -------------------------------------------------------------------------------

def listed(session: Session, case: Case, actor=None) -> list[PrintFile]:
    """The project's print files, the first sent first."""
    _visible(session, case, actor)
    return list(session.scalars(
        select(PrintFile).where(PrintFile.case_id == case.id, PrintFile.deleted_at.is_(None))
        .options(selectinload(PrintFile.attachment)).order_by(PrintFile.id)))


def get(session: Session, file_id, actor=None) -> PrintFile | None:
    """The print file, or None when there is none or ``actor`` may not see its project."""
    if not isinstance(file_id, int) or not 0 < file_id <= MAX_ID:
        return None
    found = session.get(PrintFile, file_id)
    if found is None or found.deleted_at is not None:
        return None
    return found if _project(session, found.case_id, actor) is not None else None


def project(session: Session, case_id, actor=None) -> Case | None:
    """The print project ``actor`` may see, or None (a case of another process too)."""
    if not isinstance(case_id, int) or not 0 < case_id <= MAX_ID:
        return None
    return _project(session, case_id, actor)


def may_add(session: Session, actor, case: Case) -> bool:
    try:
        _require_change(session, case, actor)
    except Forbidden:
        return False
    return True


def may_check(actor) -> bool:
    return permissions.can(actor, CHECK)


def is_open(case: Case) -> bool:
    """Files of a closed or lost project no longer change."""
    phase = PROJECT.phase(case.phase_key)
    return not (phase is not None and phase.final)


def status_name(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return term_adj("printing.print_file", label) if label is not None else status


def describe(found: PrintFile) -> str:
    """The parameters in one line, as the timeline and the lists show them."""
    return _("%(width)d × %(height)d mm, bleed %(bleed)d mm, %(dpi)d dpi, %(profile)s",
             width=found.width_mm, height=found.height_mm, bleed=found.bleed_mm,
             dpi=found.dpi, profile=found.colour_profile)


# --- Receiving -----------------------------------------------------------------------------

def add(session: Session, settings: Settings, case: Case, data: dict, upload, actor=None
        ) -> PrintFile:
    """Receive a print file for ``case``: ``upload`` is ``(filename, stream, content
    type)``, ``data`` its parameters (``PrintFileSchema``)."""
    _visible(session, case, actor)
    _require_change(session, case, actor)
    _require_open(case)
    values = _clean(data, upload)
    attachment = _store(session, settings, case, upload, actor)
    found = records.create(session, PrintFile(
        case_id=case.id, attachment_id=attachment.id, attachment=attachment,
        status="received", received_at=utcnow(), received_by_id=_id_of(actor), **values),
        actor)
    _on_timeline(session, case, found, "printing.print_file_received",
                 _("%(what)s received: %(name)s", what=_file_term(), name=found.filename),
                 describe(found), actor)
    return found


def replace(session: Session, settings: Settings, found: PrintFile, data: dict, upload,
            actor=None, expected_version: int | None = None) -> PrintFile:
    """A new upload in place of a rejected file, received again with its parameters;
    the rejected bytes stay among the project's attachments."""
    case = _case_of(session, found, actor)
    _require_change(session, case, actor)
    _require_open(case)
    if found.status != "rejected":
        raise ValidationError({"file": upper_first(_(
            "Only after a rejection can the %(what)s be replaced; now it is %(status)s.",
            what=_file_term(), status=status_name(found.status)))})
    values = _clean(data, upload)
    old = found.attachment
    attachment = _store(session, settings, case, upload, actor)
    if attachment.sha256 == old.sha256:
        raise ValidationError({"file": _("This is the very file that was rejected; send the "
                                         "corrected one.")})
    records.update(session, found, {
        **values, "attachment_id": attachment.id, "revision": found.revision + 1,
        "status": "received", "received_at": utcnow(), "received_by_id": _id_of(actor),
        "reviewed_at": None, "reviewed_by_id": None, "rejection_reason": ""},
        actor, expected_version)
    found.attachment = attachment
    _on_timeline(session, case, found, "printing.print_file_replaced",
                 _("%(what)s replaced: %(old)s → %(name)s", what=_file_term(),
                   old=old.filename, name=found.filename), describe(found), actor)
    return found


# --- Checking ------------------------------------------------------------------------------

def check(session: Session, found: PrintFile, actor=None,
          expected_version: int | None = None) -> PrintFile:
    """Prepress found the file fit to print."""
    case = _reviewable(session, found, actor)
    if found.status == "checked":
        raise ValidationError({"status": upper_first(_(
            "The %(what)s was checked already.", what=_file_term()))})
    if found.status == "rejected":
        raise ValidationError({"status": upper_first(_(
            "The %(what)s was rejected; it can be checked once a corrected version is "
            "uploaded.", what=_file_term()))})
    records.update(session, found, {"status": "checked", "reviewed_at": utcnow(),
                                    "reviewed_by_id": _id_of(actor)}, actor, expected_version)
    _on_timeline(session, case, found, "printing.print_file_checked",
                 _("%(what)s checked: %(name)s", what=_file_term(), name=found.filename),
                 describe(found), actor)
    return found


def reject(session: Session, found: PrintFile, data: dict, actor=None,
           expected_version: int | None = None) -> PrintFile:
    """Prepress cannot print from the file: ``data["reason"]`` says why, for the
    customer. A file checked before may still be rejected (a fault found later)."""
    case = _reviewable(session, found, actor)
    values, errors = load_collecting(RejectionSchema(), data)
    reason = (values.get("reason") or "").strip()
    if not reason and "reason" not in errors:
        errors["reason"] = _("Say why the file is rejected: the customer is told.")
    if found.status == "rejected":
        errors["status"] = upper_first(_(
            "The %(what)s was rejected already; it waits for a corrected version.",
            what=_file_term()))
    if errors:
        raise ValidationError(errors)
    records.update(session, found, {"status": "rejected", "reviewed_at": utcnow(),
                                    "reviewed_by_id": _id_of(actor),
                                    "rejection_reason": reason}, actor, expected_version)
    _on_timeline(session, case, found, "printing.print_file_rejected",
                 _("%(what)s rejected: %(name)s", what=_file_term(), name=found.filename),
                 reason, actor)
    return found


# --- Checks and helpers --------------------------------------------------------------------

def _project(session: Session, case_id: int, actor) -> Case | None:
    case = records.get(session, Case, case_id, actor)
    return case if case is not None and case.process_key == PROCESS else None


def _visible(session: Session, case: Case, actor) -> None:
    if case.process_key != PROCESS:
        raise ValidationError({"case_id": upper_first(_(
            "%(what)s are added to a %(project)s only.",
            what=term("printing.print_file", case="acc", plural=True),
            project=term("printing.project", case="gen")))})
    if _project(session, case.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))


def _case_of(session: Session, found: PrintFile, actor) -> Case:
    case = _project(session, found.case_id, actor)
    if case is None:
        raise Forbidden(_("You may not do this with this record."))
    return case


def _require_change(session: Session, case: Case, actor) -> None:
    """Adding files is changing the project: as its owner, or with the right to edit it."""
    try:
        # No changes named: the project's owner stays, only the right to edit it counts.
        permissions.require(session, actor, case, "edit", {})
    except Forbidden:
        raise Forbidden(_("You cannot add %(files)s: you may not change the %(project)s.",
                          files=term("printing.print_file", case="gen", plural=True),
                          project=term("printing.project", case="gen"))) from None


def _reviewable(session: Session, found: PrintFile, actor) -> Case:
    if not may_check(actor):
        raise Forbidden(_("You may not check or reject %(files)s.",
                          files=term("printing.print_file", case="gen", plural=True)))
    case = _case_of(session, found, actor)
    _require_open(case)
    return case


def _require_open(case: Case) -> None:
    if not is_open(case):
        raise ValidationError({"_": _(
            "Work on the %(project)s is over; its %(files)s no longer change.",
            project=term("printing.project", case="ins"),
            files=term("printing.print_file", plural=True))})


def _clean(data: dict, upload) -> dict:
    """The parameters, and every problem with them and the file at once, by field."""
    # An empty form field is a missing value, so that its own message says what to enter.
    given = {k: v for k, v in (data or {}).items() if v not in ("", None)}
    values, errors = load_collecting(PrintFileSchema(), given)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    problem = _file_problem(upload)
    if problem:
        errors["file"] = problem
    if errors:
        raise ValidationError(errors)
    return values


def _file_problem(upload) -> str | None:
    if upload is None or not upload[0]:
        return _("Choose the file to upload.")
    wrong_type = _("Send %(files)s as PDF, JPEG or PNG.",
                   files=term("printing.print_file", case="acc", plural=True))
    try:
        _name, extension = attachments.safe_filename(upload[0])
    except ValidationError as exc:
        # The core's refusal of a name (a hidden program, a folder) says more than ours,
        # but its list of accepted types is not the list for printing.
        given = upload[0].rsplit(".", 1)[-1].strip().lower() if "." in upload[0] else ""
        return exc.errors["file"] if given in FILE_TYPES else wrong_type
    return None if extension in FILE_TYPES else wrong_type


def _store(session: Session, settings: Settings, case: Case, upload, actor) -> Attachment:
    filename, stream, content_type = upload
    return attachments.store(session, settings, case, filename, stream, actor, content_type)


def _on_timeline(session: Session, case: Case, found: PrintFile, event: str, subject: str,
                 body: str, actor) -> None:
    timeline.add(session, "system", upper_first(subject), [case], body=body, actor=actor,
                 event=event, data={"print_file_id": found.id,
                                    "attachment_id": found.attachment_id,
                                    "status": found.status})


def _file_term() -> str:
    # The accusative: Polish says what was received ("Otrzymano plik do druku").
    return term("printing.print_file", case="acc")


def _id_of(actor) -> int | None:
    return getattr(actor, "id", None)
