"""How many API calls a caller may make: ``api_rate_limit`` per token (Flask-Limiter).

A call is counted for its API token (by the token's SHA-256, never the token), for the
logged-in account when the UI's own scripts call with the session, and for the network
address when it carries neither. The staff pages, the OpenAPI document and its
reference page are never counted. The counts live in this process, or in Redis
(``rate_limit_url``, or ``jobs_url`` when that is Redis) so that every web process of
the installation shares them. A refused call answers 429 as problem+json with
``Retry-After`` and the ``X-RateLimit-*`` headers, which every counted answer carries.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage

from core.api.errors import problem
from core.errors import StartupError

DOCS = "api-docs."  # flask-smorest's blueprint of the OpenAPI document and its page


def init_app(app: Flask, settings) -> Limiter:
    _check(settings)
    limiter = Limiter(
        caller, application_limits=[_limit], application_limits_exempt_when=_not_counted,
        storage_uri=storage_uri(settings), strategy="sliding-window-counter",
        headers_enabled=True, key_prefix="kartoteka",
        # Redis gone: count in this process meanwhile rather than refuse or stop counting.
        in_memory_fallback_enabled=True)
    app.after_request(_retry_after_when_refused)  # runs after Flask-Limiter's own
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:
        raise StartupError(f"Setting rate_limit_url (KARTOTEKA_RATE_LIMIT_URL): {exc}; give "
                           "a redis:// address, or leave it empty") from None
    app.extensions["kartoteka_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _refused)
    return limiter


def restart(app: Flask) -> None:
    """Counts kept in this process start again with a new runtime (``web.app.attach``):
    the test suite runs many installations on one app; Redis counts stay shared."""
    limiter = app.extensions.get("kartoteka_limiter")
    if limiter is not None and isinstance(limiter.storage, MemoryStorage):
        limiter.reset()


def storage_uri(settings) -> str:
    url = settings.rate_limit_url.strip()
    jobs = settings.jobs_url.strip()
    if not url and jobs.startswith(("redis://", "rediss://")):
        url = jobs
    elif not url and jobs.startswith("unix://"):
        url = "redis+" + jobs  # the same socket, as limits names it
    return url or "memory://"


def caller() -> str:
    """Whom a call counts for; the token is checked later, by ``auth.authenticate``."""
    header = request.headers.get("Authorization", "")
    if header:
        token = header.partition(" ")[2].strip()
        return "token:" + hashlib.sha256(token.encode()).hexdigest()
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr or ''}"


def _limit() -> str:
    return current_app.extensions["kartoteka"].settings.api_rate_limit.strip()


def _not_counted() -> bool:
    return not request.path.startswith("/api/") or (request.endpoint or "").startswith(DOCS)


def _refused(error: RateLimitExceeded):
    item = error.limit.limit
    return problem(429, _("Too many calls: at most %(amount)s in %(seconds)s s. Call again "
                          "after the time Retry-After gives.", amount=item.amount,
                          seconds=item.get_expiry()))


def _retry_after_when_refused(response):
    """Flask-Limiter gives every counted answer a Retry-After; it means something only
    when the call was refused (X-RateLimit-Reset says when the window ends)."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _check(settings) -> None:
    try:
        if settings.api_rate_limit.strip():
            parse_many(settings.api_rate_limit.strip())
    except ValueError:
        raise StartupError(f"Setting api_rate_limit (KARTOTEKA_API_RATE_LIMIT): "
                           f"'{settings.api_rate_limit}' is not a limit such as "
                           "'600 per minute' or '10/second;1000/hour'") from None
