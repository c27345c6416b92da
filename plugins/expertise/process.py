"""The expert-opinion firm's inquiry: from a meeting to the invoiced opinion (EX-1 to EX-4).

A successful meeting becomes an inquiry (EX-1); the secretariat routes it to a
department by its specialisation (EX-2); the department estimates the cost from its
experts' hours, travel and materials, having found experts able to do it (EX-3), and
prepares the offer. The offer goes out once the department's manager approved it, and
the board too when its margin is below the minimum an administrator sets (EX-4). The
client accepts it; the opinion is prepared by its deadline (a court's, tracked),
delivered and invoiced.
"""

from decimal import Decimal

from sqlalchemy import select

from core.approvals import Approver, Chain, MarginBelow, Step
from core.calculations import accepted_check
from core.models import Invoice
from core.workflow import Check, Phase, Process, Setting, Transition
from plugins.expertise.departments import manager_of_case
from plugins.expertise.models import Assignment, Inquiry
from plugins.expertise.permissions import ROUTE

CLOSED = ("invoiced", "rejected")  # the phases an inquiry is finished in
WORK_DONE = ("delivered", *CLOSED)  # the phases its experts have no more work in
ISSUED = ("issued", "sent", "partly_paid", "paid")  # an invoice's statuses once issued


def _department_chosen(session, case):
    inquiry = session.get(Inquiry, case.id)
    if inquiry is not None and inquiry.department_id is not None:
        return None
    return {"pl": "Wybierz dział, do którego trafia zapytanie.",
            "en": "Choose the department the inquiry goes to."}


def _cost_estimated(session, case):
    if case.cost is not None:
        return None
    return {"pl": "Dział nie oszacował jeszcze kosztu.",
            "en": "The department has not estimated the cost yet."}


def _expert_found(session, case):
    if session.scalar(select(Assignment.id).where(Assignment.case_id == case.id).limit(1)):
        return None
    return {"pl": "Wycena nie wskazuje biegłego.",
            "en": "The estimate names no expert."}


def _deadline_set(session, case):
    inquiry = session.get(Inquiry, case.id)
    if inquiry is not None and inquiry.due_on is not None:
        return None
    return {"pl": "Podaj termin sporządzenia opinii.",
            "en": "Enter the deadline of the opinion."}


def _invoiced(session, case):
    if session.scalar(select(Invoice.id).where(Invoice.case_id == case.id,
                                               Invoice.status.in_(ISSUED)).limit(1)):
        return None
    return {"pl": "Faktura za opinię nie została jeszcze wystawiona.",
            "en": "The invoice for the opinion has not been issued yet."}


ROUTED = Check("expertise.department", {"pl": "Wybrany dział", "en": "Department chosen"},
               _department_chosen)
COST = Check("expertise.cost", {"pl": "Oszacowany koszt", "en": "Cost estimated"},
             _cost_estimated)
EXPERT = Check("expertise.expert", {"pl": "Wskazany biegły", "en": "Expert found"},
               _expert_found)
ACCEPTED = accepted_check(
    "expertise.offer_accepted", {"pl": "Oferta przyjęta przez klienta",
                                 "en": "Offer accepted by the client"},
    {"pl": "Klient nie przyjął jeszcze oferty (ostatniej wersji kalkulacji).",
     "en": "The client has not accepted the offer (the latest calculation) yet."})
DEADLINE = Check("expertise.deadline", {"pl": "Termin opinii", "en": "Opinion deadline"},
                 _deadline_set)
INVOICED = Check("expertise.invoiced", {"pl": "Faktura wystawiona", "en": "Invoice issued"},
                 _invoiced)

OFFER_APPROVAL = Chain("expertise.offer", (
    Step("manager", Approver.picked(manager_of_case, {
        "pl": "kierownik działu", "en": "the department manager"})),
    Step("board", Approver.holder_of("expertise_board", {
        "pl": "zarząd", "en": "the board"}), when=MarginBelow("minimum_margin")),
))

SETTINGS = (
    Setting("minimum_margin", {"pl": "Minimalna marża oferty (%); poniżej akceptuje zarząd",
                               "en": "Minimum offer margin (%); below it the board approves"},
            "percent", Decimal("25.00")),
    Setting("deadline_warning_days", {
        "pl": "Ile dni przed terminem opinii ostrzegać właściciela i kierownika działu",
        "en": "Days before an opinion's deadline its owner and the department manager "
              "are warned"}, "days", 7),
)

INQUIRY = Process(
    "expertise.inquiry", "expertise.inquiry",
    title={"pl": "Zapytanie o ekspertyzę", "en": "Inquiry for an expert opinion"},
    phases=(
        Phase("meeting", "expertise.phase_meeting", deadline_days=14),
        Phase("inquiry", "expertise.phase_inquiry", deadline_days=2),
        Phase("routed", "expertise.phase_routed", deadline_days=3),
        Phase("estimate", "expertise.phase_estimate", deadline_days=7),
        Phase("offer", "expertise.phase_offer", deadline_days=14),
        Phase("accepted", "expertise.phase_accepted"),  # the opinion is being prepared
        Phase("delivered", "expertise.phase_delivered", deadline_days=7),
        Phase("invoiced", "expertise.phase_invoiced", final=True),
        Phase("rejected", "expertise.phase_rejected", final=True),
    ),
    transitions=(
        Transition("meeting", "inquiry"),
        Transition("inquiry", "routed", permission=ROUTE,
                   checks=(ROUTED,)),
        Transition("routed", "estimate"),
        Transition("estimate", "offer", checks=(COST, EXPERT), approval=OFFER_APPROVAL),
        Transition("offer", "estimate"),
        Transition("offer", "accepted", checks=(ACCEPTED, DEADLINE)),
        Transition("accepted", "delivered"),
        Transition("delivered", "invoiced", checks=(INVOICED,)),
        Transition("meeting", "rejected"),
        Transition("inquiry", "rejected"),
        Transition("routed", "rejected"),
        Transition("estimate", "rejected"),
        Transition("offer", "rejected"),
        Transition("accepted", "rejected"),  # the client withdrew the commission
    ),
    settings=SETTINGS,
)

PROCESSES = [INQUIRY]
