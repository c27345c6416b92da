"""A real import runs as a background job ("import.run"): the wizard starts it and shows
its page; the job reports its progress, leaves a report, and a second run of it (after
a crash, or after it was done) imports no row twice."""

import io
import json
import re

from sqlalchemy import func, select, update

from core import importing, jobs
from core.models import Job, Organisation

ROWS = ["Gmina Czempiń", "Gmina Kórnik", "Zła", "Gmina Mosina", "Gmina Puszczykowo"]


def content(names=ROWS) -> bytes:
    lines = ["Nazwa;NIP"] + [f"{name};{'123' if name == 'Zła' else ''}" for name in names]
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload(client, data: bytes, name="gminy.csv") -> str:
    response = client.post("/import/", data={"record_type": "organisation",
                                             "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"]


FORM = {"map-0": "name", "map-1": "nip", "type_key": "core.municipality",
        "on_duplicate": "create", "action": "run"}


def start(client, wizard: str) -> int:
    response = client.post(wizard, data=FORM)
    assert response.status_code == 302
    found = re.fullmatch(r".*/jobs/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def job_of(rt, job_id: int) -> Job:
    with rt.session() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def names(rt) -> list[str]:
    with rt.session() as session:
        return sorted(session.scalars(select(Organisation.name)))


def rerun(rt, job_id: int) -> None:
    with rt.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(state="queued"))
    jobs.run(rt, job_id)


def test_the_wizard_imports_in_a_job_that_reports_progress_and_leaves_a_report(
        app, rt, client):
    wizard = upload(client, content())
    job_id = start(client, wizard)
    job = job_of(rt, job_id)
    assert (job.kind, job.state, job.error) == ("import.run", "done", "")
    assert job.title == "Import: gminy.csv"
    assert (job.total, job.done) == (5, 5)
    report_url = wizard + "/report"
    assert job.result == {"rows": 5, "created": 4, "updated": 0, "skipped": 0, "failed": 1,
                          "report": report_url}
    assert names(rt) == sorted(n for n in ROWS if n != "Zła")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert report_url in page
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert (status["state"], status["percent"]) == ("done", 100)
    report = client.get(report_url).get_data(as_text=True)
    assert "created: 4" in report and "with errors: 1" in report
    assert "The NIP must have 10 digits." in report and f"/jobs/{job_id}" in report
    # The upload is gone: the wizard cannot import the file again.
    assert client.get(wizard).status_code == 404
    folder = importing.upload_folder(rt.settings)
    assert [p.name for p in folder.iterdir()] == [wizard.rsplit("/", 1)[1] + ".report.json"]


def test_a_second_run_of_a_finished_import_creates_nothing(app, rt, client):
    job_id = start(client, upload(client, content()))
    before = job_of(rt, job_id).result
    rerun(rt, job_id)
    job = job_of(rt, job_id)
    assert job.state == "done" and job.result == before
    assert names(rt) == sorted(n for n in ROWS if n != "Zła")


def test_a_job_that_stopped_half_way_resumes_after_its_last_committed_batch(
        app, rt, client, monkeypatch):
    monkeypatch.setattr(importing, "JOB_BATCH", 2)
    write = importing._Batches.write
    calls = []

    def crash_on_the_second_batch(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return write(self, batch)

    monkeypatch.setattr(importing._Batches, "write", crash_on_the_second_batch)
    wizard = upload(client, content())
    job_id = start(client, wizard)
    job = job_of(rt, job_id)
    assert job.state == "queued" and "the worker died" in job.error  # to be tried again
    assert names(rt) == ["Gmina Czempiń", "Gmina Kórnik"]  # the first batch, committed
    assert job.params["checkpoint"] == {"rows": 2, "created": 2, "updated": 0, "skipped": 0,
                                        "failed": 0, "last_row": 3}
    # The page of an upload that is being imported leads to its job.
    assert client.get(wizard).headers["Location"].endswith(f"/jobs/{job_id}")

    monkeypatch.setattr(importing._Batches, "write", write)
    jobs.run(rt, job_id)
    job = job_of(rt, job_id)
    assert job.state == "done"
    assert job.result["created"] == 4 and job.result["failed"] == 1
    assert job.result["rows"] == 5 and (job.total, job.done) == (5, 5)
    assert names(rt) == sorted(n for n in ROWS if n != "Zła")  # each once
    report = client.get(wizard + "/report").get_data(as_text=True)
    assert report.count("The NIP must have 10 digits.") == 1


def test_a_failing_file_shows_its_failure_on_the_job(app, rt, client):
    wizard = upload(client, content())
    folder = importing.upload_folder(rt.settings)
    token = wizard.rsplit("/", 1)[1]
    stored = json.loads((folder / f"{token}.json").read_text())["stored"]
    (folder / stored).write_bytes(b"\xff\xfe\x00N\x00a\x00z")  # spoilt after the upload
    job_id = start(client, wizard)
    message = "The file is saved as UTF-16"
    job = job_of(rt, job_id)
    assert job.state == "queued" and message in job.error
    for _attempt in range(jobs.MAX_ATTEMPTS - 1):
        jobs.run(rt, job_id)
    job = job_of(rt, job_id)
    assert job.state == "failed" and job.attempts == jobs.MAX_ATTEMPTS
    assert message in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert client.get(f"/jobs/{job_id}.json").get_json()["state"] == "failed"
    assert names(rt) == []
    assert client.get(wizard + "/report").status_code == 404


def test_only_the_importer_sees_the_report(app, rt, client):
    from core import roles, users

    wizard = upload(client, content())
    start(client, wizard)
    with rt.session() as session, session.begin():
        inna = users.create_user(session, "inna@example.com", "inne-haslo-123")
        roles.assign(session, inna, [roles.STAFF])  # the built-in role may import
    other = app.test_client()
    other.post("/login", data={"email": "inna@example.com", "password": "inne-haslo-123"})
    assert other.get("/import/").status_code == 200
    assert other.get(wizard + "/report").status_code == 404


def test_importing_needs_its_permission(app, rt, client):
    from core import roles, users

    wizard = upload(client, content())
    with rt.session() as session, session.begin():
        clerk = users.create_user(session, "clerk@example.com", "inne-haslo-123")
        reader = roles.create(session, "reader", "Reader")  # no permission to import
        roles.set_access(session, reader, {("*", "read"): "all"})
        roles.assign(session, clerk, ["reader"])
    other = app.test_client()
    other.post("/login", data={"email": "clerk@example.com", "password": "inne-haslo-123"})
    assert 'href="/import/"' not in other.get("/").text
    assert other.get("/import/").status_code == 403
    assert other.post("/import/", data={"record_type": "organisation"}).status_code == 403
    assert other.post(wizard, data={}).status_code == 403
    assert names(rt) == []
    assert client.get("/import/..%2Fsecret/report").status_code == 404


def test_a_trial_run_still_answers_on_the_page_without_a_job(app, rt, client):
    wizard = upload(client, content())
    page = client.post(wizard, data={**FORM, "dry_run": "1"}).get_data(as_text=True)
    assert "Trial run: nothing was saved" in page and "created: 4" in page
    with rt.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert names(rt) == []
