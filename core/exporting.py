"""Exporting lists of records to CSV and XLSX.

The rows come from a query that starts from ``records.visible(model, actor)``, so an
export shows exactly what its user may see (and nothing in the bin); they are
fetched in batches and written as they arrive, so a long list runs in constant
memory. A text cell that a spreadsheet would run as a formula (one starting with
=, +, -, @, a tab or a carriage return) gets a leading apostrophe, as OWASP's
guidance on CSV injection advises; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from core import fields as custom_fields
from core import organisations, terminology
from core.importing import FIELDS
from core.models import Organisation, Person, User
from core.terms import upper_first

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500  # rows fetched from the database at a time
NUMBERS = (int, float, Decimal)


@dataclass(frozen=True)
class Column:
    """One column of an export: its header and how a record gives its value.

    ``options`` are loader options the value needs (such as the contacts of people),
    so that they are fetched per batch rather than per row.
    """

    header: Any  # text, or a lazy translation resolved when the file is written
    value: Callable[[Any], Any]
    options: tuple = ()


def attribute(name: str, header=None) -> Column:
    """A column showing an attribute; the header defaults to the field's label."""
    if header is None:
        header = next((f[name] for f in FIELDS.values() if name in f), name)
    return Column(header, lambda record: getattr(record, name))


def default_columns(session: Session, host, model: type, actor=None) -> list[Column]:
    """The columns of an organisation or person list, in the order of the form, then the
    custom fields ``actor`` may see."""
    return list(_builtin_columns(session, host, model).values()) + \
        custom_columns(session, model, actor)


def named_columns(session: Session, host, model: type, names: Iterable[str],
                  actor=None) -> list[Column]:
    """The columns ``names``, in that order: built-in fields by name ("city", "emails"),
    "owner" and "updated_at", custom fields as "custom.<key>" (those ``actor`` may see);
    other names are left out. A list's download has the columns the list shows."""
    language = _language()
    every = {**_builtin_columns(session, host, model), **_record_columns(session),
             **{f"custom.{d.key}": Column(d.label(language), _custom_value(d, language))
                for d in custom_fields.shown(session, model.record_type, actor)}}
    return [every[name] for name in names if name in every]


def _builtin_columns(session: Session, host, model: type) -> dict[str, Column]:
    if model is Organisation:
        return _organisation_columns(session, host)
    if model is Person:
        return _person_columns()
    raise ValueError(f"No default columns for {model.__name__}; pass the columns to export")


def _record_columns(session: Session) -> dict[str, Column]:
    """What every record has: its owner (by name) and when it last changed."""
    owners = {u.id: u.full_name or u.email for u in session.scalars(select(User))}
    return {"owner": Column(_l("Owner"), lambda record: owners.get(record.owner_id, "")),
            "updated_at": Column(_l("Last changed"), lambda record: record.updated_at)}


def custom_columns(session: Session, model: type, actor=None) -> list[Column]:
    """One column per custom field: numbers, dates and yes/no as such, so a spreadsheet
    can sum and sort them; choices by their labels; money as its amount."""
    language = _language()
    return [Column(d.label(language), _custom_value(d, language))
            for d in custom_fields.shown(session, model.record_type, actor)]


def _custom_value(definition, language: str) -> Callable:
    kind = custom_fields.field_types().get(definition.type)

    def value(record):
        raw = (record.custom or {}).get(definition.key)
        if raw is None or kind is None:
            return raw
        if kind.kind == "money":
            return Decimal(str(raw["amount"])) if isinstance(raw, dict) else raw
        if kind.kind in ("number", "boolean", "relation") and not isinstance(raw, list):
            return raw
        if kind.kind == "date":
            return _date(raw)
        return kind.display(raw, definition, language)
    return value


def _date(raw):
    try:
        return datetime.date.fromisoformat(raw)
    except (TypeError, ValueError):
        return raw


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _organisation_columns(session: Session, host) -> dict[str, Column]:
    locale = get_locale()
    language = locale.language if locale is not None else "en"
    labels = {k: t.label(language) for k, t in organisations.types(session, host).items()}
    type_column = Column(FIELDS["organisation"]["type_key"],
                         lambda org: labels.get(org.type_key, org.type_key))
    special = {"type_key": type_column,
               "name": attribute("name", _name_header(session, host, language))}
    return {name: special.get(name) or attribute(name) for name in FIELDS["organisation"]}


def _name_header(session: Session, host, language: str) -> str:
    """"Organisation name", "Nazwa organizacji": the record's noun as the installation
    words it, so that a sheet says what it lists wherever it is pasted."""
    what = terminology.of(host).registry(session, language).get("core.organisation",
                                                                  case="gen")
    return upper_first(_("%(what)s name", what=what))


def _person_columns() -> dict[str, Column]:
    fields = FIELDS["person"]
    contacts = (selectinload(Person.contacts),)
    addresses = (selectinload(Person.addresses),)

    def contact(kind: str) -> Callable:
        return lambda person: ", ".join(person.contact_values(kind))

    def address(name: str) -> Callable:
        return lambda person: getattr(person.addresses[0], name) if person.addresses else ""

    return {
        **{name: attribute(name) for name in ("first_name", "last_name", "pesel")},
        "emails": Column(fields["emails"], contact("email"), contacts),
        "phones": Column(fields["phones"], contact("phone"), contacts),
        **{name: Column(fields[name], address(name), addresses)
           for name in ("street", "postal_code", "city", "region", "country")},
        "notes": attribute("notes"),
    }


def neutralise(value):
    """A text that a spreadsheet would take for a formula, made inert; others as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export(session: Session, rows_query: Select, columns: Iterable[Column | str], stream,
           fmt: str = "csv", delimiter: str = ",") -> int:
    """Write the rows of ``rows_query`` to the binary ``stream``; returns how many.

    ``rows_query`` must start from ``records.visible(model, actor)``; columns given
    by name show that attribute. CSV is UTF-8 with a BOM, so that Excel reads the
    Polish letters right; with ``delimiter=";"`` (what Excel expects in Polish)
    numbers are written with a decimal comma.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    columns = [attribute(c) if isinstance(c, str) else c for c in columns]
    options = dict.fromkeys(o for c in columns for o in c.options)
    query = rows_query.options(*options).execution_options(yield_per=BATCH)
    records = session.scalars(query)
    headers = [str(c.header) for c in columns]
    rows = ([c.value(record) for c in columns] for record in records)
    if fmt == "xlsx":
        return _write_xlsx(stream, headers, rows)
    return _write_csv(stream, headers, rows, delimiter)


class _Encoder:
    """What csv.writer writes to: text encoded as UTF-8 into a binary stream."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text.encode("utf-8"))


def _write_csv(stream, headers: list[str], rows: Iterable[list], delimiter: str) -> int:
    out = _Encoder(stream)
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in headers])
    decimal_comma = delimiter == ";"
    count = 0
    for row in rows:
        writer.writerow([_csv_text(v, decimal_comma) for v in row])
        count += 1
    return count


def _csv_text(value, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, NUMBERS):
        text = str(value)
        return text.replace(".", ",") if decimal_comma else text
    if isinstance(value, datetime.datetime):
        return _utc(value).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return neutralise(str(value))


def _write_xlsx(stream, headers: list[str], rows: Iterable[list]) -> int:
    workbook = Workbook(write_only=True)  # rows go to a temporary file, not memory
    sheet = workbook.create_sheet()
    sheet.append([_xlsx_value(h) for h in headers])
    count = 0
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
        count += 1
    workbook.save(stream)
    return count


def _xlsx_value(value):
    """Numbers, dates and booleans as such; text made inert and free of control bytes."""
    if value is None or isinstance(value, (bool, *NUMBERS, datetime.date)):
        return _utc(value) if isinstance(value, datetime.datetime) else value
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _utc(value: datetime.datetime) -> datetime.datetime:
    """Spreadsheets have no time zones: times are written in UTC, without one."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.replace(tzinfo=None)
