"""Saving a list's filter as a segment, and deleting one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import records, segments
from core.errors import ValidationError
from core.web import listing
from core.web.db import db

bp = Blueprint("segments", __name__, url_prefix="/segments")
LISTS = {"organisation": ("organisations.index", ("type_key",)), "person": ("people.index", ())}


@bp.post("/")
@login_required
def save():
    """Save the filter the list was showing (its search and choices) under a name: read
    from the same fields, and turned into a filter the same way, as the list's."""
    record_type = request.form.get("record_type", "")
    if record_type not in LISTS:
        abort(404)
    endpoint, extra = LISTS[record_type]
    session = db()
    model = records.record_types()[record_type]
    shown = listing.list_filter(session, model, request.form, extra)
    if shown.errors:  # the list says what is wrong next to each filter
        flash(_("The segment was not saved: correct the filters first."), "error")
        return redirect(url_for(endpoint, **shown.args()))
    try:
        segment = segments.save(session, request.form.get("name", ""), record_type,
                                shown.filter or {"and": []}, current_user,
                                shared=request.form.get("shared") == "1")
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for(endpoint, **shown.args()))
    flash(_("Saved."))
    return redirect(url_for(endpoint, segment=segment.id))


@bp.post("/<int:segment_id>/delete")
@login_required
def delete(segment_id: int):
    session = db()
    segment = segments.get(session, segment_id, current_user)
    if segment is None:
        abort(404)
    endpoint = LISTS.get(segment.record_type, ("home.index",))[0]
    try:
        segments.delete(session, segment, current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(url_for(endpoint))
