"""Staff pages of bank statements: upload a statement, map a new bank's CSV columns,
see what became of each line, and review the lines that were not matched for sure.

A statement from a bank whose profile knows its columns (or an MT940 one) is imported
at once. The first CSV file of a new bank, or one whose columns no longer fit, waits
in the upload folder (``/bank-statements/map/<token>``) while its columns are mapped
on its first rows; the mapping is then kept on the bank's profile. Review confirms a
suggestion, pays invoices found by number or buyer, records the money as a payment of
a chosen payer allocated to nothing, or ignores the line. Every page needs
``core.billing``.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from core import bank_statements, importing, invoices, payment_matching, records
from core.errors import Forbidden, ValidationError
from core.models import (
    BankProfile,
    BankStatement,
    BankStatementLine,
    Invoice,
    Organisation,
    Person,
)
from core.models.bank import FORMATS
from core.templating import money
from core.web.admin import permission_required
from core.web.auth import safe_next
from core.web.db import db
from core.web.forms import form_id, optional_int
from core.web.invoices import STATUS_LABELS as INVOICE_STATUS_LABELS

bp = Blueprint("bank_statements", __name__, url_prefix="/billing/bank-statements")
billing_only = permission_required(invoices.PERMISSION)

PAGE = 50
SETTINGS = bank_statements.READING


def _invoice_statuses() -> dict[str, str]:
    return {key: str(label) for key, label in INVOICE_STATUS_LABELS.items()
            if key != "overdue"}


@bp.context_processor
def _helpers() -> dict:
    return {"money": money, "describe": payment_matching.describe,
            "line_statuses": payment_matching.STATUS_LABELS,
            "invoice_statuses": _invoice_statuses(), "link_for": _link_for}


def _link_for(endpoint: str, **values) -> str | None:
    """The address of another part's page, if that part is there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# --- The list ----------------------------------------------------------------------------

@bp.get("/")
@billing_only
def index():
    session = db()
    found = list(session.scalars(bank_statements.statements_query().limit(PAGE)))
    waiting = session.scalar(select(func.count()).select_from(
        payment_matching.open_lines().subquery()))
    return render_template("core/bank_statements/index.html", statements=found,
                           waiting=waiting, profiles=bank_statements.profiles(session,
                                                                              current_user))


# --- Uploading ---------------------------------------------------------------------------

def _folder() -> Path:
    return importing.upload_folder(current_app.extensions["kartoteka"].settings)


def _upload_form(errors: dict | None = None, typed: dict | None = None, status: int = 200):
    session = db()
    return render_template("core/bank_statements/upload.html",
                           profiles=bank_statements.profiles(session, current_user),
                           formats=bank_statements.FORMAT_LABELS, errors=errors or {},
                           typed=typed or {}), status


@bp.route("/upload", methods=["GET", "POST"])
@billing_only
def upload():
    if request.method == "GET":
        return _upload_form(typed={"profile_id": request.args.get("profile", "")})
    typed = {k: request.form.get(k, "") for k in ("profile_id", "name", "format", "remap")}
    errors: dict[str, str] = {}
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        errors["file"] = _("Choose the statement's file.")
    session = db()
    profile = None
    if typed["profile_id"] != "new":
        profile = session.get(BankProfile, form_id(typed["profile_id"]) or 0)
        if profile is None:
            errors["profile_id"] = _("Choose the bank, or add a new one.")
    else:
        # A new bank is kept with the first statement imported with it.
        errors.update(bank_statements.check_new_profile(
            session, {"name": typed["name"], "format": typed["format"] or "csv"},
            current_user))
    if errors:
        return _upload_form(errors, typed, 422)
    data = sent.read()
    new = SimpleNamespace(name=typed["name"].strip(), format=typed["format"] or "csv")
    fmt = profile.format if profile is not None else new.format
    if fmt == "csv" and (profile is None or not profile.columns or typed["remap"]):
        return redirect(url_for(".mapping", token=_keep(data, sent.filename, profile, new)))
    if profile is None:
        profile = bank_statements.create_profile(session, {"name": new.name,
                                                           "format": new.format}, current_user)
    try:
        statement = bank_statements.import_statement(session, profile, sent.filename, data,
                                                     current_user)
    except ValidationError as exc:
        session.rollback()
        if fmt == "csv" and any(k.startswith("columns.") for k in exc.errors):
            # The bank's files changed: map this one's columns again.
            flash(_("The file's columns do not fit what is remembered for this bank: map "
                    "them again."), "error")
            return redirect(url_for(".mapping", token=_keep(data, sent.filename, profile,
                                                            None)))
        return _upload_form(exc.errors, typed, 422)
    session.commit()
    return redirect(url_for(".show", statement_id=statement.id))


def _keep(data: bytes, filename: str, profile: BankProfile | None, new) -> str:
    """Keep an upload for its mapping; only its uploader may use it."""
    token = secrets.token_hex(16)
    (_folder() / f"{token}.statement").write_bytes(data)
    meta = {"user_id": current_user.id, "filename": filename,
            "profile_id": profile.id if profile is not None else None,
            "name": new.name if new is not None else "", "format": "csv"}
    (_folder() / f"{token}.statement.json").write_text(json.dumps(meta))
    return token


def _kept(token: str) -> tuple[Path, dict]:
    if not token.isalnum():
        abort(404)
    meta_path = _folder() / f"{token}.statement.json"
    if not meta_path.exists():
        abort(404)
    meta = json.loads(meta_path.read_text())
    if meta["user_id"] != current_user.id:
        abort(404)
    return _folder() / f"{token}.statement", meta


def _forget(token: str) -> None:
    (_folder() / f"{token}.statement").unlink(missing_ok=True)
    (_folder() / f"{token}.statement.json").unlink(missing_ok=True)


@bp.route("/map/<token>", methods=["GET", "POST"])
@billing_only
def mapping(token: str):
    """Read the file as the settings say, show its first rows, and let each column be
    given its field; importing keeps both on the bank's profile."""
    path, meta = _kept(token)
    session = db()
    profile = session.get(BankProfile, meta["profile_id"]) if meta["profile_id"] else None
    if meta["profile_id"] and profile is None:
        _forget(token)
        abort(404)
    data = path.read_bytes()
    settings, errors = bank_statements.reading(
        {name: getattr(profile, name) for name in SETTINGS} if profile else {})
    if profile is None and request.method == "GET":
        settings["skip_rows"] = bank_statements.guess_skip_rows(
            data, SimpleNamespace(**settings))
    chosen = None
    if request.method == "POST":
        typed = {name: request.form.get(name, "") for name in SETTINGS}
        typed["skip_rows"] = optional_int(typed["skip_rows"]) or 0
        settings, errors = bank_statements.reading(typed)
        settings.update({k: v for k, v in typed.items() if k in errors})  # shown as typed
    table = None
    try:
        table = bank_statements.preview_rows(data, SimpleNamespace(
            **bank_statements.reading(settings)[0]))
    except ValidationError as exc:
        errors.update(exc.errors)
    if request.method == "POST" and table is not None:
        chosen = {}
        for n, header in enumerate(table.headers):
            target = request.form.get(f"map-{n}", "")
            if target:
                chosen.setdefault(target, []).append(header)
        if request.form.get("action") == "import" and not errors:
            outcome = _import_mapped(session, profile, meta, data, settings, chosen)
            if isinstance(outcome, dict):
                errors.update(outcome)
            else:
                _forget(token)
                return outcome
    if table is not None and chosen is None:
        remembered = profile.columns if profile is not None else {}
        fits = remembered and all(h in table.headers for names in remembered.values()
                                  for h in names)
        chosen = remembered if fits else bank_statements.suggest_columns(table.headers)
    by_column = {h: key for key, names in (chosen or {}).items() for h in names}
    return render_template(
        "core/bank_statements/mapping.html", token=token, meta=meta, profile=profile,
        settings=settings, table=table, by_column=by_column, errors=errors,
        fields=bank_statements.FIELDS, encodings=bank_statements.ENCODING_LABELS,
        delimiters=bank_statements.DELIMITERS,
        decimals=bank_statements.DECIMAL_SEPARATORS,
        date_formats=bank_statements.DATE_FORMATS), 422 if errors else 200


def _import_mapped(session, profile, meta: dict, data: bytes, settings: dict, chosen: dict):
    """Keep the settings and the mapping on the profile (a new one for a new bank) and
    import the file: the result page, or the errors with nothing kept."""
    values = {**settings, "columns": chosen}
    try:
        if profile is None:
            profile = bank_statements.create_profile(
                session, {"name": meta["name"], "format": "csv", **values}, current_user)
        else:
            bank_statements.update_profile(session, profile, values, current_user)
        statement = bank_statements.import_statement(session, profile, meta["filename"],
                                                     data, current_user)
    except ValidationError as exc:
        session.rollback()
        return exc.errors
    session.commit()
    flash(_("The columns are remembered for %(bank)s: its next statement needs no mapping.",
            bank=profile.name), "success")
    return redirect(url_for(".show", statement_id=statement.id))


# --- A statement -------------------------------------------------------------------------

def _statement(statement_id: int) -> BankStatement:
    found = bank_statements.get(db(), statement_id, current_user)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:statement_id>")
@billing_only
def show(statement_id: int):
    session = db()
    statement = _statement(statement_id)
    return render_template("core/bank_statements/statement.html", statement=statement,
                           earlier=bank_statements.earlier_import(session, statement),
                           invoices_by_id=_invoices_of(session, statement.lines))


def _invoices_of(session, lines) -> dict[int, Invoice]:
    ids = {i for line in lines for i in [line.invoice_id, *(line.details or {}).get(
        "invoice_ids", [])] if i}
    if not ids:
        return {}
    return {i.id: i for i in session.scalars(invoices.visible(current_user).where(
        Invoice.id.in_(ids)))}


# --- Review ------------------------------------------------------------------------------

@bp.get("/review")
@billing_only
def review():
    """The lines waiting for a decision; ``line`` and ``q`` search invoices and payers
    for one of them."""
    session = db()
    statement_id = form_id(request.args.get("statement"))
    lines = list(session.scalars(payment_matching.open_lines(statement_id).limit(500)))
    searched = form_id(request.args.get("line"))
    query = request.args.get("q", "").strip()[:200]
    found_invoices, found_payers = [], []
    searching = next((line for line in lines if line.id == searched), None)
    if searching is not None and query:
        found_invoices = payment_matching.find_invoices(session, query, current_user,
                                                        searching.currency)
        found_payers = payment_matching.find_payers(session, query, current_user)
    return render_template("core/bank_statements/review.html", lines=lines,
                           statement_id=statement_id, searching=searching, query=query,
                           found_invoices=found_invoices, found_payers=found_payers,
                           invoices_by_id=_invoices_of(session, lines),
                           parties=_parties_of(session, lines))


def _parties_of(session, lines) -> dict[tuple, str]:
    """The payers' names, of those the user may see."""
    names = {}
    for model, key in ((Organisation, "organisation_id"), (Person, "person_id")):
        ids = {getattr(line, key) for line in lines} - {None}
        if ids:
            for party in session.scalars(records.visible(model, current_user,
                                                         include_deleted=True)
                                         .where(model.id.in_(ids))):
                name = party.name if model is Organisation else party.full_name
                names[(party.id, None) if model is Organisation else (None, party.id)] = name
    return names


def _line(line_id: int) -> BankStatementLine:
    session = db()
    line = session.get(BankStatementLine, line_id)
    if line is None:
        abort(404)
    return line


def _decide(line_id: int, decide):
    """Apply a decision and go back to the review; a refusal is told there."""
    session = db()
    line = _line(line_id)
    back = safe_next(request.form.get("back") or url_for(".review",
                                                          statement=line.statement_id))
    try:
        decide(session, line)
        session.commit()
    except (ValidationError, Forbidden) as exc:
        session.rollback()
        for message in getattr(exc, "errors", {"_": str(exc)}).values():
            flash(message, "error")
        return redirect(back)
    flash(_("Line %(position)d of statement #%(statement)d: %(outcome)s.",
            position=line.position, statement=line.statement_id,
            outcome=str(payment_matching.STATUS_LABELS[line.status])), "success")
    return redirect(back)


@bp.post("/lines/<int:line_id>/confirm")
@billing_only
def confirm(line_id: int):
    return _decide(line_id, lambda s, line: payment_matching.confirm(s, line, current_user))


@bp.post("/lines/<int:line_id>/pay")
@billing_only
def pay(line_id: int):
    chosen = [i for i in (form_id(v) for v in request.form.getlist("invoice_id")) if i]
    return _decide(line_id, lambda s, line: payment_matching.pay(s, line, chosen,
                                                                 current_user))


@bp.post("/lines/<int:line_id>/record")
@billing_only
def record(line_id: int):
    organisation_id = form_id(request.form.get("organisation_id"))
    person_id = form_id(request.form.get("person_id"))
    return _decide(line_id, lambda s, line: payment_matching.record(
        s, line, current_user, organisation_id=organisation_id, person_id=person_id))


@bp.post("/lines/<int:line_id>/ignore")
@billing_only
def ignore(line_id: int):
    note = request.form.get("note", "")
    return _decide(line_id, lambda s, line: payment_matching.ignore(s, line, current_user,
                                                                    note))


# --- Banks -------------------------------------------------------------------------------

@bp.route("/banks/<int:profile_id>", methods=["GET", "POST"])
@billing_only
def profile(profile_id: int):
    """A bank's name and reading settings; forgetting its mapping makes the next file
    be mapped again."""
    session = db()
    found = bank_statements.get_profile(session, profile_id, current_user)
    if found is None:
        abort(404)
    errors, typed = {}, {name: getattr(found, name) for name in ("name", *SETTINGS)}
    if request.method == "POST":
        typed = {name: request.form.get(name, "") for name in ("name", *SETTINGS)}
        data = {**typed, "skip_rows": optional_int(typed["skip_rows"]) or 0}
        if found.format == "mt940":
            data = {"name": typed["name"], "encoding": typed["encoding"]}
        if request.form.get("forget_columns"):
            data["columns"] = {}
        try:
            bank_statements.update_profile(session, found, data, current_user)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".profile", profile_id=found.id))
    return render_template("core/bank_statements/profile.html", profile=found, typed=typed,
                           errors=errors, fields=bank_statements.FIELDS,
                           formats=dict(zip(FORMATS, FORMATS, strict=True)),
                           encodings=bank_statements.ENCODING_LABELS,
                           delimiters=bank_statements.DELIMITERS,
                           decimals=bank_statements.DECIMAL_SEPARATORS,
                           date_formats=bank_statements.DATE_FORMATS), 422 if errors else 200
