"""Files attached to any record: streamed to disk, checked, summed and put on the timeline.

A file is kept as ``<storage>/<aa>/<bb>/<uuid>`` under a name nobody chose, so an upload's
name never reaches the file system; the name a person gave is only shown. Only the types a
CRM needs are accepted, and only when the bytes are what the extension says: a program or
a web page renamed to ``.pdf`` is refused. A file written by a transaction that does not
commit is deleted again, so a failure leaves neither a row nor a file.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

from core import records, timeline
from core.config import Settings
from core.db import utcnow
from core.errors import ValidationError
from core.models import Attachment

CHUNK = 64 * 1024
SNIFF_BYTES = 8192  # as much of the head as filetype's matchers look at
NEW_FILES = "kartoteka_new_attachment_files"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of DOC and XLS
STORED_NAME = re.compile(r"[0-9a-f]{32}")
UNSAFE_CHARS = re.compile(r'[:*?"<>|]')
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
TEXT_CHARSETS = {"utf-8": "utf-8", "cp1250": "windows-1250"}  # codec -> name for browsers
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
# Extensions that run, or render as a page, when opened: never hidden behind another one.
DANGEROUS = {
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "msc", "cpl", "dll", "sys", "jar",
    "js", "jse", "mjs", "vb", "vbs", "vbe", "wsf", "wsh", "ws", "ps1", "psm1", "hta", "lnk",
    "reg", "inf", "scf", "url", "sh", "bash", "py", "pl", "php", "phtml", "asp", "aspx", "jsp",
    "cgi", "html", "htm", "xhtml", "shtml", "svg", "apk", "app", "dmg", "iso", "gadget",
}


@dataclass(frozen=True)
class Format:
    """An accepted kind of file: its type, what browsers may call it, how to recognise it."""

    content_type: str
    check: str  # "filetype", "ooxml", "odf", "ole2" or "text"
    aliases: frozenset = frozenset()
    marker: str = ""  # the ZIP member an Office Open XML document must have


def _format(content_type: str, check: str, *aliases: str, marker: str = "") -> Format:
    return Format(content_type, check, frozenset(aliases), marker)


FORMATS = {
    "pdf": _format("application/pdf", "filetype", "application/x-pdf"),
    "png": _format("image/png", "filetype", "image/x-png"),
    "jpg": _format("image/jpeg", "filetype", "image/pjpeg"),
    "jpeg": _format("image/jpeg", "filetype", "image/pjpeg"),
    "gif": _format("image/gif", "filetype"),
    "webp": _format("image/webp", "filetype"),
    "txt": _format("text/plain", "text"),
    "csv": _format("text/csv", "text", "text/plain", "application/csv", "text/x-csv",
                   "text/comma-separated-values", "application/vnd.ms-excel"),
    "docx": _format("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "ooxml", marker="word/document.xml"),
    "xlsx": _format("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "ooxml", marker="xl/workbook.xml"),
    "odt": _format("application/vnd.oasis.opendocument.text", "odf"),
    "ods": _format("application/vnd.oasis.opendocument.spreadsheet", "odf"),
    "doc": _format("application/msword", "ole2"),
    "xls": _format("application/vnd.ms-excel", "ole2", "application/excel",
                   "application/x-excel", "application/x-msexcel"),
    "zip": _format("application/zip", "filetype", "application/x-zip-compressed",
                   "application/x-zip"),
}


def storage_root(settings: Settings) -> Path:
    """The storage folder: ``attachments_path``, taken within the instance when relative."""
    return settings.instance / (settings.attachments_path or "files")


def path_of(settings: Settings, attachment: Attachment) -> Path:
    """Where an attachment's bytes are on disk."""
    name = attachment.stored_name
    if not STORED_NAME.fullmatch(name):  # only names this module made may form a path
        raise ValueError(f"attachment {attachment.id}: unexpected stored name {name!r}")
    return storage_root(settings) / name[:2] / name[2:4] / name


def store(session: Session, settings: Settings, record, filename: str, stream: BinaryIO,
          actor=None, declared_type: str | None = None) -> Attachment:
    """Attach the file read from ``stream`` to ``record``; ValidationError keyed "file"."""
    name, extension = safe_filename(filename)
    file_format = FORMATS[extension]
    _check_declared_type(file_format, extension, declared_type)
    root = storage_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            size, sha256 = _copy(stream, out, settings.max_upload_mb)
        content_type = _checked_content_type(Path(temporary), extension, file_format)
        stored_name = uuid.uuid4().hex
        target = root / stored_name[:2] / stored_name[2:4] / stored_name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    try:
        attachment = _add_row(session, record, name, stored_name, content_type, size, sha256,
                              actor)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    session.info.setdefault(NEW_FILES, []).append(target)
    return attachment


def _add_row(session, record, name, stored_name, content_type, size, sha256, actor):
    record_type, record_id = records.ref(record)
    attachment = records.create(session, Attachment(
        record_type=record_type, record_id=record_id, filename=name, stored_name=stored_name,
        content_type=content_type, size=size, sha256=sha256, uploaded_at=utcnow(),
        uploaded_by_id=actor.id if actor is not None else None), actor)
    timeline.record_event(session, "attachment_added", [record], subject=name, actor=actor,
                          data={"attachment_id": attachment.id, "filename": name, "size": size})
    return attachment


def _copy(stream: BinaryIO, out: BinaryIO, limit_mb: int) -> tuple[int, str]:
    """Copy in chunks, counting and summing; stop as soon as the limit is passed."""
    limit, size, digest = limit_mb * 1024 * 1024, 0, hashlib.sha256()
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise ValidationError({"file": _("The file is larger than the limit of "
                                             "%(limit)s MB.", limit=limit_mb)})
        digest.update(chunk)
        out.write(chunk)
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    return size, digest.hexdigest()


def safe_filename(filename: str) -> tuple[str, str]:
    """The name to show, without folders or hidden characters, and its lower-case extension.

    Refuses names that climb out of a folder, that hide a program behind a harmless
    extension, or whose type is not accepted.
    """
    parts = re.split(r"[/\\]", unicodedata.normalize("NFC", filename or ""))
    if ".." in (p.strip() for p in parts):
        raise ValidationError({"file": _("The file name must not point to another folder; "
                                         "choose the file itself.")})
    name = "".join(c for c in parts[-1] if not unicodedata.category(c).startswith("C"))
    name = " ".join(UNSAFE_CHARS.sub("_", name).split()).lstrip(". ").rstrip(". ")
    if not name:
        raise ValidationError({"file": _("The file has no name; rename it and try again.")})
    suffixes = [s.strip().lower() for s in name.split(".")[1:]]
    extension = suffixes[-1] if suffixes else ""
    hidden = [s for s in suffixes[:-1] if s in DANGEROUS]
    if hidden or (len(suffixes) > 1 and extension in DANGEROUS):
        raise ValidationError({"file": _(
            "The name \"%(name)s\" has a second extension (.%(extension)s) that could run a "
            "program; such files cannot be attached.",
            name=name, extension=(hidden + [extension])[0])})
    if extension not in FORMATS:
        raise ValidationError({"file": _(
            "Files of this type cannot be attached. Accepted: %(types)s.",
            types=", ".join(sorted(FORMATS)))})
    return _shortened(name, extension), extension


def _shortened(name: str, extension: str, limit: int = 255) -> str:
    """Fit the column, keeping the extension."""
    if len(name) <= limit:
        return name
    return name[:limit - len(extension) - 1].rstrip(". ") + "." + extension


def _check_declared_type(file_format: Format, extension: str,
                         declared_type: str | None) -> None:
    """What the browser calls the file must fit its extension (or say nothing particular)."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared in GENERIC_TYPES | file_format.aliases | {file_format.content_type}:
        return
    raise ValidationError({"file": _("The file was sent as %(declared)s, which is not a "
                                     ".%(extension)s file.",
                                     declared=declared, extension=extension)})


def _checked_content_type(path: Path, extension: str, file_format: Format) -> str:
    """The type to serve the file as, once its bytes are shown to match the extension."""
    if file_format.check == "text":
        charset = _text_charset(path)
        if charset is None:
            raise ValidationError({"file": _(
                "The file is not text in UTF-8 or Windows-1250, as a .%(extension)s file must "
                "be.", extension=extension)})
        return f"{file_format.content_type}; charset={charset}"
    if not _bytes_match(path, extension, file_format):
        raise ValidationError({"file": _(
            "The contents of the file are not a .%(extension)s file; it may have been renamed.",
            extension=extension)})
    return file_format.content_type


def _bytes_match(path: Path, extension: str, file_format: Format) -> bool:
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if file_format.check == "filetype":
        return filetype.get_type(ext="jpg" if extension == "jpeg" else extension).match(head)
    if file_format.check == "ole2":
        return head.startswith(OLE2)
    return _zip_document_matches(path, file_format)


def _zip_document_matches(path: Path, file_format: Format) -> bool:
    """OOXML and OpenDocument files are ZIPs: look at their members, in whatever order."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if file_format.check == "odf":
                return ("mimetype" in names and archive.read("mimetype").strip()
                        == file_format.content_type.encode())
            return "[Content_Types].xml" in names and file_format.marker in names
    except (zipfile.BadZipFile, OSError, KeyError):
        return False


def _text_charset(path: Path) -> str | None:
    """The charset the whole file decodes in as text, UTF-8 first; None for binary data."""
    for codec, charset in TEXT_CHARSETS.items():
        if _decodes_as_text(path, codec):
            return charset
    return None


def _decodes_as_text(path: Path, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    with path.open("rb") as f:
        try:
            while chunk := f.read(CHUNK):
                if CONTROL_IN_TEXT.search(decoder.decode(chunk)):
                    return False
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def list_for(session: Session, record) -> list[Attachment]:
    """The files attached to ``record`` and not removed, newest first."""
    record_type, record_id = records.ref(record)
    query = (records.visible(Attachment)
             .where(Attachment.record_type == record_type, Attachment.record_id == record_id)
             .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc()))
    return list(session.scalars(query))


def remove(session: Session, attachment: Attachment, actor) -> None:
    """Hide an attachment; its file stays on disk until purged, so it can be restored."""
    records.soft_delete(session, attachment, actor)
    model = records.record_types().get(attachment.record_type)
    record = session.get(model, attachment.record_id) if model is not None else None
    if record is not None:
        timeline.record_event(session, "attachment_removed", [record],
                              subject=attachment.filename, actor=actor,
                              data={"attachment_id": attachment.id,
                                    "filename": attachment.filename})


def verify(settings: Settings, attachment: Attachment) -> bool:
    """Whether the file on disk still has the checksum taken when it was stored."""
    digest = hashlib.sha256()
    try:
        with path_of(settings, attachment).open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == attachment.sha256


@event.listens_for(Session, "after_commit")
def _keep_new_files(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(NEW_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _delete_uncommitted_files(session: Session, transaction) -> None:
    """A transaction that ends without committing takes its new files with it."""
    if transaction.parent is None:
        for path in session.info.pop(NEW_FILES, []):
            path.unlink(missing_ok=True)
