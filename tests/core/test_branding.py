"""Branding: the installation's name, colour, logo and the portal's welcome, on every page,
set on the page, through the API and from the command line."""

import io
import struct
import zlib

import pytest
from PIL import Image

from core import branding, users
from core.errors import ValidationError
from core.models import AuditEntry
from tests.core.api_helpers import PASSWORD, callers
from tests.core.page_helpers import add_org, count, error_under, show, text, value_of, writing


def bomb(side: int = 20000) -> bytes:
    """A PNG header claiming ``side``×``side`` pixels and holding none."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + end)


def image(kind: str = "PNG", size=(120, 40), colour="#1f5fbf") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def portal_client(app, kartoteka_login):
    org_id = add_org(app, "Gmina Kórnik")
    with writing(app) as (session, admin):
        from core.models import Organisation

        users.create_user(session, "kornik@example.com", PASSWORD,
                          portal_of=session.get(Organisation, org_id), actor=admin)
    return kartoteka_login(app.test_client(), "kornik@example.com", PASSWORD)


def test_every_page_and_the_portal_wear_the_installations_branding(app, client,
                                                                   kartoteka_login):
    page = client.post("/settings/branding", data={
        "name": "Związek Gmin Wielkopolskich", "accent": "#0B5D1E",
        "portal_welcome": "Witamy w portalu.\r\n\r\nZapisy na szkolenia: tel. 61 000 00 00."},
        follow_redirects=True)
    assert "Saved." in text(page)
    home = show(client, "/")
    assert "<title>Związek Gmin Wielkopolskich</title>" in home
    assert ":root { --accent: #0b5d1e; }" in home
    assert "· Związek Gmin Wielkopolskich</title>" in show(client, "/organisations/")
    portal = portal_client(app, kartoteka_login)
    start = show(portal, "/portal/")
    assert "<p>Witamy w portalu.</p><p>Zapisy na szkolenia: tel. 61 000 00 00.</p>" in start
    assert "Związek Gmin Wielkopolskich" in show(app.test_client(), "/login")


def test_a_bad_setting_is_named_under_its_field_and_nothing_is_kept(app, client):
    page = text(client.post("/settings/branding", data={
        "name": "Nowa nazwa", "accent": "#ffee00", "portal_welcome": "x" * 2001}))
    assert "too light" in error_under(page, "accent")
    assert "contrast 1.2:1" in error_under(page, "accent")
    assert error_under(page, "portal_welcome") == "At most 2000 characters."
    assert value_of(page, "name") == "Nowa nazwa"  # what was typed stays
    assert "<title>Kartoteka</title>" in show(client, "/")
    assert count(app, AuditEntry, AuditEntry.record_type == "site_settings") == 0


@pytest.mark.parametrize("accent", ["blue", "#12345", "#12345g"])
def test_a_colour_must_be_written_as_six_hex_digits(accent):
    with pytest.raises(ValidationError) as refused:
        branding.clean({"accent": accent})
    assert "six hexadecimal digits" in refused.value.errors["accent"]


def test_the_logo_is_shown_in_the_header_and_served_to_anyone(app, client):
    logo = image()
    saved = client.post("/settings/branding", data={
        "name": "", "accent": "", "portal_welcome": "",
        "logo": (io.BytesIO(logo), "logo.png")}, content_type="multipart/form-data")
    assert saved.status_code == 302
    home = show(client, "/")
    with app.extensions["kartoteka"].session() as session:
        found = branding.current(session)
    assert f'src="/branding/logo?v={found.logo_version}"' in home
    served = app.test_client().get(f"/branding/logo?v={found.logo_version}")
    assert served.status_code == 200 and served.data == logo
    assert served.mimetype == "image/png" and served.cache_control.max_age == 86400
    again = app.test_client().get("/branding/logo",
                                  headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    client.post("/settings/branding", data={"name": "", "accent": "", "portal_welcome": "",
                                            "remove_logo": "1"})
    assert app.test_client().get("/branding/logo").status_code == 404
    assert "/branding/logo" not in show(client, "/")


@pytest.mark.parametrize(("content", "message"), [
    (b"GIF89a" + b"\0" * 50, "must be a PNG, JPEG or WebP image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "must be a PNG, JPEG or WebP image"),
    (image("GIF"), "must be a PNG, JPEG or WebP image"),
    (image(size=(2400, 10)), "at most 2000 pixels"),
    (bomb(), "at most 2000 pixels"),
    (b"\x89PNG" + b"\0" * (600 * 1024), "at most 512 KB"),
])
def test_a_logo_that_is_no_fitting_image_is_refused_with_the_name_kept(app, client, content,
                                                                       message):
    page = text(client.post("/settings/branding", data={
        "name": "Gmina", "accent": "", "portal_welcome": "",
        "logo": (io.BytesIO(content), "logo.png")}, content_type="multipart/form-data"))
    assert message in error_under(page, "logo")
    assert "<title>Kartoteka</title>" in show(client, "/")  # the name was not kept either


def test_only_those_granted_the_branding_change_it(app, rt, kartoteka_login):
    with writing(app) as (session, _admin):
        users.create_user(session, "rep@example.com", PASSWORD, roles=["staff"])
    rep = kartoteka_login(app.test_client(), "rep@example.com", PASSWORD)
    assert rep.get("/settings/branding").status_code == 403
    assert rep.post("/settings/branding", data={"name": "X"}).status_code == 403
    assert "/settings/branding" not in show(rep, "/")
    portal = portal_client(app, kartoteka_login)
    assert portal.get("/settings/branding").status_code == 404


def test_the_api_reads_and_changes_the_branding(app, rt):
    api = callers(app, rt, admin={"admin": True}, rep={})
    assert api.admin("get", "/settings/branding").get_json() == {
        "name": "Kartoteka", "accent": None, "portal_welcome": "", "logo_url": None}
    changed = api.admin("patch", "/settings/branding", json={"name": "ZGW", "accent": "#0B5D1E"})
    assert changed.status_code == 200 and changed.get_json()["accent"] == "#0b5d1e"
    refused = api.admin("patch", "/settings/branding", json={"accent": "#eeeeee", "name": "Y"})
    assert refused.status_code == 422 and "too light" in refused.get_json()["errors"]["accent"]
    assert api.admin("get", "/settings/branding").get_json()["name"] == "ZGW"

    put = api.admin("put", "/settings/branding/logo", data=image("JPEG"),
                    headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200 and "/branding/logo?v=" in put.get_json()["logo_url"]
    wrong_type = api.admin("put", "/settings/branding/logo", data=b"x",
                           headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    not_an_image = api.admin("put", "/settings/branding/logo", data=b"not a png",
                             headers={"Content-Type": "image/png"})
    assert not_an_image.status_code == 422 and "logo" in not_an_image.get_json()["errors"]
    assert api.admin("delete", "/settings/branding/logo").status_code == 204
    assert api.admin("get", "/settings/branding").get_json()["logo_url"] is None

    assert api.rep("get", "/settings/branding").status_code == 403
    assert api.rep("patch", "/settings/branding", json={"name": "Z"}).status_code == 403
    assert api.admin("get", "/settings/branding").get_json()["name"] == "ZGW"


def test_every_change_is_in_the_audit_trail(app, rt):
    with rt.session() as session, session.begin():
        branding.update(session, {"name": "ZGW"})
        branding.update(session, {"name": "ZGW"})  # no change: no entry
        branding.set_logo(session, image())
    with rt.session() as session:
        entries = session.query(AuditEntry).filter_by(record_type="site_settings").all()
    assert [e.changes for e in entries] == [{"name": ["Kartoteka", "ZGW"]},
                                            {"has_logo": [False, True]}]


def test_the_command_line_sets_and_shows_the_branding(cli, tmp_path):
    assert cli("db", "upgrade").returncode == 0
    logo = tmp_path / "logo.webp"
    logo.write_bytes(image("WEBP"))
    done = cli("branding", "set", "--name", "ZGW", "--accent", "#0b5d1e", "--logo", str(logo))
    assert done.returncode == 0, done.stderr
    assert cli("branding", "show").stdout.splitlines()[:3] == [
        "name: ZGW", "accent: #0b5d1e", "logo: image/webp"]
    refused = cli("branding", "set", "--name", "Inna", "--accent", "#ffff00")
    assert refused.returncode != 0 and "accent:" in refused.stderr
    assert "name: ZGW" in cli("branding", "show").stdout
    assert cli("branding", "set", "--no-logo").returncode == 0
    assert "logo: (none)" in cli("branding", "show").stdout


def test_no_page_names_kartoteka_in_its_title_instead_of_the_installation():
    from pathlib import Path

    folder = Path(branding.__file__).parent / "web" / "templates"
    fixed = [p.name for p in folder.rglob("*.html") if "· Kartoteka" in p.read_text()]
    assert fixed == []
