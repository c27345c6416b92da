"""Accounting exports: the issued documents and the organisations billed, as files that
accounting programs import (Comarch CDN XL and Optima, Symfonia, enova365), and the
invoices as KSeF FA(3) XML.

An ``Exporter`` says what it exports (``INVOICES`` or ``ORGANISATIONS``), the file it
writes (media type, extension) and how: ``write(session, selection, stream)`` writes the
file for a ``Selection`` (a period, or chosen rows, seen as its actor may see them) to a
binary stream and returns how many documents or organisations it holds. The core's are
``BUILT_IN``; plugins add theirs with ``kartoteka_register_billing_exporters``, and
``run`` writes any of them, leaving the export in the audit trail and the usage count.

The documents of a period are those issued in it (by issue date), of every kind, a
cancelled one too (its number is used; its status says so): what the accounting program
books is the accountant's choice. The organisations of a period are those billed by
them. CSV is what Polish programs import: UTF-8 with a BOM, semicolons, decimal commas,
dates as YYYY-MM-DD, one row per document with its totals and its rows per VAT rate.
The columns have fixed names (see docs/billing.md), so an import set up once in the
accounting program keeps working whatever the interface's language.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from marshmallow import RAISE, Schema, fields, validates_schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, selectinload

from core import audit, invoices, ksef, records, usage, vat
from core.config import Settings
from core.errors import ValidationError
from core.exporting import neutralise
from core.filters import today as local_today
from core.models import Invoice, Organisation
from core.terms import term, upper_first
from core.validation import load_collecting

INVOICES = "invoices"
ORGANISATIONS = "organisations"
SUBJECTS = (INVOICES, ORGANISATIONS)
RECORD_TYPES = {INVOICES: "invoice", ORGANISATIONS: "organisation"}  # audit and usage
BATCH = 500  # documents read at a time
CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Selection:
    """What to export: the documents issued from ``start`` to ``end`` (both included),
    or the chosen ``ids`` (of documents or organisations), as ``actor`` may see them
    (None: the system, which sees everything)."""

    start: date
    end: date
    actor: Any = None
    settings: Settings = field(default_factory=Settings)
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Exporter:
    """One kind of export; ``key`` is '<owner>.<name>', ``title`` a lazy translation (or
    ``{"pl": ..., "en": ...}``)."""

    key: str
    title: Any
    media_type: str
    extension: str
    subject: str  # INVOICES or ORGANISATIONS
    write: Callable[[Session, Selection, BinaryIO], int]

    def __post_init__(self):
        if self.subject not in SUBJECTS:
            raise ValueError(f"exporter {self.key}: subject must be one of {SUBJECTS}")

    def label(self, locale: str = "pl") -> str:
        if isinstance(self.title, dict):
            return self.title.get(locale) or self.title.get("en") or self.key
        return str(self.title)

    def file_name(self, selection: Selection) -> str:
        """invoices_csv-2026-03-01-2026-03-31.csv"""
        return f"{self.key.split('.', 1)[1]}-{selection.start}-{selection.end}.{self.extension}"


# --- The period --------------------------------------------------------------------------

class PeriodSchema(Schema):
    """A period as forms, the API and the command line give it: ``from`` and ``to``."""

    class Meta:
        unknown = RAISE

    start = fields.Date(data_key="from", required=True, metadata={
        "description": "The first day: documents issued on it or later."},
        error_messages={"required": _l("Enter the first day of the period."),
                        "invalid": _l("Enter a date, such as 2026-03-01.")})
    end = fields.Date(data_key="to", required=True, metadata={
        "description": "The last day: documents issued on it or earlier."},
        error_messages={"required": _l("Enter the last day of the period."),
                        "invalid": _l("Enter a date, such as 2026-03-31.")})

    @validates_schema
    def _in_order(self, values: dict, **_kwargs) -> None:
        if values.get("start") and values.get("end") and values["end"] < values["start"]:
            raise SchemaError(_("The period ends before it starts."), "to")


def period(data: dict) -> tuple[date, date]:
    """The period ``data`` gives (``from``, ``to``), or ValidationError per field."""
    values, errors = load_collecting(PeriodSchema(), {k: v for k, v in data.items()
                                                      if k in ("from", "to") and v != ""})
    if errors:
        raise ValidationError(errors)
    return values["start"], values["end"]


def last_month(today: date | None = None) -> tuple[date, date]:
    """The calendar month before ``today``'s: what is exported most often."""
    first = (today or local_today()).replace(day=1)
    end = first - timedelta(days=1)
    return end.replace(day=1), end


# --- Running -----------------------------------------------------------------------------

def run(session: Session, host, key: str, selection: Selection, stream: BinaryIO) -> int:
    """Write export ``key`` for ``selection`` to ``stream``; how many it holds. Needs
    ``core.billing``; the export is written to the audit trail and counted in the usage
    report (the caller commits)."""
    exporter = host.exporters.get(key)
    if exporter is None:
        raise ValidationError({"exporter": _("Choose one of the exports.")})
    invoices.require(session, selection.actor)
    written = exporter.write(session, selection, stream)
    record_type = RECORD_TYPES[exporter.subject]
    usage.record(session, "export", selection.actor, record_type)
    audit.event(session, "export", record_type, {
        "exporter": key, "from": selection.start, "to": selection.end,
        "ids": list(selection.ids) if selection.ids is not None else None, "rows": written},
        selection.actor, summary=f"{key}: {selection.start} – {selection.end}")
    return written


# --- What is exported --------------------------------------------------------------------

def documents(selection: Selection) -> Select:
    """The issued documents (a number given) of the selection, in the order of issue."""
    query = invoices.visible(selection.actor).where(Invoice.number.is_not(None),
                                                    Invoice.issue_date.is_not(None))
    if selection.ids is not None:
        query = query.where(Invoice.id.in_(selection.ids))
    else:
        query = query.where(Invoice.issue_date >= selection.start,
                            Invoice.issue_date <= selection.end)
    return query.order_by(Invoice.issue_date, Invoice.issued_at, Invoice.id)


def ksef_documents(selection: Selection) -> Select:
    """The selection's documents that KSeF takes: issued (not cancelled) invoices,
    advance and final invoices and their corrections."""
    corrected = aliased(Invoice)
    vat_invoices = select(corrected.id).where(corrected.kind.in_(tuple(ksef.KINDS)))
    return documents(selection).where(
        Invoice.status.in_(invoices.SETTLED),
        Invoice.kind.in_((*ksef.KINDS, "correction")),
        Invoice.corrects_id.is_(None) | Invoice.corrects_id.in_(vat_invoices))


def billed_organisations(selection: Selection) -> Select:
    """The organisations billed by the selection's documents (the chosen ones, with
    ``ids``), by name; one moved to the bin since is still there."""
    query = records.visible(Organisation, selection.actor, include_deleted=True)
    if selection.ids is not None:
        query = query.where(Organisation.id.in_(selection.ids))
    else:
        billed = documents(selection).where(Invoice.organisation_id.is_not(None))
        query = query.where(Organisation.id.in_(
            billed.with_only_columns(Invoice.organisation_id).order_by(None)))
    return query.order_by(Organisation.name, Organisation.id)


def _batches(session: Session, model: type, query: Select, *options) -> Iterator[list]:
    """The rows of ``query`` (of ``model``) a batch at a time, in its order."""
    ids = list(session.scalars(query.with_only_columns(model.id)))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        found = {row.id: row for row in session.scalars(
            select(model).where(model.id.in_(chunk)).options(*options))}
        yield [found[i] for i in chunk]


def buyer_code(row) -> str:
    """The code an accounting program knows the client by: ORG-12, PER-5."""
    if row.organisation_id is not None:
        return f"ORG-{row.organisation_id}"
    return f"PER-{row.person_id}" if row.person_id is not None else ""


def _document_batches(session: Session, selection: Selection) -> Iterator[tuple[Invoice, dict]]:
    """Each document with what it points at: the number it corrects, the advance
    invoices a final one deducts."""
    for batch in _batches(session, Invoice, documents(selection), selectinload(Invoice.lines)):
        ids = [invoice.id for invoice in batch]
        corrected = {i for invoice in batch if (i := invoice.corrects_id) is not None}
        numbers = dict(session.execute(select(Invoice.id, Invoice.number)
                                       .where(Invoice.id.in_(corrected))).all())
        advances: dict[int, list[Invoice]] = {}
        for advance in session.scalars(select(Invoice).where(Invoice.settled_by_id.in_(ids))
                                       .order_by(Invoice.issue_date, Invoice.id)):
            advances.setdefault(advance.settled_by_id, []).append(advance)
        for invoice in batch:
            yield invoice, {"corrects": numbers.get(invoice.corrects_id),
                            "advances": advances.get(invoice.id, [])}


def document_data(invoice: Invoice, corrects: str | None = None,
                  advances: Iterable[Invoice] = ()) -> dict:
    """One document as the exports give it (amounts as Decimal)."""
    rows = [vat.Row.from_dict(row) for row in invoice.vat_summary or []]
    advances = list(advances)
    buyer = invoice.buyer or {}
    in_pln = vat.tax_in_pln(rows, invoice.exchange_rate) \
        if invoice.currency != "PLN" and invoice.exchange_rate else {}
    return {
        "id": invoice.id, "number": invoice.number, "kind": invoice.kind,
        "status": invoice.status, "issue_date": invoice.issue_date,
        "sale_date": invoice.sale_date, "due_date": invoice.due_date,
        "buyer": {"code": buyer_code(invoice), "organisation_id": invoice.organisation_id,
                  "person_id": invoice.person_id,
                  **{key: buyer.get(key) or "" for key in
                     ("name", "nip", "street", "postal_code", "city")},
                  "country": buyer.get("country") or "PL"},
        "currency": invoice.currency, "exchange_rate": exchange_rate(invoice.exchange_rate),
        "exchange_rate_date": invoice.exchange_rate_date, "price_basis": invoice.price_basis,
        "net": invoice.net, "vat": invoice.vat, "gross": invoice.gross,
        "vat_pln": sum(in_pln.values(), Decimal("0.00")) if in_pln else None,
        "vat_summary": [{"rate": row.rate, "net": row.net, "vat": row.vat, "gross": row.gross,
                         **({"vat_pln": in_pln[row.rate]} if row.rate in in_pln else {})}
                        for row in rows],
        "corrects": corrects, "reason": invoice.reason or "",
        "advances": [advance.number for advance in advances],
        "advances_gross": sum((a.gross for a in advances), Decimal("0.00")) if advances
        else None,
        "to_pay": invoice.to_pay, "paid": invoice.paid,
        "lines": [{"position": line.position, "description": line.description,
                   "quantity": line.quantity, "unit": line.unit,
                   "unit_price": line.unit_price, "vat_rate": line.vat_rate,
                   "net": line.net, "vat": line.vat, "gross": line.gross}
                  for line in invoice.lines],
    }


def organisation_data(organisation: Organisation) -> dict:
    return {"code": f"ORG-{organisation.id}", "id": organisation.id,
            **{key: getattr(organisation, key) or "" for key in (
                "name", "short_name", "nip", "regon", "krs", "street", "postal_code", "city",
                "region")},
            "country": organisation.country or "PL",
            **{key: getattr(organisation, key) or "" for key in ("email", "phone", "website")},
            "type": organisation.type_key}


# --- CSV ---------------------------------------------------------------------------------

# Rates with their columns: the tax only where there is one.
RATE_COLUMNS = [(rate, part) for rate in vat.RATES
                for part in (("net", "vat") if vat.RATES[rate] is not None else ("net",))]
INVOICE_COLUMNS = [
    "number", "kind", "status", "issue_date", "sale_date", "due_date", "buyer_code",
    "buyer_name", "buyer_nip", "buyer_street", "buyer_postal_code", "buyer_city",
    "buyer_country", "currency", "exchange_rate", "exchange_rate_date", "price_basis", "net",
    "vat", "gross", "vat_pln", *(f"{part}_{rate}" for rate, part in RATE_COLUMNS),
    "corrected_number", "correction_reason", "advance_numbers", "advances_gross", "to_pay"]
ORGANISATION_COLUMNS = ["code", "name", "short_name", "nip", "regon", "krs", "street",
                        "postal_code", "city", "region", "country", "email", "phone",
                        "website", "type"]


def _invoice_row(data: dict) -> list:
    rates = {row["rate"]: row for row in data["vat_summary"]}
    found = {
        **{key: data[key] for key in ("number", "kind", "status", "issue_date", "sale_date",
                                      "due_date", "currency", "exchange_rate",
                                      "exchange_rate_date", "price_basis", "net", "vat",
                                      "gross", "vat_pln", "advances_gross", "to_pay")},
        **{f"buyer_{key}": value for key, value in data["buyer"].items()},
        **{f"{part}_{rate}": rates[rate][part] if rate in rates else None
           for rate, part in RATE_COLUMNS},
        "corrected_number": data["corrects"], "correction_reason": data["reason"],
        "advance_numbers": ", ".join(data["advances"])}
    return [found[column] for column in INVOICE_COLUMNS]


class _Encoder:
    """What csv.writer writes to: text encoded as UTF-8 into a binary stream."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8"))


def write_csv(stream: BinaryIO, headers: list[str], rows: Iterable[list]) -> int:
    """Rows as Polish accounting programs import them: UTF-8 with a BOM, semicolons,
    decimal commas; text a spreadsheet would run as a formula made inert."""
    out = _Encoder(stream)
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow([_csv_text(value) for value in row])
        count += 1
    return count


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _decimal(value).replace(".", ",")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def exchange_rate(value: Decimal | None) -> Decimal | None:
    """A rate as NBP publishes it: four places, more only when it has them (4,2563)."""
    if value is None:
        return None
    found = Decimal(value).normalize()
    return found.quantize(Decimal("0.0001")) if found.as_tuple().exponent > -4 else found


def _invoices_csv(session: Session, selection: Selection, stream: BinaryIO) -> int:
    rows = (_invoice_row(document_data(invoice, **related))
            for invoice, related in _document_batches(session, selection))
    return write_csv(stream, INVOICE_COLUMNS, rows)


def _organisations_csv(session: Session, selection: Selection, stream: BinaryIO) -> int:
    rows = ([organisation_data(org)[column] for column in ORGANISATION_COLUMNS]
            for org in _organisations(session, selection))
    return write_csv(stream, ORGANISATION_COLUMNS, rows)


def _organisations(session: Session, selection: Selection) -> Iterator[Organisation]:
    for batch in _batches(session, Organisation, billed_organisations(selection)):
        yield from batch


# --- JSON --------------------------------------------------------------------------------

def _json_value(value):
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def write_json(stream: BinaryIO, head: dict, name: str, items: Iterable[dict]) -> int:
    """``{...head, name: [items]}``, an item at a time; amounts as decimal strings."""
    opening = json.dumps({**head, name: []}, default=_json_value, ensure_ascii=False)[:-2]
    stream.write(opening.encode("utf-8"))
    count = 0
    for item in items:
        stream.write((", " if count else "").encode("utf-8"))
        stream.write(json.dumps(item, default=_json_value, ensure_ascii=False).encode("utf-8"))
        count += 1
    stream.write(b"]}\n")
    return count


def _head(key: str, selection: Selection) -> dict:
    if selection.ids is not None:
        return {"exporter": key, "ids": list(selection.ids)}
    return {"exporter": key, "from": selection.start, "to": selection.end}


def _invoices_json(session: Session, selection: Selection, stream: BinaryIO) -> int:
    items = (document_data(invoice, **related)
             for invoice, related in _document_batches(session, selection))
    return write_json(stream, _head("core.invoices_json", selection), INVOICES, items)


def _organisations_json(session: Session, selection: Selection, stream: BinaryIO) -> int:
    items = (organisation_data(org) for org in _organisations(session, selection))
    return write_json(stream, _head("core.organisations_json", selection), ORGANISATIONS, items)


# --- KSeF --------------------------------------------------------------------------------

def _ksef_zip(session: Session, selection: Selection, stream: BinaryIO) -> int:
    found = (invoice for batch in _batches(session, Invoice, ksef_documents(selection),
                                           selectinload(Invoice.lines)) for invoice in batch)
    return ksef.write_zip(session, selection.settings, found, stream)


BUILT_IN = [
    Exporter("core.invoices_csv",
             _l("Issued documents: CSV for accounting programs (semicolons, decimal commas)"),
             CSV_TYPE, "csv", INVOICES, _invoices_csv),
    Exporter("core.invoices_json", _l("Issued documents: JSON"), JSON_TYPE, "json", INVOICES,
             _invoices_json),
    Exporter("core.organisations_csv",
             LazyString(lambda: _("%(what)s billed: CSV for accounting programs",
                                  what=upper_first(term("core.organisation", plural=True)))),
             CSV_TYPE, "csv", ORGANISATIONS, _organisations_csv),
    Exporter("core.organisations_json",
             LazyString(lambda: _("%(what)s billed: JSON",
                                  what=upper_first(term("core.organisation", plural=True)))),
             JSON_TYPE, "json", ORGANISATIONS, _organisations_json),
    Exporter("core.ksef_fa3", _l("Invoices as KSeF FA(3) XML files (ZIP)"), "application/zip",
             "zip", INVOICES, _ksef_zip),
]
