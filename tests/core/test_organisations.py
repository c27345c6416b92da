"""Organisations: creating, validating, changing, deleting and restoring them, and units."""

import pytest
from sqlalchemy import func, select

from core import organisations, records, timeline
from core.errors import ValidationError
from core.models import Organisation, OrganisationType, OrgUnit

NIP = "7773061579"
REGON = "631258833"


@pytest.fixture
def rt(kartoteka_app_factory):
    return kartoteka_app_factory().extensions["kartoteka"]


def count(rt, model=Organisation) -> int:
    with rt.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def new(session, rt, name="Gmina Kórnik", type_key="core.municipality", **fields):
    return organisations.create(session, rt.host, {"name": name, "type_key": type_key, **fields})


def test_identifiers_typed_in_messy_spellings_are_stored_normalised(rt):
    with rt.session() as session, session.begin():
        org = new(session, rt, "  Gmina Kórnik ", nip="777-306-15-79", regon="631 258 833",
                  krs="KRS 12345", postal_code="62035", phone="600 100 200",
                  email=" Urzad@Kornik.PL ")
    with rt.session() as session:
        org = session.get(Organisation, org.id)
        assert (org.name, org.name_key) == ("Gmina Kórnik", "gmina kornik")
        assert (org.nip, org.regon, org.krs) == (NIP, REGON, "0000012345")
        assert (org.postal_code, org.phone, org.email) == ("62-035", "+48600100200",
                                                          "urzad@kornik.pl")
        assert org.version == 1


def test_every_bad_field_is_reported_at_once_and_nothing_is_written(rt):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        organisations.create(session, rt.host, {
            "name": "   ", "type_key": "core.castle", "nip": "777-306-15-78",
            "email": "urzad@", "owner_id": "the mayor"})
    assert refused.value.errors == {
        "name": "Enter a name.",
        "type_key": "Choose a type from the list.",
        "nip": "The NIP's check digit is wrong: check for a typo.",
        "email": "Not a valid email address.",
        "owner_id": "Not a valid integer.",
    }
    assert count(rt) == 0


def test_an_owner_who_is_no_active_staff_member_is_refused(rt):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        new(session, rt, owner_id=987654)
    assert refused.value.errors == {"owner_id": "Choose an active staff member."}
    assert count(rt) == 0


@pytest.mark.parametrize("smuggled", [
    {"id": 5}, {"deleted_at": "2024-01-01T00:00:00+00:00"}, {"version": 9},
    {"merged_into_id": 1}, {"created_by_id": 1}, {"name_key": "gmina mosina"},
])
def test_fields_a_form_does_not_offer_are_refused_on_create(rt, smuggled):
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        new(session, rt, **smuggled)
    assert refused.value.errors == {next(iter(smuggled)): "Unknown field."}
    assert count(rt) == 0


@pytest.mark.parametrize("smuggled", [{"deleted_at": "2024-01-01T00:00:00+00:00"},
                                      {"version": 9}, {"id": 77}])
def test_fields_a_form_does_not_offer_are_refused_on_update(rt, smuggled):
    with rt.session() as session, session.begin():
        org_id = new(session, rt).id
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"city": "Kórnik", **smuggled})
    assert set(refused.value.errors) == {next(iter(smuggled))}
    with rt.session() as session:
        org = session.get(Organisation, org_id)
        assert (org.id, org.deleted_at, org.version, org.city) == (org_id, None, 1, "")


def test_a_plugin_type_is_accepted_only_while_its_plugin_is_enabled(kartoteka_app_factory):
    court = {"name": "Sąd Rejonowy w Śremie", "type_key": "expertise.court"}
    plain = kartoteka_app_factory().extensions["kartoteka"]
    with plain.session() as session, pytest.raises(ValidationError) as refused:
        organisations.create(session, plain.host, court)
    assert refused.value.errors == {"type_key": "Choose a type from the list."}

    rt = kartoteka_app_factory(["expertise"]).extensions["kartoteka"]
    with rt.session() as session, session.begin():
        org = organisations.create(session, rt.host, court)
    assert org.type_key == "expertise.court"
    assert count(rt) == 1


def test_a_type_an_administrator_added_is_accepted_while_active(rt):
    with rt.session() as session, session.begin():
        session.add(OrganisationType(key="local.school", label_pl="Szkoła", label_en="School"))
        session.add(OrganisationType(key="local.kindergarten", label_pl="Przedszkole",
                                     label_en="Kindergarten", active=False))
    with rt.session() as session, session.begin():
        school = new(session, rt, "Szkoła Podstawowa nr 1 w Kórniku", "local.school")
        assert organisations.types(session, rt.host)["local.school"].label("en") == "School"
        with pytest.raises(ValidationError) as refused:
            new(session, rt, "Przedszkole Słoneczko", "local.kindergarten")
    assert refused.value.errors == {"type_key": "Choose a type from the list."}
    assert school.type_key == "local.school"
    assert count(rt) == 1


def test_an_update_changes_only_the_fields_given(rt):
    with rt.session() as session, session.begin():
        org_id = new(session, rt, nip=NIP, city="Kórnik", email="urzad@kornik.pl").id
    with rt.session() as session, session.begin():
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"city": "Kórnik-Bnin", "postal_code": "62035"})
    with rt.session() as session:
        org = session.get(Organisation, org_id)
        assert (org.name, org.type_key, org.nip, org.email) == (
            "Gmina Kórnik", "core.municipality", NIP, "urzad@kornik.pl")
        assert (org.city, org.postal_code, org.version) == ("Kórnik-Bnin", "62-035", 2)


def test_an_update_with_a_bad_field_changes_nothing(rt):
    with rt.session() as session, session.begin():
        org_id = new(session, rt, city="Kórnik").id
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"city": "Mosina", "name": " ", "regon": "12345"})
    assert refused.value.errors == {"name": "Enter a name.",
                                    "regon": "The REGON must have 9 or 14 digits."}
    with rt.session() as session:
        org = session.get(Organisation, org_id)
        assert (org.name, org.city, org.version) == ("Gmina Kórnik", "Kórnik", 1)


def test_saving_over_someone_elses_change_is_refused(rt):
    with rt.session() as session, session.begin():
        org_id = new(session, rt).id
    with rt.session() as session:
        seen_version = session.get(Organisation, org_id).version  # the form is opened
    with rt.session() as session, session.begin():  # a colleague saves first
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"city": "Kórnik"}, expected_version=seen_version)
    with rt.session() as session, session.begin(), pytest.raises(ValidationError) as refused:
        organisations.update(session, rt.host, session.get(Organisation, org_id),
                             {"city": "Mosina"}, expected_version=seen_version)
    assert set(refused.value.errors) == {"version"}
    with rt.session() as session:
        org = session.get(Organisation, org_id)
        assert (org.city, org.version) == ("Kórnik", seen_version + 1)


def test_a_deleted_organisation_is_hidden_and_comes_back_with_its_timeline(rt):
    with rt.session() as session, session.begin():
        org = new(session, rt)
        other = new(session, rt, "Gmina Mosina")
        timeline.add(session, "meeting", "Spotkanie z wójtem", [org])
    with rt.session() as session, session.begin():
        records.soft_delete(session, session.get(Organisation, org.id))
    with rt.session() as session:
        assert records.get(session, Organisation, org.id) is None
        assert session.scalars(records.visible(Organisation)).all() == [
            session.get(Organisation, other.id)]
        assert records.get(session, Organisation, org.id, include_deleted=True).is_deleted
    with rt.session() as session, session.begin():
        records.restore(session, records.get(session, Organisation, org.id,
                                             include_deleted=True))
    with rt.session() as session:
        restored = records.get(session, Organisation, org.id)
        assert restored is not None and not restored.is_deleted
        assert [a.subject for a in timeline.timeline(session, restored)] == [
            "Spotkanie z wójtem"]
        assert len(session.scalars(records.visible(Organisation)).all()) == 2


def test_units_nest_inside_their_organisation(rt):
    with rt.session() as session, session.begin():
        org = new(session, rt, "Starostwo Powiatowe w Poznaniu", "core.county")
        department = organisations.add_unit(session, org, " Wydział Oświaty ")
        office = organisations.add_unit(session, org, "Referat Szkół", parent=department)
        assert (department.name, department.parent_id) == ("Wydział Oświaty", None)
        assert (office.organisation_id, office.parent_id) == (org.id, department.id)
    with rt.session() as session:
        org = session.get(Organisation, org.id)
        assert [u.name for u in org.units] == ["Referat Szkół", "Wydział Oświaty"]


def test_a_unit_of_another_organisation_is_refused_as_parent(rt):
    with rt.session() as session, session.begin():
        org = new(session, rt)
        other = new(session, rt, "Gmina Mosina")
        foreign = organisations.add_unit(session, other, "Sekretariat")
        with pytest.raises(ValidationError) as refused:
            organisations.add_unit(session, org, "Kancelaria", parent=foreign)
        assert set(refused.value.errors) == {"parent"}
        with pytest.raises(ValidationError) as unnamed:
            organisations.add_unit(session, org, "  ")
        assert unnamed.value.errors == {"name": "Enter a name."}
    assert count(rt, OrgUnit) == 1
