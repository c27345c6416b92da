"""The gazetteer and the filter condition "near": records chosen by how far their town
lies from another, on SQLite and PostgreSQL."""

import itertools

import pytest
from sqlalchemy import select

from core import filters, organisations, people, places
from core.errors import ValidationError
from core.models import Case, Organisation, Person, Place

ids = itertools.count(1)


def put(session, name, latitude, longitude, population=1000, principal=True, country="PL"):
    session.add(Place(place_id=next(ids), country=country, name=name,
                      name_key=places.key(name),
                      region_code="", latitude=latitude, longitude=longitude,
                      longitude_km=places.longitude_km(latitude), population=population,
                      principal=principal))


def matching(session, model, condition) -> list[str]:
    query = filters.apply(select(model), model, condition)
    label = (lambda r: r.name) if model is Organisation else (lambda r: r.last_name)
    return sorted(label(r) for r in session.scalars(query))


def test_the_command_line_loads_the_gazetteer_which_measures_real_distances(
        cli, kartoteka_app_factory):
    assert cli("init").returncode == 0
    loaded = cli("places", "load")
    assert loaded.returncode == 0, loaded.stderr
    count = int(loaded.stdout.split()[1])
    assert count > 3000  # every Polish place of 500 people or more
    assert "loaded already" in cli("places", "load", "--if-empty").stdout
    assert cli("places", "load").stdout == loaded.stdout  # replaced, not doubled
    found = cli("places", "find", "Lublin", "Lubartów", "Warszawa", "Bielsko-Biała")
    assert found.returncode == 0 and "23.5 km from Lublin" in found.stdout
    assert "Warsaw  52.2" in found.stdout  # known by its Polish name too
    assert "Bielsko-Biala  49.8" in found.stdout
    missing = cli("places", "find", "Lublin", "Xyzów")
    assert missing.returncode != 0 and "Xyzów: not in the list of places" in missing.stderr

    rt = kartoteka_app_factory().extensions["kartoteka"]
    with rt.session() as s, s.begin():
        assert places.count(s, "pl") == count
        for name, city in (("Gmina Lubartów", "Lubartów"), ("Miasto Zamość", "Zamość"),
                           ("Gmina Kórnik", "Kórnik"), ("Urząd Miasta", "  LUBLIN "),
                           ("Gmina Nieznana", "Xyzów"), ("Bez adresu", ""),
                           ("Urząd m.st.", "Warszawa")):
            organisations.create(s, rt.host, {"name": name, "type_key": "core.company",
                                              "city": city})
    with rt.session() as s:
        def near(km):
            return matching(s, Organisation, {"near": {"town": "Lublin", "km": km}})

        assert near(20) == ["Urząd Miasta"]
        assert near(30) == ["Gmina Lubartów", "Urząd Miasta"]
        assert near(80) == ["Gmina Lubartów", "Miasto Zamość", "Urząd Miasta"]
        assert "Gmina Kórnik" in near(500) and "Gmina Nieznana" not in near(2000)
        assert "Urząd m.st." in near(160) and "Urząd m.st." not in near(140)  # 153 km


@pytest.fixture
def rt(kartoteka_app_factory):
    rt = kartoteka_app_factory().extensions["kartoteka"]
    with rt.session() as s, s.begin():
        put(s, "Poznań", 52.40692, 16.92993, 570_000)
        put(s, "Kórnik", 52.24744, 17.08921)
        put(s, "Mosina", 52.24540, 16.84722)
        put(s, "Łódź", 51.75, 19.46667, 680_000)
        # Two villages of one name: the name means the larger one, near Poznań.
        put(s, "Nowa Wieś", 52.50, 16.90, 2_000)
        put(s, "Nowa Wieś", 50.00, 22.00, 600, principal=False)
    return rt


def test_organisations_by_their_town_and_people_by_any_address(rt):
    with rt.session() as s, s.begin():
        for name, city in (("Gmina Kórnik", "Kórnik"), ("Gmina Mosina", "mosina"),
                           ("Miasto Łódź", "Łódź"), ("Sołectwo", "Nowa Wieś")):
            organisations.create(s, rt.host, {"name": name, "type_key": "core.company",
                                              "city": city})
        people.create(s, {"first_name": "Anna", "last_name": "Dwudomna", "addresses": [
            {"city": "Łódź"}, {"city": "Kórnik"}]})
        people.create(s, {"first_name": "Jan", "last_name": "Łódzki", "addresses": [
            {"city": "Łódź"}]})
        people.create(s, {"first_name": "Ewa", "last_name": "Bezdomna"})
    with rt.session() as s:
        poznan = {"town": "poznań", "km": 25}
        assert matching(s, Organisation, {"near": poznan}) == [
            "Gmina Kórnik", "Gmina Mosina", "Sołectwo"]
        assert matching(s, Person, {"near": poznan}) == ["Dwudomna"]
        assert matching(s, Person, {"not": {"near": poznan}}) == ["Bezdomna", "Łódzki"]
        # From coordinates: Kórnik's, with Mosina 16 km away.
        kornik = {"latitude": 52.24744, "longitude": 17.08921}
        assert matching(s, Organisation, {"near": {**kornik, "km": 10}}) == ["Gmina Kórnik"]
        assert matching(s, Organisation, {"near": {**kornik, "km": 20}}) == [
            "Gmina Kórnik", "Gmina Mosina"]
        assert matching(s, Organisation, {"and": [
            {"near": poznan}, {"field": "name", "op": "contains", "value": "gmina"}]}) == [
            "Gmina Kórnik", "Gmina Mosina"]
        # A town the gazetteer does not know is near nothing, and has nothing near it.
        assert matching(s, Organisation, {"near": {"town": "Xyzów", "km": 2000}}) == []


def test_a_town_is_looked_up_in_the_records_country(rt):
    with rt.session() as s, s.begin():
        put(s, "Lubin", 51.40, 16.20, 70_000)  # in Lower Silesia
        put(s, "Lubin", 53.86, 14.43, 900, country="DE")  # the same name across the border
        for name, country in (("Lubin PL", "PL"), ("Lubin DE", "de"), ("Lubin bez kraju", "")):
            organisations.create(s, rt.host, {"name": name, "type_key": "core.company",
                                              "city": "Lubin", "country": country or "PL"})
            if not country:
                s.flush()
                s.scalars(select(Organisation).where(Organisation.name == name)).one() \
                    .country = ""
    with rt.session() as s:
        assert matching(s, Organisation, {"near": {"town": "Lubin", "km": 5}}) == [
            "Lubin PL", "Lubin bez kraju"]
        assert matching(s, Organisation, {"near": {
            "town": "lubin", "country": "de", "km": 5}}) == ["Lubin DE"]
        assert places.find(s, "Lubin").latitude == 51.40


def test_places_are_found_by_name_and_measured_along_the_earth(rt):
    with rt.session() as s:
        poznan, lodz = places.find(s, " POZNAŃ "), places.find(s, "łódź")
        assert (poznan.name, lodz.name) == ("Poznań", "Łódź")
        assert places.find(s, "Nowa Wieś").latitude == 52.50
        assert places.find(s, "Xyzów") is None
        assert places.distance_km(poznan, lodz) == pytest.approx(188, abs=1)


@pytest.mark.parametrize(("spec", "path", "says"), [
    ({"town": "Poznań"}, "filter.near.km", "Give a number from 0 to 2000"),
    ({"town": "Poznań", "km": 0}, "filter.near.km", "greater than 0"),
    ({"town": "Poznań", "km": "10"}, "filter.near.km", "Give a number"),
    ({"town": "Poznań", "km": True}, "filter.near.km", "Give a number"),
    ({"town": "Poznań", "km": 5000}, "filter.near.km", "from 0 to 2000"),
    ({"town": "Poznań", "km": 10 ** 400}, "filter.near.km", "from 0 to 2000"),
    ({"latitude": 52, "longitude": -(10 ** 400), "km": 5}, "filter.near.longitude", "from"),
    ({"town": "Poznań", "country": "Polska", "km": 5}, "filter.near.country", "two-letter"),
    ({"town": "  ", "km": 5}, "filter.near.town", "Give the name of a town"),
    ({"town": "Poznań", "latitude": 52, "km": 5}, "filter.near", "not both"),
    ({"latitude": 95, "longitude": 17, "km": 5}, "filter.near.latitude", "from -90 to 90"),
    ({"latitude": 52, "km": 5}, "filter.near.longitude", "from -180 to 180"),
    ({"city": "Poznań", "km": 5}, "filter.near", "Give \"km\" and either"),
    ("Poznań", "filter.near", "Give \"km\" and either"),
])
def test_a_bad_near_condition_is_refused_at_its_field(rt, spec, path, says):
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        matching(s, Organisation, {"near": spec})
    assert says in refused.value.errors[path], refused.value.errors


def test_near_is_only_for_records_with_a_town(rt):
    with rt.session() as s, pytest.raises(ValidationError) as refused:
        s.scalars(filters.apply(select(Case), Case, {"near": {"town": "Poznań", "km": 5}}))
    assert "cannot be used" in refused.value.errors["filter.near"]
