"""Card-index benchmark: a generated installation and the queries staff wait for.

Sizes follow the records issue (100k organisations, 1M people, 5M activities) times
``KARTOTEKA_BENCH_SCALE`` (default 1.0; 0.1 for a quick run). Data is written in bulk
(it is the subject of the measurement, not its path); each scenario then runs many
times and reports p50/p95 in milliseconds.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

import search_and_counts
from sqlalchemy import insert, select, text

from core import migrate, timeline
from core.db import make_engine, make_sessionmaker, utcnow
from core.models import Activity, ActivityLink, Membership, Organisation, Person
from core.text import name_key

SCALE = float(os.environ.get("KARTOTEKA_BENCH_SCALE", "1.0"))
ORGS, PEOPLE_PER_ORG, ACTIVITIES_PER_PERSON = int(100_000 * SCALE), 10, 5
CITIES = ["Poznań", "Kórnik", "Gniezno", "Śrem", "Kalisz", "Konin", "Piła", "Leszno"]
TYPES = ["core.municipality", "core.county", "core.company", "core.foundation"]
SEGMENTS = ["A", "B", "C", "D", "E"]
WORDS = ["Zielona", "Wielka", "Nowa", "Stara", "Górna", "Dolna", "Polna", "Leśna", "Bursztyn",
         "Sokół", "Orzeł", "Dąb", "Lipa", "Wrzos", "Jantar", "Kłos"]
BATCH = 10_000
# Surnames of the generated people (bench/search_and_counts.py sets real ones).
PERSON_SURNAMES = WORDS
FIRST_NAMES = ["Anna", "Jan", "Ewa", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Paweł",
               "Agnieszka", "Krzysztof", "Monika", "Michał"]
SURNAMES = ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
            "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
            "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski"]


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(len(ordered) * 0.95) - 1], 2)}


def timed(fn, repeat: int) -> dict:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def generate(engine, rng: random.Random) -> dict:
    """Fill an empty, migrated database; returns how long each part took."""
    took, now = {}, utcnow()
    start = time.perf_counter()
    with engine.begin() as conn:
        rows = []
        for i in range(1, ORGS + 1):
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
            rows.append({"id": i, "name": name, "name_key": name_key(name), "short_name": "",
                         "type_key": rng.choice(TYPES), "city": rng.choice(CITIES),
                         "custom": {"segment": rng.choice(SEGMENTS),
                                    "members": rng.randint(1, 500)},
                         **_blank_org(now)})
            if len(rows) == BATCH:
                conn.execute(insert(Organisation), rows)
                rows = []
        if rows:
            conn.execute(insert(Organisation), rows)
    took["organisations_s"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    with engine.begin() as conn:
        people, members = [], []
        for pid in range(1, ORGS * PEOPLE_PER_ORG + 1):
            first, last = rng.choice(["Anna", "Jan", "Ewa", "Piotr"]), rng.choice(PERSON_SURNAMES)
            people.append({"id": pid, "first_name": first, "last_name": last,
                           "name_key": name_key(f"{first} {last}"), **_blank_person(now)})
            members.append({"person_id": pid, "organisation_id": (pid - 1) // PEOPLE_PER_ORG + 1,
                            "role": "", "start_date": None, "end_date": None})
            if len(people) == BATCH:
                conn.execute(insert(Person), people)
                conn.execute(insert(Membership), members)
                people, members = [], []
        if people:
            conn.execute(insert(Person), people)
            conn.execute(insert(Membership), members)
    took["people_s"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    with engine.begin() as conn:
        acts, links, aid = [], [], 0
        for pid in range(1, ORGS * PEOPLE_PER_ORG + 1):
            org_id = (pid - 1) // PEOPLE_PER_ORG + 1
            for _ in range(ACTIVITIES_PER_PERSON):
                aid += 1
                when = now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
                acts.append({"id": aid, "kind": "note", "event": "", "subject": "Notatka",
                             "body": "", "occurred_at": when, "created_at": when,
                             "created_by_id": None, "data": {}})
                links.append({"activity_id": aid, "record_type": "person", "record_id": pid,
                              "occurred_at": when})
                links.append({"activity_id": aid, "record_type": "organisation",
                              "record_id": org_id, "occurred_at": when})
            if len(acts) >= BATCH:
                conn.execute(insert(Activity), acts)
                conn.execute(insert(ActivityLink), links)
                acts, links = [], []
        if acts:
            conn.execute(insert(Activity), acts)
            conn.execute(insert(ActivityLink), links)
    took["activities_s"] = round(time.perf_counter() - start, 1)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Rows were written with their ids: move the id sequences past them.
            for table in ("organisations", "people", "memberships", "activities"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return took


def _blank_org(now) -> dict:
    return {"nip": "", "regon": "", "krs": "", "email": "", "phone": "", "website": "",
            "street": "", "postal_code": "", "region": "wielkopolskie", "country": "PL",
            "notes": "", "owner_id": None, "merged_into_id": None, "created_at": now,
            "updated_at": now, "deleted_at": None, "version": 1, "created_by_id": None,
            "updated_by_id": None}


def _blank_person(now) -> dict:
    return {"pesel": "", "notes": "", "owner_id": None, "merged_into_id": None,
            "created_at": now, "updated_at": now, "deleted_at": None, "version": 1,
            "custom": {}, "created_by_id": None, "updated_by_id": None}


def scenarios(engine, rng: random.Random) -> dict:
    Session = make_sessionmaker(engine)
    results = {}
    with Session() as session:
        busiest = session.scalar(select(Organisation).where(Organisation.id == 1))
        person = session.get(Person, 1)

        def list_page():
            segment = Organisation.custom["segment"].as_string()
            session.scalars(select(Organisation).where(Organisation.deleted_at.is_(None),
                                                       segment == rng.choice(SEGMENTS))
                            .order_by(Organisation.name_key, Organisation.id).limit(50)).all()

        def person_timeline():
            timeline.timeline(session, session.get(Person, rng.randint(1, ORGS * 10)))

        def organisation_timeline_with_people():
            timeline.timeline(session, session.get(Organisation, rng.randint(1, ORGS)),
                              include_people=True)

        results["list_50_by_custom_field_sorted_ms"] = timed(list_page, 200)
        results["timeline_person_50_newest_ms"] = timed(person_timeline, 200)
        results["timeline_organisation_with_people_ms"] = timed(
            organisation_timeline_with_people, 200)
        assert busiest is not None and person is not None
    return results


def run(database_url: str) -> dict:
    engine = make_engine(database_url)
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    rng = random.Random(42)
    result = {"scale": SCALE, "organisations": ORGS, "people": ORGS * PEOPLE_PER_ORG,
              "activities": ORGS * PEOPLE_PER_ORG * ACTIVITIES_PER_PERSON}
    result.update(generate(engine, rng))
    result.update(scenarios(engine, rng))
    result.update(search_and_counts.run(engine, rng, timed))
    engine.dispose()
    return result
