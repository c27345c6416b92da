"""The global search box: a results page, and suggestions as the user types."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from core import search
from core.web.db import db

bp = Blueprint("search", __name__, url_prefix="/search")
# The card of each record type (``url_for(CARDS[type], record_id=...)``); tasks and files
# can be added from these.
CARDS = {"organisation": "organisations.card", "person": "people.card", "case": "cases.card"}


def _hits(limit: int):
    text = request.args.get("q", "")[:200]
    return text, search.search(db(), text, current_user, limit=limit)


@bp.get("/")
@login_required
def results():
    text, hits = _hits(50)
    return render_template("core/search/results.html", q=text, hits=hits, cards=CARDS)


@bp.get("/suggest")
@login_required
def suggest():
    """At most eight matches as JSON, for the box in the top bar."""
    _text, hits = _hits(8)
    return jsonify([{"label": h.label, "detail": h.snippet, "type": h.record_type,
                     "url": url_for(CARDS[h.record_type], record_id=h.record_id)}
                    for h in hits])
