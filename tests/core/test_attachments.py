"""Attachments: files on any record, checked before they are kept and served as downloads."""

import hashlib
import io
import struct
import zipfile
import zlib
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import attachments, config, organisations, timeline, users
from core.db import utcnow
from core.errors import StartupError, ValidationError
from core.models import Activity, Attachment, Organisation
from core.testing import ADMIN_EMAIL

MIB = 1024 * 1024


def minimal_pdf(text: str = "Umowa") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def minimal_png() -> bytes:
    """A 1x1 red pixel."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped({"_rels/.rels": b"<Relationships/>", "docProps/app.xml": b"<Properties/>",
               "[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT = zipped({"mimetype": b"application/vnd.oasis.opendocument.text",
              "content.xml": b"<office:document-content/>"})
ODS = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
              "content.xml": b"<office:document-content/>"})
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture
def kornik(rt) -> Organisation:
    with rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})


@pytest.fixture
def anna(rt):
    with rt.session() as session, session.begin():
        return users.create_user(session, "anna@example.com", "correct horse battery",
                                 full_name="Anna Nowak")


def attach(rt, record, filename, data, actor=None, settings=None, declared_type=None):
    with rt.session() as session, session.begin():
        return attachments.store(session, settings or rt.settings, record, filename,
                                 io.BytesIO(data), actor, declared_type)


def stored_files(rt) -> list:
    root = attachments.storage_root(rt.settings)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def count(rt, model) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_pdf_and_a_png_are_kept_with_size_checksum_uploader_and_time(rt, kornik, anna):
    pdf, png = minimal_pdf(), minimal_png()
    before = utcnow()
    first = attach(rt, kornik, "Umowa żółta.pdf", pdf, anna)
    second = attach(rt, kornik, "mapa.png", png, anna)
    assert (first.filename, first.content_type, first.size) == (
        "Umowa żółta.pdf", "application/pdf", len(pdf))
    assert (second.filename, second.content_type, second.size) == (
        "mapa.png", "image/png", len(png))
    assert first.sha256 == hashlib.sha256(pdf).hexdigest()
    assert second.sha256 == hashlib.sha256(png).hexdigest()
    with rt.session() as session:
        listed = attachments.list_for(session, kornik)
    assert [a.id for a in listed] == [second.id, first.id]
    for attachment, data in ((listed[1], pdf), (listed[0], png)):
        assert attachment.uploaded_by_id == anna.id
        assert before <= attachment.uploaded_at <= utcnow()
        assert attachment.uploaded_at.utcoffset() == timedelta(0)
        path = attachments.path_of(rt.settings, attachment)
        assert path.read_bytes() == data
        name = attachment.stored_name
        assert path == rt.settings.instance / "files" / name[:2] / name[2:4] / name
        assert "Umowa" not in str(path)
        assert attachments.verify(rt.settings, attachment)
    assert first.stored_name != second.stored_name
    assert stored_files(rt) == sorted(attachments.path_of(rt.settings, a) for a in listed)


def test_attaching_puts_an_event_on_the_records_timeline(rt, kornik, anna):
    attachment = attach(rt, kornik, "Umowa.pdf", minimal_pdf(), anna)
    with rt.session() as session:
        events = timeline.timeline(session, kornik, kinds=["system"])
    assert [(e.event, e.subject, e.created_by_id) for e in events] == [
        ("attachment_added", "Umowa.pdf", anna.id)]
    assert events[0].data == {"attachment_id": attachment.id, "filename": "Umowa.pdf",
                              "size": attachment.size}


def test_the_size_limit_is_inclusive_and_a_larger_file_leaves_nothing_behind(rt, kornik):
    settings = replace(rt.settings, max_upload_mb=1)
    pdf = minimal_pdf()
    exactly = pdf + b" " * (MIB - len(pdf))
    attach(rt, kornik, "duzy.pdf", exactly, settings=settings)
    assert count(rt, Attachment) == 1 and len(stored_files(rt)) == 1
    with pytest.raises(ValidationError) as refused:
        attach(rt, kornik, "za-duzy.pdf", exactly + b" ", settings=settings)
    assert refused.value.errors == {"file": "The file is larger than the limit of 1 MB."}
    assert count(rt, Attachment) == 1 and len(stored_files(rt)) == 1
    assert count(rt, Activity) == 1


@pytest.mark.parametrize("filename, data, declared, message", [
    ("../../x.pdf", minimal_pdf(), None, "must not point to another folder"),
    ("..\\..\\x.pdf", minimal_pdf(), None, "must not point to another folder"),
    ("a.pdf.exe", EXE, None, "second extension (.exe) that could run a program"),
    ("faktura.pdf.exe", minimal_pdf(), None, "second extension (.exe)"),
    ("scan.jpg.js", b"alert(1)", None, "second extension (.js)"),
    ("raport.exe.pdf", minimal_pdf(), None, "second extension (.exe)"),
    ("faktura.pdf", EXE, None, "The contents of the file are not a .pdf file"),
    ("faktura.pdf", HTML, None, "The contents of the file are not a .pdf file"),
    ("zdjecie.jpg", minimal_png(), None, "not a .jpg file"),
    ("umowa.docx", zipped({"a.txt": b"a"}), None, "not a .docx file"),
    ("umowa.odt", ODS, None, "not a .odt file"),
    ("stary.doc", minimal_pdf(), None, "not a .doc file"),
    ("notatka.txt", EXE, None, "not text in UTF-8 or Windows-1250"),
    ("puste.pdf", b"", None, "The file is empty."),
    ("program.exe", EXE, None, "Files of this type cannot be attached. Accepted: csv, doc,"),
    ("strona.html", HTML, None, "Files of this type cannot be attached."),
    ("bez-rozszerzenia", minimal_pdf(), None, "Files of this type cannot be attached."),
    ("...", minimal_pdf(), None, "The file has no name"),
    ("faktura.pdf", minimal_pdf(), "text/html", "sent as text/html, which is not a .pdf"),
])
def test_a_refused_file_changes_nothing_and_says_why(rt, kornik, filename, data, declared,
                                                     message):
    with pytest.raises(ValidationError) as refused:
        attach(rt, kornik, filename, data, declared_type=declared)
    assert list(refused.value.errors) == ["file"]
    assert message in refused.value.errors["file"]
    assert stored_files(rt) == []
    assert count(rt, Attachment) == 0 and count(rt, Activity) == 0


@pytest.mark.parametrize("filename, data, content_type", [
    ("zdjęcie.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100), "image/jpeg"),
    ("logo.gif", b"GIF89a\x01\x00\x01\x00" + bytes(20), "image/gif"),
    ("logo.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(30), "image/webp"),
    ("umowa.docx", DOCX, "application/vnd.openxmlformats-officedocument."
                         "wordprocessingml.document"),
    ("budżet.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pismo.odt", ODT, "application/vnd.oasis.opendocument.text"),
    ("tabela.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
    ("stary.doc", OLE2, "application/msword"),
    ("stary.xls", OLE2, "application/vnd.ms-excel"),
    ("paczka.zip", zipped({"a.txt": b"a"}), "application/zip"),
    ("notatka.txt", "Zażółć gęślą jaźń\r\n".encode(), "text/plain; charset=utf-8"),
])
def test_each_accepted_type_is_kept_when_its_bytes_match(rt, kornik, filename, data,
                                                         content_type):
    attachment = attach(rt, kornik, filename, data)
    assert attachment.content_type == content_type
    assert attachments.path_of(rt.settings, attachment).read_bytes() == data


def test_a_windows_1250_csv_is_accepted_and_served_in_its_charset(rt, kornik):
    data = "gmina;wójt\nKórnik;Łukasz Żółć\n".encode("cp1250")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    attachment = attach(rt, kornik, "gminy.csv", data, declared_type="application/vnd.ms-excel")
    assert attachment.content_type == "text/csv; charset=windows-1250"
    utf8 = attach(rt, kornik, "gminy-utf8.csv", "gmina;wójt\nKórnik;Łukasz\n".encode())
    assert utf8.content_type == "text/csv; charset=utf-8"


@pytest.mark.parametrize("given, shown", [
    ("C:\\Users\\anna\\Umowa żółta.pdf", "Umowa żółta.pdf"),
    ("/home/anna/skany/skan.pdf", "skan.pdf"),
    (".ukryty.pdf", "ukryty.pdf"),
    ("fak\x00tu\u202era\t\n.pdf", "faktura.pdf"),
    ('pismo: "pilne"?.pdf', "pismo_ _pilne__.pdf"),
    ("Umowa nr 1.2024.PDF", "Umowa nr 1.2024.PDF"),
    ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
])
def test_names_are_made_safe_to_show_keeping_polish_letters(given, shown):
    assert attachments.safe_filename(given) == (shown, "pdf")


def test_a_failed_transaction_takes_its_new_file_with_it(rt, kornik):
    with pytest.raises(RuntimeError), rt.session() as session, session.begin():
        attachments.store(session, rt.settings, kornik, "Umowa.pdf", io.BytesIO(minimal_pdf()))
        assert len(stored_files(rt)) == 1
        raise RuntimeError("the rest of the change failed")
    assert stored_files(rt) == []
    assert count(rt, Attachment) == 0 and count(rt, Activity) == 0


def test_removing_hides_the_file_but_keeps_it_until_purged(rt, kornik, anna):
    kept = attach(rt, kornik, "Umowa.pdf", minimal_pdf(), anna)
    gone = attach(rt, kornik, "Aneks.pdf", minimal_pdf("Aneks"), anna)
    with rt.session() as session, session.begin():
        attachments.remove(session, session.get(Attachment, gone.id), anna)
    with rt.session() as session:
        assert [a.id for a in attachments.list_for(session, kornik)] == [kept.id]
        assert session.get(Attachment, gone.id).deleted_at is not None
        events = timeline.timeline(session, kornik, kinds=["system"])
    assert attachments.path_of(rt.settings, gone).exists()
    assert [(e.event, e.subject, e.created_by_id) for e in events][0] == (
        "attachment_removed", "Aneks.pdf", anna.id)


def test_verify_notices_a_changed_or_missing_file(rt, kornik):
    attachment = attach(rt, kornik, "Umowa.pdf", minimal_pdf())
    path = attachments.path_of(rt.settings, attachment)
    assert attachments.verify(rt.settings, attachment)
    path.write_bytes(minimal_pdf("Umowa podmieniona"))
    assert not attachments.verify(rt.settings, attachment)
    path.unlink()
    assert not attachments.verify(rt.settings, attachment)


def test_the_storage_folder_and_the_limit_are_settings(tmp_path):
    instance = tmp_path / "instance"
    default = config.load({"instance_path": str(instance)}, environ={})
    assert attachments.storage_root(default) == instance / "files"
    assert default.max_upload_mb == 25
    chosen = config.load({"instance_path": str(instance)}, environ={
        "KARTOTEKA_ATTACHMENTS_PATH": str(tmp_path / "pliki"), "KARTOTEKA_MAX_UPLOAD_MB": "7"})
    assert attachments.storage_root(chosen) == tmp_path / "pliki"
    assert chosen.max_upload_mb == 7
    relative = config.load({"instance_path": str(instance)},
                           environ={"KARTOTEKA_ATTACHMENTS_PATH": "zalaczniki"})
    assert attachments.storage_root(relative) == instance / "zalaczniki"
    with pytest.raises(StartupError, match="KARTOTEKA_MAX_UPLOAD_MB.*'dużo' is not a whole"):
        config.load({"instance_path": str(instance)},
                    environ={"KARTOTEKA_MAX_UPLOAD_MB": "dużo"})


def test_an_attachment_in_a_separate_storage_folder(kartoteka_app_factory, tmp_path):
    rt = kartoteka_app_factory(attachments_path=str(tmp_path / "pliki")).extensions["kartoteka"]
    with rt.session() as session, session.begin():
        kornik = organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                         "type_key": "core.municipality"})
    attachment = attach(rt, kornik, "Umowa.pdf", minimal_pdf())
    path = attachments.path_of(rt.settings, attachment)
    assert path.is_relative_to(tmp_path / "pliki") and path.read_bytes() == minimal_pdf()


# The web pages: uploading from a card and downloading again.

@pytest.fixture
def web(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en", max_upload_mb=1)


@pytest.fixture
def client(web, kartoteka_login):
    return kartoteka_login(web.test_client())


@pytest.fixture
def web_kornik(web) -> Organisation:
    rt = web.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        return organisations.create(session, rt.host, {"name": "Gmina Kórnik",
                                                       "type_key": "core.municipality"})


def post_file(client, record, filename, data, follow=False, record_type="organisation"):
    card = f"/organisations/{record.id}"
    return client.post(f"/attachments/{record_type}/{record.id}",
                       data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data",
                       headers={"Referer": f"http://localhost{card}"},
                       follow_redirects=follow)


def test_a_file_uploaded_from_a_card_downloads_as_it_was(web, client, web_kornik):
    pdf = minimal_pdf()
    response = post_file(client, web_kornik, "Umowa żółta.pdf", pdf)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{web_kornik.id}"
    assert "Attached Umowa żółta.pdf." in client.get(response.headers["Location"]).text
    rt = web.extensions["kartoteka"]
    with rt.session() as session:
        (attachment,) = attachments.list_for(session, web_kornik)
        admin = users.find_by_email(session, ADMIN_EMAIL)
    assert attachment.uploaded_by_id == admin.id
    download = client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == pdf
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"Umowa zolta.pdf\"; "
        "filename*=UTF-8''Umowa%20%C5%BC%C3%B3%C5%82ta.pdf")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/attachments/{attachment.id + 1}").status_code == 404


def test_a_refused_upload_is_explained_on_the_card_and_nothing_is_kept(web, client, web_kornik):
    page = post_file(client, web_kornik, "faktura.pdf", EXE, follow=True)
    assert page.status_code == 200
    assert "The contents of the file are not a .pdf file" in page.text
    page = post_file(client, web_kornik, "wielki.pdf", minimal_pdf() + bytes(2 * MIB),
                     follow=True)
    assert "The file is larger than the limit of 1 MB." in page.text
    page = client.post(f"/attachments/organisation/{web_kornik.id}", data={},
                       headers={"Referer": f"/organisations/{web_kornik.id}"},
                       follow_redirects=True)
    assert "Choose a file to attach." in page.text
    rt = web.extensions["kartoteka"]
    assert stored_files(rt) == [] and count(rt, Attachment) == 0


def test_uploads_go_only_to_records_that_exist(web, client, web_kornik):
    assert post_file(client, web_kornik, "a.pdf", minimal_pdf(),
                     record_type="nonsense").status_code == 404
    rt = web.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        session.get(Organisation, web_kornik.id).deleted_at = utcnow()
    assert post_file(client, web_kornik, "a.pdf", minimal_pdf()).status_code == 404
    assert count(rt, Attachment) == 0


def test_a_removed_attachment_is_not_found(web, client, web_kornik):
    post_file(client, web_kornik, "Umowa.pdf", minimal_pdf())
    rt = web.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        (attachment,) = attachments.list_for(session, web_kornik)
        attachments.remove(session, attachment, None)
    assert client.get(f"/attachments/{attachment.id}").status_code == 404


def test_uploading_and_downloading_need_a_login(web, web_kornik):
    rt = web.extensions["kartoteka"]
    attachment = attach(rt, web_kornik, "Umowa.pdf", minimal_pdf())
    anonymous = web.test_client()
    download = anonymous.get(f"/attachments/{attachment.id}")
    assert download.status_code == 302 and "/login" in download.headers["Location"]
    upload = post_file(anonymous, web_kornik, "Inna.pdf", minimal_pdf())
    assert upload.status_code == 302 and "/login" in upload.headers["Location"]
    assert count(rt, Attachment) == 1


def test_any_form_posted_far_over_the_limit_is_answered_on_its_own_page(client):
    response = client.post("/organisations/new", data={"notes": "x" * (3 * 1024 * 1024)},
                           headers={"Referer": "http://localhost/organisations/new"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/organisations/new"
    assert "larger than the limit of 1 MB" in client.get("/organisations/").text
