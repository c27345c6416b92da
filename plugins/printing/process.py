"""The printing house's project: from an inquiry to a closed order (PR-2 to PR-7).

The calculation is approved by amount (PR-4): below a limit by nobody, then by the
account manager's direct supervisor, the sales director, or a board member. An order
needs a client with no overdue invoice (computed from billing) and customer service's
word that the registration documents are in (PR-5); production starts on the signed
order once prepress checked the print files (PR-6, PR-9); accounting closes the project
once it is invoiced and goods and invoice reached the customer (PR-7).
"""

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from core import approvals, billing, events, invoices
from core.approvals import Approver, Threshold
from core.models import Invoice
from core.terms import term, upper_first
from core.workflow import Check, Phase, Process, Setting, Transition
from plugins.printing.models import PrintFile


def _confirmed(field: str, reason: dict):
    """A check that a yes/no field of the project was ticked by whoever confirms it."""
    def test(session, case):
        return None if (case.custom or {}).get(field) else reason
    return test


# Computed from billing: an invoice of the client past its due date blocks the order
# until it is paid (the reason names the invoices).
NO_OVERDUE = billing.no_overdue_check("printing.no_overdue")
DOCUMENTS = Check(
    "printing.documents",
    {"pl": "Dokumenty rejestrowe otrzymane", "en": "Registration documents received"},
    _confirmed("printing_documents_received", {
        "pl": "Obsługa klienta nie potwierdziła otrzymania dokumentów rejestrowych.",
        "en": "Customer service has not confirmed that the registration documents "
              "were received."}),
    optional=True)
SIGNED_ORDER = Check(
    "printing.signed_order", {"pl": "Podpisane zamówienie", "en": "Signed order"},
    _confirmed("printing_signed_order", {
        "pl": "Podpisane zamówienie jeszcze nie wróciło od klienta.",
        "en": "The signed order has not come back from the client yet."}))
def _invoiced(session, case):
    issued = session.scalar(select(Invoice.id).where(
        Invoice.case_id == case.id, Invoice.status.in_(invoices.SETTLED),
        Invoice.kind != "proforma").limit(1))
    return None if issued else _("No invoice has been issued for the %(what)s yet.",
                                 what=term("printing.project", "gen"))


def _files_checked(session, case):
    statuses = list(session.scalars(select(PrintFile.status).where(
        PrintFile.case_id == case.id)))
    if not statuses:
        return _("No %(what)s has been received yet.",
                 what=term("printing.print_file", "gen"))
    waiting = sum(s != "checked" for s in statuses)
    if waiting:
        return _("%(what)s not checked yet, or rejected: %(count)d of %(all)d.",
                 what=upper_first(term("printing.print_file", plural=True)),
                 count=waiting, all=len(statuses))
    return None


# Production prints from the customer's files once prepress checked every one (PR-9);
# optional, for jobs printed from the house's own designs.
FILES_CHECKED = Check("printing.files_checked",
                      {"pl": "Pliki do druku sprawdzone", "en": "Print files checked"},
                      _files_checked, optional=True)

# Computed from billing: an issued invoice of the project (not a pro forma).
INVOICED = Check("printing.invoiced", {"pl": "Faktura wystawiona", "en": "Invoice issued"},
                 _invoiced)
DELIVERED = Check(
    "printing.delivered", {"pl": "Towar i faktura u klienta",
                           "en": "Goods and invoice delivered"},
    _confirmed("printing_delivered", {
        "pl": "Księgowość nie potwierdziła, że towar i faktura dotarły do klienta.",
        "en": "Accounting has not confirmed that the goods and invoice reached the client."}))

def _calculation_approved(session, case):
    """Why the next document waits: the approvals the calculation still needs."""
    waiting = approvals.missing(session, events.host_of(session), case,
                                PROJECT.transition("calculation", "offer"))
    if not waiting:
        return None
    return _("The approval of the %(what)s is missing: %(who)s.",
             what=term("printing.calculation", "gen"),
             who="; ".join(level.describe() for level in waiting))


# No offer, order or production order goes out before the calculation is approved (PR-4).
CALCULATION_APPROVED = Check(
    "printing.calculation_approved",
    {"pl": "Kalkulacja zaakceptowana", "en": "Calculation approved"}, _calculation_approved)

CALCULATION_APPROVAL = Threshold(
    "printing.calculation",
    free_below="approval_from",
    bands=(("supervisor_up_to", Approver.supervisor()),
           ("director_up_to", Approver.holder_of(
               "printing_sales_director", {"pl": "dyrektor sprzedaży", "en": "sales director"})),
           (None, Approver.holder_of("printing_board", {"pl": "członek zarządu",
                                                        "en": "board member"}))))

SETTINGS = (
    Setting("approval_from", {"pl": "Kalkulacja wymaga akceptacji od (PLN)",
                              "en": "Calculations need approval from (PLN)"},
            "money", Decimal("5000.00")),
    Setting("supervisor_up_to", {"pl": "Przełożony akceptuje poniżej (PLN)",
                                 "en": "The supervisor approves below (PLN)"},
            "money", Decimal("20000.00")),
    Setting("director_up_to", {"pl": "Dyrektor sprzedaży akceptuje poniżej (PLN)",
                               "en": "The sales director approves below (PLN)"},
            "money", Decimal("100000.00")),
)

PROJECT = Process(
    "printing.project", "printing.project",
    title={"pl": "Projekt druku", "en": "Print project"},
    phases=(
        Phase("inquiry", "printing.inquiry", deadline_days=2),
        Phase("calculation", "printing.calculation", deadline_days=3),
        Phase("offer", "printing.phase_offer", deadline_days=14),
        Phase("order", "printing.order", deadline_days=7),
        Phase("production", "printing.phase_production", deadline_days=10),
        Phase("delivery", "printing.phase_delivery", deadline_days=7),
        Phase("closed", "printing.phase_closed", final=True),
        Phase("lost", "printing.phase_lost", final=True),
    ),
    transitions=(
        Transition("inquiry", "calculation"),
        Transition("calculation", "offer", approval=CALCULATION_APPROVAL),
        Transition("offer", "calculation"),
        # a calculation changed after its approval goes back to be approved again
        Transition("offer", "order", checks=(CALCULATION_APPROVED, NO_OVERDUE, DOCUMENTS)),
        Transition("order", "calculation"),
        Transition("order", "production", permission="printing.production",
                   checks=(CALCULATION_APPROVED, SIGNED_ORDER, FILES_CHECKED)),
        Transition("production", "delivery", permission="printing.production"),
        Transition("delivery", "closed", permission="core.billing",
                   checks=(INVOICED, DELIVERED)),
        Transition("inquiry", "lost"),
        Transition("calculation", "lost"),
        Transition("offer", "lost"),
    ),
    settings=SETTINGS,
)

PROCESSES = [PROJECT]
