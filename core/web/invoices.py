"""Staff pages of the billing ledger's invoices: the list with its filters and totals,
the card, the draft form with its lines, issuing, sending, cancelling and correcting,
the printed invoice (HTML and PDF), and the billing panel of a client's card.

Everything goes through ``core.invoices`` and ``core.billing``, so numbers, VAT and
refusals are theirs. A refused form comes back with each message under its field and
what was typed kept; nothing of it is written. Every page needs ``core.billing``;
reading follows the client's visibility, so an invoice of a client the user may not
see is 404.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from babel.numbers import format_decimal
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from core import audit, billing, invoices, pdf, permissions, records, templating
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import (
    BillableItem,
    Case,
    Invoice,
    InvoiceLine,
    Organisation,
    PaymentAllocation,
    Person,
)
from core.models.billing import KINDS, STATUSES
from core.web.admin import permission_required
from core.web.audit import present
from core.web.db import db
from core.web.forms import form_id, optional_int
from core.web.i18n import current_locale

bp = Blueprint("invoices", __name__, url_prefix="/billing/invoices")
billing_only = permission_required(invoices.PERMISSION)

PAGE = 50
CHOICES_LIMIT = 500  # organisations and people offered in a form's list of clients
ON_PANEL = 10  # invoices shown on a client's card
HISTORY = 50  # audit entries shown on an invoice's card
MORE_ROWS = 3  # empty line rows "More lines" adds without script

STATUS_LABELS = {"draft": lazy_pgettext("invoice status", "draft"),
                 "issued": lazy_pgettext("invoice status", "issued"),
                 "sent": lazy_pgettext("invoice status", "sent"),
                 "partly_paid": lazy_pgettext("invoice status", "partly paid"),
                 "paid": lazy_pgettext("invoice status", "paid"),
                 "cancelled": lazy_pgettext("invoice status", "cancelled"),
                 "overdue": lazy_pgettext("invoice status", "overdue")}
KIND_LABELS = {"invoice": _l("VAT invoice"), "advance": _l("Advance invoice"),
               "final": _l("Final invoice"), "correction": _l("Correcting invoice"),
               "proforma": _l("Pro forma"), "settlement": _l("Settlement note")}
RATE_LABELS = {"23": "23%", "8": "8%", "5": "5%", "0": "0%", "zw": _l("zw (exempt)"),
               "np": _l("np (not subject to VAT)")}
BASIS_LABELS = {"net": _l("Net prices"), "gross": _l("Gross prices")}
# What the list sorts by; "-" in front for the other way. Drafts (no number or date
# yet) come last either way.
SORTS = {"created": Invoice.id, "number": Invoice.number, "issue_date": Invoice.issue_date,
         "due_date": Invoice.due_date, "gross": Invoice.gross}
DEFAULT_SORT = "-created"
STALE = _l("The invoice was changed by someone else meanwhile. What you typed is kept "
           "below; saving again replaces what is stored now.")


# --- Shared with the payments' and items' pages ------------------------------------------

def money(value, currency: str = "PLN") -> str:
    return templating.money(value if value is not None else Decimal(0), currency)


def quantity(value) -> str:
    """2,5 or 1 000: as many places as it has, up to four."""
    return "" if value is None else format_decimal(Decimal(value), format="#,##0.####",
                                                   locale=current_locale())


def price(value) -> str:
    """A unit price: two places at least, four at most."""
    return "" if value is None else format_decimal(Decimal(value), format="#,##0.00##",
                                                   locale=current_locale())


def plain(value, places: int = 0) -> str:
    """A stored number as a form shows it for editing: "2.5", "1000.00"."""
    if value in (None, ""):
        return ""
    found = Decimal(str(value)).normalize()
    if found.as_tuple().exponent > -places:
        found = found.quantize(Decimal(1).scaleb(-places))
    return format(found, "f")


def party_key(row) -> str:
    """How forms and filters name a row's client: "organisation-12", "person-5"."""
    if row.organisation_id is not None:
        return f"organisation-{row.organisation_id}"
    if row.person_id is not None:
        return f"person-{row.person_id}"
    return ""


def party_fields(value: str | None) -> dict | None:
    """The service's fields for a chosen client: {"organisation_id": 12}; {} for none
    chosen; None for a value that is no choice of the list."""
    kind, _sep, number = (value or "").strip().partition("-")
    if not kind:
        return {}
    record_id = form_id(number)
    if kind not in ("organisation", "person") or record_id is None:
        return None
    return {f"{kind}_id": record_id}


def party_url(key: str) -> str | None:
    fields = party_fields(key)
    if not fields:
        return None
    if "organisation_id" in fields:
        return url_for("organisations.card", record_id=fields["organisation_id"])
    return url_for("people.card", record_id=fields["person_id"])


@dataclass
class Parties:
    """The clients a form offers, as (key, name)."""

    organisations: list[tuple[str, str]]
    people: list[tuple[str, str]]


def party_choices(session, chosen: str = "") -> Parties:
    """The first organisations and people by name, and the chosen one if it is not
    among them."""
    orgs = list(session.scalars(records.visible(Organisation, current_user)
                                .order_by(Organisation.name_key, Organisation.id)
                                .limit(CHOICES_LIMIT)))
    people = list(session.scalars(records.visible(Person, current_user)
                                  .order_by(Person.name_key, Person.id).limit(CHOICES_LIMIT)))
    picked = party_fields(chosen) or {}
    for key, model, found in (("organisation_id", Organisation, orgs),
                              ("person_id", Person, people)):
        if key in picked and all(r.id != picked[key] for r in found):
            extra = records.get(session, model, picked[key], current_user)
            if extra is not None:
                found.append(extra)
    return Parties([(f"organisation-{o.id}", o.name) for o in orgs],
                   [(f"person-{p.id}", p.full_name) for p in people])


def party_names(session, rows) -> dict[str, str]:
    """The names of the rows' clients by ``party_key``, read in two queries."""
    found = {}
    for model, column, prefix, name in (
            (Organisation, "organisation_id", "organisation", lambda o: o.name),
            (Person, "person_id", "person", lambda p: p.full_name)):
        ids = {getattr(r, column) for r in rows if getattr(r, column) is not None}
        if ids:
            for record in session.scalars(select(model).where(model.id.in_(ids))):
                found[f"{prefix}-{record.id}"] = name(record)
    return found


def party_of_key(session, key: str):
    """The organisation or person a key names, if the user may see it."""
    fields = party_fields(key) or {}
    if "organisation_id" in fields:
        return records.get(session, Organisation, fields["organisation_id"], current_user)
    if "person_id" in fields:
        return records.get(session, Person, fields["person_id"], current_user)
    return None


def day_of(value: str | None, name: str, errors: dict) -> date | None:
    """A date typed in a form or the address; a message under ``name`` when it is none."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Enter the date as YYYY-MM-DD.")
        return None


def attempt(session, write, errors: dict | None = None) -> tuple[object, dict]:
    """Run ``write()`` and commit, unless it or the page's own checks (``errors``) find
    a problem: then nothing is written and every message comes back at once (a
    permission refusal under "_")."""
    errors = dict(errors or {})
    try:
        result = write()
    except ValidationError as exc:
        session.rollback()
        return None, {**errors, **exc.errors}
    except Forbidden as exc:
        session.rollback()
        return None, {**errors, "_": str(exc)}
    if errors:
        session.rollback()
        return None, errors
    session.commit()
    return result, {}


def form_errors(errors: dict, renames: dict | None = None) -> dict[str, str]:
    """The services' keys as forms name their fields: ``lines.2.quantity`` is
    ``lines-2-quantity``; the client's (organisation_id, person_id) is ``buyer``."""
    renames = {"organisation_id": "buyer", "person_id": "buyer",
               "advance_ids.*": "advance_ids", **(renames or {})}
    found: dict[str, str] = {}
    for key, message in errors.items():
        name = renames.get(key)
        if name is None:
            head = key.split(".")[0]
            name = renames.get(head + ".*") or key.replace(".", "-")
        found.setdefault(name, str(message))
    return found


# --- Lines in forms ----------------------------------------------------------------------

LINE_FIELD = re.compile(r"^lines-(\d{1,4})-(id|position|description|quantity|unit|"
                        r"unit_price|vat_rate)$")
LINE_NAMES = ("id", "position", "description", "quantity", "unit", "unit_price", "vat_rate")
TYPED = ("description", "unit_price")  # a row without either is an empty row


def blank_row(vat_rate: str = "23") -> dict:
    return {"description": "", "quantity": "1", "unit": "szt.", "unit_price": "",
            "vat_rate": vat_rate}


def posted_rows() -> list[dict]:
    """The line rows as typed, in their order, without empty ones and without the one
    whose "Remove" button was pressed; a row of a line being corrected always stays."""
    rows: dict[int, dict] = {}
    for key in request.form:
        found = LINE_FIELD.match(key)
        if found:
            rows.setdefault(int(found[1]), {})[found[2]] = request.form.get(key, "")
    removed = request.form.get("remove")
    return [{name: rows[n].get(name, "") for name in LINE_NAMES}
            for n in sorted(rows) if str(n) != removed
            and (rows[n].get("position") or any(rows[n].get(k, "").strip() for k in TYPED))]


def line_data(row: dict, keep_id: bool = False) -> dict:
    """A typed row as the service takes a line; what is left empty is left out, so that
    the service says it is required."""
    found = {k: row[k].strip() for k in ("description", "quantity", "unit_price", "vat_rate")
             if row.get(k, "").strip()}
    found["unit"] = row.get("unit", "").strip() or "szt."
    if keep_id and row.get("id", "").strip():
        found["id"] = optional_int(row["id"])
    return found


def rows_changed() -> str | None:
    """"more" or "remove" when the form asks for other rows rather than to be saved."""
    if request.form.get("action") == "more":
        return "more"
    return "remove" if request.form.get("remove") is not None else None


# --- Labels and helpers for templates ------------------------------------------------------

def init_app(app: Flask) -> None:
    """The pages, and ``ledger`` for templates: labels, formatting and the panel of a
    client's card (``ledger.panel(record)``)."""
    app.register_blueprint(bp)
    app.jinja_env.globals["ledger"] = SimpleNamespace(
        money=money, quantity=quantity, price=price, statuses=STATUS_LABELS,
        kinds=KIND_LABELS, rates=RATE_LABELS, bases=BASIS_LABELS, panel=billing_panel,
        party_key=party_key, party_url=party_url, overdue=invoices.is_overdue, label=invoices.label,
        days_overdue=days_overdue, payable=invoices.PAYABLE, open=invoices.OPEN)


def days_overdue(invoice: Invoice) -> int:
    if not invoices.is_overdue(invoice):
        return 0
    return (local_today() - invoice.due_date).days


# --- The list ----------------------------------------------------------------------------

@dataclass
class ListArgs:
    status: str = ""
    kind: str = ""
    buyer: str = ""
    issued_from: str = ""
    issued_to: str = ""
    q: str = ""
    run: int = 0  # a billing run's invoices
    sort: str = DEFAULT_SORT
    page: int = 0

    def link(self, **changes) -> dict:
        """The address's arguments with ``changes``, empty ones left out."""
        found = {**self.__dict__, **changes}
        return {k: v for k, v in found.items()
                if v not in ("", None, 0) and not (k == "sort" and v == DEFAULT_SORT)}


def _list_args() -> tuple[ListArgs, dict, dict]:
    """The list's filters from the address: (arguments, the service's filter values,
    a message for each that cannot be used)."""
    get = request.args.get
    args = ListArgs(**{k: get(k, "").strip() for k in ("status", "kind", "buyer",
                                                         "issued_from", "issued_to", "q")})
    args.sort = get("sort", "") if get("sort", "").removeprefix("-") in SORTS else DEFAULT_SORT
    args.page = form_id(get("page")) or 0
    args.run = form_id(get("run")) or 0
    errors, found = {}, {}
    if args.status and args.status not in STATUS_LABELS:
        errors["status"] = _("Choose from the list.")
    if args.kind and args.kind not in KINDS:
        errors["kind"] = _("Choose from the list.")
    found["party"] = party_fields(args.buyer)
    if found["party"] is None:
        errors["buyer"] = _("Choose from the list.")
    found["from"] = day_of(args.issued_from, "issued_from", errors)
    found["to"] = day_of(args.issued_to, "issued_to", errors)
    if found["from"] and found["to"] and found["to"] < found["from"]:
        errors["issued_to"] = _("The end cannot be before the start.")
    return args, found, errors


def _filtered(args: ListArgs, found: dict, errors: dict):
    query = invoices.visible(current_user)
    if args.status == "overdue":
        query = query.where(invoices.overdue_query().whereclause)
    elif args.status in STATUSES and "status" not in errors:
        query = query.where(Invoice.status == args.status)
    if args.kind in KINDS:
        query = query.where(Invoice.kind == args.kind)
    for key, value in (found["party"] or {}).items():
        query = query.where(getattr(Invoice, key) == value)
    if found["from"] and "issued_to" not in errors:
        query = query.where(Invoice.issue_date >= found["from"])
    if found["to"] and "issued_to" not in errors:
        query = query.where(Invoice.issue_date <= found["to"])
    if args.q:
        query = query.where(Invoice.number.icontains(args.q, autoescape=True))
    if args.run:
        query = query.where(Invoice.billing_run_id == args.run)
    return query


@dataclass
class Total:
    currency: str
    count: int
    net: Decimal
    vat: Decimal
    gross: Decimal
    owed: Decimal


def _totals(session, query) -> list[Total]:
    """Per currency: how many are listed, their amounts (cancelled ones not counted) and
    what is still owed of the open ones."""
    rows = query.subquery()
    counted = rows.c.status != "cancelled"
    owing = and_(rows.c.kind.in_(invoices.PAYABLE), rows.c.status.in_(invoices.OPEN))
    found = session.execute(
        select(rows.c.currency, func.count(),
               *(func.coalesce(func.sum(case((counted, column), else_=0)), 0)
                 for column in (rows.c.net, rows.c.vat, rows.c.gross)),
               func.coalesce(func.sum(case((owing, rows.c.to_pay - rows.c.paid), else_=0)), 0))
        .group_by(rows.c.currency).order_by(rows.c.currency))
    return [Total(currency, n, *(Decimal(v) for v in sums))
            for currency, n, *sums in found]


def _order(sort: str):
    column = SORTS[sort.removeprefix("-")]
    if sort.startswith("-"):
        return (column.desc().nulls_last(), Invoice.id.desc())
    return (column.asc().nulls_last(), Invoice.id.asc())


def _buyer_filter_choices(session) -> list[tuple[str, str]]:
    """The clients that have invoices the user may see, by name."""
    pairs = session.execute(invoices.visible(current_user).with_only_columns(
        Invoice.organisation_id, Invoice.person_id).distinct().limit(CHOICES_LIMIT)).all()
    rows = [SimpleNamespace(organisation_id=o, person_id=p) for o, p in pairs]
    names = party_names(session, rows)
    return sorted(names.items(), key=lambda kv: kv[1].lower())


@bp.get("/")
@billing_only
def index():
    session = db()
    args, found, errors = _list_args()
    query = _filtered(args, found, errors)
    totals = _totals(session, query)
    rows = list(session.scalars(query.order_by(*_order(args.sort))
                                .offset(args.page * PAGE).limit(PAGE + 1)))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    return render_template(
        "core/billing/invoices.html", rows=rows, more=more, args=args, errors=errors,
        totals=totals, count=sum(t.count for t in totals), names=party_names(session, rows),
        buyers=_buyer_filter_choices(session), kinds=KINDS, statuses=STATUS_LABELS,
        today=local_today())


# --- The card ----------------------------------------------------------------------------

def _get(invoice_id: int) -> Invoice:
    found = invoices.get(db(), invoice_id, current_user)
    if found is None:
        abort(404)
    return found


def _settings():
    return current_app.extensions["kartoteka"].settings


@bp.get("/<int:invoice_id>")
@billing_only
def card(invoice_id: int):
    return _card(_get(invoice_id))


def _card(invoice: Invoice, errors: dict | None = None, typed: dict | None = None):
    session = db()
    _load_lines(session, invoice)
    return render_template("core/billing/invoice.html", invoice=invoice,
                           errors=form_errors(errors or {}), typed=typed or {},
                           history=_history(session, invoice), today=local_today(),
                           **_related(session, invoice))


FIELD_LABELS = {
    "kind": _l("Kind"), "status": _l("Status"), "number": _l("Number"),
    "organisation_id": _l("Buyer"), "person_id": _l("Buyer"), "buyer": _l("Buyer"),
    "currency": _l("Currency"), "exchange_rate": _l("Exchange rate to złoty"),
    "exchange_rate_date": _l("Date of the exchange rate"), "price_basis": _l("Prices"),
    "issue_date": _l("Issue date"), "sale_date": _l("Sale date"),
    "payment_days": _l("Payment terms (days)"), "due_date": _l("Due date"),
    "notes": _l("Notes"), "lines": _l("Lines"), "gross": _l("Gross"),
    "to_pay": _l("To pay"), "paid": _l("Paid"), "sent_at": _l("Sent to the buyer"),
    "cancel_reason": _l("Reason"), "reason": _l("Reason for the correction"),
    "corrects": _l("Corrects"), "case_id": _l("Case"),
}


def _history(session, invoice: Invoice) -> list:
    """The invoice's audit entries, its fields and statuses named as the card names
    them."""
    rows = present(audit.page(session, audit.of_record("invoices", invoice.id),
                              size=HISTORY).entries)
    for row in rows:
        row.changes = [(str(FIELD_LABELS.get(key, key)),
                        *(str(STATUS_LABELS.get(v, v)) if key == "status" else v
                          for v in (old, new)))
                       for key, old, new in row.changes]
    return rows


def _load_lines(session, invoice: Invoice) -> None:
    """The invoice's lines with the items they bill, read in one go."""
    session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                    .options(selectinload(InvoiceLine.items)
                             .selectinload(BillableItem.people))).all()


def _related(session, invoice: Invoice) -> dict:
    """What the card and the printed invoice show beside the invoice itself."""
    corrected = session.get(Invoice, invoice.corrects_id) if invoice.corrects_id else None
    issued_corrections = invoices.corrections(session, invoice)
    final = session.get(Invoice, invoice.settled_by_id) if invoice.settled_by_id else None
    case_ = records.get(session, Case, invoice.case_id, current_user) \
        if invoice.case_id else None
    allocations = session.scalars(
        select(PaymentAllocation).where(PaymentAllocation.invoice_id == invoice.id)
        .options(selectinload(PaymentAllocation.payment))
        .order_by(PaymentAllocation.id)).all()
    item_people = {p.person_id for line in invoice.lines for item in line.items
                   for p in item.people}
    return {
        "party": party_key(invoice),
        "party_record": invoices.party_record(session, invoice),
        "corrections": session.scalars(select(Invoice).where(
            Invoice.corrects_id == invoice.id).order_by(Invoice.id)).all(),
        "summary_now": invoices.summary_now(session, invoice) if issued_corrections else [],
        "corrected": corrected,
        "advances": invoices.advances(session, invoice) if invoice.kind == "final" else [],
        "remainder": invoices.remainder(session, invoice) if invoice.kind == "final" else [],
        "final": final,
        "case": case_,
        "allocations": allocations,
        "rows": invoice.vat_summary or [],
        "item_people": {p.id: p.full_name for p in session.scalars(
            records.visible(Person, current_user).where(Person.id.in_(item_people)))}
        if item_people else {},
        "correctable": _correctable(invoice),
        "cancellable": invoice.status == "draft" or (
            invoice.status in invoices.SETTLED and not invoice.paid and not issued_corrections
            and (invoice.sent_at is None or invoice.kind == "proforma")
            and not (invoice.kind == "advance" and invoice.settled_by_id)),
        "seller": invoice.seller or _seller_now(),
    }


def _correctable(invoice: Invoice) -> bool:
    return invoice.kind not in ("correction", "proforma") and \
        invoice.status in invoices.SETTLED


def _seller_now() -> dict:
    """The seller as an invoice issued now would copy it (a draft has none yet)."""
    settings = _settings()
    return {"name": settings.company_name.strip(),
            "details": [line.strip() for line in settings.company_details.splitlines()
                        if line.strip()]}


# --- The draft form ----------------------------------------------------------------------

DRAFT_FIELDS = ("kind", "buyer", "currency", "price_basis", "exchange_rate",
                "exchange_rate_date", "issue_date", "sale_date", "payment_days", "notes",
                "case_id")
FIXED_FIELDS = ("kind", "buyer", "currency", "price_basis")  # chosen once, with the draft
OPTIONAL = ("exchange_rate", "exchange_rate_date", "issue_date", "sale_date")


@bp.route("/new", methods=["GET", "POST"])
@billing_only
def new():
    session = db()
    kind = request.args.get("kind", "invoice")
    values = {"kind": kind if kind in KIND_LABELS and kind != "correction" else "invoice",
              "buyer": request.args.get("buyer", ""), "currency": "PLN",
              "price_basis": "net", "exchange_rate": "", "exchange_rate_date": "",
              "issue_date": "", "sale_date": "", "payment_days": "14", "notes": "",
              "case_id": request.args.get("case_id", ""), "advance_ids": []}
    rows, errors = [blank_row()], {}
    if request.method == "POST":
        values = _typed(DRAFT_FIELDS)
        rows = posted_rows()
        changed = rows_changed()
        if changed is None:
            made, errors = _create(session, values, rows)
            if made is not None:
                flash(_("Draft saved: %(label)s. Issue it when it is ready.",
                        label=invoices.label(made)))
                return redirect(url_for("invoices.card", invoice_id=made.id))
        elif changed == "more":
            rows += [blank_row() for _n in range(MORE_ROWS)]
    return _form(None, values, rows or [blank_row()], errors)


def _typed(names: tuple[str, ...]) -> dict:
    found = {name: request.form.get(name, "") for name in names}
    found["advance_ids"] = request.form.getlist("advance_ids")
    return found


def _create(session, values: dict, rows: list[dict]):
    lines = [line_data(row) for row in rows]
    own = {} if lines else {"lines": _("Add at least one line.")}
    party = party_fields(values["buyer"])
    if party is None:
        own["buyer"], party = _("Choose from the list."), {}
    kind = values["kind"] or "invoice"
    data = {"kind": kind, **party, "price_basis": values["price_basis"] or "net",
            "currency": values["currency"].strip().upper() or "PLN",
            "case_id": optional_int(values["case_id"]), **_draft_values(values, kind),
            "lines": lines}
    made, errors = attempt(session, lambda: invoices.create(session, data, current_user), own)
    return made, form_errors(errors)


def _draft_values(values: dict, kind: str) -> dict:
    """What the form gives of a draft's changeable fields, as the service takes them."""
    found = {key: values[key].strip() or None for key in OPTIONAL}
    found["notes"] = values["notes"]
    if values["payment_days"].strip():
        found["payment_days"] = values["payment_days"].strip()
    if kind == "final":
        found["advance_ids"] = [optional_int(v) for v in values["advance_ids"]]
    return found


@bp.route("/<int:invoice_id>/edit", methods=["GET", "POST"])
@billing_only
def edit(invoice_id: int):
    session, invoice = db(), _get(invoice_id)
    if invoice.status != "draft" or invoice.kind == "correction":
        flash(_("Only a draft invoice is changed here: an issued one is corrected, and a "
                "correction is made again."), "error")
        return redirect(url_for("invoices.card", invoice_id=invoice.id))
    values, rows, stamp, errors = _saved(invoice), _saved_rows(invoice), _stamp(invoice), {}
    if request.method == "POST":
        values = {**_typed(DRAFT_FIELDS), **{k: values[k] for k in FIXED_FIELDS}}
        rows, stamp = posted_rows(), request.form.get("etag", "")
        changed = rows_changed()
        if changed is None:
            saved, errors = _update(session, invoice, values, rows, stamp)
            if saved is not None:
                flash(_("Draft saved: %(label)s.", label=invoices.label(saved)))
                return redirect(url_for("invoices.card", invoice_id=saved.id))
            if "version" in errors:
                stamp = _stamp(invoice)  # saving again replaces what is stored now
        elif changed == "more":
            rows += [blank_row() for _n in range(MORE_ROWS)]
    return _form(invoice, values, rows or [blank_row()], errors, stamp)


def _update(session, invoice: Invoice, values: dict, rows: list[dict], stamp: str):
    lines = [line_data(row, keep_id=True) for row in rows]
    own = {} if lines else {"lines": _("Add at least one line.")}
    data = {**_draft_values(values, invoice.kind), "lines": lines}

    def write():
        invoices.require(session, current_user, invoice)
        invoices.lock(session, invoice)
        session.expire(invoice, ["lines"])
        if stamp != _stamp(invoice):
            raise ValidationError({"version": str(STALE)})
        return invoices.update(session, invoice, data, current_user)

    saved, errors = attempt(session, write, own)
    return saved, form_errors(errors)


def _stamp(invoice: Invoice) -> str:
    """What the draft held when its form was shown (its ETag, as the API gives it)."""
    return invoices.digest(invoice)


def _saved(invoice: Invoice) -> dict:
    found = {"kind": invoice.kind, "buyer": party_key(invoice), "currency": invoice.currency,
             "price_basis": invoice.price_basis,
             "exchange_rate": plain(invoice.exchange_rate),
             "payment_days": str(invoice.payment_days), "notes": invoice.notes,
             "case_id": str(invoice.case_id or ""),
             "advance_ids": [str(i) for i in db().scalars(select(Invoice.id).where(
                 Invoice.settled_by_id == invoice.id))]}
    for key in ("exchange_rate_date", "issue_date", "sale_date"):
        found[key] = getattr(invoice, key).isoformat() if getattr(invoice, key) else ""
    return found


def _saved_rows(invoice: Invoice) -> list[dict]:
    return [{"id": str(line.id), "position": "", "description": line.description,
             "quantity": plain(line.quantity), "unit": line.unit,
             "unit_price": plain(line.unit_price, 2), "vat_rate": line.vat_rate}
            for line in invoice.lines]


def _form(invoice: Invoice | None, values: dict, rows: list[dict], errors: dict,
          stamp: str = ""):
    session = db()
    buyer = party_fields(values.get("buyer")) or {}
    return render_template(
        "core/billing/invoice_form.html", invoice=invoice, values=values, rows=rows,
        errors=errors, stamp=stamp, parties=party_choices(session, values.get("buyer", "")),
        buyer_name=party_names(session, [SimpleNamespace(
            organisation_id=buyer.get("organisation_id"),
            person_id=buyer.get("person_id"))]).get(values.get("buyer", ""), ""),
        advances=_advance_choices(session, invoice),
        kinds=[k for k in KINDS if k != "correction"], blank=blank_row())


def _advance_choices(session, final: Invoice | None) -> list[Invoice]:
    """Issued advance invoices no other final invoice deducts, of the draft's client
    when it has one."""
    query = invoices.visible(current_user).where(
        Invoice.kind == "advance", Invoice.status.in_(invoices.SETTLED))
    if final is not None:
        query = query.where(Invoice.organisation_id == final.organisation_id
                            if final.organisation_id else
                            Invoice.person_id == final.person_id,
                            (Invoice.settled_by_id.is_(None)) |
                            (Invoice.settled_by_id == final.id))
    else:
        query = query.where(Invoice.settled_by_id.is_(None))
    return list(session.scalars(query.order_by(Invoice.issue_date, Invoice.id)
                                .limit(CHOICES_LIMIT)))


# --- Issuing, sending, cancelling --------------------------------------------------------

@bp.post("/<int:invoice_id>/issue")
@billing_only
def issue(invoice_id: int):
    session, invoice = db(), _get(invoice_id)
    typed = {"issue_date": request.form.get("issue_date", "")}
    own: dict = {}
    day = day_of(typed["issue_date"], "issue_date", own)
    _done, errors = attempt(session, lambda: None if own else invoices.issue(
        session, _settings(), invoice, current_user, day), own)
    if errors:
        return _card(invoice, errors, typed)
    flash(_("Issued as %(number)s.", number=invoice.number))
    return redirect(url_for("invoices.card", invoice_id=invoice.id))


@bp.post("/<int:invoice_id>/sent")
@billing_only
def mark_sent(invoice_id: int):
    session, invoice = db(), _get(invoice_id)
    _done, errors = attempt(session, lambda: invoices.mark_sent(session, invoice,
                                                                 current_user))
    if errors:
        return _card(invoice, errors)
    flash(_("Marked as sent to the buyer."))
    return redirect(url_for("invoices.card", invoice_id=invoice.id))


@bp.post("/<int:invoice_id>/cancel")
@billing_only
def cancel(invoice_id: int):
    session, invoice = db(), _get(invoice_id)
    typed = {"reason": request.form.get("reason", "")}
    _done, errors = attempt(session, lambda: invoices.cancel(session, invoice,
                                                             typed["reason"], current_user))
    if errors:
        return _card(invoice, errors, typed)
    flash(_("Cancelled."))
    return redirect(url_for("invoices.card", invoice_id=invoice.id))


# --- Correcting --------------------------------------------------------------------------

@bp.route("/<int:invoice_id>/correct", methods=["GET", "POST"])
@billing_only
def correct(invoice_id: int):
    session, invoice = db(), _get(invoice_id)
    if not _correctable(invoice):
        flash(_("Only an issued invoice is corrected; a draft is changed, and a pro forma "
                "or a correction is not corrected."), "error")
        return redirect(url_for("invoices.card", invoice_id=invoice.id))
    before = invoices.current_lines(session, invoice)
    rows = [{"id": "", "position": str(line["position"]), "description": line["description"],
             "quantity": plain(line["quantity"]), "unit": line["unit"],
             "unit_price": plain(line["unit_price"], 2), "vat_rate": line["vat_rate"]}
            for line in before] + [blank_row()]
    reason, errors = "", {}
    if request.method == "POST":
        reason, rows = request.form.get("reason", ""), posted_rows()
        changed = rows_changed()
        if changed is None:
            made, errors = attempt(session, lambda: invoices.correct(
                session, invoice, [_change(row) for row in rows], reason, current_user))
            if made is not None:
                flash(_("Correction drafted; issue it when it is ready."))
                return redirect(url_for("invoices.card", invoice_id=made.id))
            errors = form_errors(errors)
        elif changed == "more":
            rows += [blank_row() for _n in range(MORE_ROWS)]
    return render_template("core/billing/correct.html", invoice=invoice, rows=rows,
                           was={line["position"]: line for line in before},
                           reason=reason, errors=errors, blank=blank_row())


def _change(row: dict) -> dict:
    """A row of the correction form as the service takes it: a line it corrects carries
    its position and every value as typed (what did not change, changes nothing); a
    line it adds carries what is filled in."""
    if not row.get("position"):
        return line_data(row)
    return {"position": optional_int(row["position"]),
            **{k: row.get(k, "").strip() for k in ("description", "quantity", "unit_price",
                                                     "vat_rate")},
            "unit": row.get("unit", "").strip() or "szt."}


# --- Printing ------------------------------------------------------------------------------

@bp.get("/<int:invoice_id>/print")
@billing_only
def printable(invoice_id: int):
    return _printed(_get(invoice_id), for_pdf=False)


@bp.get("/<int:invoice_id>/pdf")
@billing_only
def pdf_file(invoice_id: int):
    invoice = _get(invoice_id)
    drawn = pdf.render(_printed(invoice, for_pdf=True), _settings())
    name = (invoice.number or f"draft-{invoice.id}").replace("/", "-")
    return send_file(io.BytesIO(drawn), mimetype="application/pdf",
                     download_name=f"{name}.pdf", as_attachment=False)


def _printed(invoice: Invoice, for_pdf: bool) -> str:
    session = db()
    _load_lines(session, invoice)
    related = _related(session, invoice)
    due = invoice.to_pay if invoice.status != "draft" else _draft_to_pay(session, invoice)
    shown = due if invoice.kind in invoices.PAYABLE else invoice.gross
    logo = pdf.logo_path(_settings()) if for_pdf else None
    return render_template(
        "core/billing/invoice_print.html", invoice=invoice, for_pdf=for_pdf,
        page_css=pdf.PAGE_CSS, due=due, logo=pdf.LOGO_URL if logo and logo.is_file() else "",
        in_words=templating.words(abs(shown), invoice.currency), **related)


def _draft_to_pay(session, invoice: Invoice) -> Decimal:
    """What a draft will come to once issued."""
    if invoice.kind not in invoices.PAYABLE:
        return Decimal(0)
    if invoice.kind == "final":
        return invoice.gross - sum((a.to_pay for a in invoices.advances(session, invoice)),
                                   Decimal(0))
    return invoice.gross


# --- The panel of a client's card --------------------------------------------------------

@dataclass
class Panel:
    party: str
    invoices: list[Invoice]
    more: bool
    owed: list[tuple[str, Decimal]]
    overdue: list[Invoice]
    unbilled: int

    @property
    def overdue_ids(self) -> set[int]:
        return {invoice.id for invoice in self.overdue}


def billing_panel(record) -> Panel | None:
    """What an organisation or a person owes and was invoiced, for its card; None for
    those who may not bill."""
    if not permissions.can(current_user, invoices.PERMISSION) or \
            not isinstance(record, Organisation | Person):
        return None
    session = db()
    key = "organisation_id" if isinstance(record, Organisation) else "person_id"
    column = getattr(Invoice, key)
    found = list(session.scalars(invoices.visible(current_user).where(column == record.id)
                                 .order_by(Invoice.id.desc()).limit(ON_PANEL + 1)))
    owed = session.execute(
        select(Invoice.currency, func.sum(Invoice.to_pay - Invoice.paid))
        .where(column == record.id, Invoice.kind.in_(invoices.PAYABLE),
               Invoice.status.in_(invoices.OPEN))
        .group_by(Invoice.currency).order_by(Invoice.currency)).all()
    unbilled = session.scalar(select(func.count()).select_from(BillableItem).where(
        getattr(BillableItem, key) == record.id, BillableItem.invoice_line_id.is_(None)))
    return Panel(party_key(SimpleNamespace(**{"organisation_id": None, "person_id": None,
                                              key: record.id})),
                 found[:ON_PANEL], len(found) > ON_PANEL,
                 [(currency, Decimal(amount)) for currency, amount in owed if amount],
                 billing.overdue(session, record), unbilled)
