"""Who is calling the API: a Bearer token, or the staff session of the UI's own calls.

Token calls need no CSRF token (a browser never sends the header by itself); calls
riding on the session cookie do, for every method that changes something.
"""

from __future__ import annotations

import functools

from flask import abort, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError as CSRFError

from core import permissions, tokens
from core.api.errors import problem
from core.web.db import db

SAFE = ("GET", "HEAD", "OPTIONS")


def authenticate():
    """before_request of the API: sets ``g.actor`` or answers 401/400."""
    if request.endpoint and request.endpoint.startswith("api-docs."):
        return None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        found = tokens.authenticate(db(), token.strip()) if scheme.lower() == "bearer" \
            else None
        if found is None:
            return problem(401, _("The API token is unknown, expired or revoked."),
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.actor, g.token = found
        permissions.limit_to(g.actor, g.token.scopes)
        return None
    if current_user.is_authenticated:
        if request.method not in SAFE:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except CSRFError:
                return problem(400, _("Calls made with the session need the X-CSRFToken "
                                      "header."))
        g.actor, g.token = current_user._get_current_object(), None
        return None
    return problem(401, _("Give an API token: Authorization: Bearer <token>."),
                   headers={"WWW-Authenticate": "Bearer"})


def actor():
    return g.actor


def staff_only(view):
    """A resource of the staff's alone (links, price lists, calculations): a portal
    account finds nothing there (404)."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if permissions.grants(actor(), db()).portal_organisation is not None:
            abort(404)
        return view(*args, **kwargs)

    return checked
