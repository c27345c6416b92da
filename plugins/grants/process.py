"""The grants plugin's processes.

An opportunity (GR-1) is qualified, offered with a payment schedule and won, which
makes the cooperation contract of that schedule, or lost with a reason.

A grant application (GR-3, GR-4) is prepared for a call for proposals until its
checklist of attachments is complete, submitted, evaluated, and awarded or rejected;
at any step until it is closed the client may withdraw it, or the grantor terminate the
agreement (a reason is given).
Once the grant agreement is signed its payment requests are generated (advance,
interim, final); when all are paid the grant is settled, and the durability period's
reports are generated from the project's indicators. Reaching "submitted", "awarded"
and "settled" reaches the milestones of the cooperation contract of the opportunity the
application was sold by, whose instalments then fall due.
"""

from decimal import Decimal

from core.workflow import Check, Phase, Process, Setting, Transition
from plugins.grants import checklists, durability, fields, payment_requests, schedules


def _filled(field: str, reason: dict):
    """A check that a field of the case is filled in."""
    def test(session, case):
        return None if (case.custom or {}).get(field) not in (None, "", []) else reason
    return test


LOST_REASON = Check(
    "grants.lost_reason", {"pl": "Powód utraty podany", "en": "Reason lost given"},
    _filled(fields.LOST_REASON, {"pl": "Podaj powód utraty szansy.",
                                 "en": "Give the reason the opportunity was lost."}))
SCHEDULE = Check(
    "grants.schedule", {"pl": "Harmonogram płatności", "en": "Payment schedule"},
    schedules.missing)
CHECKLIST = Check(
    "grants.checklist", {"pl": "Komplet załączników", "en": "Attachments complete"},
    checklists.missing)
ON_TIME = Check(
    "grants.on_time", {"pl": "Przed terminem naboru", "en": "Before the call's deadline"},
    checklists.too_late, optional=True)
AWARD = Check(
    "grants.award", {"pl": "Kwota i data przyznania", "en": "Amount and day awarded"},
    payment_requests.award_missing)
REJECTION_REASON = Check(
    "grants.rejection_reason", {"pl": "Powód odrzucenia podany",
                                "en": "Reason rejected given"},
    _filled(fields.REJECTION_REASON, {"pl": "Podaj powód odrzucenia wniosku.",
                                      "en": "Give the reason the application was rejected."}))
WITHDRAWAL_REASON = Check(
    "grants.withdrawal_reason", {"pl": "Powód rezygnacji podany",
                                 "en": "Reason withdrawn given"},
    _filled(fields.WITHDRAWAL_REASON, {
        "pl": "Podaj powód rezygnacji z wniosku lub rozwiązania umowy o dofinansowanie.",
        "en": "Give the reason the application was withdrawn or its agreement terminated."}))
AGREEMENT = Check(
    "grants.agreement", {"pl": "Umowa o dofinansowanie uzupełniona",
                         "en": "Grant agreement filled in"},
    payment_requests.agreement_missing)
PAID = Check(
    "grants.paid", {"pl": "Wnioski o płatność rozliczone", "en": "Payment requests paid"},
    payment_requests.unpaid)
INDICATORS = Check(
    "grants.indicators", {"pl": "Wskaźniki określone", "en": "Indicators defined"},
    durability.no_indicators)
REPORTS = Check(
    "grants.reports", {"pl": "Sprawozdania z trwałości złożone",
                       "en": "Durability reports delivered"},
    durability.undelivered)

OPPORTUNITY = Process(
    fields.OPPORTUNITY, "grants.opportunity",
    title={"pl": "Szansa sprzedaży", "en": "Opportunity"},
    phases=(
        Phase("opportunity", "grants.opportunity", deadline_days=14),
        Phase("qualified", "grants.phase_qualified", deadline_days=14),
        Phase("offer", "grants.phase_offer", deadline_days=21),
        Phase("won", "grants.phase_won", final=True),
        Phase("lost", "grants.phase_lost", final=True),
    ),
    transitions=(
        Transition("opportunity", "qualified"),
        Transition("qualified", "offer"),
        Transition("offer", "qualified"),
        Transition("offer", "won", checks=(SCHEDULE,), actions=(schedules.win,)),
        Transition("opportunity", "lost", checks=(LOST_REASON,)),
        Transition("qualified", "lost", checks=(LOST_REASON,)),
        Transition("offer", "lost", checks=(LOST_REASON,)),
    ),
)

SETTINGS = (
    Setting("advance_days", {"pl": "Wniosek o zaliczkę: dni od podpisania umowy",
                             "en": "Advance request: days after the agreement is signed"},
            "days", 30),
    Setting("submit_days", {"pl": "Wniosek o płatność: dni od końca okresu, który rozlicza",
                            "en": "Payment request: days after the end of its period"},
            "days", 30),
    Setting("report_days", {"pl": "Sprawozdanie z trwałości: dni od końca roku trwałości",
                            "en": "Durability report: days after the end of its year"},
            "days", 30),
    Setting("remind_days", {"pl": "Przypomnienie o terminie: dni przed",
                            "en": "Deadline reminder: days before"}, "days", 14),
    Setting("escalate_days", {"pl": "Eskalacja do kierownika: dni przed terminem",
                              "en": "Escalation to the manager: days before the deadline"},
            "days", 3),
    Setting("at_risk_percent", {
        "pl": "Wskaźnik zagrożony poniżej (% wartości docelowej)",
        "en": "An indicator is at risk below (% of its target)"}, "percent", Decimal("100")),
)

APPLICATION = Process(
    fields.APPLICATION, "grants.application",
    title={"pl": "Wniosek o dofinansowanie", "en": "Grant application"},
    phases=(
        Phase("preparation", "grants.phase_preparation"),
        Phase("submitted", "grants.phase_submitted", deadline_days=14),
        Phase("evaluation", "grants.phase_evaluation", deadline_days=120),
        Phase("awarded", "grants.phase_awarded", deadline_days=60),
        Phase("agreement", "grants.agreement"),
        Phase("settled", "grants.phase_settled", deadline_days=30),
        Phase("durability", "grants.durability"),
        Phase("closed", "grants.phase_closed", final=True),
        Phase("rejected", "grants.phase_rejected", final=True),
        Phase("withdrawn", "grants.phase_withdrawn", final=True),
    ),
    transitions=(
        Transition("preparation", "submitted", checks=(CHECKLIST, ON_TIME),
                   actions=(schedules.reached("submitted"),)),
        Transition("submitted", "evaluation"),
        Transition("evaluation", "awarded", checks=(AWARD,),
                   actions=(schedules.reached("awarded"),)),
        Transition("submitted", "rejected", checks=(REJECTION_REASON,)),
        Transition("evaluation", "rejected", checks=(REJECTION_REASON,)),
        Transition("awarded", "agreement", checks=(AGREEMENT,),
                   actions=(payment_requests.generate,)),
        Transition("agreement", "settled", checks=(PAID,),
                   actions=(schedules.reached("settled"),)),
        Transition("settled", "durability", checks=(INDICATORS,),
                   actions=(durability.generate,)),
        Transition("durability", "closed", checks=(REPORTS,)),
        # The client gives up, or the grantor terminates the agreement: what is still
        # planned is no longer due.
        *(Transition(source, "withdrawn", checks=(WITHDRAWAL_REASON,)) for source in (
            "preparation", "submitted", "evaluation", "awarded", "agreement", "settled",
            "durability")),
    ),
    settings=SETTINGS,
)

PROCESSES = [OPPORTUNITY, APPLICATION]
