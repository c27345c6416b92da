"""``Idempotency-Key`` on POST: a retried call gets the first call's answer.

A POST under /api/v1 with the header claims the key for its caller (the token, or the
account of a session call), method and path, in a transaction of its own committed
before the handler runs, so a duplicate arriving meanwhile finds it and answers 409.
The handler's answer is then kept (status, body, ``Location``, ``ETag``,
``Content-Type``) and a retry with the same query and body gets it again, marked
``Idempotent-Replayed: true``; the same key with another request answers 422.

Only answers that did something are kept (2xx). Every 4xx answer is a refusal
after which nothing was written (the API's handlers roll back what they refuse), and a
5xx answer or an exception is a failure: both release the key, so the call can be
tried again, corrected or not. Keys are kept for 24 hours; a claim left in flight for
10 minutes belonged to a process that died and is taken over by the next call.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core import jobs
from core.api.errors import problem
from core.db import utcnow
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_LENGTH = 255
KEEP = timedelta(hours=24)
STALE = timedelta(minutes=10)
KEPT_HEADERS = ("Location", "ETag", "Content-Type")


def claim():
    """before_request of the API, after ``auth.authenticate``: the claimed key's row is
    left in ``g`` for ``settle``, or an earlier call's answer is given now."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not 0 < len(key) <= MAX_LENGTH:
        return problem(422, _("The data was refused; see the message of each field."), {
            HEADER: _("Give a key of 1 to %(count)s characters.", count=MAX_LENGTH)})
    who = f"token:{g.token.id}" if g.token is not None else f"user:{g.actor.id}"
    fingerprint = _digest(who, request.method, request.path, key)
    sent = _digest(request.query_string.decode("latin-1"), *_sent())
    found = _claim(_rt(), fingerprint, who, sent)
    if isinstance(found, int):
        g.idempotency_key = found
        return None
    return found


def settle(response):
    """after_request: keep the answer of a call that did something, else release."""
    row_id = g.pop("idempotency_key", None)
    if row_id is None:
        return response
    if 200 <= response.status_code < 300:
        headers = {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers}
        with _rt().session() as session, session.begin():
            session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
                status=response.status_code, headers=headers, body=response.get_data()))
    else:
        _release(row_id)
    return response


def release_unsettled(_exc=None) -> None:
    """teardown_request: a call that ended in an exception never reached ``settle``."""
    row_id = g.pop("idempotency_key", None)
    if row_id is not None:
        _release(row_id)


@jobs.every_minute("api.idempotency_keys")
def sweep(rt) -> int:
    """Forget keys older than ``KEEP``."""
    with rt.session() as session, session.begin():
        return session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.created_at < utcnow() - KEEP)).rowcount


# ------------------------------------------------------------------ helpers


def _rt():
    return current_app.extensions["kartoteka"]


def _sent() -> list[str | bytes]:
    """What the request sent: its body, or a form's fields and files (a multipart body's
    boundary is new in each request, so the same upload retried has another body)."""
    if request.mimetype != "multipart/form-data":
        return [request.get_data()]
    parts: list[str | bytes] = [f"{k}={v}" for k, v in sorted(request.form.items(multi=True))]
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        content = hashlib.sha256()
        while chunk := upload.stream.read(1 << 16):
            content.update(chunk)
        upload.stream.seek(0)
        parts += [name, upload.filename or "", content.hexdigest()]
    return parts


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def _claim(rt, fingerprint: str, who: str, sent: str):
    """The new row's id, or the answer a call with a known key gets."""
    for _attempt in range(3):
        with rt.session() as session:
            row = IdempotencyKey(fingerprint=fingerprint, caller=who, request_hash=sent,
                                 created_at=utcnow())
            session.add(row)
            try:
                session.commit()
                return row.id
            except IntegrityError:
                session.rollback()
            found = session.scalar(select(IdempotencyKey).where(
                IdempotencyKey.fingerprint == fingerprint))
            if found is None:
                continue  # released meanwhile
            if not _expired(found):
                return _answer(found, sent)
            # Claimed again below; a caller racing for it finds the new row (a new id).
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == found.id))
            session.commit()
    return _in_flight()


def _expired(row: IdempotencyKey) -> bool:
    age = utcnow() - row.created_at
    return age > KEEP or (row.status is None and age > STALE)


def _answer(row: IdempotencyKey, sent: str):
    if row.request_hash != sent:
        return problem(422, _("The data was refused; see the message of each field."), {
            HEADER: _("This key was used for another request; a new request needs a new "
                      "key.")})
    if row.status is None:
        return _in_flight()
    response = current_app.response_class(row.body, status=row.status, headers=row.headers)
    response.headers[REPLAYED] = "true"
    return response


def _in_flight():
    return problem(409, _("A request with this Idempotency-Key is still being answered; "
                          "try again in a moment."))


def _release(row_id: int) -> None:
    # The failed call's own writes go first: on SQLite they would hold the write lock.
    session = g.get("db")
    if session is not None:
        session.rollback()
    with _rt().session() as own, own.begin():
        own.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))


def document(spec: dict) -> None:
    """Every POST of the OpenAPI document takes the header (``openapi.document``)."""
    spec.setdefault("components", {}).setdefault("parameters", {})["IdempotencyKey"] = {
        "name": HEADER, "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
        "description": (
            "Any unique string (a UUID) to make the call safe to retry: a repeat with the "
            "same key, query and body within 24 hours gets the first answer again, with "
            f"`{REPLAYED}: true`, and does nothing more; while the first is still being "
            "answered, 409; the same key with another request, 422. Keys are the caller's "
            "own (each token's, each account's). An answer of 4xx or 5xx is not kept: the "
            "call can be tried again with the same key.")}
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    problem_json = {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in spec.get("paths", {}).values():
        if "post" in operations:
            operations["post"].setdefault("parameters", []).append(ref)
            answers = operations["post"].setdefault("responses", {})
            answers.setdefault("409", {"description": (
                f"A request with this {HEADER} is still being answered; try again in a "
                "moment."), "content": problem_json})
