"""A report's table downloaded as a CSV file, as the plugins' report pages give it
(``/<plugin>/reports/<name>.csv``): UTF-8 with a BOM, so that Excel reads the Polish
letters right; with ``excel=pl`` in the address separated by semicolons with decimal
commas, as Excel reads it in Polish; text a spreadsheet would run as a formula made
inert. The download is counted and written in the audit trail.

Unlike ``exports.py``, which writes the records of a query as they are read, a report's
table is already computed: its headers and rows are given.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from flask import Response, request
from flask_login import current_user
from sqlalchemy.orm import Session

from core import audit, exporting, usage
from core.db import utcnow


def csv_response(session: Session, report: str, name: str, headers: Sequence,
                 rows: Sequence[Sequence], values: dict, *, record_type: str) -> Response:
    """The table ``name`` of the ``report`` reports (a plugin's: "grants") as the file
    ``<report>-<name>-<date>.csv``. The export is recorded for the current user under
    ``record_type`` (in the usage counts and the audit trail, with the filters
    ``values`` the table was made with) and committed."""
    body = csv_bytes(headers, rows, request.args.get("excel") == "pl")
    usage.record(session, "export", current_user, record_type)
    audit.event(session, "export", record_type, {
        "report": name, "format": "csv", "rows": len(rows), "filter": values},
        current_user, summary=name)
    session.commit()
    response = Response(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{report}-{name}-{utcnow():%Y-%m-%d}.csv"'
    return response


def csv_bytes(headers: Iterable, rows: Iterable[Iterable], excel: bool) -> bytes:
    """The table as CSV, UTF-8 with a BOM; ``excel``: separated by semicolons, with
    decimal commas."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow([exporting.neutralise(str(h)) for h in headers])
    for row in rows:
        writer.writerow([_cell(value, excel) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value, excel: bool) -> str:
    """Nothing for None; numbers (a decimal comma for ``excel``), dates and times in ISO
    8601; any other text made inert."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = str(value)
        return text.replace(".", ",") if excel else text
    if isinstance(value, date):  # a datetime too, with its time
        return value.isoformat()
    return exporting.neutralise(str(value))
