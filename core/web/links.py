"""The "Linked records" section of the organisation, person and case cards: the links
of the record, adding one and removing one (``core.links`` decides who may).

The record to link is found by its name: the script offers names as the user types and
sends the one chosen; without script the name typed is looked up when the form is sent,
and when several records answer to it the form asks which. A refused form goes back to
the card with each message next to its field and what was typed (kept in the session
until the card shows it, as the cards' add-a-task form does).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import filters, links, records
from core.errors import Forbidden, ValidationError
from core.terms import term
from core.text import fold
from core.web.db import db
from core.web.forms import form_id

bp = Blueprint("links", __name__, url_prefix="/links")
FORM_KEY = "kartoteka_link_form"  # the session's refused add-a-link form
CHOICES = 10  # records offered when a name answers to several


def _record(record_type: str, record_id: int):
    """The record whose card the form is on, if the user may see it."""
    model = links.types().get(record_type)
    found = records.get(db(), model, record_id, current_user) if model is not None else None
    if found is None:
        abort(404)
    return found


def card_url(record_type: str, record_id: int, **anchor) -> str | None:
    endpoint = links.card_endpoint(record_type)
    return url_for(endpoint, record_id=record_id, **anchor) if endpoint else None


def kind_label(record_type: str) -> str:
    """The term for a kind of record (a plugin's, as it registered it for filters)."""
    key = filters.TERMS.get(record_type, f"core.{record_type}")
    if key in current_app.extensions["kartoteka"].host.terms:
        return term(key).capitalize()
    return record_type


def type_label(link_type: str) -> str:
    """The default link type in the user's language; the others as people typed them."""
    return _("related") if link_type == links.DEFAULT_TYPE else link_type


@bp.post("/<record_type>/<int:record_id>")
@login_required
def add(record_type: str, record_id: int):
    dbs, record = db(), _record(record_type, record_id)
    if not links.may_change(dbs, record, current_user):
        raise Forbidden(_("You may not do this with this record."))
    back = card_url(record_type, record_id, _anchor="links")
    target_type = request.form.get("target_type", "")
    typed = {k: request.form.get(k, "")[:300] for k in ("target_type", "target", "link_type")}
    target_id, candidates, errors = _chosen(dbs, record, target_type, typed["target"])
    if not errors:
        try:
            links.add(dbs, record, target_type, target_id, typed["link_type"], current_user)
            dbs.commit()
            flash(_("Linked."))
            return redirect(back)
        except ValidationError as exc:
            dbs.rollback()
            errors = {"target" if k == "target_id" else k: str(v) for k, v in exc.errors.items()}
    session[FORM_KEY] = {
        "for": _form_for(record),
        "errors": errors,
        "typed": typed,
        "candidates": candidates,
    }
    return redirect(back)


def _chosen(dbs, record, target_type: str, text: str) -> tuple[int | None, list, dict]:
    """The record the form names: the one chosen from the suggestions or the list, else
    the only one (or the only one of exactly that name) the typed name finds. Returns
    (id, records to choose from, errors)."""
    chosen = form_id(request.form.get("target_id"))
    if chosen is not None or target_type not in links.types():
        return chosen, [], {}
    if not text.strip():
        return None, [], {"target": _("Type the name of the record to link.")}
    found = links.find(
        dbs, target_type, text, current_user, limit=CHOICES + 1, exclude=records.ref(record)
    )
    exact = [hit for hit in found if fold(hit[1]).strip() == fold(text).strip()]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0][0], [], {}
    if not found:
        return (
            None,
            [],
            {
                "target": _(
                    "Nothing found for “%(name)s” among the records you may see.", name=text.strip()
                )
            },
        )
    return (
        None,
        [(i, name, detail) for i, name, detail in found[:CHOICES]],
        {"target": _("Several records answer to this name: choose one.")},
    )


@bp.post("/<record_type>/<int:record_id>/<int:link_id>/delete")
@login_required
def remove(record_type: str, record_id: int, link_id: int):
    dbs, record = db(), _record(record_type, record_id)
    row = links.visible_link(dbs, link_id, current_user)
    if row is None or records.ref(record) not in (
        (row.source_type, row.source_id),
        (row.target_type, row.target_id),
    ):
        abort(404)
    links.remove(dbs, record, row, current_user)  # Forbidden: refused, nothing written
    dbs.commit()
    flash(_("The link was removed."))
    return redirect(card_url(record_type, record_id, _anchor="links"))


@bp.get("/find")
@login_required
def find():
    """Records of a kind whose name holds what was typed, as JSON, for the card's form."""
    record_type = request.args.get("type", "")
    exclude = (request.args.get("exclude_type", ""), form_id(request.args.get("exclude_id")) or 0)
    found = links.find(
        db(), record_type, request.args.get("q", "")[:200], current_user, limit=8, exclude=exclude
    )
    return jsonify([{"id": i, "label": name, "detail": detail} for i, name, detail in found])


def _form_for(record) -> str:
    record_type, record_id = records.ref(record)
    return f"{record_type}:{record_id}"


@bp.app_template_global()
def record_links(record) -> dict:
    """What a card's "Linked records" section shows: the links to records the user may
    see, how many others there are, and the add-a-link form (with a refused attempt's
    errors and values, shown once) when the user may edit the record."""
    dbs = db()
    shown, hidden = links.shown(dbs, record, current_user)
    record_type, record_id = records.ref(record)
    state = {"errors": {}, "typed": {}, "candidates": []}
    kept = session.pop(FORM_KEY, None) if FORM_KEY in session else None
    if kept and kept.get("for") == _form_for(record):
        state = kept
    editable = links.may_change(dbs, record, current_user)
    return {
        **state,
        "hidden": hidden,
        "editable": editable,
        "rows": [
            {
                "id": s.link.id,
                "type": type_label(s.link.link_type),
                "kind": kind_label(s.record_type),
                "name": s.name,
                "outgoing": s.outgoing,
                "url": card_url(s.record_type, s.record.id),
                "remove": url_for(
                    "links.remove", record_type=record_type, record_id=record_id, link_id=s.link.id
                ),
            }
            for s in shown
        ],
        "add": url_for("links.add", record_type=record_type, record_id=record_id),
        "kinds": sorted(
            ((key, kind_label(key)) for key in links.types()), key=lambda kind: fold(kind[1])
        )
        if editable
        else [],
        "link_types": [(t, type_label(t)) for t in links.known_types(dbs, current_user)]
        if editable
        else [],
        "record_type": record_type,
        "record_id": record_id,
    }
