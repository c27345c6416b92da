"""The messages a change of an enrolment sends its person (TR-3): enrolled, on the waiting
list (and enrolled again when a place frees up), taken off the list. They go by
themselves, whoever made the change (the staff, the unit, the person), as service mail
from the templates of ``documents``; an administrator who switches a template off stops
that message; one they broke is logged and skipped, never stopping the enrolment.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from core import mailing
from core.models import Case, Person
from core.templating import TemplateProblem
from plugins.training.models import Enrolment

log = logging.getLogger(__name__)
TEMPLATES = {"enrolled": "training.enrolled", "waiting": "training.waiting",
             "cancelled": "training.cancelled"}


def tell(session: Session, row: Enrolment, actor=None) -> int | None:
    """Queue the message for the enrolment's new status (None: none for it)."""
    key = TEMPLATES.get(row.status)
    rt = getattr(session.info.get("jobs"), "rt", None)
    if key is None or rt is None:  # a session outside a running installation sends nothing
        return None
    person, case = session.get(Person, row.person_id), session.get(Case, row.case_id)
    try:
        with session.begin_nested():
            return mailing.tell(session, rt, key, person, case, actor)
    except TemplateProblem as exc:  # an administrator's slip must not stop enrolling
        log.warning("training message %s not sent to person %s: %s", key, person.id, exc)
        return None
