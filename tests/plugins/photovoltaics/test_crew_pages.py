"""The crews' pages (PV-4, PV-5): the planner keeps crews and gives parts to them on the
schedule; an installer without an account opens the crew's secret link on a phone,
subscribes to its calendar and reports a job done with photos; the case card shows
the parts' crews. Runs on SQLite and PostgreSQL."""

import io
import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from PIL import Image

from core import cases, people, roles, users
from core.filters import today
from core.models import Attachment, Case
from core.permissions import ACTIONS
from plugins.photovoltaics import assignments, crews
from plugins.photovoltaics.models import Crew
from plugins.photovoltaics.process import ELECTRICAL, ROOF
from tests.core.page_helpers import error_under, show, text

PASSWORD = "correct horse battery"


@pytest.fixture
def ids(app):
    """Committed: a planner, an installer with an account, a clerk without the
    permission; a crew; an installation with its two parts, the roof given to the crew
    from tomorrow."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        role = roles.create(session, "planner", "Planner")
        roles.set_permissions(session, role, [crews.PLAN])
        planner = _user(session, "planner@example.com", ["staff", "planner"])
        fitter = _user(session, "fitter@example.com", ["staff"])
        _user(session, "clerk@example.com", ["staff"])
        crew = crews.create(session, {"name": "Ekipa Kórnik", "members": [
            {"user_id": fitter.id, "skills": ["roof", "electrical"], "leader": True},
            {"name": "Marek Dach", "skills": ["roof"]}]}, planner)
        client = people.create(session, {"first_name": "Jan", "last_name": "Kowalski",
                                         "addresses": [{"street": "ul. Słoneczna 5",
                                                        "postal_code": "62-035",
                                                        "city": "Kórnik"}]})
        parent = cases.create(session, rt.host, {
            "title": "Dom Kowalskich", "process_key": "photovoltaics.installation"},
            people=[(client, "inwestor")])
        made = {key: cases.create(session, rt.host, {
            "title": f"Dom Kowalskich: {key}", "process_key": key, "parent_id": parent.id})
            for key in (ROOF, ELECTRICAL)}
        job = assignments.assign(session, rt.host, made[ROOF], {
            "crew_id": crew.id, "starts_on": today().isoformat()},
            planner)
        return {"crew": crew.id, "token": crew.feed_token, "parent": parent.id,
                "roof": made[ROOF].id, "electrical": made[ELECTRICAL].id, "job": job.id}


def _user(session, email, role_keys):
    user = users.create_user(session, email, PASSWORD)
    roles.assign(session, user, role_keys)
    return user


def login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(out, "JPEG")
    out.seek(0)
    return out


def test_only_a_planner_sees_the_crews_and_the_schedule(app, ids):
    clerk = login(app, "clerk@example.com")
    for url in ("/photovoltaics/crews/", "/photovoltaics/schedule",
                f"/photovoltaics/crews/{ids['crew']}", f"/photovoltaics/parts/{ids['roof']}/crew"):
        assert clerk.get(url).status_code == 403, url
    planner = login(app, "planner@example.com")
    page = show(planner, "/photovoltaics/crews/")
    assert "Ekipa Kórnik" in page and "Marek Dach" in page and "Roof mounting" in page


def test_the_crew_form_refuses_row_by_row_and_keeps_what_was_typed(app, ids):
    planner = login(app, "planner@example.com")
    form = show(planner, "/photovoltaics/crews/new")
    page = text(planner.post("/photovoltaics/crews/new", data={
        "csrf_token": csrf(form), "name": "Ekipa Mosina", "member_rows": "3",
        "members-0-name": "", "members-0-user_id": "",  # an empty row: left out
        "members-1-name": "Ola", "members-1-phone": "abc", "members-1-skills": "roof",
        "members-2-name": "Ela", "members-2-skills": ["roof", "electrical"]}))
    assert "Nothing was saved" in page
    assert error_under(page, "members-1-phone")
    assert 'value="Ola"' in page and 'value="Ela"' in page
    with app.extensions["kartoteka"].session() as session:
        assert session.query(Crew).filter_by(name="Ekipa Mosina").count() == 0

    response = planner.post("/photovoltaics/crews/new", data={
        "csrf_token": csrf(form), "name": "Ekipa Mosina", "member_rows": "2", "leader": "1",
        "members-0-name": "", "members-1-name": "Ela",
        "members-1-skills": ["roof", "electrical"]})
    assert response.status_code == 302
    page = show(planner, response.headers["Location"])
    assert "Ela" in page and "leader" in page and "Electrical licence (SEP)" in page


def test_the_planner_gives_a_part_to_a_crew_from_the_schedule(app, ids):
    planner = login(app, "planner@example.com")
    schedule = show(planner, "/photovoltaics/schedule")
    assert f'id="waiting-{ids["electrical"]}"' in schedule
    assert f'id="waiting-{ids["roof"]}"' not in schedule  # it has its crew
    form = show(planner, f"/photovoltaics/parts/{ids['electrical']}/crew")
    day = (today() + timedelta(days=2)).isoformat()
    page = text(planner.post(f"/photovoltaics/parts/{ids['electrical']}/crew", data={
        "csrf_token": csrf(form), "crew_id": str(ids["crew"]), "starts_on": day,
        "ends_on": "yesterday"}))
    assert error_under(page, "ends_on") == "Enter a date, such as 2026-05-14."
    response = planner.post(f"/photovoltaics/parts/{ids['electrical']}/crew", data={
        "csrf_token": csrf(form), "crew_id": str(ids["crew"]), "starts_on": day})
    assert response.status_code == 302
    schedule = show(planner, response.headers["Location"])
    assert f'id="waiting-{ids["electrical"]}"' not in schedule
    assert "Installation: electrical part" in schedule

    card = show(planner, f"/cases/{ids['parent']}")
    assert 'id="crews"' in card and "Ekipa Kórnik" in card


def test_an_installer_without_an_account_reports_through_the_crews_link(app, ids):
    anonymous = app.test_client()
    jobs = show(anonymous, f"/photovoltaics/crew/{ids['token']}/")
    assert "Installation: roof part" in jobs and "ul. Słoneczna 5, 62-035 Kórnik" in jobs
    url = f"/photovoltaics/crew/{ids['token']}/jobs/{ids['job']}"
    form = show(anonymous, url)
    assert 'capture="environment"' in form
    page = text(anonymous.post(url, data={"csrf_token": csrf(form), "reported_by": ""}))
    assert error_under(page, "reported_by") == "Enter your name."
    assert error_under(page, "photos") == "Add at least one photo of the finished work."

    response = anonymous.post(url, data={
        "csrf_token": csrf(form), "reported_by": "Marek Dach", "report": "Gotowe.",
        "photos": [(jpeg(), "dach1.jpg"), (jpeg(), "dach2.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Case, ids["roof"]).phase_key == "done"
        assert session.query(Attachment).filter_by(record_id=ids["roof"]).count() == 2
    assert "done" in show(anonymous, f"/photovoltaics/crew/{ids['token']}/")


def test_the_crews_feed_is_served_at_its_secret_address_only(app, ids):
    anonymous = app.test_client()
    response = anonymous.get(f"/photovoltaics/crew/{ids['token']}.ics")
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert len(events) == 1
    assert str(events[0]["url"]).endswith(f"/photovoltaics/crew/{ids['token']}/jobs/{ids['job']}")
    assert str(events[0]["location"]) == "ul. Słoneczna 5, 62-035 Kórnik"

    for wrong in ("nope", ids["token"][:-1] + "x"):
        assert anonymous.get(f"/photovoltaics/crew/{wrong}.ics").status_code == 404
        assert anonymous.get(f"/photovoltaics/crew/{wrong}/").status_code == 404
    planner = login(app, "planner@example.com")
    crew_page = show(planner, f"/photovoltaics/crews/{ids['crew']}")
    planner.post(f"/photovoltaics/crews/{ids['crew']}/token", data={"csrf_token": csrf(crew_page)})
    assert anonymous.get(f"/photovoltaics/crew/{ids['token']}.ics").status_code == 404


def test_a_job_of_another_crew_is_not_found_through_a_crews_link(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        planner = users.find_by_email(session, "planner@example.com")
        other = crews.create(session, {"name": "Inna", "members": [
            {"name": "X", "skills": ["roof"]}]}, planner)
        token = other.feed_token
    response = app.test_client().get(f"/photovoltaics/crew/{token}/jobs/{ids['job']}")
    assert response.status_code == 404


def test_an_installer_with_an_account_reports_from_my_jobs(app, ids):
    fitter = login(app, "fitter@example.com")
    page = show(fitter, "/photovoltaics/jobs/mine")
    assert "Installation: roof part" in page
    form = show(fitter, f"/photovoltaics/jobs/{ids['job']}/report")
    assert 'name="reported_by"' not in form  # they are known
    response = fitter.post(f"/photovoltaics/jobs/{ids['job']}/report", data={
        "csrf_token": csrf(form), "photos": [(jpeg(), "dach.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.extensions["kartoteka"].session() as session:
        assert session.get(Case, ids["roof"]).phase_key == "done"
    clerk = login(app, "clerk@example.com")
    assert clerk.get(f"/photovoltaics/jobs/{ids['job']}/report").status_code == 403


def test_an_installer_whose_only_right_is_to_report_reports_his_crews_job(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session, session.begin():
        role = roles.create(session, "installer", "Installer")
        roles.set_access(session, role, {("*", action): "none" for action in ACTIONS})
        roles.set_permissions(session, role, [assignments.REPORT])
        member = users.create_user(session, "member@example.com", PASSWORD, "Marek",
                                   roles=["installer"])
        users.create_user(session, "outsider@example.com", PASSWORD, roles=["installer"])
        crew = session.get(Crew, ids["crew"])
        crews.update(session, crew, {"members": [
            {"user_id": member.id, "skills": ["roof", "electrical"]}]},
            users.find_by_email(session, "planner@example.com"))
    outsider = login(app, "outsider@example.com")  # may report, but cannot see the case
    assert outsider.get(f"/photovoltaics/jobs/{ids['job']}/report").status_code == 403
    installer = login(app, "member@example.com")
    form = show(installer, f"/photovoltaics/jobs/{ids['job']}/report")
    response = installer.post(f"/photovoltaics/jobs/{ids['job']}/report", data={
        "csrf_token": csrf(form), "photos": [(jpeg(), "dach.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with rt.session() as session:
        assert session.get(Case, ids["roof"]).phase_key == "done"


def test_a_garbled_crew_form_is_shown_again(app, ids):
    planner = login(app, "planner@example.com")
    form = show(planner, "/photovoltaics/crews/new")
    page = text(planner.post("/photovoltaics/crews/new", data={
        "csrf_token": csrf(form), "name": "", "member_rows": "x"}))
    assert error_under(page, "name") == "Enter a name."


def test_photos_too_large_together_show_the_crews_form_again(kartoteka_app_factory, ids):
    small = kartoteka_app_factory(["photovoltaics"], default_locale="en", max_upload_mb=1)
    url = f"/photovoltaics/crew/{ids['token']}/jobs/{ids['job']}"
    client = small.test_client()
    form = show(client, url)
    response = client.post(url, data={
        "csrf_token": csrf(form), "reported_by": "Marek",
        "photos": [(io.BytesIO(b"\xff\xd8" + b"0" * 2 * 1024 * 1024), "dach.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 413
    page = text(response)
    assert error_under(page, "photos") == ("The photos are larger than 1 MB together: send "
                                           "fewer or smaller ones.")
    assert 'type="file"' in page
