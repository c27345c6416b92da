"""The photovoltaics plugin's commands: ``kartoteka photovoltaics ...``.

``plan-queues`` queues the new leads by the rules and plans every rep's calls and
meetings for the coming days (PV-6, ``queue_planning``); an operator runs it each
morning, or cron does. It writes as the web application does, in the installation's
language (the meetings' titles in the reps' calendars, say).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

import click

from core.errors import KartotekaError, ValidationError
from core.filters import today


@click.group("photovoltaics")
def group():
    """The photovoltaic installer's work: the sales queues."""


@group.command("plan-queues")
@click.option("--days", default=5, show_default=True, type=click.IntRange(1, 31),
              help="How many days to plan.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The first day planned, YYYY-MM-DD; today when left out.")
def plan_queues(days: int, start: datetime | None):
    """Queue new leads by the rules and plan each rep's calls and meetings."""
    from plugins.photovoltaics import queue_planning, queues

    with _installation() as rt, rt.session() as session, session.begin():
        try:
            made = queue_planning.plan(session, start.date() if start else today(), days)
        except ValidationError as exc:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in
                                                  exc.errors.items())) from exc
        for line in _summary(session, queues, made):
            click.echo(line)


def _summary(session, queues, made) -> list[str]:
    lines = [f"Leads queued: {made.enqueued}; not taken by any rule: {made.unmatched}."]
    for rep in queues.reps(session):
        mine = [e for e in made.planned if e.rep_id == rep.id]
        calls = sum(1 for e in mine if e.kind == "call")
        lines.append(f"{queues.rep_name(session, rep)}: calls {calls}, "
                     f"meetings {len(mine) - calls}.")
    for reason, count in made.unplanned.items():
        lines.append(f"Left in the queue ({reason}): {count}.")
    return lines


@contextmanager
def _installation():
    """The running installation, inside a request in its language."""
    from core.web import create_app

    try:
        app = create_app()
    except KartotekaError as exc:
        raise click.ClickException(str(exc)) from exc
    with app.test_request_context():
        yield app.extensions["kartoteka"]
