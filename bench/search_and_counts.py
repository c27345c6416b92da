"""Search-as-you-type and list-count benchmark on the generated card index.

``bench/records.py`` generates the card index and calls ``run`` (``enrich``, then
``scenarios``) from here. ``enrich`` gives organisations a NIP and every tenth person an
e-mail, so that the typed queries below find identifiers and e-mail fragments as well
as names.

Alone, ``python bench/search_and_counts.py [--sqlite PATH] [--postgres URL] [--reuse]``
generates organisations and people without activities (search and counting do not
read them) at KARTOTEKA_BENCH_SCALE, prints the figures and writes them to
bench/results/search_and_counts.json. PostgreSQL is measured when --postgres or
KARTOTEKA_BENCH_POSTGRES_URL names a database (schema bench_search); --reuse keeps a
database that was generated before.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select, text

from core import counting, filters, records, search
from core.models import ContactPoint, Organisation, Person
from core.text import fold

HERE = Path(__file__).resolve().parent
# What people type into the box: one to three letters, a surname being typed, a first
# name and the start of a surname, an e-mail fragment, a NIP (its start, and whole as
# printed), a word that matches nothing.
QUERIES = ["k", "ko", "kow", "kowal", "nowak", "jan kow", "anna now", "zielona", "poz",
           "anna.nowak", "example.pl", "5250001", "525-000-12-34", "xyz"]
EMAIL_EVERY = 10
# The commonest Polish surnames, for the generated people (the card-index benchmark
# gives them words instead).
SURNAMES = ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
            "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
            "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski"]
LIMIT = 20


def enrich(engine) -> dict:
    """NIPs for all organisations, e-mails for every tenth person (through the triggers)."""
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE organisations SET nip = CAST(5250000000 + id AS VARCHAR)"))
        rows = conn.execute(select(Person.id, Person.first_name, Person.last_name)
                            .where(Person.id % EMAIL_EVERY == 0)).all()
        for at in range(0, len(rows), 10_000):
            conn.execute(insert(ContactPoint), [
                {"person_id": pid, "kind": "email", "label": "", "is_primary": True,
                 "value": f"{fold(first)}.{fold(last)}{pid}@example.pl"}
                for pid, first, last in rows[at:at + 10_000]])
        conn.execute(text("ANALYZE"))
    return {"enrich_s": round(time.perf_counter() - start, 1)}


def run(engine, rng: random.Random, timed) -> dict:
    """Called by bench/records.py on its card index, after its other scenarios."""
    from core.db import make_sessionmaker

    figures = enrich(engine)
    with make_sessionmaker(engine)() as session:
        figures.update(scenarios(session, rng, timed))
    return figures


def scenarios(session, rng: random.Random, timed) -> dict:
    """p50/p95 (ms) of each typed query, of a mix of them, and of the counts lists show."""
    results = {}
    for typed in QUERIES:
        results[f"search {typed!r} ms"] = timed(
            lambda typed=typed: search.search(session, typed, limit=LIMIT), 50)
    results["search mixed 1-5 letters ms"] = timed(
        lambda: search.search(session, rng.choice(QUERIES[:7])[:rng.randint(1, 5)],
                              limit=LIMIT), 200)
    for model, typed in ((Organisation, "zielona"), (Person, "nowak")):
        name = model.__tablename__
        whole = records.visible(model)
        searched = filters.apply(whole, model, {"and": [
            {"field": "name", "op": "contains", "value": typed}]})
        for label, query in ((f"count {name} list", whole),
                             (f"count {name} list searched '{typed}'", searched)):
            results[f"{label} ms"] = timed(lambda q=query: counting.count(session, q), 20)
            shown = counting.count(session, query)
            results[f"{label} shows"] = f"{shown.kind} {shown.value}"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", help="SQLite file (default: a temporary one)")
    parser.add_argument("--postgres", default=os.environ.get("KARTOTEKA_BENCH_POSTGRES_URL"))
    parser.add_argument("--reuse", action="store_true",
                        help="keep a database that already holds the card index")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import records as card_index

    card_index.ACTIVITIES_PER_PERSON = 0
    card_index.PERSON_SURNAMES = SURNAMES
    urls = {"sqlite": f"sqlite:///{args.sqlite or Path(tempfile.mkdtemp()) / 'search.db'}"}
    if args.postgres:
        urls["postgresql"] = _schema(args.postgres, args.reuse)
    figures = {name: measure(url, card_index) for name, url in urls.items()}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "search_and_counts.json").write_text(json.dumps(figures, indent=2,
                                                           ensure_ascii=False))
    print(json.dumps(figures, indent=2, ensure_ascii=False))


def measure(url: str, card_index) -> dict:
    from core import migrate
    from core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    rng = random.Random(42)
    with engine.connect() as conn:
        present = conn.scalar(select(Organisation.id).limit(1)) is not None
    figures = {"scale": card_index.SCALE}
    if not present:
        figures.update(card_index.generate(engine, rng))
        figures.update(enrich(engine))
    with make_sessionmaker(engine)() as session:
        figures["organisations"] = session.scalar(text("SELECT count(*) FROM organisations"))
        figures["people"] = session.scalar(text("SELECT count(*) FROM people"))
        figures.update(scenarios(session, rng, card_index.timed))
    engine.dispose()
    return figures


def _schema(url: str, reuse: bool) -> str:
    """The schema bench_search of the database, emptied unless it is to be reused."""
    from run import fresh_schema
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from core.db import normalise_url

    if not reuse:
        return fresh_schema(url, "bench_search")
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench_search"))
    engine.dispose()
    return make_url(normalise_url(url)).update_query_dict(
        {"options": "-csearch_path=bench_search"}).render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
