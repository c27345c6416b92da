"""A training from planning to certificates (TR-1): planning → invitations → enrolment
open → enrolment closed → delivered → settled → certificates issued, or cancelled on
the way.

Invitations need a venue and a trainer; a training is not settled before everyone on
its list is marked present or absent. Settling makes the attendees' fees owed
(``settlement``); the last step has their certificates made (``certificates``).
Capacity and the waiting list are kept by ``enrolments`` at each enrolment.
"""

from sqlalchemy import func, select

from core.workflow import Check, Phase, Process, Transition
from plugins.training import certificates, settlement
from plugins.training.models import Enrolment

KEY = "training.training"


def _filled(*fields: str, reason: dict):
    def test(session, case):
        custom = case.custom or {}
        return None if all(custom.get(f) not in (None, "") for f in fields) else reason
    return test


def _attendance_recorded(session, case):
    waiting = session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.case_id == case.id, Enrolment.status == "enrolled"))
    if not waiting:
        return None
    return {"pl": f"Obecność nie jest zaznaczona dla {waiting} os.",
            "en": f"Attendance is not recorded for {waiting} of the participants."}


VENUE_AND_TRAINER = Check(
    "training.venue_and_trainer", {"pl": "Ośrodek i trener wybrani",
                                   "en": "Venue and trainer chosen"},
    _filled("training_venue", "training_trainer", reason={
        "pl": "Przed zaproszeniami wybierz ośrodek szkoleniowy i trenera.",
        "en": "Choose the venue and the trainer before sending invitations."}))
DATE_SET = Check(
    "training.date_set", {"pl": "Termin ustalony", "en": "Date set"},
    _filled("training_starts_at", reason={
        "pl": "Przed zaproszeniami ustal termin szkolenia.",
        "en": "Set the training's date before sending invitations."}))
ATTENDANCE = Check(
    "training.attendance", {"pl": "Obecność zaznaczona", "en": "Attendance recorded"},
    _attendance_recorded)

TRAINING = Process(
    KEY, "training.training",
    title={"pl": "Szkolenie", "en": "Training"},
    phases=(
        Phase("planning", "training.phase_planning"),
        Phase("invitations", "training.phase_invitations", deadline_days=14),
        Phase("enrolment_open", "training.phase_enrolment_open"),
        Phase("enrolment_closed", "training.phase_enrolment_closed"),
        Phase("delivered", "training.phase_delivered", deadline_days=14),
        Phase("settled", "training.phase_settled", deadline_days=30),
        Phase("certified", "training.phase_certified", final=True),
        Phase("cancelled", "training.phase_cancelled", final=True),
    ),
    transitions=(
        Transition("planning", "invitations", permission="training.manage",
                   checks=(VENUE_AND_TRAINER, DATE_SET)),
        Transition("invitations", "enrolment_open", permission="training.manage"),
        Transition("planning", "enrolment_open", permission="training.manage",
                   checks=(VENUE_AND_TRAINER, DATE_SET)),
        Transition("enrolment_open", "enrolment_closed", permission="training.manage"),
        Transition("enrolment_closed", "enrolment_open", permission="training.manage"),
        Transition("enrolment_closed", "delivered", permission="training.manage"),
        Transition("delivered", "settled", permission="training.manage",
                   checks=(ATTENDANCE,), actions=(settlement.charge,)),
        Transition("settled", "certified", permission="training.manage",
                   actions=(certificates.start,)),
        *(Transition(phase, "cancelled", permission="training.manage")
          for phase in ("planning", "invitations", "enrolment_open", "enrolment_closed")),
    ),
)

PROCESSES = [TRAINING]
