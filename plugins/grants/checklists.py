"""The checklist of a grant application (GR-3): the attachments its call requires, each
ticked as ready, usually with the file that is ready among the application's own
attachments (uploaded on its card). Staff may add an item the call does not name (a
power of attorney, say) and remove such an item again; the call's own items stay.

Whoever may see the application sees its checklist; whoever may change it ticks and
unticks items, until the application is decided (awarded or rejected): from then on the
checklist records what was sent. A ticked item whose file was removed from the card
counts as not ready. Every tick, untick, item added and item removed is on the
application's timeline and in the audit trail (through ``core.records``).

``missing`` and ``too_late`` are the checks of the step to "submitted"
(``plugins.grants.process``): the application is not submitted while an item is not
ready (the reason names them), nor, unless an administrator switched the check off,
after the call's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import permissions, records, timeline
from core.db import utcnow
from core.errors import Forbidden, ValidationError
from core.filters import today as local_today
from core.models import Attachment, Case
from core.terms import term, upper_first
from core.validation import MAX_ID
from plugins.grants import applications, calls
from plugins.grants.models import ChecklistItem

PROCESS = calls.PROCESS
# Until the decision the grantor may still ask for an attachment; after it the
# checklist is the record of what was sent.
CHANGING = ("preparation", "submitted", "evaluation")
READY, UNREADY = "grants.checklist_ready", "grants.checklist_unready"
ADDED, REMOVED = calls.ADDED, "grants.checklist_removed"
timeline.EVENT_LABELS.update({READY: _l("Attachment ready"), UNREADY: _l("Attachment not ready"),
                              ADDED: _l("Checklist item added"),
                              REMOVED: _l("Checklist item removed")})


@dataclass(frozen=True)
class Line:
    """An item as the checklist shows it: ready only with its file still on the card."""

    item: ChecklistItem
    attachment: Attachment | None
    required: bool  # named by the call: it cannot be removed

    @property
    def ready(self) -> bool:
        return self.item.ready_at is not None and not self.file_removed

    @property
    def file_removed(self) -> bool:
        return self.item.ready_at is not None and self.item.attachment_id is not None and (
            self.attachment is None or self.attachment.deleted_at is not None)


# --- Reading -------------------------------------------------------------------------------

application = applications.get  # the grant application the actor may see


def items(session: Session, case: Case, actor=None) -> list[ChecklistItem]:
    """The application's checklist in order."""
    _visible(session, case, actor)
    return list(session.scalars(select(ChecklistItem).where(ChecklistItem.case_id == case.id)
                                .order_by(ChecklistItem.position)))


def lines(session: Session, case: Case, actor=None) -> list[Line]:
    """The checklist with each item's file and whether the call requires it."""
    found = items(session, case, actor)
    ids = {i.attachment_id for i in found if i.attachment_id is not None}
    files = {a.id: a for a in session.scalars(select(Attachment).where(
        Attachment.id.in_(ids)))} if ids else {}
    call = calls.of_case(session, case)
    named = {calls.name_key(n) for n in (call.required_attachments or [])} if call else set()
    return [Line(i, files.get(i.attachment_id), calls.name_key(i.name) in named) for i in found]


def progress(found: list[Line]) -> tuple[int, int]:
    """(ready, all)."""
    return sum(1 for line in found if line.ready), len(found)


def get(session: Session, case: Case, item_id, actor=None) -> ChecklistItem | None:
    """An item of this application's checklist, or None."""
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id <= MAX_ID:
        return None
    _visible(session, case, actor)
    found = session.get(ChecklistItem, item_id)
    return found if found is not None and found.case_id == case.id else None


def files(session: Session, case: Case) -> list[Attachment]:
    """The application's own attachments, which an item may be ticked with, newest first."""
    return list(session.scalars(
        select(Attachment).where(Attachment.record_type == "case",
                                 Attachment.record_id == case.id,
                                 Attachment.deleted_at.is_(None))
        .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc())))


def may_change(session: Session, case: Case, actor) -> bool:
    try:
        _require_change(session, case, actor)
    except Forbidden:
        return False
    return is_open(case)


def is_open(case: Case) -> bool:
    return case.phase_key in CHANGING


# --- Ticking -------------------------------------------------------------------------------

def mark_ready(session: Session, case: Case, item_id, attachment_id, actor=None
               ) -> ChecklistItem:
    """Tick the item as ready, with ``attachment_id``, one of the application's own
    files, or None (an original kept on paper, say). Ticking it again with another file
    replaces the file."""
    item = _changeable(session, case, item_id, actor)
    attachment = _attachment(session, case, attachment_id)
    if item.ready_at is not None and item.attachment_id == attachment_id and (
            attachment_id is None or _on_card(session, item)):
        return item  # as it was: nothing to record
    records.update(session, item, {"ready_at": utcnow(), "ready_by_id": _id_of(actor),
                                   "attachment_id": attachment_id}, actor)
    _on_timeline(session, case, item, READY,
                 _("Ready: %(name)s", name=item.name),
                 attachment.filename if attachment is not None else "", actor)
    return item


def unmark(session: Session, case: Case, item_id, actor=None) -> ChecklistItem:
    """The item is not ready after all: its file (if any) stays on the card."""
    item = _changeable(session, case, item_id, actor)
    if item.ready_at is None:
        return item
    records.update(session, item, {"ready_at": None, "ready_by_id": None,
                                   "attachment_id": None}, actor)
    _on_timeline(session, case, item, UNREADY,
                 _("Not ready: %(name)s", name=item.name), "", actor)
    return item


def add(session: Session, case: Case, name, actor=None) -> ChecklistItem:
    """An item the call does not name, at the end of the checklist."""
    _require_all(session, case, actor)
    text = " ".join(name.split()) if isinstance(name, str) else ""
    found = items(session, case, actor)
    if not text:
        raise ValidationError({"name": _("Enter the name of the attachment.")})
    if len(text) > calls.NAME_LENGTH:
        raise ValidationError({"name": _("At most %(n)d characters.", n=calls.NAME_LENGTH)})
    if any(calls.name_key(i.name) == calls.name_key(text) for i in found):
        raise ValidationError({"name": _("“%(name)s” is on the checklist already.",
                                         name=text)})
    item = records.create(session, ChecklistItem(
        case_id=case.id, position=max((i.position for i in found), default=0) + 1,
        name=text), actor)
    _on_timeline(session, case, item, ADDED,
                 _("Added to the checklist: %(name)s", name=item.name), "", actor)
    return item


def remove(session: Session, case: Case, item_id, actor=None) -> None:
    """Take an item the call does not name off the checklist."""
    item = _changeable(session, case, item_id, actor)
    call = calls.of_case(session, case)
    if call is not None and calls.name_key(item.name) in {
            calls.name_key(n) for n in call.required_attachments or []}:
        raise ValidationError({"item_id": upper_first(_(
            "%(call)s requires “%(name)s”: it stays on the checklist.",
            call=term("grants.call"), name=item.name))})
    data = {"item_id": item.id, "name": item.name}
    records.delete(session, item, actor)
    timeline.add(session, "system", _("Removed from the checklist: %(name)s", name=data["name"]),
                 [case], actor=actor, event=REMOVED, data=data)


# --- The checks of the step to "submitted" -------------------------------------------------

def missing(session: Session, case: Case) -> dict | None:
    """Why the application cannot be submitted yet: the items not ready, by name."""
    if case.process_key != PROCESS:
        return None
    waiting = [line.item.name for line in lines(session, case) if not line.ready]
    if not waiting:
        return None
    names = ", ".join(f"„{n}”" for n in waiting)
    return {"pl": f"Załączniki nie są gotowe: {names}.",
            "en": "Attachments not ready: " + ", ".join(f"“{n}”" for n in waiting) + "."}


def too_late(session: Session, case: Case) -> dict | None:
    """Why the application can no longer be submitted: its call's deadline has passed."""
    call = calls.of_case(session, case) if case.process_key == PROCESS else None
    if call is None or call.deadline >= local_today():
        return None
    return {
        "pl": f"Termin naboru minął {format_date(call.deadline, 'long', locale='pl')}.",
        "en": f"The call's deadline passed on {format_date(call.deadline, 'long', locale='en')}.",
    }


# --- Helpers -------------------------------------------------------------------------------

def _visible(session: Session, case: Case, actor) -> None:
    if case.process_key != PROCESS:
        raise ValidationError({"case_id": upper_first(_(
            "Only a %(application)s has a checklist.",
            application=term("grants.application")))})
    if application(session, case.id, actor) is None:
        raise Forbidden(_("You may not do this with this record."))


def _require_change(session: Session, case: Case, actor) -> None:
    """Ticking is changing the application: as its owner, or with the right to edit it."""
    _visible(session, case, actor)
    try:
        permissions.require(session, actor, case, "edit", {})
    except Forbidden:
        raise Forbidden(_("You cannot change the checklist: you may not change the "
                          "%(application)s.",
                          application=term("grants.application", case="gen"))) from None


def _require_all(session: Session, case: Case, actor) -> None:
    _require_change(session, case, actor)
    if not is_open(case):
        raise ValidationError({"_": upper_first(_(
            "The %(application)s has been decided: its checklist records what was sent "
            "and no longer changes.", application=term("grants.application")))})


def _changeable(session: Session, case: Case, item_id, actor) -> ChecklistItem:
    _require_all(session, case, actor)
    item = get(session, case, item_id, actor)
    if item is None:
        raise ValidationError({"item_id": _("There is no such item on this checklist.")})
    return item


def _attachment(session: Session, case: Case, attachment_id) -> Attachment | None:
    if attachment_id is None:
        return None
    found = session.get(Attachment, attachment_id) if isinstance(attachment_id, int) \
        and not isinstance(attachment_id, bool) and 0 < attachment_id <= MAX_ID else None
    if found is None or found.deleted_at is not None or (
            found.record_type, found.record_id) != ("case", case.id):
        raise ValidationError({"attachment_id": upper_first(_(
            "Choose one of the files attached to this %(application)s.",
            application=term("grants.application", case="gen")))})
    return found


def _on_card(session: Session, item: ChecklistItem) -> bool:
    found = session.get(Attachment, item.attachment_id)
    return found is not None and found.deleted_at is None


def _on_timeline(session: Session, case: Case, item: ChecklistItem, event: str,
                 subject: str, body: str, actor) -> None:
    timeline.add(session, "system", upper_first(subject), [case], body=body, actor=actor,
                 event=event, data={"item_id": item.id, "name": item.name,
                                    "attachment_id": item.attachment_id})


def _id_of(actor) -> int | None:
    return getattr(actor, "id", None)
