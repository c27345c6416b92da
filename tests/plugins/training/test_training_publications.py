"""Announcements and publications of the member units' portal (TR-3): written by the
staff with training.manage, for every unit or only chosen ones, drafts kept off the
portal; on the staff pages, the portal and the API. Runs on SQLite and PostgreSQL."""

import re

import pytest
from sqlalchemy import func, select

from core import organisations, roles, tokens, users
from page_helpers import flashes, show, text
from plugins.training.models import Publication

PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["training"], default_locale="en")


@pytest.fixture
def units(app):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as s, s.begin():
        role = roles.create(s, "organiser", "Training organiser")
        roles.set_permissions(s, role, ["training.manage"])
        users.create_user(s, "ewa@zwiazek.example.pl", PASSWORD, roles=["staff", "organiser"])
        users.create_user(s, "jan@zwiazek.example.pl", PASSWORD, roles=["staff"])
        found = {}
        for key, name in (("kornik", "Gmina Kórnik"), ("mosina", "Gmina Mosina")):
            unit = organisations.create(s, rt.host, {"name": name,
                                                     "type_key": "core.municipality"})
            users.create_user(s, f"admin@{key}.pl", PASSWORD, portal_of=unit, portal_admin=True)
            found[key] = unit.id
        return found


def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def count(app) -> int:
    with app.extensions["kartoteka"].session() as s:
        return s.scalar(select(func.count()).select_from(Publication))


def test_publications_reach_the_units_they_are_for_and_drafts_none(app, units):
    staff = login(app, "ewa@zwiazek.example.pl")
    form = show(staff, "/training/publications/new")
    assert f'name="unit_ids" value="{units["mosina"]}"' in form
    for data in ({"title": "Nowe przepisy o zamówieniach", "kind": "legal_advice",
                  "body": "Pierwszy akapit.\n\nDrugi akapit.", "published": "1"},
                 {"title": "Nabór wniosków dla Mosiny", "kind": "grant_news",
                  "unit_ids": str(units["mosina"]), "published": "1"},
                 {"title": "Szkic opinii", "kind": "expert_opinion"}):
        assert staff.post("/training/publications/new", data=data).status_code == 302
    listed = show(staff, "/training/publications/")
    assert "draft" in listed and "chosen: 1" in listed
    kornik, mosina = login(app, "admin@kornik.pl"), login(app, "admin@mosina.pl")
    seen_by_kornik = show(kornik, "/portal/training/publications/")
    assert "Nowe przepisy o zamówieniach" in seen_by_kornik
    assert "Nabór wniosków" not in seen_by_kornik and "Szkic opinii" not in seen_by_kornik
    assert "Nabór wniosków dla Mosiny" in show(mosina, "/portal/training/publications/")
    with app.extensions["kartoteka"].session() as s:
        ids = dict(s.execute(select(Publication.title, Publication.id)).all())
    page = show(kornik, f"/portal/training/publications/{ids['Nowe przepisy o zamówieniach']}")
    assert "<p>Pierwszy akapit.</p>" in page and "<p>Drugi akapit.</p>" in page
    assert kornik.get(f"/portal/training/publications/{ids['Nabór wniosków dla Mosiny']}"
                      ).status_code == 404
    assert kornik.get(f"/portal/training/publications/{ids['Szkic opinii']}").status_code == 404
    # Taken off the portal into the bin.
    gone = staff.post(f"/training/publications/{ids['Nowe przepisy o zamówieniach']}/delete")
    assert "was moved to the bin" in flashes(show(staff, gone.headers["Location"]))[0]
    assert "Nowe przepisy" not in show(kornik, "/portal/training/publications/")


def test_a_bad_publication_is_refused_field_by_field_and_nothing_is_saved(app, units):
    staff = login(app, "ewa@zwiazek.example.pl")
    page = text(staff.post("/training/publications/new", data={
        "title": "  ", "kind": "gossip", "unit_ids": "999999"}))
    assert re.search(r'id="e-title">Enter a title.', page)
    assert re.search(r'id="e-kind">Choose one of the offered options.', page)
    assert re.search(r'id="e-unit_ids">Some of the units do not exist', page)
    assert count(app) == 0
    page = text(staff.post("/training/publications/new", data={
        "title": "Ogłoszenie", "kind": "announcement", "body": "x" * 20001}))
    assert re.search(r'id="e-body">', page)
    assert count(app) == 0


def test_only_organisers_write_and_the_portal_menu_leads_to_the_news(app, units):
    assert login(app, "jan@zwiazek.example.pl").get("/training/publications/").status_code == 403
    assert login(app, "admin@kornik.pl").get("/training/publications/").status_code in (403, 404)
    portal = show(login(app, "admin@kornik.pl"), "/portal/")
    assert 'href="/portal/training/publications/"' in portal


def test_publications_through_the_api(app, units):
    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        secret = tokens.create(s, users.find_by_email(s, "ewa@zwiazek.example.pl"), "t")[1]
        clerk = tokens.create(s, users.find_by_email(s, "jan@zwiazek.example.pl"), "t")[1]
        portal = tokens.create(s, users.find_by_email(s, "admin@kornik.pl"), "t")[1]
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    made = client.post("/api/v1/training/publications/", headers=auth, json={
        "title": "Komunikat", "kind": "announcement", "unit_ids": [units["kornik"]],
        "published": True})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["published"] is True and body["published_at"] and body["unit_ids"] == [
        units["kornik"]]
    changed = client.patch(f"/api/v1/training/publications/{body['id']}",
                           headers={**auth, "If-Match": made.headers["ETag"]},
                           json={"published": False})
    assert changed.status_code == 200 and changed.get_json()["published_at"] is None
    bad = client.post("/api/v1/training/publications/", headers=auth,
                      json={"title": "", "kind": "x"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"title", "kind"}
    refused = client.post("/api/v1/training/publications/",
                          headers={"Authorization": f"Bearer {clerk}"}, json={"title": "X"})
    assert refused.status_code == 403
    assert client.get("/api/v1/training/publications/",
                      headers={"Authorization": f"Bearer {portal}"}).status_code == 404
