"""A grant application as the plugin's parts find it: a case of ``grants.application``
the actor may see. Its checklist, payment requests and durability are its own, seen and
changed by whoever may see and change it."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core import records
from core.errors import Forbidden, ValidationError
from core.models import Case
from core.terms import term, upper_first
from core.validation import MAX_ID
from plugins.grants.fields import APPLICATION


def get(session: Session, case_id, actor=None) -> Case | None:
    """The grant application ``actor`` may see, or None (a case of another process too)."""
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id <= MAX_ID:
        return None
    found = records.get(session, Case, case_id, actor)
    return found if found is not None and found.process_key == APPLICATION else None


def require_visible(session: Session, case: Case, actor, what: str) -> None:
    """Refuse a case of another process (``what``, a term, belongs to applications only)
    and an application the actor may not see."""
    if case.process_key != APPLICATION:
        raise ValidationError({"case_id": upper_first(_(
            "%(what)s belong to a %(application)s only.", what=term(what, plural=True),
            application=term("grants.application", case="gen")))})
    if get(session, case.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))
