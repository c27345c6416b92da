"""Importing organisations and people from CSV and XLSX files.

A file is read one row at a time (``open_rows``); its columns are mapped to fields
(``suggest_mapping``, or the mapping remembered for files with the same headers): the
built-in ones, and the custom fields the importing user may edit ("custom.<key>",
their cells read by ``CustomCells``). Every row gets what a form gets: the service's
validation and normalisation (organisations.clean, people.clean, custom values by
fields.validated), duplicate detection, the plugins' veto, the audit trail and the
plugins' notification. Rows go in a batch at a time, so that a million
of them take minutes, not days: the duplicates of a whole batch are looked up at once
(``bulk_duplicates``) and its new records written in bulk (``bulk``); a row that
updates a record goes through the service (organisations.update, people.update) in a
savepoint of its own. A bad row is reported and never half-written, each batch is
committed, and a file of any size runs in constant memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import (
    audit,
    bulk,
    bulk_duplicates,
    duplicates,
    events,
    jobs,
    organisations,
    people,
    records,
)
from core import fields as custom_fields
from core.errors import Forbidden, KartotekaError, ValidationError
from core.fieldtypes import choice_labels, choice_values
from core.models import ImportMapping, Job, Organisation, Person, User
from core.text import fold

FIELDS = {
    "organisation": {
        "name": _l("Name"), "short_name": _l("Short name"), "type_key": _l("Type"),
        "nip": "NIP", "regon": "REGON", "krs": "KRS", "email": _l("E-mail"),
        "phone": _l("Phone"), "website": _l("Website"), "street": _l("Street and number"),
        "postal_code": _l("Postal code"), "city": _l("City"), "region": _l("Region"),
        "country": _l("Country"), "notes": _l("Notes"),
    },
    "person": {
        "first_name": _l("First name"), "last_name": _l("Last name"), "pesel": "PESEL",
        "emails": _l("E-mail addresses"), "phones": _l("Phones"),
        "street": _l("Street and number"), "postal_code": _l("Postal code"),
        "city": _l("City"), "region": _l("Region"), "country": _l("Country"),
        "notes": _l("Notes"),
    },
}
REQUIRED = {"organisation": ("name", "type_key"), "person": ("first_name", "last_name")}
MULTI_VALUED = {"emails", "phones"}  # several columns may feed them; a cell may hold several
ADDRESS_FIELDS = ("street", "postal_code", "city", "region", "country")  # a person's address
POLICIES = ("skip", "update", "create")
CUSTOM = "custom."  # a custom field's key in a mapping: "custom.<key>"

_EMAIL = ["E-mail", "Email", "Adres e-mail", "Adres email", "Mail", "E-mail address",
          "Email address"]
_PHONE = ["Telefon", "Tel", "Nr telefonu", "Numer telefonu", "Telefon komórkowy", "Komórka",
          "Telefon stacjonarny", "Phone", "Telephone", "Phone number", "Mobile"]
# Header names that Polish and English programs and people give each field.
ALIASES = {
    "name": ["Nazwa", "Nazwa organizacji", "Nazwa firmy", "Nazwa pełna", "Pełna nazwa",
             "Firma", "Name", "Organisation", "Organization", "Organisation name",
             "Organization name", "Company", "Company name"],
    "short_name": ["Nazwa skrócona", "Skrót", "Short name", "Abbreviation"],
    "type_key": ["Typ", "Rodzaj", "Typ organizacji", "Type", "Kind"],
    "nip": ["NIP", "Numer NIP", "NIP UE", "VAT ID", "Tax ID"],
    "regon": ["REGON", "Numer REGON"],
    "krs": ["KRS", "Numer KRS"],
    "email": _EMAIL, "emails": _EMAIL, "phone": _PHONE, "phones": _PHONE,
    "website": ["WWW", "Strona", "Strona WWW", "Strona internetowa", "Website", "Web", "URL"],
    "street": ["Ulica", "Ulica i numer", "Adres", "Street", "Street address", "Address"],
    "postal_code": ["Kod pocztowy", "Kod", "Postal code", "Post code", "Postcode", "ZIP",
                    "ZIP code"],
    "city": ["Miejscowość", "Miasto", "Poczta", "City", "Town"],
    "region": ["Województwo", "Region", "Province", "State"],
    "country": ["Kraj", "Country"],
    "notes": ["Uwagi", "Notatki", "Opis", "Komentarz", "Notes", "Note", "Comments",
              "Description"],
    "first_name": ["Imię", "First name", "Given name", "Firstname"],
    "last_name": ["Nazwisko", "Last name", "Surname", "Family name", "Lastname"],
    "pesel": ["PESEL", "Numer PESEL"],
}

SAMPLE = 64 * 1024  # bytes looked at to find the delimiter
CHUNK = 1024 * 1024  # bytes read at a time while checking the encoding
SPOOL = 8 * 1024 * 1024  # a stream that cannot seek is copied to disk past this size
DELIMITERS = (",", ";", "\t")
CP1250_UNDEFINED = (b"\x81", b"\x83", b"\x88", b"\x90", b"\x98")
REPORT_LIMIT = 1000  # rows described in a report; its counts always cover every row
STATISTICS_AFTER = 10_000  # records an import writes before it refreshes table statistics
_LIST_SEPARATOR = re.compile(r"[,;\n]")
_TRAILING_NUMBER = re.compile(r"( [0-9]+)+$")
_POLISH_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: ?r\.?)?")
_POLISH_DATETIME = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4}),? +(\d{1,2}):(\d{2})(?::(\d{2}))?")
_SPREADSHEET_BOOLEANS = {"prawda": "true", "fałsz": "false"}  # Excel in Polish writes these


class ImportFileError(KartotekaError):
    """The file cannot be read as a table; the message tells the user what to do."""


def _empty_file() -> str:
    return _("The file is empty: the first row must hold the column headers.")


def _unclosed_quote() -> str:
    return _("This row cannot be read, nor any row after it: check for a quotation mark "
             "that is never closed.")


# -- reading ------------------------------------------------------------------------------

class Row(dict):
    """One data row, header -> text; ``problem`` says why it cannot be imported."""

    def __init__(self, values: dict[str, str], problem: str | None = None):
        super().__init__(values)
        self.problem = problem


class TableFile:
    """The rows of a CSV or XLSX file, read lazily; the headers are known on opening.

    Iterating yields ``(row_number, Row)``, the row number as a spreadsheet shows it
    (the headers are row 1). Rows with no value at all are passed over.
    """

    def __init__(self, headers: list[str], rows: Iterator[tuple[int, Row]],
                 position: Callable[[], int], total_bytes: int | None,
                 close: Callable[[], None]):
        self.headers = headers
        self.total_bytes = total_bytes
        self._rows, self._position, self._close = rows, position, close

    def __iter__(self) -> Iterator[tuple[int, Row]]:
        return self._rows

    def bytes_read(self) -> int:
        """How far into the file reading has got, for a progress indicator."""
        return self._position()

    def close(self) -> None:
        self._close()

    def __enter__(self) -> TableFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_rows(source, filename: str | None = None) -> TableFile:
    """Open a CSV or XLSX file (a path or a binary stream) for reading row by row.

    The format comes from the file name, or else from the file's first bytes.
    Raises ImportFileError for a file that cannot be read as a table.
    """
    if filename is None and isinstance(source, str | os.PathLike):
        filename = os.fspath(source)
    binary, owned = _open_binary(source)
    try:
        start = binary.tell()
        total = binary.seek(0, io.SEEK_END) - start
        binary.seek(start)
        magic = binary.read(8)
        binary.seek(start)
        if magic.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileError(_("This is an old Excel file (XLS): save it as XLSX or CSV "
                                    "and import that."))
        name = (filename or "").lower()
        if name.endswith((".xlsx", ".xlsm")) or magic.startswith(b"PK\x03\x04"):
            return _open_xlsx(binary, owned, total)
        return _open_csv(binary, owned, start, total)
    except BaseException:
        if owned:
            binary.close()
        raise


def _open_binary(source) -> tuple[io.IOBase, bool]:
    """A seekable binary file, and whether it is ours to close."""
    if isinstance(source, str | os.PathLike):
        return open(source, "rb"), True
    if isinstance(source, io.TextIOBase):
        raise TypeError("open_rows needs a binary stream, not a text one")
    if source.seekable():
        return source, False
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    while chunk := source.read(CHUNK):
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, True


def _check_headers(cells: Iterable) -> list[str]:
    """Trimmed headers; an empty or repeated one is refused, since rows become dicts."""
    headers = [_cell_text(c) for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportFileError(_("The first row must hold the column headers, but it is empty."))
    seen = set()
    for number, header in enumerate(headers, 1):
        if not header:
            raise ImportFileError(_("Column %(number)d has no header: give every column a "
                                    "name in the first row.", number=number))
        if header in seen:
            raise ImportFileError(_("The column header %(header)s appears more than once: "
                                    "give every column its own name.", header=header))
        seen.add(header)
    return headers


def _make_row(headers: list[str], cells: list, strict_width: bool) -> Row:
    """Cells under their headers; a row that does not fit the headers has a problem."""
    texts = [_cell_text(c) for c in cells]
    texts += [""] * (len(headers) - len(texts))
    values = dict(zip(headers, texts, strict=False))
    if any(texts[len(headers):]) or (strict_width and len(cells) < len(headers)):
        return Row(values, _("This row has %(found)d columns but the headers have "
                             "%(expected)d: check for a missing or extra separator.",
                             found=len(cells), expected=len(headers)))
    return Row(values)


def _cell_text(value) -> str:
    """A cell's value as the text a form would receive; dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets keep NIPs and phone numbers as numbers
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _blank(cells: list) -> bool:
    return not any(_cell_text(c) for c in cells)


# CSV

def _open_csv(binary, owned: bool, start: int, total: int) -> TableFile:
    encoding = detect_encoding(binary)
    sample = binary.read(SAMPLE).decode(encoding, errors="ignore")
    binary.seek(start)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")

    def close() -> None:
        if owned:
            text.close()
        elif not text.closed:
            text.detach()  # the caller's stream stays open

    reader = csv.reader(text, delimiter=sniff_delimiter(sample))
    try:
        headers = _check_headers(_first_csv_row(reader))
    except BaseException:
        close()
        raise
    return TableFile(headers, _csv_rows(reader, headers), lambda: binary.tell() - start,
                     total, close)


def _first_csv_row(reader) -> list[str]:
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(_unclosed_quote()) from exc
    if first is None:
        raise ImportFileError(_empty_file())
    return first


def _csv_rows(reader, headers: list[str]) -> Iterator[tuple[int, Row]]:
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # The reader cannot find where this row ends; nothing after it can be trusted.
            yield number, Row({}, _unclosed_quote())
            return
        if not _blank(cells):
            yield number, _make_row(headers, cells, strict_width=True)


def detect_encoding(binary) -> str:
    """UTF-8 (with or without a BOM) or Windows-1250, decided from the bytes.

    The file is scanned in chunks, so the decision covers every byte in constant
    memory: a file that is valid UTF-8 throughout is UTF-8 (Polish text in
    Windows-1250 practically never is), else Windows-1250 if it has none of the
    bytes that encoding leaves undefined. The stream is left where it was.
    """
    start = binary.tell()
    head = binary.read(4)
    binary.seek(start)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(_("The file is saved as UTF-16: save it as CSV in UTF-8 "
                                "and import it again."))
    utf8, cp1250 = _scan_encodings(binary)
    binary.seek(start)
    if utf8:
        return "utf-8"
    if cp1250:
        return "cp1250"
    raise ImportFileError(_("The file is neither UTF-8 nor Windows-1250 text: save it as "
                            "CSV in UTF-8 and import it again."))


def _scan_encodings(binary) -> tuple[bool, bool]:
    """Whether the rest of the stream is valid UTF-8, and valid Windows-1250."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = cp1250 = True
    while chunk := binary.read(CHUNK):
        if b"\x00" in chunk:
            return False, False  # UTF-16 without a BOM, or not text at all
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
        cp1250 = cp1250 and not any(byte in chunk for byte in CP1250_UNDEFINED)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return utf8, cp1250


def sniff_delimiter(sample: str) -> str:
    """Comma, semicolon or tab: the one that splits the first lines most consistently."""
    cut = sample.rfind("\n")
    lines = sample[:cut] if cut > 0 else sample
    best, best_score = ",", (False, -1, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(lines), delimiter=delimiter)][:50]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        score = (width > 1, sum(len(r) == width for r in rows[1:]), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# XLSX

def _open_xlsx(binary, owned: bool, total: int) -> TableFile:
    try:
        workbook = load_workbook(binary, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ImportFileError(_("The file cannot be opened as an XLSX workbook: save it "
                                "again from the spreadsheet program.")) from exc
    sheet = workbook.active
    if sheet not in workbook.worksheets:  # a chart sheet holds no rows
        sheet = workbook.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    try:
        first = next(cells, None)
        if first is None:
            raise ImportFileError(_empty_file())
        headers = _check_headers(first)
    except BaseException:
        workbook.close()
        raise
    state = {"row": 1}
    last_row = sheet.max_row or 0

    def position() -> int:
        # The sheet is compressed, so the share of rows read stands in for bytes read.
        return min(total, total * state["row"] // last_row) if last_row else 0

    def close() -> None:
        workbook.close()
        if owned:
            binary.close()

    return TableFile(headers, _xlsx_rows(cells, headers, state), position, total, close)


def _xlsx_rows(cells, headers: list[str], state: dict) -> Iterator[tuple[int, Row]]:
    for number, values in enumerate(cells, start=2):
        state["row"] = number
        if not _blank(values):
            yield number, _make_row(headers, list(values), strict_width=False)


# -- mapping ------------------------------------------------------------------------------

def fields(record_type: str, session: Session | None = None, actor=None) -> dict:
    """Field key -> label of the fields a file's columns can be mapped to: the built-in
    ones, and with a ``session`` the custom fields ``actor`` may fill ("custom.<key>")."""
    if record_type not in FIELDS:
        raise ValueError(f"Cannot import {record_type!r}; expected one of {sorted(FIELDS)}")
    if session is None:
        return FIELDS[record_type]
    language = _language()
    return {**FIELDS[record_type], **{
        target: d.label(language)
        for target, d in custom_targets(session, record_type, actor).items()}}


def custom_targets(session: Session, record_type: str, actor=None) -> dict:
    """"custom.<key>" -> definition of each custom field a file may fill: not hidden, not
    read-only, and one ``actor`` may edit (None, the system, may edit any)."""
    known = custom_fields.field_types()
    return {CUSTOM + d.key: d for d in custom_fields.definitions(session, record_type)
            if not d.hidden and not d.read_only and d.type in known
            and custom_fields.may_edit(d, actor)}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "pl"


def _header_key(header: str) -> str:
    """'Adres e-mail' and 'adres  E-MAIL' meet at 'adres e mail'."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(header)))


def suggest_mapping(headers: Iterable[str], record_type: str, session: Session | None = None,
                    actor=None) -> dict[str, str]:
    """Column -> field for the headers that name a field, in Polish or English.

    A custom field is named by its label in either language or by its key, as an
    export writes it. A numbered header ("Telefon 2") is matched without its number;
    a single-valued field takes the first column that names it, and the others stay
    unmapped.
    """
    index = _header_index(record_type, session, actor)
    mapping: dict[str, str] = {}
    for header in headers:
        key = _header_key(header)
        target = index.get(key) or index.get(_TRAILING_NUMBER.sub("", key))
        if target and (target in MULTI_VALUED or target not in mapping.values()):
            mapping[header] = target
    return mapping


def _header_index(record_type: str, session: Session | None, actor) -> dict[str, str]:
    """Header key -> field; a name that is both a built-in field's and a custom field's
    label means the built-in field."""
    known = fields(record_type)
    index = {_header_key(alias): key for key, names in ALIASES.items() if key in known
             for alias in names}
    for key, label in known.items():
        index.setdefault(_header_key(str(label)), key)
    if session is not None:
        for target, d in custom_targets(session, record_type, actor).items():
            for name in (d.label_pl, d.label_en, d.key, target):
                if name:
                    index.setdefault(_header_key(name), target)
    return index


def initial_mapping(session: Session, headers: list[str], record_type: str, actor=None
                    ) -> dict[str, str]:
    """The mapping to start from: the one remembered for these headers, without the
    fields ``actor`` can no longer fill; else the suggested one."""
    remembered = last_mapping(session, headers, record_type)
    if remembered is None:
        return suggest_mapping(headers, record_type, session, actor)
    offered = fields(record_type, session, actor)
    return {column: target for column, target in remembered.items() if target in offered}


def check_mapping(headers: Iterable[str], record_type: str, mapping: dict[str, str],
                  defaults: dict | None = None, session: Session | None = None,
                  actor=None) -> dict[str, str]:
    """The mapping without unmapped columns, or a ValidationError keyed by column.

    A missing required field is keyed by the field; ``defaults`` may supply it. With a
    ``session`` the custom fields ``actor`` may fill are fields too, and a required one
    without a default value must be mapped like a built-in one.
    """
    known, headers, defaults = fields(record_type, session, actor), set(headers), defaults or {}
    errors: dict[str, str] = {}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if column not in headers:
            errors[column] = _("The file has no column %(column)s.", column=column)
        elif target not in known:
            errors[column] = _("Choose a field from the list.")
        elif target in used and target not in MULTI_VALUED:
            errors[column] = _("Column %(other)s is already mapped to %(field)s: map only one "
                               "column to it.", other=used[target], field=str(known[target]))
        else:
            used.setdefault(target, column)
    for key in defaults:
        if key not in known:
            errors[key] = _("Choose a field from the list.")
    for key in required_fields(record_type, session, actor):
        if key not in used and not defaults.get(key):
            errors[key] = _("Map a column to %(field)s: every record needs it.",
                            field=str(known[key]))
    if errors:
        raise ValidationError(errors)
    return {column: target for column, target in mapping.items() if target}


def required_fields(record_type: str, session: Session | None, actor) -> list[str]:
    """The fields every new record needs from the file: a required custom field with a
    default value gets that value instead."""
    custom = custom_targets(session, record_type, actor) if session is not None else {}
    return [*REQUIRED[record_type],
            *(target for target, d in custom.items() if d.required and d.default is None)]


def source_signature(headers: Iterable[str]) -> str:
    """The same export from the same program has the same headers, in any order."""
    joined = "\x1f".join(sorted(h.strip() for h in headers))
    return "headers:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()


def last_mapping(session: Session, headers: Iterable[str], record_type: str
                 ) -> dict[str, str] | None:
    """The mapping last used for a file with these headers, if any."""
    return session.scalar(select(ImportMapping.mapping).where(
        ImportMapping.source == source_signature(headers),
        ImportMapping.record_type == record_type))


def remember_mapping(session: Session, headers: Iterable[str], record_type: str,
                     mapping: dict[str, str]) -> ImportMapping:
    """Keep ``mapping`` for the next file with the same headers (a convenience for the
    next import, not data: not audited; the import's records are)."""
    source = source_signature(headers)
    saved = session.scalar(select(ImportMapping).where(
        ImportMapping.source == source, ImportMapping.record_type == record_type))
    if saved is None:
        saved = ImportMapping(source=source, record_type=record_type)
        session.add(saved)
    saved.mapping = dict(mapping)
    session.flush()
    return saved


# -- importing ----------------------------------------------------------------------------

@dataclass
class RowError:
    """Why a row was not imported: the field, the column it came from, the message."""

    row: int
    field: str  # "nip", "emails.1", "custom.size"; "_" for the whole row
    column: str  # the file's column; "" when the problem has none
    message: str
    values: dict[str, str]  # the row as read
    label: str = ""  # the field's label in the user's language; "" for the whole row


@dataclass
class DuplicateRow:
    """A row that resembles existing records, and what was done about it."""

    row: int
    action: str  # "skipped", "updated" or "created"
    record_id: int | None  # the record updated or created
    candidates: list[dict]  # {"id", "reasons", "strong"}, the strongest first


@dataclass
class ImportReport:
    """Counts cover every row; ``errors`` and ``duplicates`` describe the first rows only
    (REPORT_LIMIT each), so that a report of a huge file stays small."""

    record_type: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    last_row: int = 0  # the file's row number of the last row read

    COUNTS = ("rows", "created", "updated", "skipped", "failed", "last_row")

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        return cls(data["record_type"], data["dry_run"],
                   **{name: data.get(name, 0) for name in cls.COUNTS},
                   errors=[RowError(**e) for e in data.get("errors", [])],
                   duplicates=[DuplicateRow(**d) for d in data.get("duplicates", [])])

    def fail(self, errors: list[RowError]) -> None:
        self.failed += 1
        if len(self.errors) < REPORT_LIMIT:
            self.errors.extend(errors)

    def note_duplicate(self, duplicate: DuplicateRow) -> None:
        if len(self.duplicates) < REPORT_LIMIT:
            self.duplicates.append(duplicate)


@dataclass
class PreviewRow:
    """What a row would become: the values stored, or the errors; likely duplicates."""

    row: int
    action: str  # "create", "update", "skip" or "fail"
    values: dict
    errors: list[RowError]
    candidates: list[dict]


class _Rows:
    """Turns rows of a file into the data the record type's service takes."""

    def __init__(self, session: Session, host, record_type: str, mapping: dict[str, str],
                 defaults: dict | None, actor=None):
        self.host, self.record_type, self.actor = host, record_type, actor
        self.mapping, self.defaults = mapping, dict(defaults or {})
        self.type_keys = _type_keys(session, host) if record_type == "organisation" else {}
        self.cells = CustomCells(session, record_type)
        self.labels = {**fields(record_type), **self.cells.labels()}

    def label(self, key: str) -> str:
        """The label of the field an error names ("emails.1", "addresses.0.city")."""
        return str(self.labels.get(_field_of(key), ""))

    def data(self, row: Row, for_update: bool = False) -> tuple[dict, dict[str, str]]:
        """The service's input, and for each field the column it came from.

        Empty cells are left out, so defaults apply on create and an update never
        blanks a value the record already has.
        """
        data: dict = {}
        origin: dict[str, str] = {}
        for column, target in self.mapping.items():
            value = row.get(column, "").strip()
            if value:
                self._put(data, origin, column, target, value)
            elif target not in MULTI_VALUED:
                origin.setdefault(self._path(target), column)  # "Enter a name." points here
        if not for_update:
            for key, value in self.defaults.items():
                if key not in data:
                    self._put(data, origin, "", key, value)
            for key in REQUIRED[self.record_type]:
                data.setdefault(key, "")
        if "type_key" in data:
            data["type_key"] = self.type_keys.get(_header_key(data["type_key"]),
                                                  data["type_key"])
        return data, origin

    def _put(self, data: dict, origin: dict, column: str, target: str, value) -> None:
        if target in MULTI_VALUED:
            for part in _LIST_SEPARATOR.split(value):
                if part.strip():
                    data.setdefault(target, []).append(part.strip())
                    origin[f"{target}.{len(data[target]) - 1}"] = column
        elif target.startswith(CUSTOM):
            key = target.removeprefix(CUSTOM)
            data.setdefault("custom", {})[key] = self.cells.value(key, value)
            origin[target] = column
        elif self._path(target) != target:
            data.setdefault("addresses", [{}])[0][target] = value
            origin[self._path(target)] = column
        else:
            data[target] = value
            origin[target] = column

    def _path(self, target: str) -> str:
        """Where the service reports a field's error: a person's address is a list."""
        if self.record_type == "person" and target in ADDRESS_FIELDS:
            return f"addresses.0.{target}"
        return target

    def clean(self, session: Session, data: dict) -> dict:
        """The service's validation, custom fields included (defaults, required ones)."""
        if self.record_type == "organisation":
            def builtin(d):
                return organisations.clean(session, self.host, d)
        else:
            builtin = people.clean
        return custom_fields.validated(session, self.model, data, None, builtin, self.actor)

    def candidates(self, session: Session, values: dict) -> list:
        if self.record_type == "organisation":
            return duplicates.organisation_candidates(session, values)
        return duplicates.person_candidates(session, values)

    @property
    def model(self) -> type:
        return Organisation if self.record_type == "organisation" else Person

    def new_record(self, values: dict) -> bulk.NewRecord:
        """What the service's ``create`` would write for these cleaned values."""
        if self.record_type == "organisation":
            return bulk.NewRecord(Organisation, values)
        lists = {key: values.get(key, []) for key in ("emails", "phones", "addresses")}
        scalars = {k: v for k, v in values.items() if k not in lists}
        contacts = [{"kind": kind, "value": value, "label": "", "is_primary": i == 0}
                    for kind in ("email", "phone")
                    for i, value in enumerate(lists[f"{kind}s"])]
        related = {"emails": (None, lists["emails"]), "phones": (None, lists["phones"]),
                   "addresses": (None, [people._address_text(a) for a in lists["addresses"]])}
        return bulk.NewRecord(Person, scalars, {"contacts": contacts,
                                                "addresses": lists["addresses"]}, related)

    def load(self, session: Session, record_id: int):
        return records.get(session, self.model, record_id)

    def update(self, session: Session, record, data: dict, actor):
        """Change ``record``; e-mails, phones and the address add to what it has."""
        if self.record_type == "organisation":
            return organisations.update(session, self.host, record, data, actor,
                                        allow_duplicates=True)
        for kind in ("email", "phone"):
            if f"{kind}s" in data:
                data[f"{kind}s"] = record.contact_values(kind) + data[f"{kind}s"]
        if "addresses" in data:
            kept = [_address_values(a) for a in record.addresses] or [{}]
            data["addresses"] = [{**kept[0], **data["addresses"][0]}, *kept[1:]]
        return people.update(session, record, data, actor, allow_duplicates=True)


class CustomCells:
    """A cell's text as a custom field's schema takes it.

    The schema (core/fieldtypes.py) already reads what forms send: ISO dates, decimal
    commas, "tak" and "nie", choice values. Files add what spreadsheets and people
    write: Polish dates ("31.12.2024", "31.12.2024 14:30"), Excel's PRAWDA and FAŁSZ, a
    choice by its label in either language (as an export writes it), and several
    choices in one cell separated by ";" or ",". Anything else reaches the schema as
    written, so its message is the one a form would show.
    """

    def __init__(self, session: Session, record_type: str):
        types = custom_fields.field_types()
        self.definitions = {d.key: d for d in custom_fields.definitions(session, record_type)}
        self.kinds = {key: types[d.type].kind for key, d in self.definitions.items()
                      if d.type in types}
        self.choices = {key: _choice_names(self.definitions[key])
                        for key, kind in self.kinds.items() if kind in ("key", "multi")}

    def labels(self) -> dict[str, str]:
        """"custom.<key>" -> label in the user's language, of every custom field."""
        language = _language()
        return {CUSTOM + key: d.label(language) for key, d in self.definitions.items()}

    def value(self, key: str, text: str):
        kind = self.kinds.get(key)
        if kind == "date":
            return _iso_date(text)
        if kind == "datetime":
            return _iso_datetime(text)
        if kind == "boolean":
            return _SPREADSHEET_BOOLEANS.get(text.lower(), text.lower())
        if kind == "key":
            return self._choice(key, text)
        if kind == "multi":
            return [self._choice(key, part.strip()) for part in _LIST_SEPARATOR.split(text)
                    if part.strip()]
        return text

    def _choice(self, key: str, text: str) -> str:
        names = self.choices[key]
        return names.get(text) or names.get(text.casefold(), text)


def _choice_names(definition) -> dict[str, str]:
    """A choice's value, and its value and labels in any case -> the value."""
    values = choice_values(definition)
    names = {value: value for value in values}
    spelled = [(v, v) for v in values] + [
        pair for language in ("pl", "en") for pair in choice_labels(definition, language).items()]
    for value, name in spelled:
        names.setdefault(name.casefold(), value)
    return names


def _iso_date(text: str) -> str:
    found = _POLISH_DATE.fullmatch(text)
    if found is None:
        return text
    day, month, year = found.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _iso_datetime(text: str) -> str:
    found = _POLISH_DATETIME.fullmatch(text)
    if found is None:
        return text
    day, month, year, hour, minute, second = found.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second or '00'}"


def _type_keys(session: Session, host) -> dict[str, str]:
    """A type's key, or its Polish or English label, as typed in a cell -> its key."""
    found: dict[str, str] = {}
    for key, org_type in organisations.types(session, host).items():
        for name in (key, key.partition(".")[2], *org_type.title.values()):
            found.setdefault(_header_key(name), key)
    return found


def _address_values(address) -> dict:
    return {k: getattr(address, k) for k in ("label", *ADDRESS_FIELDS)}


def _row_errors(number: int, row: Row, errors: dict[str, str], origin: dict[str, str],
                rows: _Rows) -> list[RowError]:
    return [RowError(number, key, origin.get(key) or origin.get(_field_of(key), ""),
                     str(message), dict(row), rows.label(key))
            for key, message in errors.items()]


def _field_of(key: str) -> str:
    """The mapped field an error key belongs to: "custom.tags.1" -> "custom.tags",
    "emails.1" -> "emails", "addresses.0.city" -> "city"."""
    if key.startswith(CUSTOM):
        return CUSTOM + key.removeprefix(CUSTOM).partition(".")[0]
    parts = key.split(".")
    return parts[2] if parts[0] == "addresses" and len(parts) > 2 else parts[0]


def _describe(candidates: list) -> list[dict]:
    return [{"id": c.record.id, "reasons": list(c.reasons), "strong": c.strong}
            for c in candidates[:5]]


def _open_source(source) -> tuple[TableFile, bool]:
    """What ``open_rows`` returned, or a path to open; and whether to close it here."""
    if isinstance(source, TableFile):
        return source, False
    return open_rows(source), True


@audit.door("import")
def run_import(session_factory: Callable[[], Session], host, source, record_type: str,
               mapping: dict[str, str], on_duplicate: str = "skip", dry_run: bool = False,
               actor=None, progress: Callable[[int, int, int | None], None] | None = None,
               batch_size: int = 500, defaults: dict | None = None,
               resume: ImportReport | None = None,
               checkpoint: Callable[[Session, ImportReport], None] | None = None
               ) -> ImportReport:
    """Import every row of ``source`` (a path, or what ``open_rows`` returned).

    ``on_duplicate`` says what to do with a row that resembles existing records:
    "skip" it, "update" the most likely one, or "create" a record anyway.
    ``defaults`` are field values for rows that leave a field empty (such as the type
    of every organisation in a file that has no type column). ``progress`` is called
    as ``progress(rows_done, bytes_read, total_bytes)`` after every batch. A dry run
    does everything but keeps nothing; only a real run remembers the mapping.

    To carry on an import that stopped half-way, pass as ``resume`` the report as it
    stood after its last committed batch: the rows up to its ``last_row`` are passed
    over and its counts go on growing. ``checkpoint(session, report)`` is called in
    each batch's transaction, just before its commit, so that what it writes there
    (such as that report) is kept exactly when the batch is.
    """
    if on_duplicate not in POLICIES:
        raise ValueError(f"on_duplicate must be one of {POLICIES}, not {on_duplicate!r}")
    table, owned = _open_source(source)
    try:
        report = resume if resume is not None else ImportReport(record_type, dry_run)
        with session_factory() as session:
            mapping = check_mapping(table.headers, record_type, mapping, defaults, session,
                                    actor)
            rows = _Rows(session, host, record_type, mapping, defaults, actor)
            batches = _Batches(session, rows, report, on_duplicate, actor)
            _run_batches(session, table, batches, report, progress, batch_size,
                         None if dry_run else checkpoint)
            if not dry_run:
                remember_mapping(session, table.headers, record_type, mapping)
                session.commit()
        return report
    finally:
        if owned:
            table.close()


def _run_batches(session: Session, table: TableFile, batches: _Batches,
                 report: ImportReport, progress, batch_size: int, checkpoint=None) -> None:
    """Rows a batch at a time, each batch committed.

    A dry run keeps one transaction to the end and then rolls it back, so that a row
    is compared with the rows before it exactly as in a real run.
    """
    batch: list[_Prepared] = []
    for number, row in table:
        if number <= report.last_row:
            continue  # imported by the run this one resumes
        batch.append(batches.prepare(number, row))
        report.rows += 1
        report.last_row = number
        if len(batch) == batch_size:
            batches.write(batch)
            _end_batch(session, report, table, progress, checkpoint)
            batch = []
    batches.write(batch)
    # The last call reports the whole file.
    _end_batch(session, report, table, progress, checkpoint)
    if report.dry_run:
        session.rollback()


def _end_batch(session: Session, report: ImportReport, table: TableFile, progress,
               checkpoint=None) -> None:
    if report.dry_run:
        # Nothing will be committed, so nobody will hear of these records: letting go
        # of their queued notifications keeps a dry run's memory constant too.
        session.info.pop(events.PENDING, None)
    else:
        if checkpoint is not None:
            checkpoint(session, report)
        session.commit()
    if progress is not None:
        progress(report.rows, table.bytes_read(), table.total_bytes)


@dataclass
class _Prepared:
    """A row read and cleaned: the values to store, or the errors to report."""

    number: int
    values: dict | None  # None: the row cannot be imported, see ``errors``
    errors: list[RowError]
    origin: dict[str, str]  # field -> the column it came from
    changes: dict | None = None  # what an update would apply (the "update" policy only)
    row: Row | None = None  # kept only if a later step may still refuse the row


class _Batches:
    """Rows to records, a batch at a time, as the services would do it row by row.

    Every row is cleaned by its service's ``clean``; the likely duplicates of a whole
    batch are looked up at once (``bulk_duplicates``); new records are written in
    bulk (``bulk``) and an update goes through the service. Each row is compared with
    the records before it, also those written earlier in the same batch.
    """

    def __init__(self, session: Session, rows: _Rows, report: ImportReport,
                 on_duplicate: str, actor):
        self.session, self.rows, self.report = session, rows, report
        self.on_duplicate, self.actor = on_duplicate, actor
        self.finder = bulk_duplicates.Finder(rows.model)
        self.analysed_at: int | None = None  # records written when statistics were taken
        # A row's text is needed later only to report a veto or a failed update.
        self.keep_rows = on_duplicate == "update" or bulk.listened(session, bulk.VETO)

    def prepare(self, number: int, row: Row) -> _Prepared:
        if row.problem:
            return _Prepared(number, None, [RowError(number, "_", "", row.problem, dict(row))],
                             {})
        data, origin = self.rows.data(row)
        try:
            values = self.rows.clean(self.session, data)
        except ValidationError as exc:
            return _Prepared(number, None,
                             _row_errors(number, row, exc.errors, origin, self.rows), origin)
        changes = self.rows.data(row, for_update=True)[0] \
            if self.on_duplicate == "update" else None
        return _Prepared(number, values, [], origin, changes,
                         row if self.keep_rows else None)

    def write(self, batch: list[_Prepared]) -> None:
        bulk.begin(self.session)
        self._keep_statistics()
        # Once a report is full, a duplicate that is created anyway changes nothing.
        detect = self.on_duplicate != "create" or len(self.report.duplicates) < REPORT_LIMIT
        if detect:
            self.finder.look_up(self.session, [p.values for p in batch if p.values])
        ids, pending = bulk.IdBlock(self.session, self.rows.model), []
        for left, prepared in zip(range(len(batch), 0, -1), batch, strict=True):
            if prepared.values is None:
                self.report.fail(prepared.errors)
                continue
            matches = self.finder.matches(prepared.values) if detect else []
            target = None
            if matches and self.on_duplicate == "update":
                bulk.write(self.session, pending, self.actor)  # the target may be among them
                pending = []
                # None only if someone else deleted it meanwhile: then the row is new.
                target = self.rows.load(self.session, matches[0].id)
            if matches and self.on_duplicate == "skip":
                self.report.skipped += 1
                self._note(prepared, "skipped", None, matches)
            elif target is not None:
                self._update(prepared, matches, target)
            else:
                self._create(prepared, matches, ids, left, pending, detect)
        bulk.write(self.session, pending, self.actor)

    def _keep_statistics(self) -> None:
        """Statistics at the start and each time the import has doubled what it wrote:
        a handful of times in a million rows, so the look-ups keep their indexes."""
        written = self.report.created + self.report.updated
        if self.analysed_at is None or written >= max(STATISTICS_AFTER, 2 * self.analysed_at):
            bulk.analyse(self.session, self.rows.model)
            self.analysed_at = written

    def _create(self, prepared: _Prepared, matches: list, ids: bulk.IdBlock, left: int,
                pending: list, detect: bool) -> None:
        new = self.rows.new_record(prepared.values)
        try:
            bulk.check(self.session, new, self.actor)
        except (ValidationError, Forbidden) as exc:
            self._fail(prepared, exc)
            return
        new.id = ids.take(left)
        pending.append(new)
        if detect:
            self.finder.created(new.id, prepared.values)
        self.report.created += 1
        self._note(prepared, "created", new.id, matches)

    def _update(self, prepared: _Prepared, matches: list, target) -> None:
        """Apply the row to the most likely record, through the service."""
        old_name_key = target.name_key
        try:
            with self.session.begin_nested():
                self.rows.update(self.session, target, prepared.changes, self.actor)
        except (ValidationError, Forbidden) as exc:
            self._fail(prepared, exc)
            return
        self.finder.changed(target, old_name_key)
        self.report.updated += 1
        self._note(prepared, "updated", target.id, matches)

    def _fail(self, prepared: _Prepared, exc: ValidationError | Forbidden) -> None:
        """The row is refused, for its values or because the actor may not make the
        change (a record out of their reach): the others go on."""
        errors = exc.errors if isinstance(exc, ValidationError) else {"_": str(exc)}
        self.report.fail(_row_errors(prepared.number, prepared.row, errors,
                                     prepared.origin, self.rows))

    def _note(self, prepared: _Prepared, action: str, record_id: int | None,
              matches: list) -> None:
        if matches:
            self.report.note_duplicate(DuplicateRow(
                prepared.number, action, record_id, [m.describe() for m in matches[:5]]))


def preview(session_factory: Callable[[], Session], host, source, record_type: str,
            mapping: dict[str, str], rows: int = 20, on_duplicate: str = "skip",
            defaults: dict | None = None, actor=None) -> list[PreviewRow]:
    """What the first ``rows`` rows would become, without writing anything.

    Each row shows the normalised values the service would store, or its errors,
    and the existing records it resembles.
    """
    table, owned = _open_source(source)
    try:
        with session_factory() as session:
            mapping = check_mapping(table.headers, record_type, mapping, defaults, session,
                                    actor)
            converter = _Rows(session, host, record_type, mapping, defaults, actor)
            shown = []
            for number, row in table:
                shown.append(_preview_row(session, converter, number, row, on_duplicate))
                if len(shown) == rows:
                    break
            return shown
    finally:
        if owned:
            table.close()


def _preview_row(session: Session, rows: _Rows, number: int, row: Row, on_duplicate: str
                 ) -> PreviewRow:
    if row.problem:
        return PreviewRow(number, "fail", {}, [RowError(number, "_", "", row.problem,
                                                        dict(row))], [])
    data, origin = rows.data(row)
    try:
        values = rows.clean(session, data)
    except ValidationError as exc:
        return PreviewRow(number, "fail", {},
                          _row_errors(number, row, exc.errors, origin, rows), [])
    candidates = _describe(rows.candidates(session, values))
    action = "create" if not candidates or on_duplicate == "create" else on_duplicate
    return PreviewRow(number, action, values, [], candidates)



# -- in the background --------------------------------------------------------------------

JOB_BATCH = 500  # rows a batch of an import run as a job


def upload_folder(settings) -> Path:
    """Where uploaded files wait for their import, and imports leave their reports:
    the instance folder, which the web application and the workers share."""
    folder = Path(settings.instance) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report_path(settings, token: str) -> Path:
    return upload_folder(settings) / f"{token}.report.json"


def load_report(settings, token: str) -> tuple[ImportReport, dict] | None:
    """The report an import job left for upload ``token``, and what it says of the
    upload (uploader, file name); None if there is none."""
    path = report_path(settings, token)
    if not token.isalnum() or not path.exists():
        return None
    saved = json.loads(path.read_text())
    return ImportReport.from_dict(saved["report"]), saved["about"]


def _save_report(path: Path, about: dict, report: ImportReport) -> None:
    written = path.with_suffix(".tmp")
    written.write_text(json.dumps({"about": about, "report": report.as_dict()}))
    os.replace(written, path)  # a reader sees the old report or the new, never half


def start_job(session: Session, token: str, upload: dict, mapping: dict[str, str],
              on_duplicate: str, defaults: dict | None, actor, report_url: str = "",
              dry_run: bool = False) -> Job:
    """Ask for the import of an uploaded file (``upload``: what the wizard keeps of it,
    the stored file's name in ``upload_folder``) as a background job, "import.run".
    It starts when ``session`` commits. A ``dry_run`` checks every row and keeps
    nothing, and leaves its report like a real run."""
    params = {"token": token, "stored": upload["stored"], "filename": upload["filename"],
              "record_type": upload["record_type"], "mapping": dict(mapping),
              "on_duplicate": on_duplicate, "defaults": dict(defaults or {}),
              "actor_id": getattr(actor, "id", None), "report_url": report_url,
              "dry_run": bool(dry_run)}
    return jobs.start(session, "import.run", f"{_('Import')}: {upload['filename']}",
                      params, actor)


@jobs.handler("import.run")
def _import_job(rt, job, progress) -> dict:
    """Import an uploaded file a batch at a time, reporting progress after each batch.

    A job may be run again: after its worker died, or after a failure. Each batch is
    committed together with a checkpoint in the job's own row (``params["checkpoint"]``:
    the report's counts and the file's row number of the batch's last row), written
    in the batch's transaction, so the checkpoint names exactly the rows that are in the
    database. A run that finds a checkpoint carries on after that row with those counts,
    so no row is imported twice, whatever the policy for duplicates. The rows' problems
    are kept in a report file next to the upload, written before each commit; on
    resuming, what it says of rows past the checkpoint (a batch that never committed) is
    dropped. Once the whole file is in, the checkpoint says "finished" and a run after
    that only reports what was done.
    """
    params = dict(job.params)
    folder, token = upload_folder(rt.settings), params["token"]
    source = folder / Path(params["stored"]).name
    saved_report = report_path(rt.settings, token)
    about = {"user_id": params.get("actor_id"), "filename": params["filename"],
             "record_type": params["record_type"], "job_id": job.id}
    done = params.get("checkpoint") or {}
    if done.get("finished"):
        _clean_up(folder, token, source)
        return _job_result(done, params)
    resume = _resumed(params["record_type"], done, saved_report)
    with rt.session() as users:
        actor = None
        if params.get("actor_id") is not None:
            actor = users.get(User, params["actor_id"])
            if actor is None:
                raise LookupError("the user who started this import no longer exists")
        if not source.exists():
            raise ImportFileError(_("The file cannot be read: save it again as CSV or XLSX "
                                    "and try once more."))
        with open_rows(source, params["filename"]) as table:
            progress.set_total(sum(1 for _row in table))
        if resume is not None:
            progress.advance(resume.rows)
        listed = {"errors": len(resume.errors) if resume else -1,
                  "duplicates": len(resume.duplicates) if resume else -1}

        def checkpoint(session: Session, report: ImportReport) -> None:
            now = {"errors": len(report.errors), "duplicates": len(report.duplicates)}
            if now != listed:  # the lists stop growing once full: then no more writing
                _save_report(saved_report, about, report)
                listed.update(now)
            params["checkpoint"] = report.counts()
            session.execute(update(Job).where(Job.id == job.id).values(params=dict(params)))

        with open_rows(source, params["filename"]) as table:
            report = run_import(
                rt.Session, rt.host, table, params["record_type"], params["mapping"],
                on_duplicate=params["on_duplicate"], actor=actor,
                dry_run=bool(params.get("dry_run")), defaults=params.get("defaults") or None,
                progress=lambda rows, *_: progress.advance(rows - progress.done),
                batch_size=int(params.get("batch_size") or JOB_BATCH),
                resume=resume, checkpoint=checkpoint)
    _save_report(saved_report, about, report)
    params["checkpoint"] = {**report.counts(), "finished": True}
    with rt.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job.id).values(params=params))
    _clean_up(folder, token, source)
    return _job_result(params["checkpoint"], params)


def _resumed(record_type: str, done: dict, saved_report: Path) -> ImportReport | None:
    """The report as it stood at the checkpoint ``done``; None to start afresh."""
    if not done:
        return None
    report = ImportReport(record_type, False,
                          **{name: done.get(name, 0) for name in ImportReport.COUNTS})
    if saved_report.exists():
        listed = ImportReport.from_dict(json.loads(saved_report.read_text())["report"])
        report.errors = [e for e in listed.errors if e.row <= report.last_row]
        report.duplicates = [d for d in listed.duplicates if d.row <= report.last_row]
    return report


def _clean_up(folder: Path, token: str, source: Path) -> None:
    """Imported: the upload is not needed, nor importable again; its report stays."""
    source.unlink(missing_ok=True)
    (folder / f"{token}.json").unlink(missing_ok=True)


def _job_result(counts: dict, params: dict) -> dict:
    result = {name: counts.get(name, 0)
              for name in ("rows", "created", "updated", "skipped", "failed")}
    if params.get("dry_run"):
        result["dry_run"] = True
    if params.get("report_url"):
        result["report"] = params["report_url"]
    return result
