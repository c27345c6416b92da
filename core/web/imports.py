"""The import wizard: upload a file, map its columns, preview, then import or try.

A trial run is done while the page waits; a real import is a background job
("import.run", see ``importing.start_job``) whose page shows its progress and links to
the report it leaves (``/import/<token>/report``)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import fields as custom_fields
from core import importing, jobs, organisations
from core.errors import KartotekaError, ValidationError
from core.web.admin import permission_required
from core.web.db import db
from core.web.i18n import current_locale

bp = Blueprint("imports", __name__, url_prefix="/import")
may_import = permission_required("core.import")
TYPES = ("organisation", "person")
POLICIES = ("skip", "update", "create")


def _folder() -> Path:
    return importing.upload_folder(current_app.extensions["kartoteka"].settings)


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
@may_import
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
@may_import
def mapping(token: str):
    path, meta = _upload(token)
    started = meta.get("job_id") and jobs.get(db(), meta["job_id"], current_user)
    if started:  # the file is being imported (or was): its job tells how far it got
        return redirect(url_for("jobs.show", job_id=started.id))
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
            elif request.form.get("dry_run") == "1":
                report = importing.run_import(
                    rt.Session, rt.host, path, record_type, chosen, on_duplicate=policy,
                    dry_run=True, actor=current_user, defaults=defaults)
            else:
                return _start_job(token, meta, chosen, policy, defaults)
        except ValidationError as exc:
            errors = exc.errors
    types = organisations.types(db(), rt.host) if record_type == "organisation" else {}
    custom = importing.custom_targets(db(), record_type, current_user)
    return render_template("core/import/mapping.html", token=token, meta=meta,
                           mapping=chosen, fields=importing.fields(record_type),
                           custom=custom, field_types=custom_fields.field_types(),
                           shown_values=_shown_values(record_type, custom, types),
                           policy=policy, policies=POLICIES, preview=preview, report=report,
                           errors=errors, types=types, defaults=defaults)


def _start_job(token: str, meta: dict, chosen: dict, policy: str, defaults: dict):
    """Hand the import to a worker and show its progress. The upload remembers its job,
    so the wizard leads there from now on rather than importing the file twice."""
    session = db()
    job = importing.start_job(session, token, meta, chosen, policy, defaults, current_user,
                              report_url=url_for("imports.report", token=token))
    meta["job_id"] = job.id
    (_folder() / f"{token}.json").write_text(json.dumps(meta))
    session.commit()  # the job starts now (or, with jobs_url = immediate, is done)
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.get("/<token>/report")
@may_import
def report(token: str):
    """What an import job did: the counts, and the rows it could not import."""
    found = importing.load_report(current_app.extensions["kartoteka"].settings, token)
    if found is None:
        abort(404)
    saved, about = found
    if about.get("user_id") != current_user.id and not getattr(current_user, "is_admin", False):
        abort(404)
    job = jobs.get(db(), about["job_id"], current_user) if about.get("job_id") else None
    return render_template("core/import/report.html", report=saved, meta=about, job=job)


def _shown_values(record_type: str, custom: dict, types: dict):
    """A previewed row's values as (label, text), custom values formatted as on a card:
    the fields a column can fill, a person's address by its parts and an organisation's
    type by its name; not what the service adds for itself (``name_key``)."""
    labels, kinds = importing.fields(record_type), custom_fields.field_types()

    def shown(values: dict) -> list[tuple[str, str]]:
        found = []
        for key, value in values.items():
            if key == "addresses" and value:
                found += [(str(labels[k]), v) for k, v in value[0].items()
                          if k in labels and v]
            elif key == "type_key" and value in types:
                found.append((str(labels[key]), types[value].label(current_locale())))
            elif key in labels and value:
                found.append((str(labels[key]), _text(value)))
        for key, value in (values.get("custom") or {}).items():
            d = custom.get(importing.CUSTOM + key)
            if d is not None and value not in (None, "", []):
                found.append((d.label(current_locale()),
                              kinds[d.type].display(value, d, current_locale())))
        return found
    return shown


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
