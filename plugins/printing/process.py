"""The printing house's project: from an inquiry to a closed order (PR-2 to PR-7).

The calculation is approved by amount (PR-4): below a limit by nobody, then by the
account manager's direct supervisor, the sales director, or a board member. An order
needs accounting's word that the customer has no overdue payments and customer
service's that the registration documents are in (PR-5); production starts on the
signed order (PR-6); accounting closes the project when goods and invoice reached
the customer (PR-7).
"""

from decimal import Decimal

from core.approvals import Approver, Threshold
from core.workflow import Check, Phase, Process, Setting, Transition


def _confirmed(field: str, reason: dict):
    """A check that a yes/no field of the project was ticked by whoever confirms it."""
    def test(session, case):
        return None if (case.custom or {}).get(field) else reason
    return test


NO_OVERDUE = Check(
    "printing.no_overdue", {"pl": "Brak zaległych płatności", "en": "No overdue payments"},
    _confirmed("printing_no_overdue", {
        "pl": "Księgowość nie potwierdziła, że klient nie ma zaległych płatności.",
        "en": "Accounting has not confirmed that the client has no overdue payments."}))
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
DELIVERED = Check(
    "printing.delivered", {"pl": "Towar i faktura u klienta",
                           "en": "Goods and invoice delivered"},
    _confirmed("printing_delivered", {
        "pl": "Księgowość nie potwierdziła, że towar i faktura dotarły do klienta.",
        "en": "Accounting has not confirmed that the goods and invoice reached the client."}))

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
        Phase("inquiry", "printing.phase_inquiry", deadline_days=2),
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
        Transition("offer", "order", checks=(NO_OVERDUE, DOCUMENTS)),
        Transition("order", "production", permission="printing.production",
                   checks=(SIGNED_ORDER,)),
        Transition("production", "delivery", permission="printing.production"),
        Transition("delivery", "closed", checks=(DELIVERED,)),
        Transition("inquiry", "lost"),
        Transition("calculation", "lost"),
        Transition("offer", "lost"),
    ),
    settings=SETTINGS,
)

PROCESSES = [PROJECT]
