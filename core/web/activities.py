"""Adding a note, call or meeting to a record's timeline from its card."""

from flask import flash, redirect, request
from flask_login import current_user

from core import timeline
from core.errors import ValidationError
from core.web.db import db


def add_from_form(record, back: str):
    session = db()
    try:
        timeline.add(session, request.form.get("kind", "note"), request.form.get("subject", ""),
                     [record], body=request.form.get("body", ""), actor=current_user)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for message in exc.errors.values():
            flash(message, "error")
    return redirect(back)
