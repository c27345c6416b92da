"""Deadline tracking across the clients' grants (GR-3, GR-4): payment requests not yet
submitted, durability reports not yet delivered and the call deadlines of applications
in preparation, listed for whoever may see the applications, none of a finished
application nor a cancelled request; the hourly job that reminds the owner and mails
the client's contact people (nobody else on the case) once, and escalates to the owner's
supervisor once, a missed durability report included, and again for a deadline moved;
the calendar page with its filters, its iCalendar feed and the REST API. Every test
runs on SQLite and PostgreSQL."""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import format_date
from icalendar import Calendar
from sqlalchemy import func, select

from core import cases, organisations, people, roles, timeline, users
from core.errors import ValidationError
from core.filters import today
from core.models import Activity, Case, Instalment, Organisation, OutboxMessage, Person, Task
from core.permissions import ACTIONS
from plugins.grants import deadlines
from plugins.grants.calls import CONTACT
from plugins.grants.models import Application, DurabilityReport, GrantCall, PaymentRequest
from tests.core.api_helpers import caller
from tests.core.page_helpers import error_under, text, visible

PASSWORD = "correct horse battery"
APPLICATION = "grants.application"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["grants"], default_locale="en")


@pytest.fixture
def ids(app):
    """Committed, around today (T): Ewa owns two applications of Stolarnia Nowak and
    reports to Piotr; Olga, who sees only her own records, prepares one for Piekarnia
    Zawada.

    - "Linia lakiernicza" (agreement): payment request 1, advance, due T+10; 2, interim,
      submitted, due T+5; 3, interim, rejected, due T+40; 4, final, due T+200.
    - "Hala magazynowa" (durability): report 1 delivered; report 2 due T-2 and missed;
      report 3 due T+365.
    - "Piec konwekcyjny" (preparation, Olga's): the call's deadline is T+2.
    Jan Nowak (with an e-mail address) and Anna Nowak (without) are the contact people
    of Stolarnia's applications; Zofia Zawada of Piekarnia's.
    """
    rt = app.extensions["kartoteka"]
    t = today()
    with app.test_request_context(), rt.session() as s, s.begin():
        own = roles.create(s, "own_only", "Own records")
        roles.set_access(s, own, {("*", action): "own" if action != "delete" else "none"
                                  for action in ACTIONS})
        piotr = users.create_user(s, "piotr@example.com", PASSWORD, full_name="Piotr Kierownik")
        ewa = users.create_user(s, "ewa@example.com", PASSWORD, full_name="Ewa Doradca")
        ewa.supervisor_id = piotr.id
        olga = users.create_user(s, "olga@example.com", PASSWORD, full_name="Olga Nowicka",
                                 roles=["own_only"])
        stolarnia = organisations.create(s, rt.host, {
            "name": "Stolarnia Nowak sp. z o.o.", "type_key": "core.company"},
            allow_duplicates=True)
        piekarnia = organisations.create(s, rt.host, {
            "name": "Piekarnia Zawada", "type_key": "core.company", "owner_id": olga.id},
            allow_duplicates=True)
        jan = people.create(s, {"first_name": "Jan", "last_name": "Nowak",
                                "emails": ["jan@stolarnia.example"]})
        anna = people.create(s, {"first_name": "Anna", "last_name": "Nowak"})
        zofia = people.create(s, {"first_name": "Zofia", "last_name": "Zawada",
                                  "emails": ["zofia@piekarnia.example"]})
        line = _application(s, rt.host, "Linia lakiernicza", ewa, stolarnia, "agreement",
                            [(jan, CONTACT), (anna, CONTACT)])
        hall = _application(s, rt.host, "Hala magazynowa", ewa, stolarnia, "durability",
                            [(jan, CONTACT)])
        oven = _application(s, rt.host, "Piec konwekcyjny", olga, piekarnia, "preparation",
                            [(zofia, CONTACT)])
        call = GrantCall(title="Bony na innowacje", reference="FENG.02.01-IP.01-001/26",
                         deadline=t + timedelta(days=2))
        s.add(call)
        s.flush()
        for case in (line, hall, oven):
            s.add(Application(case_id=case.id, call_id=call.id))
        requests = [PaymentRequest(case_id=line.id, position=n, kind=kind, status=status,
                                   amount=Decimal(amount), due_on=t + timedelta(days=days))
                    for n, kind, status, amount, days in (
                        (1, "advance", "planned", "40000.00", 10),
                        (2, "interim", "submitted", "60000.00", 5),
                        (3, "interim", "rejected", "60000.00", 40),
                        (4, "final", "planned", "40000.00", 200))]
        year = t.year
        reports = [DurabilityReport(case_id=hall.id, position=n, status=status,
                                    period_start=date(year + n - 3, 1, 1),
                                    period_end=date(year + n - 3, 12, 31),
                                    due_on=t + timedelta(days=days),
                                    delivered_on=t - timedelta(days=300)
                                    if status == "delivered" else None)
                   for n, status, days in ((1, "delivered", -330), (2, "due", -2),
                                           (3, "due", 365))]
        s.add_all(requests + reports)
        s.flush()
        return {"line": line.id, "hall": hall.id, "oven": oven.id, "call": call.id,
                "stolarnia": stolarnia.id, "piekarnia": piekarnia.id,
                "requests": [r.id for r in requests], "reports": [r.id for r in reports],
                "ewa": ewa.id, "piotr": piotr.id, "olga": olga.id, "jan": jan.id,
                "zofia": zofia.id, "today": t}


def _application(s, host, title, owner, client, phase, who):
    case = cases.create(s, host, {"title": title, "process_key": APPLICATION,
                                  "owner_id": owner.id, "organisation_id": client.id},
                        people=who)
    case.phase_key = phase  # the steps before are the other parts' business
    s.flush()
    return case


@pytest.fixture
def world(app, ids):
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        w = SimpleNamespace(session=session, ids=ids, t=ids["today"])
        for name in ("ewa", "piotr", "olga"):
            setattr(w, name, users.find_by_email(session, f"{name}@example.com"))
        w.line, w.hall, w.oven = (session.get(Case, ids[k]) for k in ("line", "hall", "oven"))
        yield w


def keys(found):
    return [o.key for o in found]


def day(w, days: int) -> date:
    return w.t + timedelta(days=days)


# --- What is listed ------------------------------------------------------------------

def test_upcoming_lists_every_open_obligation_in_the_span_by_date(world):
    w, r = world, world.ids["requests"]
    found = deadlines.upcoming(w.session, w.ewa, day(w, -30), day(w, 60), today=w.t)
    assert keys(found) == [f"durability_report-{w.ids['reports'][1]}",
                           f"call-{w.oven.id}", f"payment_request-{r[0]}",
                           f"payment_request-{r[2]}"]
    report, call, advance, rejected = found
    assert (report.what, report.client, report.application, report.due_on,
            report.days_left, report.overdue) == (
        f"Durability report {w.t.year - 1}", "Stolarnia Nowak sp. z o.o.",
        "Hala magazynowa", day(w, -2), -2, True)
    assert (call.what, call.client, call.days_left, call.overdue, call.record_id) == (
        "Application to the call for proposals “Bony na innowacje”", "Piekarnia Zawada",
        2, False, w.ids["call"])
    assert (advance.what, advance.days_left) == ("Payment request no. 1 (advance)", 10)
    assert rejected.what == ("Payment request no. 3 (interim), rejected: to be corrected "
                             "and submitted again")
    # Submitted, delivered and beyond the span: not listed.
    assert keys(deadlines.upcoming(w.session, w.ewa, day(w, 41), day(w, 199), today=w.t)) == []


def test_the_client_and_the_kind_narrow_the_list(world):
    w = world
    span = (day(w, -400), day(w, 400))
    assert keys(deadlines.upcoming(w.session, w.ewa, *span, w.ids["piekarnia"], today=w.t)) \
        == [f"call-{w.oven.id}"]
    reports = deadlines.upcoming(w.session, w.ewa, *span, kinds=["durability_report"],
                                 today=w.t)
    assert keys(reports) == [f"durability_report-{i}" for i in w.ids["reports"][1:]]


def test_an_application_out_of_sight_hides_its_obligations(world):
    w = world
    span = (day(w, -400), day(w, 400))
    assert keys(deadlines.upcoming(w.session, w.olga, *span, today=w.t)) == [
        f"call-{w.oven.id}"]
    assert deadlines.overdue(w.session, w.olga, today=w.t) == []
    assert [c.name for c in deadlines.clients(w.session, w.olga)] == ["Piekarnia Zawada"]
    assert [c.name for c in deadlines.clients(w.session, w.ewa)] == [
        "Piekarnia Zawada", "Stolarnia Nowak sp. z o.o."]


def test_a_call_deadline_counts_only_while_the_application_is_prepared(world):
    w = world
    w.oven.phase_key = "submitted"
    w.session.flush()
    assert deadlines.upcoming(w.session, w.ewa, day(w, 0), day(w, 5), kinds=["call"]) == []


@pytest.mark.parametrize("phase", ["closed", "rejected", "withdrawn"])
def test_a_finished_application_owes_nothing(world, phase):
    w = world
    for case in (w.line, w.hall, w.oven):
        case.phase_key = phase
    w.session.flush()
    span = (day(w, -400), day(w, 400))
    assert deadlines.upcoming(w.session, w.ewa, *span, today=w.t) == []
    assert deadlines.overdue(w.session, w.ewa, today=w.t) == []
    assert deadlines.clients(w.session, w.ewa) == []  # nothing left to narrow to
    done = deadlines.watch(w.session, today=w.t)
    assert (done.reminded, done.escalated, done.mailed) == ([], [], [])
    assert tasks_of(w) == []


def test_a_withdrawn_application_is_no_longer_escalated(world):
    w, advance = world, f"payment_request-{world.ids['requests'][0]}"
    assert advance in keys(deadlines.watch(w.session, today=w.t).reminded)
    w.line.phase_key = "withdrawn"  # the client gave up after the reminder
    w.session.flush()
    later = deadlines.watch(w.session, today=day(w, 9))
    assert advance not in keys(later.reminded) + keys(later.escalated)
    assert [e for e, _s in events_of(w, w.line)] == ["grants.deadline_reminded"]


def test_a_cancelled_payment_request_is_no_obligation(world):
    w, r = world, world.ids["requests"]
    w.session.get(PaymentRequest, r[0]).status = "cancelled"
    w.session.flush()
    found = deadlines.upcoming(w.session, w.ewa, day(w, 0), day(w, 60),
                               kinds=["payment_request"], today=w.t)
    assert keys(found) == [f"payment_request-{r[2]}"]
    assert f"payment_request-{r[0]}" not in keys(deadlines.watch(w.session, today=w.t).reminded)


def test_overdue_lists_what_is_past_its_date_the_longest_overdue_first(world):
    w = world
    later = day(w, 45)
    found = deadlines.overdue(w.session, w.ewa, today=later)
    assert [(o.key, o.days_left) for o in found] == [
        (f"durability_report-{w.ids['reports'][1]}", -47), (f"call-{w.oven.id}", -43),
        (f"payment_request-{w.ids['requests'][0]}", -35),
        (f"payment_request-{w.ids['requests'][2]}", -5)]


def test_a_bad_span_or_kind_is_refused_by_field(world):
    w = world
    with pytest.raises(ValidationError) as refused:
        deadlines.upcoming(w.session, w.ewa, day(w, 5), day(w, 1), kinds=["invoice"])
    assert refused.value.errors == {"end": "The period cannot end before it starts.",
                                    "kind": "Choose what is due from the list."}
    with pytest.raises(ValidationError) as refused:
        deadlines.upcoming(w.session, w.ewa, "2026-01-01", day(w, 1))
    assert refused.value.errors == {"start": "Give a date as YYYY-MM-DD."}
    with pytest.raises(ValidationError) as refused:
        deadlines.upcoming(w.session, w.ewa, day(w, 0), day(w, 4000))
    assert refused.value.errors == {"end": "Show at most 10 years at once."}


# --- The job -------------------------------------------------------------------------

def tasks_of(w):
    found = w.session.scalars(select(Task).order_by(Task.id))
    return [(t.assignee_id, t.priority, t.title) for t in found]


def events_of(w, case):
    return [(a.event, a.subject) for a in reversed(timeline.timeline(w.session, case))
            if a.event.startswith("grants.")]


def test_the_job_reminds_escalates_and_mails_each_once(world):
    w, ids = world, world.ids
    done = deadlines.watch(w.session, today=w.t)
    report, call, advance = (f"durability_report-{ids['reports'][1]}", f"call-{w.oven.id}",
                             f"payment_request-{ids['requests'][0]}")
    assert keys(done.reminded) == [report, call, advance]
    assert keys(done.escalated) == [report, call]  # within 3 days, or past the date
    due = {k: format_date(day(w, n)) for k, n in ((report, -2), (call, 2), (advance, 10))}
    assert tasks_of(w) == [
        (ids["ewa"], 3, f"Overdue since {due[report]}: Durability report {w.t.year - 1} "
                        "(Hala magazynowa)"),
        (ids["piotr"], 4, f"Overdue: Durability report {w.t.year - 1} (Hala magazynowa)"),
        (ids["olga"], 3, f"Due on {due[call]}: Application to the call for proposals "
                         "“Bony na innowacje” (Piec konwekcyjny)"),
        # Olga has nobody above her: the escalation is hers.
        (ids["olga"], 4, "Deadline close: Application to the call for proposals “Bony na "
                         "innowacje” (Piec konwekcyjny)"),
        (ids["ewa"], 3, f"Due on {due[advance]}: Payment request no. 1 (advance) "
                        "(Linia lakiernicza)")]
    request = w.session.get(PaymentRequest, ids["requests"][0])
    missed = w.session.get(DurabilityReport, ids["reports"][1])
    assert (request.reminded_on, request.escalated_on, request.version) == (w.t, None, 1)
    assert (missed.reminded_on, missed.escalated_on) == (w.t, w.t)
    assert events_of(w, w.hall) == [
        ("grants.deadline_reminded", f"Reminder: Durability report {w.t.year - 1}, overdue "
                                     f"since {due[report]}"),
        ("grants.deadline_overdue", f"Deadline passed: Durability report {w.t.year - 1}, due "
                                    f"on {due[report]}")]
    assert [e for e, _s in events_of(w, w.oven)] == ["grants.deadline_reminded",
                                                     "grants.deadline_close"]
    assert [e for e, _s in events_of(w, w.line)] == ["grants.deadline_reminded"]

    again = deadlines.watch(w.session, today=w.t)
    assert (again.reminded, again.escalated, again.mailed) == ([], [], [])
    assert len(tasks_of(w)) == 5
    assert w.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3

    # A week on, the advance is three days away: its escalation, once.
    later = deadlines.watch(w.session, today=day(w, 7))
    assert (keys(later.reminded), keys(later.escalated)) == ([], [advance])
    assert tasks_of(w)[-1] == (ids["piotr"], 4, "Deadline close: Payment request no. 1 "
                                                "(advance) (Linia lakiernicza)")
    assert events_of(w, w.line)[-1] == (
        "grants.deadline_close", f"Deadline close: Payment request no. 1 (advance), due "
                                 f"on {due[advance]}")
    assert deadlines.watch(w.session, today=day(w, 8)).escalated == []


def test_the_client_is_mailed_once_with_the_text_on_their_timeline(world):
    w, ids = world, world.ids
    done = deadlines.watch(w.session, today=w.t)
    assert len(done.mailed) == 3
    sent = w.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # Anna has no address: Jan is told of each of Stolarnia's deadlines, Zofia of hers.
    assert [(m.to_address, m.kind, m.case_id) for m in sent] == [
        ("jan@stolarnia.example", "service", w.hall.id),
        ("zofia@piekarnia.example", "service", w.oven.id),
        ("jan@stolarnia.example", "service", w.line.id)]
    missed, _call, advance = sent
    assert advance.subject == (f"Reminder: Payment request no. 1 (advance), due on "
                               f"{format_date(day(w, 10))}")
    assert advance.text_body == (
        "Dear Jan Nowak,\n\nWe would like to remind you that “Payment request no. 1 "
        "(advance)” of “Linia lakiernicza” is due on "
        f"{format_date(day(w, 10))}, in 10 days. Please send us what is still needed in "
        "good time.\n\nKind regards,\nKartoteka")
    assert "has passed" in missed.text_body
    jan = w.session.get(Person, ids["jan"])
    mail = [a for a in timeline.timeline(w.session, jan) if a.kind == "email_out"]
    assert sorted(a.body for a in mail) == sorted([missed.text_body, advance.text_body])
    on_case = [a for a in timeline.timeline(w.session, w.line) if a.kind == "email_out"]
    assert [a.body for a in on_case] == [advance.text_body]

    deadlines.watch(w.session, today=w.t)
    deadlines.watch(w.session, today=day(w, 1))
    assert w.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_only_the_clients_contact_people_are_mailed(world):
    """A grantor's officer on the case is not the client; a case with no contact person
    reaches the client firm's members of the day instead."""
    from core import memberships
    from core.models import CasePerson

    w, ids = world, world.ids
    officer = people.create(w.session, {"first_name": "Irena", "last_name": "Urzędnik",
                                        "emails": ["irena@grantor.example"]})
    w.session.add(CasePerson(case_id=w.line.id, person_id=officer.id,
                             role="Opiekun projektu w instytucji"))
    for on_case in w.hall.people:
        on_case.role = "Pełnomocnik"  # Jan stays on the hall's case, as somebody else
    stolarnia = w.session.get(Organisation, ids["stolarnia"])
    kasia = people.create(w.session, {"first_name": "Kasia", "last_name": "Wiśniewska",
                                      "emails": ["kasia@stolarnia.example"]})
    leon = people.create(w.session, {"first_name": "Leon", "last_name": "Dąb",
                                     "emails": ["leon@stolarnia.example"]})
    memberships.join(w.session, kasia, stolarnia, "Księgowa", start=day(w, -100))
    gone = memberships.join(w.session, leon, stolarnia, "Prezes", start=day(w, -900))
    memberships.leave(w.session, gone, day(w, -1))
    w.session.flush()
    deadlines.watch(w.session, today=w.t)
    sent = w.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert sorted((m.case_id, m.to_address) for m in sent) == sorted([
        (w.hall.id, "kasia@stolarnia.example"),  # the firm's, not Jan nor Leon who left
        (w.oven.id, "zofia@piekarnia.example"),
        (w.line.id, "jan@stolarnia.example")])  # not Irena


def test_the_client_is_told_of_one_day_and_of_today_in_words(world):
    w = world
    line = w.line.id
    deadlines.watch(w.session, today=day(w, 9))  # the advance is due tomorrow
    body = w.session.scalar(select(OutboxMessage.text_body).where(
        OutboxMessage.case_id == line))
    assert f"is due on {format_date(day(w, 10))}, in 1 day. Please send us" in body

    w.session.get(PaymentRequest, w.ids["requests"][0]).reminded_on = None
    w.session.flush()
    deadlines.watch(w.session, today=day(w, 10))  # not told before: on the day itself
    body = w.session.scalars(select(OutboxMessage.text_body).where(
        OutboxMessage.case_id == line).order_by(OutboxMessage.id.desc())).first()
    assert (f"“Payment request no. 1 (advance)” of “Linia lakiernicza” is due today, "
            f"{format_date(day(w, 10))}. Please send us what is still needed as soon as "
            "possible.") in body
    assert "in 0 days" not in body


def test_an_extended_call_deadline_is_reminded_and_escalated_anew(world):
    w, call = world, f"call-{world.oven.id}"
    first = deadlines.watch(w.session, today=w.t)
    assert call in keys(first.reminded) and call in keys(first.escalated)
    w.session.get(GrantCall, w.ids["call"]).deadline = day(w, 10)  # the grantor extends it
    w.session.flush()
    listed = deadlines.upcoming(w.session, w.ewa, w.t, day(w, 30), kinds=["call"], today=w.t)
    assert [(o.key, o.reminded_on, o.escalated_on) for o in listed] == [(call, None, None)]
    again = deadlines.watch(w.session, today=day(w, 1))
    assert (keys(again.reminded), keys(again.escalated)) == ([call], [])
    mails = w.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.case_id == w.oven.id).order_by(OutboxMessage.id)).all()
    assert mails[-1] == ("Reminder: Application to the call for proposals “Bony na "
                         f"innowacje”, due on {format_date(day(w, 10))}")
    assert len(mails) == 2
    close = deadlines.watch(w.session, today=day(w, 8))
    assert call not in keys(close.reminded) and call in keys(close.escalated)
    assert call not in keys(deadlines.watch(w.session, today=day(w, 9)).escalated)


def test_a_missed_report_without_a_reminder_raises_both_with_nobody_to_mail(world):
    w, ids = world, world.ids
    for person in list(w.hall.people):
        w.session.delete(person)
    w.session.flush()
    done = deadlines.watch(w.session, today=day(w, 30))  # a month after the date
    report = f"durability_report-{ids['reports'][1]}"
    assert report in keys(done.reminded) and report in keys(done.escalated)
    reminder = w.session.scalar(select(Task).where(
        Task.assignee_id == ids["ewa"], Task.title.contains("Hala magazynowa")))
    assert reminder.description.endswith(
        "Nobody of the client has an e-mail address: remind them yourself.")
    assert w.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.case_id == w.hall.id)) == 0


def test_the_settings_of_the_process_decide_how_early(world, app):
    from core import workflow

    w = world
    host = app.extensions["kartoteka"].host
    workflow.change_settings(w.session, host.processes[APPLICATION],
                             {"remind_days": "1", "escalate_days": "0"})
    done = deadlines.watch(w.session, today=w.t)
    # Only the missed report (and nothing two or ten days away) is due for a word.
    assert keys(done.reminded) == keys(done.escalated) == [
        f"durability_report-{w.ids['reports'][1]}"]


def test_the_periodic_job_is_registered_and_runs_in_its_own_transaction(app, ids):
    rt = app.extensions["kartoteka"]
    assert rt.host.periodic["grants.deadlines"].minutes == 60
    with app.app_context():  # as the worker runs it: no request
        done = rt.host.periodic["grants.deadlines"].run(rt)
    assert len(done.reminded) == 3
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Activity).where(
            Activity.event == "grants.deadline_reminded")) == 3
    with app.app_context():
        assert rt.host.periodic["grants.deadlines"].run(rt).reminded == []


# --- The calendar page, its feed and the API -----------------------------------------

def login(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_the_calendar_shows_the_months_with_overdue_dates_in_red(app, ids):
    client = login(app, "ewa@example.com")
    t = ids["today"]
    start = (t - timedelta(days=2)).replace(day=1)
    response = client.get(f"/grants/deadlines/?month={start:%Y-%m}&months=12")
    assert response.status_code == 200
    page = text(response)
    report = f"durability_report-{ids['reports'][1]}"
    row = page[page.index(f'id="{report}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="overdue"' in row and "overdue by 2 d" in visible(row)
    assert f'/cases/{ids["hall"]}' in row and f'/organisations/{ids["stolarnia"]}' in row
    for key in (f"call-{ids['oven']}", f"payment_request-{ids['requests'][0]}",
                f"payment_request-{ids['requests'][2]}"):
        assert f'id="{key}"' in page
    assert f'id="payment_request-{ids["requests"][1]}"' not in page  # submitted


def test_the_calendar_filters_by_client_kind_and_overdue(app, ids):
    client = login(app, "ewa@example.com")
    month = (ids["today"] - timedelta(days=2)).strftime("%Y-%m")
    page = text(client.get(f"/grants/deadlines/?month={month}&client={ids['piekarnia']}"))
    assert f'id="call-{ids["oven"]}"' in page
    assert "payment_request-" not in page and "durability_report-" not in page
    page = text(client.get("/grants/deadlines/?overdue=1"))
    assert page.count('<tr id="') == 1 and f'id="durability_report-{ids["reports"][1]}"' in page
    page = text(client.get(f"/grants/deadlines/?month={month}&kind=payment_request"))
    assert "call-" not in page and f'id="payment_request-{ids["requests"][0]}"' in page


def test_filters_that_cannot_be_used_are_named_by_their_fields(app, ids):
    client = login(app, "olga@example.com")
    response = client.get(f"/grants/deadlines/?client={ids['stolarnia']}&kind=invoice"
                          "&month=2026-13&months=5")
    assert response.status_code == 400
    page = text(response)
    assert error_under(page, "client") == "Choose a client from the list."
    assert error_under(page, "kind") == "Choose what is due from the list."
    assert error_under(page, "month") == "Give a month as YYYY-MM."
    assert error_under(page, "months") == "Choose how many months to show from the list."
    assert '<tr id="' not in page


def test_the_calendar_shows_only_what_the_viewer_may_see(app, ids):
    client = login(app, "olga@example.com")
    month = (ids["today"] - timedelta(days=2)).strftime("%Y-%m")
    page = text(client.get(f"/grants/deadlines/?month={month}&months=12"))
    assert f'id="call-{ids["oven"]}"' in page
    assert "Stolarnia" not in page and "payment_request-" not in page
    assert client.get("/grants/deadlines/").status_code == 200
    assert app.test_client().get("/grants/deadlines/").status_code == 302  # to the login


def test_the_feed_address_is_made_once_and_serves_the_dates(app, ids):
    client = login(app, "olga@example.com")
    assert "readonly value=" not in text(client.get("/grants/deadlines/"))
    assert client.post("/grants/deadlines/feed").status_code == 302
    page = text(client.get("/grants/deadlines/"))
    address = page.split('readonly value="')[1].split('"')[0]
    assert address.startswith("http://") and address.endswith(".ics")
    path = address.split("localhost", 1)[-1]
    anonymous = app.test_client()
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    events = [e for e in Calendar.from_ical(response.data).walk("VEVENT")]
    assert [(str(e["summary"]), e.decoded("dtstart")) for e in events] == [
        ("Application to the call for proposals “Bony na innowacje”: Piekarnia Zawada",
         ids["today"] + timedelta(days=2))]
    assert str(events[0]["uid"]) == f"grants-call-{ids['oven']}@kartoteka"
    assert anonymous.get("/grants/deadlines/not-a-token.ics").status_code == 404
    client.post("/grants/deadlines/feed")  # asked again: the same address
    assert address in text(client.get("/grants/deadlines/"))


def test_the_api_lists_the_dates_the_caller_may_see(app, ids):
    rt = app.extensions["kartoteka"]
    from core import tokens

    with rt.session() as s, s.begin():
        ewa = users.find_by_email(s, "ewa@example.com")
        olga = users.find_by_email(s, "olga@example.com")
        ewa_token, olga_token = tokens.create(s, ewa, "t")[1], tokens.create(s, olga, "t")[1]
    as_ewa, as_olga = caller(app.test_client(), ewa_token), caller(app.test_client(),
                                                                   olga_token)
    t = ids["today"]
    response = as_ewa("get", f"/grants/deadlines?from={t - timedelta(days=5)}"
                             f"&to={t + timedelta(days=15)}")
    assert response.status_code == 200, response.get_json()
    assert [(o["key"], o["days_left"], o["overdue"]) for o in response.get_json()] == [
        (f"durability_report-{ids['reports'][1]}", -2, True), (f"call-{ids['oven']}", 2, False),
        (f"payment_request-{ids['requests'][0]}", 10, False)]
    found = response.get_json()[2]
    assert (found["what"], found["client"], found["case_id"], found["due_on"]) == (
        "Payment request no. 1 (advance)", "Stolarnia Nowak sp. z o.o.", ids["line"],
        (t + timedelta(days=10)).isoformat())
    assert [o["key"] for o in as_olga("get", "/grants/deadlines").get_json()] == [
        f"call-{ids['oven']}"]
    late = as_ewa("get", "/grants/deadlines?overdue=true&kind=durability_report")
    assert [o["key"] for o in late.get_json()] == [f"durability_report-{ids['reports'][1]}"]
    refused = as_ewa("get", "/grants/deadlines?from=2026-05-01&to=2026-04-01")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"to": "The period cannot end before it starts."}
    assert as_ewa("get", "/grants/deadlines?kind=invoice").status_code == 422


# --- The instalments of cooperation contracts (GR-2) ---------------------------------

OPPORTUNITY = "grants.opportunity"
WON = "Dotacja na piec tunelowy"
TARTAK = "Tartak Sosna sp. j."


@pytest.fixture
def won(app, ids):
    """Committed, next to ``ids``: Ewa's opportunity for Tartak Sosna, with nobody on it,
    won into a cooperation contract of four instalments: "Analiza" PLN1,000 on T-3 (not
    invoiced yet), "Zaliczka" PLN3,000 on T+5, "Druga rata" PLN5,000 on T+30 and
    "Sukces" PLN12,500 at the grant's award. Marek Sosna (with an address) works for
    the firm; Ola Sosna (with one too) left it yesterday."""
    from core import memberships, workflow
    from plugins.grants import schedules

    rt = app.extensions["kartoteka"]
    t = ids["today"]
    with app.test_request_context(), rt.session() as s, s.begin():
        ewa = users.find_by_email(s, "ewa@example.com")
        tartak = organisations.create(s, rt.host, {"name": TARTAK,
                                                   "type_key": "core.company"})
        marek = people.create(s, {"first_name": "Marek", "last_name": "Sosna",
                                  "emails": ["marek@tartak.example"]})
        ola = people.create(s, {"first_name": "Ola", "last_name": "Sosna",
                                "emails": ["ola@tartak.example"]})
        memberships.join(s, marek, tartak, "Prezes zarządu", start=t - timedelta(days=900))
        gone = memberships.join(s, ola, tartak, "Księgowa", start=t - timedelta(days=900))
        memberships.leave(s, gone, t - timedelta(days=1))
        case = cases.create(s, rt.host, {"title": WON, "process_key": OPPORTUNITY,
                                         "owner_id": ewa.id, "organisation_id": tartak.id},
                            actor=ewa)
        for target in ("qualified", "offer"):
            workflow.move(s, rt.host, case, target, ewa)
        schedules.replace(s, case, [
            {"description": "Analiza", "amount": "1000", "due_on": str(t - timedelta(days=3))},
            {"description": "Zaliczka", "amount": "3000", "due_on": str(t + timedelta(days=5))},
            {"description": "Druga rata", "amount": "5000",
             "due_on": str(t + timedelta(days=30))},
            {"description": "Sukces", "amount": "12500", "milestone": "awarded"}], ewa)
        workflow.move(s, rt.host, case, "won", ewa)
        contract = schedules.contract_of(s, case)
        return {"opportunity": case.id, "tartak": tartak.id, "contract": contract.id,
                "instalments": [i.id for i in contract.instalments], "marek": marek.id,
                "ola": ola.id}


def instalment(won, n: int) -> str:
    return f"instalment-{won['instalments'][n - 1]}"


def test_the_dated_instalments_not_invoiced_are_listed_with_their_amounts(won, world):
    w = world
    found = deadlines.upcoming(w.session, w.ewa, day(w, -30), day(w, 60), won["tartak"],
                               today=w.t)
    # "Sukces" waits for the grant's award: it has no date to keep.
    assert keys(found) == [instalment(won, n) for n in (1, 2, 3)]
    analysis, advance, second = found
    assert (advance.kind, advance.kind_name, advance.what, advance.client,
            advance.application, advance.case_id, advance.organisation_id,
            advance.owner_id, advance.due_on, advance.days_left) == (
        "instalment", "Instalment of the cooperation contract",
        "Instalment 2 “Zaliczka” of the cooperation contract", TARTAK, WON,
        won["opportunity"], won["tartak"], w.ids["ewa"], day(w, 5), 5)
    # Invoiced as the billing run will: net, and the contract's 23% VAT on top.
    assert (advance.contract_id, advance.net, advance.gross, advance.currency,
            advance.amount) == (won["contract"], Decimal("3000.00"), Decimal("3690.00"),
                                "PLN", "PLN3,000.00 net, PLN3,690.00 gross")
    assert (analysis.overdue, second.amount) == (True, "PLN5,000.00 net, PLN6,150.00 gross")
    assert keys(deadlines.overdue(w.session, w.ewa, kinds=["instalment"], today=w.t)) == [
        instalment(won, 1)]
    assert TARTAK in [c.name for c in deadlines.clients(w.session, w.ewa)]


def test_an_invoiced_instalment_is_no_longer_listed(won, world):
    w = world
    w.session.get(Instalment, won["instalments"][0]).billed_on = w.t
    w.session.flush()
    assert keys(deadlines.upcoming(w.session, w.ewa, day(w, -30), day(w, 60),
                                   kinds=["instalment"], today=w.t)) == [
        instalment(won, 2), instalment(won, 3)]


def test_instalments_are_listed_only_for_whoever_may_see_the_opportunity(won, world):
    w = world
    span = (day(w, -400), day(w, 400))
    assert keys(deadlines.upcoming(w.session, w.olga, *span, today=w.t)) == [
        f"call-{w.oven.id}"]
    assert TARTAK not in [c.name for c in deadlines.clients(w.session, w.olga)]
    # Narrowed to another client, none of Tartak's.
    assert "instalment-" not in " ".join(keys(deadlines.upcoming(
        w.session, w.ewa, *span, w.ids["stolarnia"], today=w.t)))


def test_the_job_tells_the_owner_and_the_firms_people_once_and_never_escalates(won, world):
    w, ids = world, world.ids
    advance = instalment(won, 2)
    due = format_date(day(w, 5))
    done = deadlines.watch(w.session, today=w.t)
    assert advance in keys(done.reminded) and instalment(won, 1) not in keys(done.reminded)
    assert not [k for k in keys(done.escalated) if k.startswith("instalment-")]
    opportunity = w.session.get(Case, won["opportunity"])
    task = w.session.scalar(select(Task).where(Task.title.contains(WON)))
    assert (task.assignee_id, task.priority, task.title) == (
        ids["ewa"], 3, f"To be invoiced on {due}: Instalment 2 “Zaliczka” of the "
                       f"cooperation contract ({WON})")
    assert task.description == (
        f"Instalment 2 “Zaliczka” of the cooperation contract for “{WON}” will be invoiced "
        f"on {due}, for PLN3,000.00 net, PLN3,690.00 gross.\n"
        "The client's contact people were reminded by e-mail (1).")
    # Nobody is on the opportunity: the firm's people of the day, not Ola who left.
    sent = w.session.scalars(select(OutboxMessage).where(
        OutboxMessage.case_id == won["opportunity"])).all()
    assert [(m.to_address, m.kind, m.person_id) for m in sent] == [
        ("marek@tartak.example", "service", won["marek"])]
    assert sent[0].subject == ("Reminder: Instalment 2 “Zaliczka” of the cooperation "
                               f"contract, to be invoiced on {due}")
    assert sent[0].text_body == (
        "Dear Marek Sosna,\n\nWe would like to let you know that instalment 2 “Zaliczka” "
        f"of the cooperation contract for “{WON}” will be invoiced on {due}, for "
        "PLN3,000.00 net, PLN3,690.00 gross.\n\nIf you have any questions about it, "
        "please contact us.\n\nKind regards,\nKartoteka")
    assert events_of(w, opportunity)[-1] == (
        "grants.deadline_reminded", "Reminder: Instalment 2 “Zaliczka” of the cooperation "
                                    f"contract, to be invoiced on {due}")
    # On the client firm's timeline too.
    tartak = w.session.get(Organisation, won["tartak"])
    assert "grants.deadline_reminded" in [a.event for a in timeline.timeline(w.session, tartak)]
    # The agenda says when it was done.
    listed = deadlines.upcoming(w.session, w.ewa, day(w, 0), day(w, 10),
                                kinds=["instalment"], today=w.t)
    assert [(o.key, o.reminded_on, o.escalated_on) for o in listed] == [(advance, w.t, None)]

    # Two days before the day, within escalate_days: still nothing more, and nothing twice.
    for later in (w.t, day(w, 3), day(w, 5)):
        again = deadlines.watch(w.session, today=later)
        assert not [k for k in keys(again.reminded) + keys(again.escalated)
                    if k.startswith("instalment-")]
    assert len(w.session.scalars(select(Task).where(Task.title.contains(WON))).all()) == 1
    assert w.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.case_id == won["opportunity"])) == 1

    # The second instalment comes within remind_days (14) 16 days on: its own reminder.
    later = deadlines.watch(w.session, today=day(w, 16))
    assert instalment(won, 3) in keys(later.reminded)


def test_an_instalment_past_its_day_is_not_announced(won, world):
    w = world
    deadlines.watch(w.session, today=day(w, 40))  # every date has passed: nothing to say
    assert w.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.case_id == won["opportunity"])) == 0
    assert w.session.scalars(select(Task).where(Task.title.contains(WON))).all() == []


def test_the_opportunitys_contact_people_are_told_instead_of_the_firms(won, world):
    from core.models import CasePerson

    w = world
    w.session.add(CasePerson(case_id=won["opportunity"], person_id=w.ids["jan"],
                             role=CONTACT))
    w.session.add(CasePerson(case_id=won["opportunity"], person_id=w.ids["zofia"],
                             role="Ekspert"))  # on the case, but not the client's
    w.session.flush()
    deadlines.watch(w.session, today=w.t)
    assert w.session.scalars(select(OutboxMessage.to_address).where(
        OutboxMessage.case_id == won["opportunity"])).all() == ["jan@stolarnia.example"]


def test_the_calendar_feed_and_api_show_the_instalments(app, ids, won):
    from core import tokens

    t = ids["today"]
    client = login(app, "ewa@example.com")
    response = client.get(f"/grants/deadlines/?month={t:%Y-%m}&months=3&kind=instalment"
                          f"&client={won['tartak']}")
    assert response.status_code == 200
    page = text(response)
    row = page[page.index(f'id="{instalment(won, 2)}"'):]
    row = visible(row[:row.index("</tr>")])
    assert "Instalment 2 “Zaliczka” of the cooperation contract · PLN3,000.00 net, " \
           "PLN3,690.00 gross" in row and WON in row and TARTAK in row
    assert f'/cases/{won["opportunity"]}' in page and "call-" not in page
    assert "Contract instalments" in page  # the filter's choice

    client.post("/grants/deadlines/feed")
    address = text(client.get("/grants/deadlines/")).split('readonly value="')[1].split('"')[0]
    events = {str(e["uid"]): e for e in Calendar.from_ical(
        app.test_client().get(address.split("localhost", 1)[-1]).data).walk("VEVENT")}
    event = events[f"grants-{instalment(won, 2)}@kartoteka"]
    assert str(event["summary"]) == (f"Instalment 2 “Zaliczka” of the cooperation "
                                     f"contract: {TARTAK}")
    assert "PLN3,000.00 net, PLN3,690.00 gross" in str(event["description"])

    rt = app.extensions["kartoteka"]
    with rt.session() as s, s.begin():
        ewa_token = tokens.create(s, users.find_by_email(s, "ewa@example.com"), "t")[1]
        olga_token = tokens.create(s, users.find_by_email(s, "olga@example.com"), "t")[1]
    found = caller(app.test_client(), ewa_token)(
        "get", f"/grants/deadlines?kind=instalment&from={t - timedelta(days=5)}")
    assert found.status_code == 200, found.get_json()
    assert [(o["key"], o["case_id"], o["contract_id"], o["net"], o["gross"], o["currency"],
             o["escalated_on"]) for o in found.get_json()] == [
        (instalment(won, 1), won["opportunity"], won["contract"], "1000.00", "1230.00",
         "PLN", None),
        (instalment(won, 2), won["opportunity"], won["contract"], "3000.00", "3690.00",
         "PLN", None),
        (instalment(won, 3), won["opportunity"], won["contract"], "5000.00", "6150.00",
         "PLN", None)]
    other = caller(app.test_client(), ewa_token)("get", "/grants/deadlines?kind=call")
    assert [o["contract_id"] for o in other.get_json()] == [None]
    assert caller(app.test_client(), olga_token)(
        "get", "/grants/deadlines?kind=instalment").get_json() == []


def test_an_instalment_after_the_contract_ended_is_not_owed(won, world):
    from core.models import Contract

    w = world
    w.session.get(Contract, won["contract"]).ends_on = day(w, 10)  # terminated
    w.session.flush()
    assert keys(deadlines.upcoming(w.session, w.ewa, day(w, -30), day(w, 60),
                                   kinds=["instalment"], today=w.t)) == [
        instalment(won, 1), instalment(won, 2)]
    assert instalment(won, 3) not in keys(deadlines.watch(w.session, today=day(w, 16)).reminded)


def test_a_moved_instalment_is_announced_anew(won, world):
    w = world
    advance = instalment(won, 2)
    assert advance in keys(deadlines.watch(w.session, today=w.t).reminded)
    w.session.get(Instalment, won["instalments"][1]).due_on = day(w, 12)
    w.session.flush()
    again = deadlines.watch(w.session, today=day(w, 1))
    assert advance in keys(again.reminded)
    subjects = w.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.case_id == won["opportunity"]).order_by(OutboxMessage.id)).all()
    assert subjects[-1].endswith(f"to be invoiced on {format_date(day(w, 12))}")
    assert len(subjects) == 2
    assert advance not in keys(deadlines.watch(w.session, today=day(w, 2)).reminded)
