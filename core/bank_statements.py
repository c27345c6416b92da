"""Bank statements: reading a bank's CSV or MT940 file, and importing its lines.

How a bank's files are read is its **profile** (``BankProfile``): the format, and for
CSV the encoding (UTF-8 with or without a BOM, Windows-1250 or ISO 8859-2; recognised
unless set), the separator, the decimal separator, the date format, the rows above the
header row and which column holds what (``columns``: field -> [column header, ...]).
The first CSV file of a bank is mapped by hand; the profile remembers the mapping, and
the next file from the bank is read with it. MT940 needs no mapping: Polish banks put
the title, the counterparty's name and account into the ``:86:`` field's sub-fields
(``~20``-``~27`` the title, ``~32``-``~33`` the name, ``~38`` the IBAN), read here.

``import_statement`` keeps every line: credits are matched to invoices
(``core.payment_matching``), debits are kept as such and never become payments. Each
line carries the bank's transaction id, or a digest of its date, amount, account,
payer, title and how many identical lines came before it in the file, so that a
statement imported again, or one overlapping an earlier one, records no payment twice:
such a line is a duplicate of the line imported before. A statement of a few thousand
lines is imported while the request waits.

Everything here needs ``core.billing``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import mt940
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum import iban as stdnum_iban

from core import audit, identifiers, importing, invoices, payment_matching
from core.errors import ValidationError
from core.models import BankProfile, BankStatement, BankStatementLine, Payment
from core.models.bank import ENCODINGS, FORMATS
from core.text import fold
from core.validation import load_collecting, max_length

MAX_LINES = 20_000  # lines of one statement, imported while the request waits
MAX_ROW_ERRORS = 20  # rows named when a file is refused
HEADER_SEARCH = 60  # rows looked through for the header row when it has moved
PREVIEW_ROWS = 10

FIELDS = {
    "date": _l("Date"), "amount": _l("Amount"), "credit": _l("Credit (money in)"),
    "debit": _l("Debit (money out)"), "currency": _l("Currency"), "payer": _l("Payer"),
    "account": _l("Payer's account"), "title": _l("Title"),
    "transaction_id": _l("Bank's transaction id"),
}
MULTI = ("payer", "title")  # several columns are joined, in the file's order
# Header names Polish and English banks give each field.
ALIASES = {
    "date": ["Data operacji", "Data księgowania", "Data transakcji", "Data", "Data waluty",
             "Date", "Booking date", "Transaction date", "Value date"],
    "amount": ["Kwota", "Kwota operacji", "Kwota transakcji", "Kwota w walucie rachunku",
               "Amount", "Transaction amount"],
    "credit": ["Uznania", "Uznanie", "Wpływy", "Wpływ", "Kwota uznania", "Credit"],
    "debit": ["Obciążenia", "Obciążenie", "Wypływy", "Wypływ", "Kwota obciążenia", "Debit"],
    "currency": ["Waluta", "Waluta operacji", "Currency"],
    "payer": ["Nadawca", "Kontrahent", "Nazwa kontrahenta", "Dane kontrahenta",
              "Nadawca odbiorca", "Nadawca / Odbiorca", "Zleceniodawca", "Nazwa nadawcy",
              "Payer", "Counterparty", "Name"],
    "account": ["Rachunek nadawcy", "Rachunek kontrahenta", "Numer rachunku", "Nr rachunku",
                "Rachunek", "Konto", "Numer konta", "Konto nadawcy", "Account", "IBAN",
                "Counterparty account"],
    "title": ["Tytuł", "Tytułem", "Tytuł operacji", "Tytuł przelewu", "Opis", "Opis operacji",
              "Szczegóły", "Title", "Description", "Details"],
    "transaction_id": ["Identyfikator transakcji", "ID transakcji", "Numer referencyjny",
                       "Nr referencyjny", "Numer transakcji", "Referencje",
                       "Transaction ID", "Reference"],
}
DATE_FORMATS = {
    "auto": _l("recognise it"), "%d.%m.%Y": "31.12.2026", "%Y-%m-%d": "2026-12-31",
    "%d-%m-%Y": "31-12-2026", "%d/%m/%Y": "31/12/2026", "%Y.%m.%d": "2026.12.31",
    "%Y/%m/%d": "2026/12/31", "%Y%m%d": "20261231",
}
DELIMITERS = {"auto": _l("recognise it"), ";": _l("semicolon ;"), ",": _l("comma ,"),
              "\t": _l("tab")}
DECIMAL_SEPARATORS = {",": _l("comma: 1 234,56"), ".": _l("point: 1,234.56")}
ENCODING_LABELS = {"auto": _l("recognise it"), "utf-8": "UTF-8", "cp1250": "Windows-1250",
                   "iso-8859-2": "ISO 8859-2"}
FORMAT_LABELS = {"csv": "CSV", "mt940": "MT940"}
_AUTO_DATES = ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y", "%Y.%m.%d", "%Y/%m/%d",
               "%Y%m%d")
_NOT_REFERENCES = {"", "NONREF", "NOTPROVIDED", "BRAK"}
_DETAIL = re.compile(r"[~^<?](\d{2})")  # a sub-field marker of a Polish :86:
_FULL_SUBFIELD = 27  # a sub-field this long was cut mid-word; shorter ones end a word


# --- Profiles ----------------------------------------------------------------------------

class ColumnsField(fields.Dict):
    """field -> a column header, or a list of them for the fields joined from several."""

    def _deserialize(self, value, attr, data, **kwargs):
        found = super()._deserialize(value, attr, data, **kwargs)
        columns, problems = {}, {}
        for key, given in found.items():
            names = [given] if isinstance(given, str) else given
            if key not in FIELDS:
                problems[key] = [_("Choose a field from the list.")]
            elif not isinstance(names, list) or not all(isinstance(n, str) and n.strip()
                                                        and len(n) <= 200 for n in names):
                problems[key] = [_("Give the column's header as it is in the file.")]
            elif len(names) > 1 and key not in MULTI:
                problems[key] = [_("Map only one column to %(field)s.",
                                   field=str(FIELDS[key]))]
            elif names:
                columns[key] = [n.strip() for n in names]
        if problems:
            raise SchemaError(problems)
        return columns


class ProfileSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=[
        validate.Length(min=1, error=_l("Name the bank.")), max_length(100)],
        error_messages={"required": _l("Name the bank.")})
    format = fields.String(load_default="csv", validate=validate.OneOf(
        FORMATS, error=_l("Choose CSV or MT940.")))
    encoding = fields.String(load_default="auto", validate=validate.OneOf(
        ENCODINGS, error=_l("Choose an encoding from the list.")))
    delimiter = fields.String(load_default="auto", validate=validate.OneOf(
        tuple(DELIMITERS), error=_l("Choose a separator from the list.")))
    decimal_separator = fields.String(load_default=",", validate=validate.OneOf(
        tuple(DECIMAL_SEPARATORS), error=_l("Choose a comma or a point.")))
    date_format = fields.String(load_default="auto", validate=validate.OneOf(
        tuple(DATE_FORMATS), error=_l("Choose a date format from the list.")))
    skip_rows = fields.Integer(load_default=0, validate=validate.Range(
        min=0, max=100, error=_l("Enter a number of rows from 0 to 100.")), error_messages={
        "invalid": _l("Enter a number of rows from 0 to 100.")})
    currency = fields.String(load_default="PLN", validate=validate.Regexp(
        r"^[A-Z]{3}$", error=_l("Enter a three-letter currency code, such as PLN.")))
    columns = ColumnsField(load_default=dict)

    @validates_schema(skip_on_field_errors=False)
    def _columns_complete(self, data: dict, **_kwargs) -> None:
        if data.get("format") != "mt940":
            problems = _column_problems(data.get("columns") or {})
            if problems:
                raise SchemaError({"columns": problems})


READING = ("encoding", "delimiter", "decimal_separator", "date_format", "skip_rows",
           "currency")


def reading(data: dict) -> tuple[dict, dict[str, str]]:
    """The reading settings ``data`` gives (the defaults for those it gets wrong), and
    the messages of those it gets wrong."""
    values, errors = load_collecting(ProfileSchema(only=READING), data)
    defaults = ProfileSchema(only=READING).load({})
    return {**defaults, **values}, errors


def check_new_profile(session: Session, data: dict, actor=None) -> dict[str, str]:
    """What would stop ``create_profile`` with ``data``, without writing anything."""
    invoices.require(session, actor)
    values, errors = load_collecting(ProfileSchema(), data)
    _check_profile(session, values, None, errors)
    return errors


def profiles(session: Session, actor=None) -> list[BankProfile]:
    invoices.require(session, actor)
    return list(session.scalars(select(BankProfile).order_by(BankProfile.name)))


def get_profile(session: Session, profile_id: int, actor=None) -> BankProfile | None:
    invoices.require(session, actor)
    return session.get(BankProfile, profile_id)


def create_profile(session: Session, data: dict, actor=None) -> BankProfile:
    """A bank's profile; every problem is named at once, and then nothing is written."""
    invoices.require(session, actor)
    values, errors = load_collecting(ProfileSchema(), data)
    _check_profile(session, values, None, errors)
    if errors:
        raise ValidationError(errors)
    profile = BankProfile(**values, created_by_id=getattr(actor, "id", None))
    session.add(profile)
    session.flush()
    audit.write(session, profile, "create", {k: (None, v) for k, v in values.items()}, actor,
                summary=profile.name)
    return profile


def update_profile(session: Session, profile: BankProfile, data: dict, actor=None
                   ) -> BankProfile:
    """Change what ``data`` gives (the reading settings, the mapping, the name)."""
    invoices.require(session, actor)
    current = {name: getattr(profile, name) for name in ProfileSchema._declared_fields}
    values, errors = load_collecting(ProfileSchema(), {**current, **data})
    _check_profile(session, values, profile, errors)
    if errors:
        raise ValidationError(errors)
    changes = {k: (current[k], v) for k, v in values.items() if current[k] != v}
    for key, value in values.items():
        setattr(profile, key, value)
    session.flush()
    if changes:
        audit.write(session, profile, "update", changes, actor, summary=profile.name)
    return profile


def _check_profile(session: Session, values: dict, profile: BankProfile | None,
                   errors: dict) -> None:
    if "name" in values:
        values["name"] = values["name"].strip()
        if not values["name"]:
            errors["name"] = _("Name the bank.")
        elif session.scalar(select(BankProfile.id).where(
                func.lower(BankProfile.name) == values["name"].lower())) not in (
                None, getattr(profile, "id", None)):
            errors["name"] = _("There is a bank with this name already.")
    if values.get("format") == "mt940":
        values["columns"] = {}


def _column_problems(columns: dict) -> dict[str, str]:
    """What a mapping lacks or has too much of, whatever the file."""
    if not columns:
        return {}
    found = {}
    if "date" not in columns:
        found["date"] = _("Map a column to %(field)s: every line needs it.",
                          field=str(FIELDS["date"]))
    if "amount" in columns and ("credit" in columns or "debit" in columns):
        found["amount"] = _("Map either Amount, or Credit and Debit, not both.")
    elif "amount" not in columns and "credit" not in columns:
        found["amount"] = _("Map a column to Amount, or to Credit (and Debit).")
    if "title" not in columns:
        found["title"] = _("Map a column to %(field)s: invoices are found by it.",
                           field=str(FIELDS["title"]))
    used: dict[str, str] = {}
    for key, names in columns.items():
        for name in names:
            if name in used and used[name] != key:
                found.setdefault(key, _("Column %(column)s is already mapped to %(field)s.",
                                        column=name, field=str(FIELDS[used[name]])))
            used.setdefault(name, key)
    return found


def check_columns(columns: dict, headers: list[str]) -> dict:
    """The mapping, if the file's headers have every column it names and it maps what
    every line needs; a ValidationError keyed ``columns.<field>`` otherwise."""
    errors = {f"columns.{k}": m for k, m in _column_problems(columns).items()}
    if not columns:
        errors["columns.date"] = _("Map the file's columns: say which holds the date, the "
                                   "amount and the title.")
    for key, names in columns.items():
        for name in names:
            if name not in headers:
                errors.setdefault(f"columns.{key}", _(
                    "The file has no column %(column)s: check the rows to skip above the "
                    "headers, or map the columns again.", column=name))
    if errors:
        raise ValidationError(errors)
    return columns


def _header_key(header: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(header)))


def suggest_columns(headers: list[str]) -> dict[str, list[str]]:
    """field -> [column] for the headers that name a field, in Polish or English."""
    index = {_header_key(alias): key for key, names in ALIASES.items() for alias in names}
    found: dict[str, list[str]] = {}
    for header in headers:
        key = index.get(_header_key(header))
        if key and (key in MULTI or key not in found):
            found.setdefault(key, []).append(header)
    if "amount" in found:
        found.pop("credit", None)
        found.pop("debit", None)
    return found


# --- Reading -----------------------------------------------------------------------------

@dataclass
class Line:
    """One transaction as the file gives it; ``amount`` below zero is a debit."""

    position: int
    booked_on: date
    amount: Decimal
    currency: str
    payer: str = ""
    account: str = ""
    title: str = ""
    bank_id: str = ""


@dataclass
class Parsed:
    lines: list[Line]
    encoding: str
    account: str = ""  # the statement's own account, if the file names it


@dataclass
class Table:
    """A CSV statement's rows: those above the headers, the headers and the rest."""

    encoding: str
    delimiter: str
    header_row: int  # how many rows are above the headers
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number, cells)
    above: list[list[str]] = field(default_factory=list)


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": message})


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """The file's text and the encoding it was read in; a ValidationError on ``file``
    for what is no text statement."""
    if not data.strip():
        raise _file_error(_("The file is empty."))
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise _file_error(_("This is a spreadsheet, not a bank statement: export the "
                            "statement from the bank as CSV or MT940."))
    if data.startswith(b"%PDF"):
        raise _file_error(_("This is a PDF, not a bank statement: export the statement "
                            "from the bank as CSV or MT940."))
    if encoding == "auto":
        try:
            encoding = importing.detect_encoding(io.BytesIO(data))
        except importing.ImportFileError:
            raise _file_error(_("The file is neither UTF-8 nor Windows-1250 text: check that "
                                "it is the bank statement, or choose its encoding in the "
                                "bank's settings.")) from None
    elif encoding == "utf-8":
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise _file_error(_("The file is not %(encoding)s text: choose another encoding in "
                            "the bank's settings, or let it be recognised.",
                            encoding=ENCODING_LABELS[encoding.removesuffix("-sig")])
                          ) from None
    if "\x00" in text:
        raise _file_error(_("The file is neither UTF-8 nor Windows-1250 text: check that it "
                            "is the bank statement, or choose its encoding in the bank's "
                            "settings."))
    return text, encoding.removesuffix("-sig")


def read_table(data: bytes, profile: BankProfile, wanted: dict | None = None) -> Table:
    """A CSV statement's rows as ``profile`` reads them. With ``wanted`` (a mapping) and
    its columns missing from the header row, the first row within ``HEADER_SEARCH``
    that has them all is taken instead: banks add a line above the headers now and then."""
    text, encoding = decode(data, profile.encoding)
    delimiter = profile.delimiter
    if delimiter == "auto":
        delimiter = sniff_delimiter(text.splitlines()[profile.skip_rows:][:50])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            rows.append((reader.line_num, cells))
    except csv.Error:
        rows = []
    # Quotes inside a value are doubled: an odd number leaves one open, and the reader
    # would take the rest of the file for one value.
    if not rows or text.count('"') % 2:
        raise _file_error(_("This row cannot be read, nor any row after it: check for a "
                            "quotation mark that is never closed.")) from None
    start = min(profile.skip_rows, len(rows))
    if wanted:
        needed = {name for names in wanted.values() for name in names}
        for at in range(start, min(len(rows), start + HEADER_SEARCH)):
            if needed <= set(_headers(rows[at][1])):
                start = at
                break
    if start >= len(rows):
        raise _file_error(_("The file has no rows below the %(count)d rows to skip.",
                            count=profile.skip_rows))
    return Table(encoding, delimiter, start, _headers(rows[start][1]), rows[start + 1:],
                 [cells for _number, cells in rows[:start]])


def _headers(cells: list[str]) -> list[str]:
    """Trimmed headers, each its own: an empty one is named by its place, a repeated
    one gets its number."""
    found: list[str] = []
    for number, cell in enumerate(cells, 1):
        name = cell.strip().lstrip("\ufeff") or _("Column %(number)d", number=number)
        while name in found:
            name = f"{name} ({number})"
        found.append(name)
    while found and not cells[len(found) - 1].strip():
        found.pop()
    return found


def sniff_delimiter(lines: list[str]) -> str:
    """Semicolon, comma or tab: the one that splits most lines into the same number of
    columns (a bank's title rows above the headers have one column whatever it is)."""
    best, best_score = ";", (0, 0)
    for delimiter in (";", ",", "\t"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines), newline=""),
                                   delimiter=delimiter))
        except csv.Error:
            continue
        widths = Counter(len(cells) for cells in rows if len(cells) > 1)
        if widths:
            width, count = widths.most_common(1)[0]
            if (count, width) > best_score:
                best, best_score = delimiter, (count, width)
    return best


def guess_skip_rows(data: bytes, profile: BankProfile) -> int:
    """How many rows stand above the headers: those above the first row that names two
    fields."""
    try:
        text, _encoding = decode(data, profile.encoding)
    except ValidationError:
        return 0
    lines = text.splitlines()[:HEADER_SEARCH]
    delimiter = profile.delimiter if profile.delimiter != "auto" else sniff_delimiter(lines)
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines), newline=""), delimiter=delimiter))
    except csv.Error:
        return 0
    for number, cells in enumerate(rows):
        if sum(len(names) for names in suggest_columns(cells).values()) >= 2:
            return number
    return 0


def parse(data: bytes, profile: BankProfile) -> Parsed:
    """The file's transactions as ``profile`` reads them. A ValidationError names what is
    wrong: the file (``file``), a column of the mapping (``columns.<field>``) or a row's
    value (``rows.<row number>.<field>``)."""
    if profile.format == "mt940":
        return _parse_mt940(data, profile)
    table = read_table(data, profile, profile.columns)
    columns = check_columns(profile.columns or {}, table.headers)
    return _csv_lines(table, profile, columns)


def _csv_lines(table: Table, profile: BankProfile, columns: dict) -> Parsed:
    index = {header: n for n, header in enumerate(table.headers)}
    lines: list[Line] = []
    errors: dict[str, str] = {}
    for number, cells in table.rows:
        def cell(key: str, cells=cells) -> str:
            found = (cells[index[name]].strip() for name in columns.get(key, ())
                     if index[name] < len(cells))
            return " ".join(" ".join(text.split()) for text in found if text)

        when = cell("date")
        if not any(c.isdigit() for c in when):
            continue  # a blank row, or a summary below the lines ("Saldo końcowe")
        line, problems = _csv_line(len(lines) + 1, cell, profile, columns)
        for key, message in problems.items():
            if len(errors) < MAX_ROW_ERRORS:
                errors[f"rows.{number}.{key}"] = _("Row %(row)d: %(problem)s", row=number,
                                                   problem=message)
        if line is not None:
            lines.append(line)
    if errors:
        raise ValidationError(errors)
    _check_size(lines)
    return Parsed(lines, table.encoding)


def _csv_line(position: int, cell, profile: BankProfile, columns: dict
              ) -> tuple[Line | None, dict[str, str]]:
    problems: dict[str, str] = {}
    booked_on = parse_date(cell("date"), profile.date_format)
    if booked_on is None:
        problems["date"] = _("%(value)s is not a date in the bank's date format.",
                             value=cell("date"))
    amount = None
    try:
        if "amount" in columns:
            amount = parse_amount(cell("amount"), profile.decimal_separator)
            if amount is None:
                problems["amount"] = _("the amount is empty.")
        else:
            credit = parse_amount(cell("credit"), profile.decimal_separator)
            debit = parse_amount(cell("debit"), profile.decimal_separator)
            if credit is None and debit is None:
                problems["amount"] = _("the amount is empty.")
            else:
                amount = abs(credit or 0) - abs(debit or 0)
    except ValueError as exc:
        problems["amount"] = str(exc)
    currency = cell("currency").upper() or profile.currency
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems["currency"] = _("%(value)s is not a currency code, such as PLN.",
                                 value=currency)
    if problems:
        return None, problems
    return Line(position, booked_on, amount, currency, cell("payer")[:300],
                compact_account(cell("account")), cell("title")[:500],
                cell("transaction_id")[:100]), {}


def parse_date(text: str, date_format: str = "auto") -> date | None:
    """A day as banks write it (a time after it is left out); None if it is none."""
    text = text.strip()
    if not text:
        return None
    day = text.split()[0].rstrip(",")
    for pattern in _AUTO_DATES if date_format == "auto" else (date_format,):
        try:
            return datetime.strptime(day, pattern).date()
        except ValueError:
            continue
    return None


def parse_amount(text: str, decimal_separator: str = ",") -> Decimal | None:
    """An amount as banks write it: "1 234,56", "-50,00", "1.234,56", "1,234.56 PLN",
    "+1230.5"; None for an empty cell. A ValueError says why it is no amount.

    Where the text shows which separator is the decimal one (both appear, or one is
    followed by one or two digits at the end) it is taken from the text; only "1.234"
    and "1,234" are read by ``decimal_separator``."""
    found = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    found = re.sub(r"(?i)(PLN|EUR|USD|GBP|CHF|zł|zl)$", "", found)
    if not found:
        return None
    negative = found.startswith("-") or found.endswith("-") or (
        found.startswith("(") and found.endswith(")"))
    digits = found.strip("+-()")
    comma, point = digits.rfind(","), digits.rfind(".")
    if comma >= 0 and point >= 0:
        decimal = "," if comma > point else "."
    elif comma >= 0 or point >= 0:
        mark = "," if comma >= 0 else "."
        other = "." if mark == "," else ","
        if digits.count(mark) > 1:  # 1.234.567
            decimal = other
        elif len(digits.rsplit(mark, 1)[1]) == 3:  # 1.234 or 1,234: as the bank writes
            decimal = decimal_separator
        else:
            decimal = mark
    else:
        decimal = decimal_separator
    thousands = "." if decimal == "," else ","
    plain = digits.replace(thousands, "").replace(decimal, ".")
    if not re.fullmatch(r"\d+(\.\d+)?", plain):
        raise ValueError(_("%(value)s is not an amount, such as 1 234,56.", value=text))
    try:
        amount = Decimal(plain)
    except InvalidOperation:
        raise ValueError(_("%(value)s is not an amount, such as 1 234,56.",
                           value=text)) from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("%(value)s has more than two decimal places.", value=text))
    amount = amount.quantize(Decimal("0.01"))
    if amount >= invoices.MAX_PRICE:
        raise ValueError(_("%(value)s is not an amount, such as 1 234,56.", value=text))
    return -amount if negative else amount


def compact_account(text: str) -> str:
    """An account number as one spelling: an IBAN without spaces (a Polish NRB of 26
    digits gets its PL), or what the bank wrote without spaces and dashes."""
    raw = re.sub(r"[^0-9A-Za-z]", "", text or "").upper()
    if not raw:
        return ""
    try:
        return identifiers.normalise("iban", raw)
    except ValidationError:
        return raw[:40]


def _check_size(lines: list[Line]) -> None:
    if len(lines) > MAX_LINES:
        raise _file_error(_("The statement has %(count)d lines; at most %(limit)d are "
                            "imported at once: export a shorter period.",
                            count=len(lines), limit=MAX_LINES))


# MT940

def _parse_mt940(data: bytes, profile: BankProfile) -> Parsed:
    text, encoding = decode(data, profile.encoding)
    if not re.search(r"^:(20|25|60[FM]|61):", text, re.MULTILINE):
        raise _file_error(_("This is not an MT940 statement: it has none of its fields "
                            "(:20:, :25:, :60F:, :61:). Choose a CSV bank for a CSV file."))
    try:
        statement = mt940.parse(text)
        transactions = list(statement)
    except Exception:  # the parser's errors have no common type: all mean a broken file
        raise _file_error(_("The MT940 statement cannot be read: export it from the bank "
                            "again.")) from None
    own = compact_account(str(statement.data.get("account_identification") or "").lstrip("/"))
    lines: list[Line] = []
    for position, transaction in enumerate(transactions, 1):
        found = transaction.data
        amount = found.get("amount")
        day = found.get("date")
        if amount is None or day is None:
            raise _file_error(_("The MT940 statement cannot be read: export it from the "
                                "bank again."))
        details = details_86(found.get("transaction_details") or "")
        reference = next((str(r).strip() for r in (found.get("bank_reference"),
                                                   found.get("customer_reference"))
                          if r and str(r).strip().upper() not in _NOT_REFERENCES), "")
        lines.append(Line(position, date(day.year, day.month, day.day),
                          Decimal(amount.amount).quantize(Decimal("0.01")),
                          (found.get("currency") or amount.currency or profile.currency)[:3],
                          details["payer"][:300], details["account"], details["title"][:500],
                          reference[:100]))
    _check_size(lines)
    return Parsed(lines, encoding, own)


def details_86(text: str) -> dict[str, str]:
    """The title, the counterparty's name and account from a ``:86:`` field.

    Polish banks divide it into sub-fields after a three-digit transaction code, marked
    ``~NN`` (some ``^NN``, ``<NN`` or ``?NN``): ``~20``-``~27`` the title, ``~32``-``~33``
    the name, ``~38`` the IBAN (or ``~30`` the bank's sort code and ``~31`` the account).
    A field without sub-fields is all title."""
    text = text.replace("\r", "").replace("\n", "")
    first = _DETAIL.search(text)
    if first is None:
        return {"title": " ".join(text.split()), "payer": "", "account": ""}
    marker = first.group(0)[0]
    parts = re.split(re.escape(marker) + r"(\d{2})", text[first.start():])
    fields_: dict[str, list[str]] = {}
    for number, value in zip(parts[1::2], parts[2::2], strict=True):
        fields_.setdefault(number, []).append(value)

    def joined(numbers) -> str:
        out, previous = "", ""
        for piece in (p for n in numbers for p in fields_.get(n, ())):
            # A full sub-field was cut where it filled up, maybe mid-word.
            out += piece if len(previous) >= _FULL_SUBFIELD else " " + piece
            previous = piece
        return " ".join(out.split())

    title = joined(("20", "21", "22", "23", "24", "25", "26", "27"))
    payer = joined(("32", "33"))
    account = compact_account("".join(fields_.get("38", ())))
    if not account:
        sort_code = "".join(fields_.get("30", ())).strip()
        number = "".join(fields_.get("31", ())).strip()
        if re.fullmatch(r"\d{8}", sort_code) and re.fullmatch(r"\d{16}", number):
            bban = sort_code + number
            account = "PL" + stdnum_iban.calc_check_digits("PL00" + bban) + bban
        elif number:
            account = compact_account(number)
    return {"title": title, "payer": payer, "account": account}


# --- Importing ---------------------------------------------------------------------------

def import_statement(session: Session, profile: BankProfile, filename: str, data: bytes,
                     actor=None) -> BankStatement:
    """Read the file with ``profile``, keep each line and match the credits to open
    invoices: a sure match becomes a payment allocated to its invoices, an unsure one
    waits for review. A line imported before is a duplicate and changes nothing; a debit
    is kept as one. A ValidationError (see ``parse``) refuses the file, writing nothing."""
    invoices.require(session, actor)
    parsed = parse(data, profile)
    _not_with_another_bank(session, data, profile)
    statement = BankStatement(
        profile=profile, filename=(filename or "")[:255].replace("\x00", ""),
        format=profile.format, encoding=parsed.encoding, account=parsed.account,
        checksum=hashlib.sha256(data).hexdigest(), imported_by_id=getattr(actor, "id", None))
    session.add(statement)
    session.flush()  # the transaction has begun before any line's savepoint
    scope = parsed.account or f"bank{profile.id}"
    matcher = payment_matching.Matcher(session, actor)
    seen: dict[str, BankStatementLine] = {}
    for line, external_id in zip(parsed.lines, external_ids(parsed.lines, scope),
                                 strict=True):
        earlier = seen.get(external_id) or _earlier(session, external_id)
        row = BankStatementLine(
            position=line.position, booked_on=line.booked_on, amount=line.amount,
            currency=line.currency, payer=line.payer, account=line.account, title=line.title,
            external_id=external_id)
        statement.lines.append(row)
        seen.setdefault(external_id, row)
        if earlier is not None:
            session.flush()  # the earlier line of this very file needs its id
            payment_matching.mark_duplicate(row, earlier)
        elif line.amount < 0:
            row.status, row.reason = "debit", "debit"
        elif line.amount == 0:
            row.status, row.reason = "ignored", "zero"
        else:
            session.flush()
            matcher.match(row)
    session.flush()
    payment_matching.recount(session, statement)
    audit.write(session, statement, "create", {
        "filename": (None, statement.filename), "profile": (None, profile.name),
        "counts": (None, statement.counts)}, actor, summary=statement.filename)
    return statement


def external_ids(lines: list[Line], scope: str) -> list[str]:
    """Each line's id: the bank's own (with its day and amount, in case a bank repeats
    its references), else a digest of what the line says and of how many lines saying
    the same came before it in the file, so the same statement gives the same ids."""
    found, seen = [], Counter()
    for line in lines:
        if line.bank_id:
            found.append(f"{scope}:{line.bank_id}:{line.booked_on.isoformat()}:{line.amount}"
                         [:200])
            continue
        said = "\x1f".join((line.booked_on.isoformat(), str(line.amount), line.currency,
                            line.account, " ".join(fold(line.payer).split()),
                            " ".join(fold(line.title).split())))
        seen[said] += 1
        digest = hashlib.sha256(f"{said}\x1f{seen[said]}".encode()).hexdigest()[:40]
        found.append(f"{scope}:{digest}"[:200])
    return found


def _earlier(session: Session, external_id: str):
    """The line (or payment) this id was imported as before, if any."""
    line = session.scalar(select(BankStatementLine).where(
        BankStatementLine.external_id == external_id,
        BankStatementLine.status != "duplicate").order_by(BankStatementLine.id).limit(1))
    if line is not None:
        return line
    return session.scalar(select(Payment).where(Payment.source == "bank",
                                                Payment.external_id == external_id))


def statements_query():
    """The statements, the latest first."""
    return select(BankStatement).order_by(BankStatement.id.desc())


def get(session: Session, statement_id: int, actor=None) -> BankStatement | None:
    invoices.require(session, actor)
    return session.get(BankStatement, statement_id)


def _not_with_another_bank(session: Session, data: bytes, profile: BankProfile) -> None:
    """The same file read with another bank's settings would give its lines other ids,
    and pay the same money twice."""
    other = session.scalar(select(BankStatement).where(
        BankStatement.checksum == hashlib.sha256(data).hexdigest(),
        BankStatement.profile_id != profile.id).limit(1))
    if other is not None:
        raise ValidationError({"file": _(
            "This file was imported before with the bank “%(bank)s”; import it with that "
            "bank again.", bank=other.profile.name if other.profile else "")})


def earlier_import(session: Session, statement: BankStatement) -> BankStatement | None:
    """The statement imported before from the very same file, if any."""
    return session.scalar(select(BankStatement).where(
        BankStatement.checksum == statement.checksum, BankStatement.id < statement.id)
        .order_by(BankStatement.id).limit(1))


def preview_rows(data: bytes, profile: BankProfile, rows: int = PREVIEW_ROWS) -> Table:
    """The headers and first rows of a CSV file, for choosing its mapping."""
    table = read_table(data, profile)
    table.rows = [(n, cells) for n, cells in table.rows if any(c.strip() for c in cells)][:rows]
    return table

