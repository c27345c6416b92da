"""An installation's own terms: rewording, fallbacks, the admin pages and the command.

The training association calls its contractors' organisations "jednostki członkowskie";
every page, message and export must read right after the administrator says so, in
every process, without a restart.
"""

import csv
import io
import re

import pytest
from sqlalchemy import select

from core import quality, users
from core.defaults import CORE_TERMS
from core.models import AuditEntry, TermOverride
from core.terminology import resolve
from core.terms import CASES
from page_helpers import add_org, count, flashes, show, text, visible, writing

UNIT_SINGULAR = ["jednostka członkowska", "jednostki członkowskiej", "jednostce członkowskiej",
                 "jednostkę członkowską", "jednostką członkowską", "jednostce członkowskiej"]
UNIT_PLURAL = ["jednostki członkowskie", "jednostek członkowskich", "jednostkom członkowskim",
               "jednostki członkowskie", "jednostkami członkowskimi", "jednostkach członkowskich"]
ORGANISATION = next(t for t in CORE_TERMS if t.key == "core.organisation")


def wording(singular=UNIT_SINGULAR, plural=UNIT_PLURAL, gender="f", en=("", ""),
            action="save") -> dict:
    """The edit form as posted: Polish cases in order, English singular and plural."""
    data = {f"pl.singular.{c}": v for c, v in zip(CASES, singular, strict=False)}
    data |= {f"pl.plural.{c}": v for c, v in zip(CASES, plural, strict=False)}
    return data | {"pl.gender": gender, "en.singular.nom": en[0], "en.plural.nom": en[1],
                   "action": action}


def reword(client, key="core.organisation", **form):
    return client.post(f"/admin/terms/{key}", data=wording(**form))


def error_of(page: str, field: str) -> str:
    found = re.search(rf'<span class="error" id="e-{re.escape(field)}">(.*?)</span>', page)
    return found.group(1) if found else ""


def overrides(app) -> list[tuple[str, str]]:
    with app.extensions["kartoteka"].session() as session:
        return [(r.key, r.locale) for r in session.scalars(select(TermOverride))]


# --------------------------------------------------------------------- pages


def test_a_polish_rewording_reads_right_on_the_pages(polish):
    assert reword(polish).status_code == 302
    listing = show(polish, "/organisations/")
    assert "Dodaj jednostkę członkowską" in listing
    assert "Brak jednostek członkowskich." in listing
    assert ">Jednostki członkowskie</a>" in listing
    app = polish.application
    for n in range(5):
        add_org(app, f"Gmina {n}")
    with writing(app) as (session, _admin):
        quality.set_rule(session, "organisation", ["nip"], None)
    assert "5 jednostek członkowskich" in show(polish, "/admin/quality/organisation")


def test_new_agrees_with_the_gender_the_administrator_gives(polish):
    assert "Nowa organizacja" in show(polish, "/organisations/new")
    reword(polish, singular=["kontrahent", "kontrahenta", "kontrahentowi", "kontrahenta",
                             "kontrahentem", "kontrahencie"],
           plural=["kontrahenci", "kontrahentów", "kontrahentom", "kontrahentów",
                   "kontrahentami", "kontrahentach"], gender="m1")
    form = show(polish, "/organisations/new")
    assert "Nowy kontrahent" in form and "Dodaj kontrahenta" in form


def test_an_english_rewording_reads_right_in_english(client):
    reword(client, singular=[], plural=[], gender="", en=("member unit", "member units"))
    listing = show(client, "/organisations/")
    assert "Add member unit" in listing and "No member units found." in listing
    assert "New member unit" in show(client, "/organisations/new")


def test_a_second_application_on_the_same_database_sees_a_change_at_once(
        kartoteka_app_factory, kartoteka_login):
    first = kartoteka_login(kartoteka_app_factory().test_client())
    second = kartoteka_login(kartoteka_app_factory().test_client())
    assert "Dodaj organizację" in show(second, "/organisations/")
    assert reword(first).status_code == 302
    assert "Dodaj jednostkę członkowską" in show(second, "/organisations/")
    assert first.post("/admin/terms/core.organisation/reset").status_code == 302
    assert "Dodaj organizację" in show(second, "/organisations/")


def test_the_export_header_names_the_record_as_the_installation_does(client):
    add_org(client.application, "Gmina Kórnik")
    reword(client, singular=[], plural=[], gender="", en=("member unit", "member units"))
    response = client.get("/organisations/export?format=csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Member unit name" and rows[1][0] == "Gmina Kórnik"
    assert "member-units-" in response.headers["Content-Disposition"]


# --------------------------------------------------------------------- missing forms


def test_missing_forms_are_listed_with_what_pages_show_instead(client):
    reword(client, singular=["jednostka członkowska", "", "jednostce członkowskiej"],
           plural=["jednostki członkowskie"], gender="f")
    listing = show(client, "/admin/terms/?missing=1")
    row = visible(re.search(r'<tr id="term-core.organisation">(.*?)</tr>', listing, re.S)[1])
    assert "Polish: genitive, plural" in row and "Polish: nominative, singular" not in row
    assert "core.person" not in listing
    page = visible(show(client, "/admin/terms/core.organisation"))
    # A feminine noun's locative is its dative; otherwise the nominative of the number.
    assert "Polish: locative, singular — shown instead: jednostce członkowskiej" in page
    assert "Polish: genitive, plural — shown instead: jednostki członkowskie" in page


def test_pages_fall_back_to_the_new_noun_never_to_an_empty_form(client):
    reword(client, singular=["jednostka członkowska"], plural=[], gender="")
    assert "Polish: gender" in visible(show(client, "/admin/terms/?missing=1"))
    client.get("/lang/pl")
    listing = show(client, "/organisations/")
    assert "Brak jednostka członkowska." in listing
    assert "Dodaj jednostka członkowska" in listing
    assert "organizacj" not in listing.split("<main")[1]


@pytest.mark.parametrize("given", [
    {"nom": "jednostka"},
    {"nom": "jednostka", "gen": "jednostki", "ins": "jednostką"},
    {},  # a row written around the checks: the default noun, never a gap
])
@pytest.mark.parametrize("gender", ["", "m1", "m3", "f", "n"])
def test_every_form_is_filled_whatever_an_override_leaves_out(given, gender):
    row = TermOverride(key="core.organisation", locale="pl", singular=given, plural={},
                       gender=gender)
    forms = resolve(ORGANISATION, pl=row).term.pl
    shown = [*forms.singular.values(), *forms.plural.values()]
    assert all(form.strip() for form in shown)
    if given:
        assert not any("organizacj" in form for form in shown)


def test_an_override_of_the_same_noun_takes_the_default_for_the_rest():
    row = TermOverride(key="core.organisation", locale="pl", gender="",
                       singular={"nom": "organizacja", "ins": "organizacyją"}, plural={})
    resolved = resolve(ORGANISATION, pl=row)
    assert resolved.term.pl.singular["ins"] == "organizacyją"
    assert resolved.term.pl.plural["gen"] == "organizacji"
    assert not resolved.has_missing


def test_grammar_fills_the_forms_that_are_the_same_for_a_gender():
    row = TermOverride(key="core.organisation", locale="pl", gender="m1",
                       singular={"nom": "kontrahent", "gen": "kontrahenta"},
                       plural={"nom": "kontrahenci", "gen": "kontrahentów"})
    forms = resolve(ORGANISATION, pl=row).term.pl
    assert forms.singular["acc"] == "kontrahenta" and forms.plural["acc"] == "kontrahentów"


# --------------------------------------------------------------------- the form


def test_preview_shows_how_pages_will_read_without_saving(client):
    page = text(reword(client, action="preview"))
    for phrase in ("Dodaj jednostkę członkowską", "Brak jednostek członkowskich.",
                   "1 jednostka członkowska", "2 jednostki członkowskie",
                   "5 jednostek członkowskich", "22 jednostki członkowskie",
                   "jednostką członkowską"):
        assert phrase in page, phrase
    assert overrides(client.application) == []


def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(client):
    page = text(reword(client, singular=["", "jednostki", "   ", "x" * 101],
                       gender="x", en=("", "member units")))
    assert error_of(page, "pl.singular.nom") == "Enter the nominative singular: the noun itself."
    assert error_of(page, "pl.singular.dat") == \
        "Only spaces: type the form, or leave the field empty."
    assert error_of(page, "pl.singular.acc") == "At most 100 characters."
    assert error_of(page, "pl.gender") == "Choose a gender from the list."
    assert error_of(page, "en.singular.nom") == "Enter the singular."
    assert 'value="jednostki"' in page  # what was typed stays in the form
    assert overrides(client.application) == []


def test_bad_input_is_answered_in_polish_on_a_polish_page(polish):
    page = text(reword(polish, singular=["", "jednostki"]))
    assert error_of(page, "pl.singular.nom") == \
        "Podaj mianownik liczby pojedynczej: sam rzeczownik."


def test_saving_the_default_wording_keeps_no_override_and_reset_restores_it(client):
    reword(client, singular=ORGANISATION.pl.singular.values(),
           plural=ORGANISATION.pl.plural.values(), gender="")
    assert overrides(client.application) == []
    reword(client)
    assert overrides(client.application) == [("core.organisation", "pl")]
    response = client.post("/admin/terms/core.organisation/reset")
    assert flashes(show(client, response.headers["Location"]))[-1] == \
        "The default wording is back."
    assert overrides(client.application) == []
    assert count(client.application, AuditEntry, AuditEntry.action == "term_reset") == 1


def test_plugin_terms_are_listed_with_their_plugin(kartoteka_app_factory, kartoteka_login):
    client = kartoteka_login(kartoteka_app_factory(["training"], default_locale="en")
                             .test_client())
    listing = show(client, "/admin/terms/")
    row = visible(re.search(r'<tr id="term-training.participant">(.*?)</tr>', listing,
                            re.S)[1])
    assert "Training" in row and "uczestnik" in row and "participant" in row
    assert "grants.application" not in listing
    assert client.get("/admin/terms/grants.application").status_code == 404


def test_only_administrators_may_change_terms(app, kartoteka_login):
    with writing(app) as (session, _admin):
        users.create_user(session, "staff@example.com", "staff-password-1")
    staff = kartoteka_login(app.test_client(), "staff@example.com", "staff-password-1")
    assert staff.get("/admin/terms/").status_code == 403
    assert reword(staff).status_code == 403
    assert staff.post("/admin/terms/core.organisation/reset").status_code == 403
    anonymous = app.test_client().get("/admin/terms/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert overrides(app) == []


# --------------------------------------------------------------------- the command


def test_the_command_rewords_lists_and_resets_seen_by_a_running_app(
        cli, kartoteka_app_factory, kartoteka_login):
    running = kartoteka_login(kartoteka_app_factory().test_client())
    assert "Dodaj organizację" in show(running, "/organisations/")

    done = cli("terms", "set", "core.organisation", "--locale", "pl",
               "--singular", ", ".join(UNIT_SINGULAR[:3]) + ", , , ",
               "--plural", ", ".join(UNIT_PLURAL), "--gender", "f")
    assert done.returncode == 0, done.stderr
    assert "core.organisation (pl): jednostka członkowska / jednostki członkowskie" in done.stdout
    assert "missing accusative, singular: shows 'jednostka członkowska'" in done.stdout
    assert "Brak jednostek członkowskich." in show(running, "/organisations/")

    missing = cli("terms", "list", "--missing").stdout
    assert "core.organisation" in missing and "core.person" not in missing
    assert "missing pl locative, singular: shows 'jednostce członkowskiej'" in missing

    assert cli("terms", "reset", "core.organisation").stdout.strip() == \
        "core.organisation: back to the default wording."
    assert "Dodaj organizację" in show(running, "/organisations/")
    listed = cli("terms", "list").stdout
    assert re.search(r"core.organisation\s+organizacja / organisation\n", listed)


def test_the_command_refuses_bad_input_clearly(cli, kartoteka_app_factory):
    kartoteka_app_factory()
    unknown = cli("terms", "set", "core.nothing", "--singular", "coś")
    assert unknown.returncode == 1 and "Unknown term: core.nothing." in unknown.stderr
    short = cli("terms", "set", "core.task", "--singular", "czynność, czynności")
    assert short.returncode == 1
    assert "--singular: 2 forms given; pl takes six forms" in short.stderr
    empty = cli("terms", "set", "core.task", "--singular", " , czynności, , , , ")
    assert empty.returncode == 1
    assert "pl.singular.nom: Enter the nominative singular: the noun itself." in empty.stderr
    long = cli("terms", "set", "core.task", "--locale", "en", "--singular", "x" * 101)
    assert long.returncode == 1 and "en.singular.nom: At most 100 characters." in long.stderr
