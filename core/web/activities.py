"""A record's timeline on its card: adding a note, call or meeting, and reading the
history a page at a time, perhaps only of some kinds (``?kind=call&before=<id>``)."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from core import timeline
from core.errors import ValidationError
from core.models import Activity
from core.web.db import db
from core.web.forms import form_id

TIMELINE_PAGE = 50  # entries a card shows at once; "older entries" shows the next ones


def add_from_form(record, back: str, about: list | None = None):
    """Add what the card's quick add posted to ``record``'s timeline; ``about``: the
    records it belongs on when more than that one (a case and its organisation)."""
    session = db()
    try:
        timeline.add(session, request.form.get("kind", "note"), request.form.get("subject", ""),
                     about or [record], body=request.form.get("body", ""), actor=current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(back)


def card_timeline(session, record, endpoint: str, include_people: bool = False,
                  keep: dict | None = None, **path) -> dict:
    """A page of ``record``'s timeline as the query string asks (its kinds, entries
    before one), for the card at ``endpoint`` (``path``: its URL's values; ``keep``:
    other query values the card's links must carry, such as ``people=1``).

    Returns ``activities`` and ``timeline_nav``, what the filter form and the paging
    links (``core/_timeline_nav.html``) need.
    """
    kinds = [k for k in dict.fromkeys(request.args.getlist("kind")) if k in timeline.KIND_LABELS]
    before_id = form_id(request.args.get("before"))
    before = session.get(Activity, before_id) if before_id is not None else None
    found = timeline.timeline(session, record, include_people=include_people,
                              kinds=kinds or None, before=before, limit=TIMELINE_PAGE + 1,
                              actor=current_user)
    shown = list(found[:TIMELINE_PAGE])
    keep = {k: v for k, v in (keep or {}).items() if v not in (None, "")}
    args = {**path, **keep, "kind": kinds or None}
    return {"activities": shown, "timeline_nav": {
        "action": url_for(endpoint, **path), "hidden": keep, "kinds": kinds,
        "options": [(key, str(label)) for key, label in timeline.KIND_LABELS.items()],
        "older": url_for(endpoint, **args, before=shown[-1].id, _anchor="history")
        if len(found) > TIMELINE_PAGE else None,
        "newest": url_for(endpoint, **args, _anchor="history") if before is not None else None,
    }}
