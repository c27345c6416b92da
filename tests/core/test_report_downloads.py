"""A report's table as CSV: UTF-8 with a BOM, semicolons and decimal commas for Excel in
Polish, formulas made inert. (The download itself is tested with each plugin's reports.)"""

from datetime import UTC, date, datetime
from decimal import Decimal

from core.web.report_downloads import csv_bytes

HEADERS = ["=Name", "Amount", "Count", "Day", "At", "Empty"]
ROWS = [["=1+1", Decimal("1234.50"), 3, date(2026, 5, 20),
         datetime(2026, 5, 20, 8, 30, tzinfo=UTC), None],
        ["Kraków; \"Rynek\"", Decimal(0), True, None, None, "@x"]]


def test_a_table_is_written_as_csv_and_as_excel_reads_it_in_polish():
    assert csv_bytes(HEADERS, ROWS, excel=False).decode("utf-8") == (
        "\ufeff'=Name,Amount,Count,Day,At,Empty\r\n"
        "'=1+1,1234.50,3,2026-05-20,2026-05-20T08:30:00+00:00,\r\n"
        '"Kraków; ""Rynek""",0,True,,,\'@x\r\n')
    assert csv_bytes(HEADERS, ROWS, excel=True).decode("utf-8") == (
        "\ufeff'=Name;Amount;Count;Day;At;Empty\r\n"
        "'=1+1;1234,50;3;2026-05-20;2026-05-20T08:30:00+00:00;\r\n"
        '"Kraków; ""Rynek""";0;True;;;\'@x\r\n')
