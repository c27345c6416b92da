"""``/healthz``: for load balancers and operators; no login, no session."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

import core

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    rt = current_app.extensions["kartoteka"]
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database, code = "ok", 200
    except Exception as exc:  # any failure means unhealthy; say which
        database, code = f"error: {type(exc).__name__}", 503
    body = {"status": "ok" if code == 200 else "error", "version": core.__version__,
            "database": database, "plugins": sorted(rt.host.plugins)}
    return jsonify(body), code
