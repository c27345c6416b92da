"""Bank statements: how each bank's files are read, and what each statement held.

A statement's lines are kept as the bank wrote them, whatever became of them: a credit
matched to an invoice (its payment), one waiting for someone to decide, a debit that is
never a payment. Lines carry the bank's own transaction id (or a stable digest of the
line when the bank gives none), so a statement imported again is known line by line.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.models.case import Amount
from core.models.mixins import JSONType

FORMATS = ("csv", "mt940")
ENCODINGS = ("auto", "utf-8", "cp1250")
# matched: a payment allocated to invoices; suggested: a likely invoice, waiting for
# review; unmatched: nothing likely; recorded: a payment of a chosen payer, allocated
# to nothing; ignored: not a payment (a refund, a transfer between own accounts);
# debit: money going out; duplicate: the same transaction as a line imported before.
LINE_STATUSES = ("matched", "suggested", "unmatched", "recorded", "ignored", "debit",
                 "duplicate")
OPEN_LINES = ("suggested", "unmatched")  # waiting for review


class BankProfile(Base):
    """How one bank's statements are read: the format, and for CSV its encoding,
    separators, date format, the rows above the headers and which column holds what
    (``columns``: field -> [column header, ...]), remembered after the first file."""

    __tablename__ = "bank_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    format: Mapped[str] = mapped_column(String(10), default="csv")
    encoding: Mapped[str] = mapped_column(String(10), default="auto")
    delimiter: Mapped[str] = mapped_column(String(5), default="auto")  # auto , ; tab
    decimal_separator: Mapped[str] = mapped_column(String(1), default=",")
    date_format: Mapped[str] = mapped_column(String(20), default="auto")
    skip_rows: Mapped[int] = mapped_column(default=0)  # rows above the header row
    currency: Mapped[str] = mapped_column(String(3), default="PLN")  # without a column
    columns: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BankStatement(Base):
    """One imported file, and how many of its lines became what (``counts``: status ->
    number of lines, and "lines")."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_profiles.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str] = mapped_column(String(10), default="")  # as it was read
    account: Mapped[str] = mapped_column(String(40), default="")  # ours, if the file says
    checksum: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the file
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))

    profile: Mapped[BankProfile | None] = relationship()
    lines: Mapped[list[BankStatementLine]] = relationship(
        back_populates="statement", cascade="all, delete-orphan",
        order_by="BankStatementLine.position")


class BankStatementLine(Base):
    """One transaction of a statement: a credit (``amount`` above zero) or a debit."""

    __tablename__ = "bank_statement_lines"
    __table_args__ = (Index("ix_bank_statement_lines_open", "status", "statement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("bank_statements.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()  # 1, 2, 3... in the file's order
    booked_on: Mapped[date] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Amount)  # negative: a debit
    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    payer: Mapped[str] = mapped_column(String(300), default="")
    account: Mapped[str] = mapped_column(String(40), default="", index=True)  # compact
    title: Mapped[str] = mapped_column(String(500), default="")
    # The bank's transaction id, or a digest of the line: the same transaction in
    # another statement (or the same file again) has the same one.
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(10), default="unmatched")
    # Why it was matched, suggested or not (core.payment_matching.REASONS), and what
    # the reason names (invoice numbers, how the payer was known).
    reason: Mapped[str] = mapped_column(String(30), default="")
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The payer as far as it is known: from the account, the name or the invoice.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True)
    # The invoice it pays or would pay (the first, when it names several:
    # ``details["invoice_ids"]``), and the payment it became.
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # why it was ignored
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    statement: Mapped[BankStatement] = relationship(back_populates="lines")

    @property
    def is_credit(self) -> bool:
        return self.amount > 0
