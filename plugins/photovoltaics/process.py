"""The installer's installation: from a lead to the final payment (PV-1 to PV-4).

A lead is audited on site (the checklist ticked, photos attached: ``audit.py``), the
design department makes and prices the scheme, and the offer (a calculation of the case
from the components price list, each change a version) goes to the customer, who
accepts it or asks for changes (PV-1). The contract
goes out once the sales manager approved it (PV-2). Installation starts when the
installation's advance invoice is paid, as the ledger says (PV-3; an administrator may
switch the check off); it is two subprocesses, the roof part and the electrical part,
whose crews report completion themselves, and the installation goes on to the final
payment by itself once both are done. It is completed when the final invoice, which
deducts the advance, is paid (PV-4).
"""

from core import invoices
from core.approvals import Approver, Chain, Step
from core.workflow import Check, Phase, Process, Transition
from plugins.photovoltaics.audit import AUDITED, DESIGNED
from plugins.photovoltaics.components import OFFER_ACCEPTED


def _paid(kind: str, missing: dict, unpaid: dict):
    """A check that the installation's invoices of ``kind`` were issued and are paid in
    full, as the ledger says: a payment recorded or matched from a bank statement."""
    def test(session, case):
        found = invoices.of_case(session, case.id, (kind,), issued=True)
        if not found:
            return missing
        return None if all(i.status == "paid" for i in found) else unpaid
    return test


# Optional: a firm that installs before the advance is in switches it off.
ADVANCE_PAID = Check(
    "photovoltaics.advance_paid", {"pl": "Zaliczka opłacona", "en": "Advance paid"},
    _paid("advance", {
        "pl": "Nie wystawiono jeszcze faktury zaliczkowej do tej instalacji.",
        "en": "No advance invoice has been issued for this installation yet."}, {
        "pl": "Faktura zaliczkowa nie jest jeszcze w pełni opłacona.",
        "en": "The advance invoice is not paid in full yet."}),
    optional=True)
FINAL_PAID = Check(
    "photovoltaics.final_paid", {"pl": "Płatność końcowa opłacona", "en": "Final payment paid"},
    _paid("final", {
        "pl": "Nie wystawiono jeszcze faktury końcowej do tej instalacji.",
        "en": "No final invoice has been issued for this installation yet."}, {
        "pl": "Faktura końcowa nie jest jeszcze w pełni opłacona.",
        "en": "The final invoice is not paid in full yet."}))

CONTRACT_APPROVAL = Chain("photovoltaics.contract", (
    Step("sales_manager", Approver.holder_of("photovoltaics_sales_manager", {
        "pl": "kierownik sprzedaży", "en": "sales manager"})),
))

ROOF = "photovoltaics.roof"
ELECTRICAL = "photovoltaics.electrical"

INSTALLATION = Process(
    "photovoltaics.installation", "photovoltaics.installation",
    title={"pl": "Instalacja fotowoltaiczna", "en": "Photovoltaic installation"},
    phases=(
        Phase("lead", "photovoltaics.lead", deadline_days=3),
        Phase("audit", "photovoltaics.audit", deadline_days=7),
        Phase("design", "photovoltaics.design", deadline_days=7),
        Phase("offer", "photovoltaics.offer", deadline_days=14),
        Phase("contract", "photovoltaics.contract", deadline_days=7),
        Phase("advance_payment", "photovoltaics.advance_payment", deadline_days=14),
        Phase("installation", "photovoltaics.phase_installation", deadline_days=30,
              starts=(ROOF, ELECTRICAL), then="final_payment"),
        Phase("final_payment", "photovoltaics.final_payment", deadline_days=14),
        Phase("completed", "photovoltaics.phase_completed", final=True),
        Phase("lost", "photovoltaics.phase_lost", final=True),
    ),
    transitions=(
        Transition("lead", "audit"),
        Transition("audit", "design", checks=(AUDITED,)),
        Transition("design", "offer", checks=(DESIGNED,)),
        Transition("offer", "design"),  # the customer asks for changes
        Transition("offer", "contract", checks=(OFFER_ACCEPTED,)),
        Transition("contract", "advance_payment", checks=(OFFER_ACCEPTED,),
                   approval=CONTRACT_APPROVAL),
        Transition("advance_payment", "installation", checks=(ADVANCE_PAID,)),
        Transition("installation", "final_payment"),
        Transition("final_payment", "completed", checks=(FINAL_PAID,)),
        Transition("lead", "lost"),
        Transition("audit", "lost"),
        Transition("design", "lost"),
        Transition("offer", "lost"),
        Transition("contract", "lost"),
    ),
)


def _part(key: str, term: str, title: dict) -> Process:
    """A part of the installation done by a crew: scheduled, in progress, done."""
    return Process(
        key, term, title=title,
        phases=(
            Phase("scheduled", "photovoltaics.phase_scheduled", deadline_days=14),
            Phase("in_progress", "photovoltaics.phase_in_progress", deadline_days=5),
            Phase("done", "photovoltaics.phase_done", final=True),
        ),
        transitions=(
            Transition("scheduled", "in_progress"),
            Transition("in_progress", "scheduled"),  # postponed: weather, parts
            Transition("in_progress", "done"),
        ),
    )


PROCESSES = [
    INSTALLATION,
    _part(ROOF, "photovoltaics.roof",
          {"pl": "Montaż: część dachowa", "en": "Installation: roof part"}),
    _part(ELECTRICAL, "photovoltaics.electrical",
          {"pl": "Montaż: część elektryczna", "en": "Installation: electrical part"}),
]
