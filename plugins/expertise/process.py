"""The expert-opinion firm's inquiry: from a meeting to an accepted offer (EX-1 to EX-4).

A successful meeting becomes an inquiry (EX-1); the secretariat routes it to a
department by its specialisation (EX-2); the department estimates the cost and finds
experts able to do it (EX-3) and prepares the offer. The offer goes out once the
department manager approved it, and the board too when its margin is below the
minimum an administrator sets (EX-4).
"""

from decimal import Decimal

from core.approvals import Approver, Chain, MarginBelow, Step
from core.workflow import Check, Phase, Process, Setting, Transition

# The role of a person on the case who will prepare the opinion, as people type it.
EXPERT_ROLES = ("biegły", "expert")


def _department_chosen(session, case):
    if (case.custom or {}).get("expertise_department"):
        return None
    return {"pl": "Wybierz dział, do którego trafia zapytanie.",
            "en": "Choose the department the inquiry goes to."}


def _cost_estimated(session, case):
    if case.cost is not None:
        return None
    return {"pl": "Dział nie oszacował jeszcze kosztu.",
            "en": "The department has not estimated the cost yet."}


def _expert_found(session, case):
    if any(p.role.strip().lower() in EXPERT_ROLES for p in case.people):
        return None
    return {"pl": "Nie wskazano biegłego: dodaj osobę z rolą „biegły”.",
            "en": "No expert has been found: add a person with the role “expert”."}


ROUTED = Check("expertise.department", {"pl": "Wybrany dział", "en": "Department chosen"},
               _department_chosen)
COST = Check("expertise.cost", {"pl": "Oszacowany koszt", "en": "Cost estimated"},
             _cost_estimated)
EXPERT = Check("expertise.expert", {"pl": "Wskazany biegły", "en": "Expert found"},
               _expert_found)

OFFER_APPROVAL = Chain("expertise.offer", (
    Step("manager", Approver.holder_of("expertise_manager", {
        "pl": "kierownik działu", "en": "department manager"})),
    Step("board", Approver.holder_of("expertise_board", {
        "pl": "zarząd", "en": "the board"}), when=MarginBelow("minimum_margin")),
))

SETTINGS = (
    Setting("minimum_margin", {"pl": "Minimalna marża oferty (%); poniżej akceptuje zarząd",
                               "en": "Minimum offer margin (%); below it the board approves"},
            "percent", Decimal("25.00")),
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
        Phase("accepted", "expertise.phase_accepted", final=True),
        Phase("rejected", "expertise.phase_rejected", final=True),
    ),
    transitions=(
        Transition("meeting", "inquiry"),
        Transition("inquiry", "routed", permission="expertise.route_inquiries",
                   checks=(ROUTED,)),
        Transition("routed", "estimate"),
        Transition("estimate", "offer", checks=(COST, EXPERT), approval=OFFER_APPROVAL),
        Transition("offer", "estimate"),
        Transition("offer", "accepted"),
        Transition("meeting", "rejected"),
        Transition("inquiry", "rejected"),
        Transition("routed", "rejected"),
        Transition("estimate", "rejected"),
        Transition("offer", "rejected"),
    ),
    settings=SETTINGS,
)

PROCESSES = [INQUIRY]
