"""Bank statements the tests write: a Polish bank's CSV export (Windows-1250, semicolons,
decimal commas) and an MT940 file with the title and counterparty in ``:86:`` sub-fields,
and the banks that read them."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from billing_helpers import user
from core import bank_statements
from core.models import BankProfile, BankStatementLine

HEADERS = ["Data operacji", "Nadawca / Odbiorca", "Rachunek nadawcy", "Tytuł", "Kwota",
           "Waluta", "Identyfikator transakcji"]
COLUMNS = {"date": ["Data operacji"], "payer": ["Nadawca / Odbiorca"],
           "account": ["Rachunek nadawcy"], "title": ["Tytuł"], "amount": ["Kwota"],
           "currency": ["Waluta"], "transaction_id": ["Identyfikator transakcji"]}
KORNIK_IBAN = "PL61109010140000071219812874"
MOSINA_IBAN = "PL27114020040000300201355387"
OWN_IBAN = "PL83101010230000261395100000"


def csv_file(rows, encoding: str = "cp1250", delimiter: str = ";", headers=HEADERS,
             above=()) -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(
        [*above, headers, *rows])
    return text.getvalue().encode(encoding)


def row(day: str, payer: str, account: str, title: str, amount: str, ref: str = "",
        currency: str = "PLN") -> list[str]:
    return [day, payer, account, title, amount, currency, ref]


def details(title: str, name: str = "", iban: str = "", code: str = "020",
            mark: str = "~") -> str:
    """A Polish bank's ``:86:``: the title in 27-character sub-fields ~20..., the name
    in ~32 and ~33, the IBAN in ~38."""
    parts = [f"{code}{mark}00PRZELEW SEPA"]
    parts += [f"{mark}{20 + n}{title[i:i + 27]}" for n, i in enumerate(range(0, len(title), 27))]
    if name:
        parts += [f"{mark}{32 + n}{name[i:i + 27]}"
                  for n, i in enumerate(range(0, min(len(name), 54), 27))]
    if iban:
        parts.append(f"{mark}38{iban}")
    return "".join(parts)


def mt940_file(entries, account: str = OWN_IBAN, encoding: str = "cp1250") -> bytes:
    """``entries``: (day, amount, bank reference or "", :86: text)."""
    out = [":20:MT940", f":25:/{account}", ":28C:00012", ":60F:C260309PLN10000,00"]
    for day, amount, reference, text in entries:
        amount = Decimal(amount)
        mark = "C" if amount > 0 else "D"
        value = f"{abs(amount):.2f}".replace(".", ",")
        out.append(f":61:{day:%y%m%d}{day:%m%d}{mark}{value}N240NONREF//{reference or 'NONREF'}")
        wrapped = ":86:" + text
        out += [wrapped[i:i + 65] for i in range(0, len(wrapped), 65)]
    out += [":62F:C260331PLN12000,00", "-"]
    return "\r\n".join(out).encode(encoding)


def csv_bank(s, world, name: str = "Bank Spółdzielczy w Kórniku", **settings) -> BankProfile:
    return bank_statements.create_profile(s, {"name": name, "columns": COLUMNS, **settings},
                                          user(s, world, "clerk"))


def mt940_bank(s, world, name: str = "PKO BP") -> BankProfile:
    return bank_statements.create_profile(s, {"name": name, "format": "mt940"},
                                          user(s, world, "clerk"))


def import_file(rt, world, profile_id: int, data: bytes, filename: str = "wyciag.csv",
                by: str = "clerk") -> int:
    """A statement imported in a transaction of its own; its id."""
    with rt.session() as s, s.begin():
        statement = bank_statements.import_statement(s, s.get(BankProfile, profile_id),
                                                     filename, data, user(s, world, by))
        return statement.id


def lines(s, statement_id: int) -> list[BankStatementLine]:
    return list(s.scalars(select(BankStatementLine).where(
        BankStatementLine.statement_id == statement_id).order_by(BankStatementLine.position)))


MARCH_10 = date(2026, 3, 10)
