"""The installation's branding through the API: its name, accent colour, the portal's
welcome and the logo, as on the page /settings/branding.

Everything here needs the ``core.manage_settings`` permission (403 otherwise) and goes
through ``core.branding``: a refused value answers 422 with a message for its field and
changes nothing. The logo is sent as the image itself (``PUT`` with the image's
content type) and is served to anyone at ``/branding/logo``.
"""

from __future__ import annotations

import functools

from flask import request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from core import branding
from core.api.auth import actor
from core.api.errors import problem, refused
from core.errors import Forbidden, ValidationError
from core.web.db import db

NEEDS = "Needs the core.manage_settings permission."


class BrandingSchema(Schema):
    """How the installation presents itself on every page and in the portal."""

    name = fields.String(allow_none=True, metadata={
        "description": f"Shown in the header and the window title; at most "
                       f"{branding.MAX_NAME} characters; empty: Kartoteka.",
        "example": "Związek Gmin Wielkopolskich"})
    accent = fields.String(allow_none=True, metadata={
        "description": "Buttons' and links' colour as #rrggbb; refused when white text on "
                       "it would be hard to read (contrast under 4.5:1); empty: the "
                       "default.", "example": "#1f5fbf"})
    portal_welcome = fields.String(allow_none=True, metadata={
        "description": f"Shown on the portal's start page; an empty line starts a new "
                       f"paragraph; at most {branding.MAX_WELCOME} characters."})
    logo_url = fields.Function(lambda b: _logo_url(b), dump_only=True, metadata={
        "type": "string", "nullable": True,
        "description": "Where the logo is served, or null when there is none."})


def _logo_url(found: branding.Branding) -> str | None:
    if found.logo_type is None:
        return None
    return url_for("branding_public.logo", v=found.logo_version, _external=True)


def blueprints() -> list[Blueprint]:
    bp = Blueprint("api_branding", __name__, url_prefix="/settings",
                   description="Branding: the installation's name, colour, logo and the "
                               "portal's welcome")

    @bp.route("/branding")
    class Settings(MethodView):
        decorators = [_managers_only]

        @bp.response(200, BrandingSchema)
        @bp.alt_response(403, description=NEEDS)
        def get(self):
            """The branding as it is."""
            return branding.current(db())

        @bp.arguments(BrandingSchema(partial=True))
        @bp.response(200, BrandingSchema)
        @bp.alt_response(403, description=NEEDS)
        @bp.alt_response(422, description="Field-level errors: a colour too light...")
        def patch(self, data):
            """Change the settings sent; an empty or null value returns one to its
            default."""
            session = db()
            try:
                found = branding.update(session, data, actor())
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            session.commit()
            return found

    @bp.route("/branding/logo")
    class Logo(MethodView):
        decorators = [_managers_only]

        @bp.doc(requestBody={"required": True, "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in branding.LOGO_FORMATS.values()}})
        @bp.response(200, BrandingSchema)
        @bp.alt_response(403, description=NEEDS)
        @bp.alt_response(415, description="Not sent as image/png, image/jpeg or image/webp.")
        @bp.alt_response(422, description="Not such an image, over 512 KB or 2000 pixels.")
        def put(self):
            """Replace the logo with the image sent as the request's body."""
            if request.mimetype not in branding.LOGO_FORMATS.values():
                return problem(415, _("Send the logo as image/png, image/jpeg or "
                                      "image/webp."))
            session = db()
            try:
                found = branding.set_logo(session, request.get_data(), actor())
            except ValidationError as exc:
                session.rollback()
                return refused(exc.errors)
            session.commit()
            return found

        @bp.response(204)
        @bp.alt_response(403, description=NEEDS)
        def delete(self):
            """Remove the logo; the header shows the name alone."""
            session = db()
            branding.remove_logo(session, actor())
            session.commit()

    return [bp]


def _managers_only(view):
    @functools.wraps(view)
    def checked(*args, **kwargs):
        try:
            branding.require(actor())
        except Forbidden as exc:
            return problem(403, str(exc))
        return view(*args, **kwargs)

    return checked
