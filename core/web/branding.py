"""The branding page (name, accent colour, logo, the portal's welcome) and the logo
itself, which every page's header shows, the login page included."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import branding
from core.errors import ValidationError
from core.web.admin import permission_required
from core.web.db import db

bp = Blueprint("branding", __name__)
# The logo, apart: portal accounts and visitors who are not logged in open it too.
public_bp = Blueprint("branding_public", __name__)


def current() -> branding.Branding:
    """This request's branding, read once."""
    if "branding" not in g:
        g.branding = branding.current(db())
    return g.branding


@bp.route("/settings/branding", methods=["GET", "POST"])
@permission_required(branding.MANAGE)
def edit():
    from flask_login import current_user

    session, errors = db(), {}
    values = current().as_dict()
    if request.method == "POST":
        values = {key: request.form.get(key, "") for key in branding.KEYS}
        try:
            branding.update(session, values, current_user)
            _logo(session, current_user)
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("branding.edit"))
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
    return render_template("core/admin/branding.html", values=values, errors=errors,
                           has_logo=current().logo_type is not None)


def _logo(session, actor) -> None:
    upload = request.files.get("logo")
    if upload is not None and upload.filename:
        branding.set_logo(session, upload.read(), actor)
    elif request.form.get("remove_logo") == "1":
        branding.remove_logo(session, actor)


@public_bp.get("/branding/logo")
def logo():
    """Served to anyone: the login page shows it too."""
    found = branding.logo(db())
    if found is None:
        abort(404)
    content, content_type, digest = found
    response = Response(content, content_type=content_type)
    response.set_etag(digest)
    response.cache_control.public = True
    response.cache_control.max_age = 86400 if request.args.get("v") == digest else 300
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
