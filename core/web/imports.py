"""The import wizard: upload a file, map its columns, preview, then import or try."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import fields as custom_fields
from core import importing, organisations
from core.errors import KartotekaError, ValidationError
from core.web.db import db
from core.web.i18n import current_locale

bp = Blueprint("imports", __name__, url_prefix="/import")
TYPES = ("organisation", "person")
POLICIES = ("skip", "update", "create")


def _folder() -> Path:
    folder = current_app.extensions["kartoteka"].settings.instance / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload(token: str) -> tuple[Path, dict]:
    """The uploaded file and what we know of it; only its uploader may use it."""
    if not token.isalnum():
        abort(404)
    meta_path = _folder() / f"{token}.json"
    if not meta_path.exists():
        abort(404)
    meta = json.loads(meta_path.read_text())
    if meta["user_id"] != current_user.id:
        abort(404)
    return _folder() / meta["stored"], meta


@bp.route("/", methods=["GET", "POST"])
@login_required
def start():
    if request.method == "GET":
        return render_template("core/import/start.html", types=TYPES)
    record_type = request.form.get("record_type", "")
    sent = request.files.get("file")
    if record_type not in TYPES or sent is None or not sent.filename:
        flash(_("Choose what to import and a CSV or XLSX file."), "error")
        return redirect(url_for("imports.start"))
    suffix = ".xlsx" if sent.filename.lower().endswith(".xlsx") else ".csv"
    token = secrets.token_hex(16)
    stored = _folder() / f"{token}{suffix}"
    sent.save(stored)
    try:
        with importing.open_rows(stored, sent.filename) as table:
            headers = list(table.headers)
    except (ValidationError, KartotekaError) as exc:
        stored.unlink(missing_ok=True)
        for message in getattr(exc, "errors", {"_": str(exc)}).values():
            flash(message, "error")
        return redirect(url_for("imports.start"))
    except Exception:  # a damaged file: any reader error means the same to the user
        stored.unlink(missing_ok=True)
        flash(_("The file cannot be read: save it again as CSV or XLSX and try once more."),
              "error")
        return redirect(url_for("imports.start"))
    mapping = importing.initial_mapping(db(), headers, record_type, current_user)
    meta = {"user_id": current_user.id, "stored": stored.name, "filename": sent.filename,
            "record_type": record_type, "headers": headers, "mapping": mapping}
    (_folder() / f"{token}.json").write_text(json.dumps(meta))
    return redirect(url_for("imports.mapping", token=token))


@bp.route("/<token>", methods=["GET", "POST"])
@login_required
def mapping(token: str):
    path, meta = _upload(token)
    rt = current_app.extensions["kartoteka"]
    record_type, preview, report, errors = meta["record_type"], None, None, {}
    chosen = meta["mapping"]
    policy, defaults = "skip", {}
    if request.method == "POST":
        chosen = {h: request.form.get(f"map-{i}", "") for i, h in enumerate(meta["headers"])}
        chosen = {h: f for h, f in chosen.items() if f}
        policy = request.form.get("on_duplicate", "skip")
        if policy not in POLICIES:
            abort(400)
        if request.form.get("type_key"):
            defaults["type_key"] = request.form["type_key"]
        try:
            importing.check_mapping(meta["headers"], record_type, chosen, defaults, db(),
                                    current_user)
            if request.form.get("action") == "preview":
                preview = importing.preview(rt.Session, rt.host, path, record_type, chosen,
                                            on_duplicate=policy, defaults=defaults,
                                            actor=current_user)
            else:
                dry_run = request.form.get("dry_run") == "1"
                report = importing.run_import(
                    rt.Session, rt.host, path, record_type, chosen, on_duplicate=policy,
                    dry_run=dry_run, actor=current_user, defaults=defaults)
                if not dry_run:  # imported: the upload is not needed, nor importable again
                    path.unlink(missing_ok=True)
                    (_folder() / f"{token}.json").unlink(missing_ok=True)
        except ValidationError as exc:
            errors = exc.errors
    types = organisations.types(db(), rt.host) if record_type == "organisation" else {}
    custom = importing.custom_targets(db(), record_type, current_user)
    return render_template("core/import/mapping.html", token=token, meta=meta,
                           mapping=chosen, fields=importing.fields(record_type),
                           custom=custom, field_types=custom_fields.field_types(),
                           shown_values=_shown_values(record_type, custom),
                           policy=policy, policies=POLICIES, preview=preview, report=report,
                           errors=errors, types=types, defaults=defaults)


def _shown_values(record_type: str, custom: dict):
    """A previewed row's values as (label, text), custom values formatted as on a card."""
    labels, kinds = importing.fields(record_type), custom_fields.field_types()

    def shown(values: dict) -> list[tuple[str, str]]:
        found = [(str(labels.get(k, k)), _text(v)) for k, v in values.items()
                 if v and k != "custom"]
        for key, value in (values.get("custom") or {}).items():
            d = custom.get(importing.CUSTOM + key)
            if d is not None and value not in (None, "", []):
                found.append((d.label(current_locale()),
                              kinds[d.type].display(value, d, current_locale())))
        return found
    return shown


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
