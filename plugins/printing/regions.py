"""The voivodeship a customer organisation is in, for the reps' sales picture by region.

The core keeps an organisation's ``region`` as typed (imports fill it from a
"Województwo" column) and its ``city``, which the gazetteer (``core.places``) knows with
its GeoNames region code. The region typed wins when it names a voivodeship; otherwise
the city's place says; an organisation abroad is "abroad", and one neither tells is
"not known".
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import places
from core.models import Organisation, Place
from core.text import fold
from core.workflow import localised

ABROAD = "abroad"
UNKNOWN = "unknown"
# key (the Polish name, folded), GeoNames admin1 code, Polish and English names
VOIVODESHIPS = (
    ("dolnoslaskie", "72", "dolnośląskie", "Lower Silesian"),
    ("kujawsko-pomorskie", "73", "kujawsko-pomorskie", "Kuyavian-Pomeranian"),
    ("lodzkie", "74", "łódzkie", "Łódź"),
    ("lubelskie", "75", "lubelskie", "Lublin"),
    ("lubuskie", "76", "lubuskie", "Lubusz"),
    ("malopolskie", "77", "małopolskie", "Lesser Poland"),
    ("mazowieckie", "78", "mazowieckie", "Masovian"),
    ("opolskie", "79", "opolskie", "Opole"),
    ("podkarpackie", "80", "podkarpackie", "Subcarpathian"),
    ("podlaskie", "81", "podlaskie", "Podlaskie"),
    ("pomorskie", "82", "pomorskie", "Pomeranian"),
    ("slaskie", "83", "śląskie", "Silesian"),
    ("swietokrzyskie", "84", "świętokrzyskie", "Holy Cross"),
    ("warminsko-mazurskie", "85", "warmińsko-mazurskie", "Warmian-Masurian"),
    ("wielkopolskie", "86", "wielkopolskie", "Greater Poland"),
    ("zachodniopomorskie", "87", "zachodniopomorskie", "West Pomeranian"),
)
KEYS = tuple(v[0] for v in VOIVODESHIPS) + (ABROAD, UNKNOWN)
_BY_CODE = {code: key for key, code, _pl, _en in VOIVODESHIPS}
_NAMES = {key: {"pl": pl, "en": en} for key, _code, pl, en in VOIVODESHIPS}
_SPELLINGS = {spelling: key for key, _code, pl, en in VOIVODESHIPS
              for spelling in (key, fold(pl), fold(en))}
_NOISE = {"wojewodztwo", "woj", "voivodeship", "province"}


def name(key: str) -> str:
    """A region's name in the request's language."""
    if key == ABROAD:
        return _("abroad")
    if key == UNKNOWN:
        return _("not known")
    return localised(_NAMES[key]) if key in _NAMES else key


def named(text: str) -> str | None:
    """The voivodeship a typed region names: "Województwo Wielkopolskie", "wielkopolskie",
    "Greater Poland"; None for anything else."""
    words = re.sub(r"[.,;]", " ", fold(text or "")).split()
    spelled = " ".join(word for word in words if word not in _NOISE)
    return _SPELLINGS.get(spelled)


def of_organisations(session: Session, ids) -> dict[int, str]:
    """Organisation id -> the key of its region (a voivodeship, ABROAD or UNKNOWN)."""
    ids = set(ids) - {None}
    if not ids:
        return {}
    found, towns = {}, {}
    for org_id, region, city, country in session.execute(
            select(Organisation.id, Organisation.region, Organisation.city,
                   Organisation.country).where(Organisation.id.in_(ids))):
        country = (country or places.COUNTRY).upper()
        if country != places.COUNTRY:
            found[org_id] = ABROAD
        elif key := named(region):
            found[org_id] = key
        elif town := places.key(city):
            towns[org_id] = town
        else:
            found[org_id] = UNKNOWN
    codes = _region_codes(session, set(towns.values()))
    for org_id, town in towns.items():
        found[org_id] = _BY_CODE.get(codes.get(town)) or UNKNOWN
    return found


def _region_codes(session: Session, towns: set[str]) -> dict[str, str]:
    """Town (as ``places.key`` gives it) -> the region code of the place it means in
    Poland, as ``places.find`` chooses it (the principal one, the first loaded), all in
    one query."""
    if not towns:
        return {}
    codes: dict[str, str] = {}
    for town, code in session.execute(
            select(Place.name_key, Place.region_code).where(
                Place.name_key.in_(towns), Place.principal.is_(True),
                Place.country == places.COUNTRY).order_by(Place.id)):
        codes.setdefault(town, code)
    return codes
