"""An issued invoice as the structured e-invoice of KSeF: FA(3), checked against the
Ministry of Finance's schema before it is handed over.

The document is written here from the ledger's own figures. ``ksef-client``'s builders
compute the tax line by line and scale a final invoice's rows; the ledger computes it
once per rate (``core.vat``), so building through them would give P_14_x that differ
from the printed invoice by a grosz. What the package is used for is its copy of the
official XSD (``ksef_client/documents/fa3/schemas``), compiled once and checked offline:
a document that does not satisfy it raises ``InvalidDocument`` and is never returned.

How the ledger's invoices read in FA(3):

- kinds: an invoice is ``VAT``, an advance invoice ``ZAL``, a final invoice ``ROZ``
  (its lines are the whole order, its P_13_x/P_14_x/P_15 what remains after the advance
  invoices it names in ``FakturaZaliczkowa``), a correction ``KOR``, ``KOR_ZAL`` or
  ``KOR_ROZ`` after what it corrects (the lines it changes before, ``StanPrzed``, and
  after; its amounts the differences per rate). A pro forma and a settlement note (and
  a note's correction) are no VAT invoices and are refused.
- rates: 23, 8 and 5 in P_13_1..3 with their tax, 0 as domestic 0% ("0 KR", P_13_6_1),
  zw in P_13_7 with the legal basis of the exemption (``vat_exemption_basis``), np as
  supply outside the country ("np I", P_13_8). In another currency each rate's tax in
  złoty goes to P_14_xW and the exchange rate to each line (an advance: KursWalutyZ).
- the seller is the one copied onto the invoice at issue: its name, and from its details
  lines the NIP, the address and the bank account; the buyer is the one copied at issue.
- JST: a local-government buyer (``JST_TYPES``) or one flagged explicitly is marked
  ``JST`` 1, and a Podmiot3 with role 8 names the subordinate unit the invoice is for:
  the unit given, or else the buyer itself.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from lxml import etree
from sqlalchemy.orm import Session

from core import identifiers, invoices, vat
from core.config import Settings
from core.db import utcnow
from core.errors import ValidationError
from core.models import Invoice, Organisation

NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SYSTEM_CODE = "FA (3)"
SCHEMA_VERSION = "1-0E"
SCHEMA_FILE = "schemat_FA(3)_v1-0E.xsd"
SCHEMA_FILES = (SCHEMA_FILE, "StrukturyDanych_v10-0E.xsd", "ElementarneTypyDanych_v10-0E.xsd",
                "KodyKrajow_v10-0E.xsd")
SYSTEM_INFO = "Kartoteka"
KINDS = {"invoice": "VAT", "advance": "ZAL", "final": "ROZ"}
CORRECTIONS = {"invoice": "KOR", "advance": "KOR_ZAL", "final": "KOR_ROZ"}
# Local-government units (JST): a gmina, a powiat, a samorząd województwa.
JST_TYPES = frozenset({"core.municipality", "core.county", "core.voivodeship"})
# The ledger's rate -> (P_12 code, net field, tax field, tax in złoty field), in the
# order the schema's sequence wants them.
RATES = {"23": ("23", "P_13_1", "P_14_1", "P_14_1W"),
         "8": ("8", "P_13_2", "P_14_2", "P_14_2W"),
         "5": ("5", "P_13_3", "P_14_3", "P_14_3W"),
         "0": ("0 KR", "P_13_6_1", None, None),
         "zw": ("zw", "P_13_7", None, None),
         "np": ("np I", "P_13_8", None, None)}
TRANSFER = "6"  # FormaPlatnosci: przelew
# DataWytworzeniaFa cannot be earlier than the structure.
FA3_START = datetime(2025, 9, 1, tzinfo=UTC)
PLACES = {2: Decimal("0.01"), 4: Decimal("0.0001")}

NIP_IN_LINE = re.compile(r"\bNIP\b\W*(?:PL)?\s*(\d[\d \-]{8,14}\d)", re.I)
ACCOUNT_IN_LINE = re.compile(r"\b((?:PL)?\s?\d{2}(?:\s?\d{4}){6})\b")
NOT_ADDRESS = re.compile(r"^\W*(REGON|KRS|BDO|PESEL|tel|telefon|phone|fax|e-?mail|www|https?:|"
                         r"konto|rachunek|nr\s+rachunku|bank|IBAN|SWIFT|BIC)\b", re.I)


class InvalidDocument(ValidationError):
    """The document written does not satisfy the FA(3) schema: it is not handed over."""


@dataclass(frozen=True)
class JstUnit:
    """The subordinate unit of a local government that an invoice is for (Podmiot3,
    role 8): a school, a social welfare centre, the municipal office."""

    name: str = ""
    nip: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"


@dataclass(frozen=True)
class Seller:
    name: str
    nip: str
    address: tuple[str, ...]
    account: str = ""


# --- What is sent -------------------------------------------------------------------------

def is_vat_invoice(session: Session, invoice: Invoice) -> bool:
    """Whether the invoice is one FA(3) carries: an invoice, advance, final invoice or a
    correction of one of them (not a pro forma or a settlement note)."""
    if invoice.kind == "correction":
        original = session.get(Invoice, invoice.corrects_id)
        return original is not None and original.kind in KINDS
    return invoice.kind in KINDS


def refusal(session: Session, invoice: Invoice) -> dict[str, str]:
    """Why the invoice has no FA(3) document, per field; empty when it has one."""
    if not is_vat_invoice(session, invoice):
        return {"kind": _("A pro forma or a settlement note is not a VAT invoice: it has no "
                          "KSeF document.")}
    if invoice.status == "draft":
        return {"status": _("A draft has no KSeF document; issue it first.")}
    if invoice.status not in invoices.SETTLED:
        return {"status": _("A cancelled invoice has no KSeF document.")}
    if invoice.currency not in currencies():
        return {"currency": _("KSeF does not take invoices in %(currency)s.",
                              currency=invoice.currency)}
    return {}


def jst_of(session: Session, invoice: Invoice) -> bool:
    """Whether the buyer is a local government (of one of ``JST_TYPES``)."""
    if invoice.organisation_id is None:
        return False
    organisation = session.get(Organisation, invoice.organisation_id)
    return organisation is not None and organisation.type_key in JST_TYPES


def invoice_xml(session: Session, settings: Settings, invoice: Invoice,
                jst: bool | None = None, unit: JstUnit | None = None) -> bytes:
    """The invoice's FA(3) document, validated against the schema.

    ``jst`` marks it as concerning a subordinate unit of a local government (None: when
    the buyer is one, or a ``unit`` is given); ``unit`` names that unit, which is
    otherwise the buyer itself. ValidationError says why it cannot be written
    (``refusal``, or the seller's details lack what FA(3) needs); ``InvalidDocument``
    that what was written fails the schema."""
    errors = refusal(session, invoice)
    if errors:
        raise ValidationError(errors)
    seller = seller_of(invoice)
    if jst is None:
        jst = unit is not None or jst_of(session, invoice)
    document = _Writer(session, settings, invoice, seller).document(
        jst, (unit or _buyer_as_unit(invoice.buyer)) if jst else None)
    xml = etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(xml, invoice.number)
    return xml


def file_name(invoice: Invoice) -> str:
    """FV/2026/0001 -> FV_2026_0001.xml"""
    return re.sub(r"[^\w.-]+", "_", invoice.number or f"draft-{invoice.id}") + ".xml"


def write_zip(session: Session, settings: Settings, found: Iterable[Invoice], stream) -> int:
    """The FA(3) documents of ``found`` as XML files in a ZIP written to ``stream``; how
    many. One that cannot be written stops it, naming the invoice."""
    count = 0
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice in found:
            try:
                xml = invoice_xml(session, settings, invoice)
            except InvalidDocument:
                raise
            except ValidationError as exc:
                raise ValidationError({key: f"{invoice.number}: {message}"
                                       for key, message in exc.errors.items()}) from exc
            archive.writestr(file_name(invoice), xml)
            count += 1
    return count


# --- The seller ---------------------------------------------------------------------------

def seller_of(invoice: Invoice) -> Seller:
    """The seller as copied onto the invoice: its name, and from its details lines the
    NIP ("NIP 777-306-15-79"), the address (the lines that are no identifier, contact or
    account) and the bank account."""
    copied = invoice.seller or {}
    name = _text(copied.get("name", ""), 512)
    nip, account, address = "", "", []
    for line in copied.get("details", []):
        found = NIP_IN_LINE.search(line)
        if found and not nip:
            nip = re.sub(r"\D", "", found.group(1))
            continue
        number = ACCOUNT_IN_LINE.search(line)
        if number and not account:
            account = re.sub(r"\s", "", number.group(1))
            continue
        if not (found or number or NOT_ADDRESS.match(line) or "@" in line) and line.strip():
            address.append(line.strip())
    errors = {}
    if not name:
        errors["seller"] = _("The seller's name is not on the invoice (KARTOTEKA_COMPANY_NAME).")
    elif not nip:
        errors["seller"] = _("The seller's NIP is not among the company details "
                             "(KARTOTEKA_COMPANY_DETAILS): add a line such as "
                             "“NIP 777-306-15-79”.")
    elif not address:
        errors["seller"] = _("The seller's address is not among the company details "
                             "(KARTOTEKA_COMPANY_DETAILS).")
    else:
        try:
            nip = identifiers.normalise("nip", nip)
        except ValidationError as exc:
            errors["seller"] = _("The seller's NIP among the company details is wrong: "
                                 "%(problem)s", problem=next(iter(exc.errors.values())))
    if errors:
        raise ValidationError(errors)
    return Seller(name, nip, tuple(address), account)


def _buyer_as_unit(buyer: dict) -> JstUnit:
    return JstUnit(**{key: buyer.get(key) or "" for key in
                      ("name", "nip", "street", "postal_code", "city")},
                   country=buyer.get("country") or "PL")


# --- Writing ------------------------------------------------------------------------------

class _Writer:
    """One invoice's document, element by element in the schema's order."""

    def __init__(self, session: Session, settings: Settings, invoice: Invoice, seller: Seller):
        self.session, self.settings, self.invoice, self.seller = (session, settings, invoice,
                                                                  seller)
        self.original = session.get(Invoice, invoice.corrects_id) \
            if invoice.kind == "correction" else None
        self.foreign = invoice.currency != "PLN"
        self.kind = CORRECTIONS[self.original.kind] if self.original is not None \
            else KINDS[invoice.kind]

    def document(self, jst: bool, unit: JstUnit | None) -> etree._Element:
        root = etree.Element(_q("Faktura"), nsmap={None: NAMESPACE})
        header = _sub(root, "Naglowek")
        _sub(header, "KodFormularza", "FA", kodSystemowy=SYSTEM_CODE,
             wersjaSchemy=SCHEMA_VERSION)
        _sub(header, "WariantFormularza", "3")
        _sub(header, "DataWytworzeniaFa", _made_at(self.invoice))
        _sub(header, "SystemInfo", SYSTEM_INFO)
        self._seller(root)
        self._buyer(root, jst)
        if unit is not None:
            self._unit(root, unit)
        self._fa(root)
        return root

    def _seller(self, root) -> None:
        node = _sub(root, "Podmiot1")
        ids = _sub(node, "DaneIdentyfikacyjne")
        _sub(ids, "NIP", self.seller.nip)
        _sub(ids, "Nazwa", self.seller.name)
        address = _sub(node, "Adres")
        _sub(address, "KodKraju", "PL")
        _sub(address, "AdresL1", _text(self.seller.address[0], 512))
        if len(self.seller.address) > 1:
            _sub(address, "AdresL2", _text(", ".join(self.seller.address[1:]), 512))

    def _buyer(self, root, jst: bool) -> None:
        buyer = self.invoice.buyer or {}
        node = _sub(root, "Podmiot2")
        _identity(node, buyer.get("nip") or "", buyer.get("name") or "")
        _address(node, buyer)
        _sub(node, "JST", "1" if jst else "2")
        _sub(node, "GV", "2")

    def _unit(self, root, unit: JstUnit) -> None:
        node = _sub(root, "Podmiot3")
        _identity(node, unit.nip, unit.name)
        _address(node, {"street": unit.street, "postal_code": unit.postal_code,
                        "city": unit.city, "country": unit.country})
        _sub(node, "Rola", "8")

    def _fa(self, root) -> None:
        invoice = self.invoice
        fa = _sub(root, "Fa")
        _sub(fa, "KodWaluty", invoice.currency)
        _sub(fa, "P_1", invoice.issue_date.isoformat())
        _sub(fa, "P_2", _text(invoice.number, 256))
        if invoice.sale_date and invoice.sale_date != invoice.issue_date:
            _sub(fa, "P_6", invoice.sale_date.isoformat())
        rows = self._rows()
        in_pln = vat.tax_in_pln(rows, invoice.exchange_rate) if self.foreign else {}
        for row in rows:
            _code, net_field, tax_field, pln_field = RATES[row.rate]
            _sub(fa, net_field, _amount(row.net))
            if tax_field:
                _sub(fa, tax_field, _amount(row.vat))
                if pln_field and row.rate in in_pln:
                    _sub(fa, pln_field, _amount(in_pln[row.rate]))
        _sub(fa, "P_15", _amount(vat.totals(rows).gross))
        if self.kind == "ZAL" and self.foreign:
            _sub(fa, "KursWalutyZ", _quantity(invoice.exchange_rate))
        lines = self._lines()
        self._notes(fa, exempt=any(line["vat_rate"] == "zw" for line in lines)
                    or any(row.rate == "zw" for row in rows))
        _sub(fa, "RodzajFaktury", self.kind)
        if self.original is not None:
            if invoice.reason.strip():
                _sub(fa, "PrzyczynaKorekty", _text(invoice.reason, 256))
            corrected = _sub(fa, "DaneFaKorygowanej")
            _sub(corrected, "DataWystFaKorygowanej", self.original.issue_date.isoformat())
            _sub(corrected, "NrFaKorygowanej", _text(self.original.number, 256))
            _sub(corrected, "NrKSeFN", "1")  # numbers given by KSeF are not kept here
        if invoice.kind == "final":
            for advance in invoices.advances(self.session, invoice):
                node = _sub(fa, "FakturaZaliczkowa")
                _sub(node, "NrKSeFZN", "1")
                _sub(node, "NrFaZaliczkowej", _text(advance.number, 256))
        for n, line in enumerate(lines, start=1):
            self._line(fa, n, line)
        self._payment(fa)

    def _rows(self) -> list[vat.Row]:
        """What the document declares per rate: its own rows; a final invoice's less the
        advance invoices it deducts, as they stood when it was issued (art. 106f ust. 3)."""
        own = [vat.Row.from_dict(row) for row in self.invoice.vat_summary or []]
        if self.invoice.kind != "final":
            return own
        deducted = [_rows_before(self.session, advance, self.invoice.issued_at)
                    for advance in invoices.advances(self.session, self.invoice)]
        return vat.difference(own, vat.add(*deducted))

    def _lines(self) -> list[dict]:
        """The rows of FaWiersz: the invoice's lines; a correction's lines it changes,
        each as it was (``before``) and as it is, and those it adds."""
        found = []
        for line in self.invoice.lines:
            now = {"description": line.description, "quantity": line.quantity,
                   "unit": line.unit, "unit_price": line.unit_price,
                   "vat_rate": line.vat_rate, "before": False}
            if self.original is not None and line.before is not None:
                was = {**line.before, "quantity": Decimal(line.before["quantity"]),
                       "unit_price": Decimal(line.before["unit_price"]), "before": True}
                if _same(was, now):
                    continue
                found.append(was)
            found.append(now)
        return found

    def _notes(self, fa, exempt: bool) -> None:
        notes = _sub(fa, "Adnotacje")
        for field in ("P_16", "P_17", "P_18", "P_18A"):  # cash method, self-billing,
            _sub(notes, field, "2")                      # reverse charge, split payment
        exemption = _sub(notes, "Zwolnienie")
        if exempt:
            basis = _text(self.settings.vat_exemption_basis, 256)
            if not basis:
                raise ValidationError({"vat_exemption_basis": _(
                    "Lines exempt from VAT (zw) need the legal basis of the exemption: an "
                    "administrator sets it in KARTOTEKA_VAT_EXEMPTION_BASIS, such as "
                    "“art. 43 ust. 1 pkt 29 lit. c ustawy o VAT”.")})
            _sub(exemption, "P_19", "1")
            _sub(exemption, "P_19A", basis)
        else:
            _sub(exemption, "P_19N", "1")
        _sub(_sub(notes, "NoweSrodkiTransportu"), "P_22N", "1")
        _sub(notes, "P_23", "2")
        _sub(_sub(notes, "PMarzy"), "P_PMarzyN", "1")

    def _line(self, fa, n: int, line: dict) -> None:
        row = _sub(fa, "FaWiersz")
        _sub(row, "NrWierszaFa", str(n))
        _sub(row, "P_7", _text(line["description"], 512))
        if _text(line["unit"], 256):
            _sub(row, "P_8A", _text(line["unit"], 256))
        _sub(row, "P_8B", _quantity(line["quantity"]))
        value = vat.Line(line["quantity"], line["unit_price"], line["vat_rate"]).value
        gross = self.invoice.price_basis == "gross"
        _sub(row, "P_9B" if gross else "P_9A", _price(line["unit_price"]))
        _sub(row, "P_11A" if gross else "P_11", _amount(value))
        _sub(row, "P_12", RATES[line["vat_rate"]][0])
        if self.foreign and self.kind != "ZAL":
            _sub(row, "KursWaluty", _quantity(self.invoice.exchange_rate))
        if line["before"]:
            _sub(row, "StanPrzed", "1")

    def _payment(self, fa) -> None:
        """When and where to pay: invoices owed by the buyer, not corrections."""
        if self.invoice.kind not in invoices.PAYABLE or self.invoice.due_date is None:
            return
        payment = _sub(fa, "Platnosc")
        _sub(_sub(payment, "TerminPlatnosci"), "Termin", self.invoice.due_date.isoformat())
        _sub(payment, "FormaPlatnosci", TRANSFER)
        if self.seller.account:
            _sub(_sub(payment, "RachunekBankowy"), "NrRB", self.seller.account)


def _same(was: dict, now: dict) -> bool:
    return all(Decimal(was[k]) == Decimal(now[k]) if k in ("quantity", "unit_price")
               else was[k] == now[k] for k in ("description", "quantity", "unit",
                                               "unit_price", "vat_rate"))


def _rows_before(session: Session, invoice: Invoice, moment: datetime | None) -> list[vat.Row]:
    """An invoice's rows with the corrections issued before ``moment``."""
    rows = [[vat.Row.from_dict(row) for row in invoice.vat_summary or []]]
    for correction in invoices.corrections(session, invoice):
        if moment is None or (correction.issued_at and correction.issued_at < moment):
            rows.append([vat.Row.from_dict(row) for row in correction.vat_summary or []])
    return vat.add(*rows)


def _identity(node, nip: str, name: str) -> None:
    ids = _sub(node, "DaneIdentyfikacyjne")
    nip = re.sub(r"\D", "", nip or "")
    if nip:
        _sub(ids, "NIP", nip)
    else:
        _sub(ids, "BrakID", "1")  # a consumer, or a unit without a NIP of its own
    if _text(name, 512):
        _sub(ids, "Nazwa", _text(name, 512))


def _address(node, party: dict) -> None:
    """AdresL1 the street (or the town), AdresL2 the postal code and town; none when
    nothing is known (the schema allows it for the buyer)."""
    street = _text(party.get("street"), 512)
    town = _text(f"{party.get('postal_code') or ''} {party.get('city') or ''}", 512)
    if not (street or town):
        return
    address = _sub(node, "Adres")
    _sub(address, "KodKraju", (party.get("country") or "PL").upper())
    _sub(address, "AdresL1", street or town)
    if street and town:
        _sub(address, "AdresL2", town)


def _made_at(invoice: Invoice) -> str:
    """When the invoice was made (issued), so that the same invoice gives the same
    document; now for one issued before FA(3) existed."""
    moment = invoice.issued_at or utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < FA3_START:
        moment = utcnow()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _sub(parent, name: str, text: str | None = None, **attributes) -> etree._Element:
    node = etree.SubElement(parent, _q(name), attributes)
    if text is not None:
        node.text = text
    return node


def _text(value, limit: int) -> str:
    """As the schema's token types keep it: spaces collapsed, at most ``limit`` long."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _amount(value: Decimal) -> str:
    return format(Decimal(value).quantize(PLACES[2]) + 0, "f")  # + 0: never "-0.00"


def _price(value: Decimal) -> str:
    """A unit price: to the grosz, or to the places it has, at most four."""
    value = Decimal(value)
    places = PLACES[2] if value == value.quantize(PLACES[2]) else PLACES[4]
    return format(value.quantize(places) + 0, "f")


def _quantity(value: Decimal) -> str:
    return format(Decimal(value).normalize() + 0, "f")


# --- The schema ---------------------------------------------------------------------------

class _Bundled(etree.Resolver):
    """Reads the schema's includes from the package's copies, never from the network."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def resolve(self, url, public_id, context):
        name = Path(url or "").name
        if name not in SCHEMA_FILES:
            raise InvalidDocument({"invoice": f"{url}: not one of the bundled FA(3) schemas"})
        return self.resolve_filename(str(self.folder / name), context)


def _schema_folder() -> Path:
    # Found without importing ksef_client, whose package import loads its HTTP client.
    spec = importlib.util.find_spec("ksef_client")
    return Path(next(iter(spec.submodule_search_locations))) / "documents" / "fa3" / "schemas"


@functools.cache
def _schema() -> etree.XMLSchema:
    folder = _schema_folder()
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Bundled(folder))
    return etree.XMLSchema(etree.parse(str(folder / SCHEMA_FILE), parser))


_validating = threading.Lock()  # a schema's error log is its own: one check at a time


def validate(xml: bytes, number: str | None = None) -> None:
    """Check a document against the FA(3) schema; ``InvalidDocument`` says where it
    fails."""
    schema = _schema()
    document = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))
    with _validating:
        valid = schema.validate(document)
        error = schema.error_log.last_error
    if not valid:
        detail = f"line {error.line}: {error.message}" if error is not None else "?"
        raise InvalidDocument({"invoice": _(
            "%(number)s: the KSeF document does not satisfy the FA(3) schema (%(detail)s).",
            number=number or "?", detail=detail)})


@functools.cache
def currencies() -> frozenset[str]:
    """The currency codes the FA(3) schema takes (TKodWaluty)."""
    tree = etree.parse(str(_schema_folder() / SCHEMA_FILE),
                       etree.XMLParser(no_network=True, resolve_entities=False))
    return frozenset(tree.xpath("//x:simpleType[@name='TKodWaluty']//x:enumeration/@value",
                                namespaces={"x": "http://www.w3.org/2001/XMLSchema"}))
