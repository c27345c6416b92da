"""Documents: safe templates, versions, gapless numbers, PDFs kept on the record."""

import random
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core import attachments, documents, numbering, organisations, people, templating, users
from core import timeline as timelines
from core.documents import Series, Template
from core.errors import Forbidden, ValidationError
from core.models import Attachment, Document, DocumentTemplate, NumberCounter, Organisation

PASSWORD = "correct horse battery"
OFFER = Template("test.offer", "offer", "organisation", {"pl": "Oferta", "en": "Offer"},
                 "<p class='company'>{{ company.name }}</p><h1>Oferta {{ document.number }}</h1>"
                 "<p>{{ organisation.name }}, NIP {{ organisation.nip }}</p>",
                 series=Series("test.offer", "Oferty", "OF/{year}/{seq:04}"))


@pytest.fixture
def app(kartoteka_app_factory, tmp_path):
    found = kartoteka_app_factory(default_locale="pl", company_name="Drukarnia Test sp. z o.o.",
                                  company_details="ul. Długa 1\n61-001 Poznań",
                                  logo_file=str(tmp_path / "no-such-logo.png"))
    with found.test_request_context():
        yield found


@pytest.fixture
def rt(app):
    return app.extensions["kartoteka"]


@pytest.fixture
def made(rt):
    """An administrator, the offer template and an organisation; their ids."""
    with rt.session() as s, s.begin():
        admin = users.create_user(s, "admin@example.com", PASSWORD, is_admin=True)
        template = documents.ship(s, OFFER)
        org = organisations.create(s, rt.host, {"name": "Gmina Kórnik", "nip": "7773061579",
                                                "type_key": "core.municipality"})
        return {"admin": admin.id, "template": template.id, "org": org.id}


def render(source, **context):
    return templating.render(source, context)


# --- Templates that try to do harm -------------------------------------------------------

@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ x|attr('__class__') }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ x.__dict__ }}",
    "{% set a = [].append(1) %}{{ a }}",
])
def test_template_injection_payloads_are_refused(app, source):
    with pytest.raises(templating.TemplateProblem) as refused:
        render(source, x=1)
    assert refused.value.errors["body"].startswith("Wiersz 1: ")


@pytest.mark.parametrize("source", ["{{ config }}", "{{ request }}", "{{ session }}",
                                    "{{ os }}", "{{ g }}"])
def test_nothing_of_the_application_is_within_reach(app, source):
    with pytest.raises(templating.TemplateProblem, match="Nie ma tu"):
        render(source)


def test_an_endless_loop_is_stopped_within_the_time_limit(app):
    """The limit is the rendering thread's own time, so that a busy machine does not
    stop a template that would have finished; the clock on the wall only shows it ends."""
    started, worked = time.monotonic(), time.thread_time()
    with pytest.raises(templating.TemplateProblem, match="przerwany"):
        render("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}"
               "{% endfor %}")
    assert time.thread_time() - worked < templating.MAX_SECONDS + 1.5
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("source", ["{{ 'a' * 100000000 }}", "{{ [1] * 10**9 }}",
                                    "{{ 9 ** 99999999 }}",
                                    "{% for a in range(100000) %}{{ 'x' * 99 }}{% endfor %}"])
def test_a_gigantic_output_is_refused(app, source):
    with pytest.raises(templating.TemplateProblem):
        render(source)


def test_a_broken_tag_and_an_unknown_name_are_named_with_their_line(app):
    with pytest.raises(templating.TemplateProblem) as broken:
        render("<p>\n{% if organisation %}\n<b>")
    assert broken.value.errors["body"].startswith("Wiersz 3: ")
    with pytest.raises(templating.TemplateProblem) as unknown:
        render("<p>\n\n{{ klient.nazwa }}</p>")
    assert unknown.value.errors == {"body": "Wiersz 3: Nie ma tu „klient”."}


def test_data_is_never_run_as_a_template_and_html_in_it_is_escaped(app):
    html = render("<p>{{ name }}</p>", name="{{7*7}} <script>alert(1)</script>")
    assert html == "<p>{{7*7}} &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_the_helpers_write_polish_amounts_dates_and_words(app):
    html = render("{{ money(a) }} | {{ a|words }} | {{ day(d) }} | {{ number(n, 0) }}",
                  a="12500.50", d=datetime(2026, 12, 6, tzinfo=UTC), n="1234567")
    assert html == ("12\xa0500,50\xa0zł | dwanaście tysięcy pięćset złotych, pięćdziesiąt "
                    "groszy | 6 grudnia 2026 | 1\xa0234\xa0567")


# --- Versions ----------------------------------------------------------------------------

def test_each_edit_is_a_version_and_an_old_one_can_be_used_again(rt, made):
    with rt.session() as s, s.begin():
        template = s.get(DocumentTemplate, made["template"])
        admin = s.get(users.User, made["admin"])
        documents.save(s, template, {"body": "<h1>Nowa oferta</h1>", "note": "krócej"}, admin)
        with pytest.raises(ValidationError) as broken:
            documents.save(s, template, {"body": "<p>\n{% for x in %}"}, admin)
        assert broken.value.errors["body"].startswith("Wiersz 2: ")
        documents.revert(s, template, 1, admin)
        found = [(v.number, v.note) for v in documents.history(s, template)]
        assert found == [(3, "Powrót do wersji 1"), (2, "krócej"), (1, "Tak jak dostarczono")]
        assert documents.current_version(s, template).body == OFFER.body


def test_only_holders_of_the_permission_change_templates(rt, made):
    with rt.session() as s, s.begin():
        clerk = users.create_user(s, "clerk@example.com", PASSWORD)
        template = s.get(DocumentTemplate, made["template"])
        with pytest.raises(Forbidden):
            documents.save(s, template, {"body": "<p>x</p>"}, clerk)
        with pytest.raises(Forbidden):
            documents.create(s, {"key": "local.x"}, clerk)


def test_an_administrators_own_template_needs_a_proper_key_and_valid_text(rt, made):
    with rt.session() as s, s.begin():
        admin = s.get(users.User, made["admin"])
        with pytest.raises(ValidationError) as refused:
            documents.create(s, {"key": "test.offer", "kind": "", "subject_type": "invoice",
                                 "name_pl": " ", "series_key": "nope",
                                 "body": "{% if %}"}, admin)
        assert set(refused.value.errors) == {"key", "kind", "subject_type", "name_pl",
                                             "series_key", "body"}
        made_here = documents.create(s, {"key": "local.thanks", "kind": "letter",
                                         "subject_type": "person", "name_pl": "Podziękowanie",
                                         "body": "<p>Dziękujemy, {{ person.first_name }}!</p>"},
                                     admin)
        assert documents.current_version(s, made_here).number == 1


# --- Numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, reset, problem", [
    ("UM/{year}/{seq", "yearly", "Close every brace"),
    ("UM/{year}", "yearly", "needs {seq}"),
    ("UM/{seq:04}", "yearly", "needs {year}"),
    ("UM/{year}/{seq}", "monthly", "needs {year} and {month}"),
    ("UM/{client}/{seq}", "never", "Unknown part {client}"),
    ("UM/{seq:zz}", "never", "Write the parts as"),
])
def test_a_pattern_that_cannot_give_unique_numbers_is_refused(kartoteka_app_factory, pattern,
                                                              reset, problem):
    app = kartoteka_app_factory(default_locale="en")
    with app.test_request_context():
        assert problem in numbering.check_pattern(pattern, reset)["pattern"]


def test_numbers_start_again_each_year_or_month_and_never_repeat(rt):
    with rt.session() as s, s.begin():
        numbering.save_series(s, "y", "Yearly", "UM/{year}/{seq:04}", "yearly")
        numbering.save_series(s, "m", "Monthly", "FV/{year}/{month}/{seq}", "monthly")
        numbering.save_series(s, "n", "Never", "NR-{seq}", "never")
        dec, jan = datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 1, 1, 1, tzinfo=UTC)
        found = [numbering.issue(s, "y", dec), numbering.issue(s, "y", dec),
                 numbering.issue(s, "y", jan), numbering.issue(s, "m", dec),
                 numbering.issue(s, "m", jan), numbering.issue(s, "n", dec),
                 numbering.issue(s, "n", jan)]
    assert found == ["UM/2026/0001", "UM/2026/0002", "UM/2027/0001", "FV/2026/12/1",
                     "FV/2027/01/1", "NR-1", "NR-2"]


def test_a_rolled_back_document_gives_its_number_back(rt):
    with rt.session() as s, s.begin():
        numbering.save_series(s, "y", "Yearly", "UM/{year}/{seq}", "yearly")
    when = datetime(2026, 5, 1, tzinfo=UTC)
    with rt.session() as s, s.begin():
        assert numbering.issue(s, "y", when) == "UM/2026/1"
    with rt.session() as s:
        assert numbering.issue(s, "y", when) == "UM/2026/2"
        s.rollback()
    with rt.session() as s, s.begin():
        assert numbering.issue(s, "y", when) == "UM/2026/2"


def test_numbers_issued_at_once_from_many_threads_are_unique_and_gapless(rt):
    with rt.session() as s, s.begin():
        numbering.save_series(s, "c", "Concurrent", "C/{year}/{seq}", "yearly")
    when = datetime(2026, 5, 1, tzinfo=UTC)
    kept, errors, lock = [], [], threading.Lock()

    def worker(index: int) -> None:
        chooser = random.Random(index)
        try:
            for _ in range(4):
                with rt.session() as s:
                    number = numbering.issue(s, "c", when)
                    time.sleep(chooser.random() / 200)
                    if chooser.random() < 0.25:
                        s.rollback()  # this number must be given out again
                        continue
                    s.commit()
                with lock:
                    kept.append(int(number.rsplit("/", 1)[1]))
        except Exception as exc:  # reported below, with the thread's number
            errors.append((index, exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(kept) == list(range(1, len(kept) + 1))
    with rt.session() as s:
        assert numbering.last_issued(s, "c", "2026") == len(kept)
        assert s.scalar(select(func.count()).select_from(NumberCounter)) == 1


# --- Generating --------------------------------------------------------------------------

def test_a_generated_document_is_a_numbered_pdf_on_the_record_and_its_timeline(rt, made):
    with rt.session() as s, s.begin():
        admin = s.get(users.User, made["admin"])
        template = s.get(DocumentTemplate, made["template"])
        org = s.get(Organisation, made["org"])
        first = documents.generate(s, rt.host, rt.settings, template, org, admin)
        documents.save(s, template, {"body": OFFER.body + "<p>v2</p>"}, admin)
        second = documents.generate(s, rt.host, rt.settings, template, org, admin)
    year = datetime.now(UTC).year
    with rt.session() as s:
        org = s.get(Organisation, made["org"])
        assert [d.number for d in documents.for_record(s, org)] == [f"OF/{year}/0002",
                                                                     f"OF/{year}/0001"]
        stored = s.get(Attachment, first.attachment_id)
        data = attachments.path_of(rt.settings, stored).read_bytes()
        assert data.startswith(b"%PDF") and stored.content_type == "application/pdf"
        assert stored.filename == f"Oferta OF-{year}-0001.pdf"
        assert attachments.verify(rt.settings, stored)
        versions = [s.get(Document, d).template_version_id for d in (first.id, second.id)]
        assert versions[0] != versions[1]
        events = [a.subject for a in timelines.timeline(s, org, kinds=["system"])]
        assert f"Oferta OF/{year}/0002" in events and f"Oferta OF/{year}/0001" in events


def test_the_pdf_carries_the_record_and_company_and_no_outside_file(rt, made):
    from weasyprint import HTML  # noqa: F401 (the PDF engine must be there)

    with rt.session() as s, s.begin():
        template = s.get(DocumentTemplate, made["template"])
        admin = s.get(users.User, made["admin"])
        documents.save(s, template, {"body": OFFER.body + '<img src="file:///etc/passwd">'
                                     '<img src="http://127.0.0.1:9/x.png">'
                                     '<img src="{{ company.logo }}">'}, admin)
        document = documents.generate(s, rt.host, rt.settings, template,
                                      s.get(Organisation, made["org"]), admin)
        html = documents.preview(s, rt.host, template, s.get(Organisation, made["org"]), admin,
                                 rt.settings)
    assert "Drukarnia Test sp. z o.o." in html and "Gmina Kórnik" in html
    assert "(numer nadawany przy wystawieniu)" in html
    with rt.session() as s:
        pdf = attachments.path_of(rt.settings, s.get(Attachment, document.attachment_id))
        assert b"root:" not in pdf.read_bytes()


def test_generation_refuses_what_does_not_fit_and_writes_nothing(rt, made):
    with rt.session() as s, s.begin():
        person = people.create(s, {"first_name": "Anna", "last_name": "Nowak"})
        clerk = users.create_user(s, "clerk@example.com", PASSWORD, roles=[])
        mail = documents.ship(s, Template("test.mail", "email", "organisation",
                                          {"pl": "List"}, "<p>x</p>", subject="Hej"))
    with rt.session() as s:
        template = s.get(DocumentTemplate, made["template"])
        org = s.get(Organisation, made["org"])
        admin = s.get(users.User, made["admin"])
        with pytest.raises(ValidationError, match="nie jest dla tego rekordu"):
            documents.generate(s, rt.host, rt.settings, template, s.get(type(person), person.id),
                               admin)
        with pytest.raises(ValidationError, match="wysyła się w korespondencji"):
            documents.generate(s, rt.host, rt.settings, s.get(DocumentTemplate, mail.id), org,
                               admin)
        with pytest.raises(Forbidden):
            documents.generate(s, rt.host, rt.settings, template, org,
                               s.get(users.User, clerk.id))
        documents.save(s, template, {"body": "<p>{{ organisation.nazwa }}</p>"}, admin)
        with pytest.raises(templating.TemplateProblem):
            documents.generate(s, rt.host, rt.settings, template, org, admin)
        s.rollback()
    with rt.session() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0
        assert numbering.last_issued(s, "test.offer", str(datetime.now(UTC).year)) == 0


def test_two_series_numbering_alike_are_kept_apart(rt, made):
    with rt.session() as s, s.begin():
        with pytest.raises(ValidationError, match="Inna seria numeruje tak samo"):
            numbering.save_series(s, "other", "Inne", "OF/{year}/{seq:04}", "yearly")
        # Plugins may still ship alike series: each document is unique in its own.
        twin = documents.ship(s, Template("test.twin", "offer", "organisation", {"pl": "Bliźniak"},
                                          "<p>{{ document.number }}</p>",
                                          series=Series("test.twin", "Bliźniaki",
                                                        "OF/{year}/{seq:04}")))
        admin = s.get(users.User, made["admin"])
        org = s.get(Organisation, made["org"])
        first = documents.generate(s, rt.host, rt.settings, s.get(DocumentTemplate,
                                                                  made["template"]), org, admin)
        second = documents.generate(s, rt.host, rt.settings, twin, org, admin)
        assert first.number == second.number
        assert (first.series_key, second.series_key) == ("test.offer", "test.twin")


# --- Shared parts ------------------------------------------------------------------------

COMPANY = {"name": "Drukarnia Test sp. z o.o.", "details": ["ul. Długa 1", "61-001 Poznań"],
           "logo": ""}


def test_the_letterhead_and_the_client_are_shared_parts_any_template_includes(app):
    client = {"name": "Gmina Kórnik", "street": "pl. Niepodległości 1", "postal_code": "62-035",
              "city": "Kórnik", "country": "DE", "nip": "7773061579"}
    html = render('{% set title = "Oferta" %}{% set subtitle = "na druk" %}'
                  '{% include "letterhead.html" %}'
                  '{% set label = "Dla" %}{% include "client.html" %}',
                  company=COMPANY, document={"number": "OF/2026/0007"},
                  today=datetime(2026, 12, 6), organisation=client)
    for text in ('<div class="company">Drukarnia Test sp. z o.o.</div>', "ul. Długa 1<br>",
                 "<h1>Oferta</h1>", "na druk", "nr OF/2026/0007", "6 grudnia 2026",
                 '<div class="label">Dla</div>', "Gmina Kórnik", "pl. Niepodległości 1",
                 "62-035 Kórnik", "DE", "NIP: 7773061579"):
        assert text in html
    assert "<img" not in html  # no logo, no picture
    bare = render('{% set title = "Oferta" %}{% include "letterhead.html" %}'
                  '{% set label = "Dla" %}{% include "client.html" %}',
                  company=COMPANY, document={"number": ""}, today=datetime(2026, 12, 6),
                  organisation={})
    assert "nr " not in bare and "Dla" not in bare and "subtitle" not in bare


def test_signatures_are_a_shared_part_too(app):
    html = render('{% set left = "Wykonawca" %}{% set right = "Zamawiający" %}'
                  '{% include "signatures.html" %}')
    assert 'class="signatures"' in html and html.count('class="line"') == 2
    assert "Wykonawca" in html and "Zamawiający" in html


def test_including_an_unknown_part_is_refused_with_its_line(app):
    for source in ('<p>\n{% include "stopka.html" %}', '<p>\n{% import "../core/pdf.py" as x %}'):
        with pytest.raises(templating.TemplateProblem) as refused:
            render(source)
        assert refused.value.errors["body"].startswith("Wiersz 2: ")
        assert "letterhead.html" in refused.value.errors["body"]  # the parts there are
        with pytest.raises(templating.TemplateProblem) as unsaved:
            templating.check(source)  # refused already when the template is saved
        assert unsaved.value.errors == refused.value.errors


@pytest.mark.parametrize("name", ["core/pdf.py", "/etc/passwd", "../../pyproject.toml",
                                  "<template>", "letterhead.html/../client.html", 7])
def test_an_include_named_by_data_reaches_only_the_registered_parts(app, name):
    with pytest.raises(templating.TemplateProblem) as refused:
        render("<p>\n\n{% include organisation.name %}", organisation={"name": name})
    assert refused.value.errors["body"].startswith("Wiersz 3: ")


def test_an_included_part_is_sandboxed_and_a_problem_in_it_names_the_including_line(app):
    templating.INCLUDES["test_harm.html"] = "{{ ''.__class__.__mro__ }}"
    templating.INCLUDES["test_loop.html"] = ("{% for a in range(100000) %}"
                                             "{% for b in range(100000) %}{% endfor %}{% endfor %}")
    try:
        with pytest.raises(templating.TemplateProblem) as harm:
            render('<p>\n{% include "test_harm.html" %}')
        assert harm.value.errors["body"].startswith("Wiersz 2: ")
        # Ten billion turns: only the time limit ends it, with this message.
        with pytest.raises(templating.TemplateProblem, match="przerwany"):
            render('{% include "test_loop.html" %}')
        with pytest.raises(templating.TemplateProblem) as missing:
            render('<p>\n\n{% include "letterhead.html" %}')  # without company and title
        assert missing.value.errors["body"].startswith("Wiersz 3: ")
    finally:
        del templating.INCLUDES["test_harm.html"], templating.INCLUDES["test_loop.html"]
