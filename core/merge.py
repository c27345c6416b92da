"""Merging two records that describe the same organisation or person.

Everything attached to the record that goes is moved to the one that stays: history,
links, tags, memberships, contacts, addresses and cases. Empty fields of the one that stays
are filled from the other; nothing it already has is overwritten. The merged record
is soft-deleted and points at the survivor, and the merge is an event on its timeline.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import people, records, timeline
from core.db import utcnow
from core.errors import ValidationError
from core.models import (
    ActivityLink,
    Address,
    Attachment,
    BillableItem,
    BillableItemPerson,
    Case,
    CasePerson,
    EventLink,
    Invoice,
    Membership,
    Organisation,
    OrgUnit,
    Payment,
    Person,
    RecordLink,
    Tagging,
    TaskLink,
)

FILLABLE = {
    Organisation: ("short_name", "nip", "regon", "krs", "email", "phone", "website", "street",
                   "postal_code", "city", "region", "notes", "owner_id"),
    Person: ("pesel", "notes", "owner_id"),
}


def merge(session: Session, keep, drop, actor=None):
    """Merge ``drop`` into ``keep``; returns ``keep``."""
    _check(keep, drop)
    filled = {f: getattr(drop, f) for f in FILLABLE[type(keep)]
              if not getattr(keep, f) and getattr(drop, f)}
    custom = {**(drop.custom or {}), **(keep.custom or {})}
    if custom != (keep.custom or {}):
        filled["custom"] = custom
    before = _contacts(keep)
    _move_attachments(session, keep, drop)
    after = _contacts(keep)
    moved = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
    label = _label(drop)
    # The merge is one entry in the history of each record, naming the other one.
    records.update(session, keep, filled, actor, action="merge",
                   related={"merged": (None, f"{label} (#{drop.id})"), **moved})
    records.update(session, drop, {"merged_into_id": keep.id, "deleted_at": utcnow()}, actor,
                   action="merge",
                   related={"merged_into": (None, f"{_label(keep)} (#{keep.id})")})
    timeline.record_event(session, "merged", about=[keep], actor=actor,
                          subject=_("Merged with %(name)s (#%(id)s)", name=label, id=drop.id),
                          data={"merged_id": drop.id, "filled": sorted(filled)})
    return keep


def _label(record) -> str:
    return record.name if isinstance(record, Organisation) else record.full_name


def _contacts(record) -> dict:
    """A person's e-mails, phones and addresses; an organisation's are its fields."""
    return people.contact_lists(record) if isinstance(record, Person) else {}


def _check(keep, drop) -> None:
    if type(keep) is not type(drop) or type(keep) not in FILLABLE:
        raise ValidationError({"merge": _("Only two organisations or two people can be merged.")})
    if keep.id == drop.id:
        raise ValidationError({"merge": _("A record cannot be merged with itself.")})
    if keep.deleted_at is not None or drop.deleted_at is not None:
        raise ValidationError({"merge": _("Restore a deleted record before merging it.")})


def _move_attachments(session: Session, keep, drop) -> None:
    (rtype, keep_id), drop_id = records.ref(keep), drop.id
    _repoint(session, ActivityLink, rtype, keep_id, drop_id,
             key=lambda row: (row.activity_id,))
    _repoint(session, Tagging, rtype, keep_id, drop_id, key=lambda row: (row.tag_id,))
    _repoint(session, TaskLink, rtype, keep_id, drop_id, key=lambda row: (row.task_id,))
    _repoint(session, EventLink, rtype, keep_id, drop_id, key=lambda row: (row.event_id,))
    session.execute(update(Attachment).where(Attachment.record_type == rtype,
                                             Attachment.record_id == drop_id)
                    .values(record_id=keep_id))
    _repoint_links(session, rtype, keep_id, drop_id)
    if isinstance(keep, Organisation):
        session.execute(update(Membership).where(Membership.organisation_id == drop_id)
                        .values(organisation_id=keep_id))
        session.execute(update(OrgUnit).where(OrgUnit.organisation_id == drop_id)
                        .values(organisation_id=keep_id))
        session.execute(update(Case).where(Case.organisation_id == drop_id)
                        .values(organisation_id=keep_id))
        _move_billing(session, "organisation_id", keep_id, drop_id)
    else:
        session.execute(update(Membership).where(Membership.person_id == drop_id)
                        .values(person_id=keep_id))
        have = {(c.kind, c.value) for c in keep.contacts}
        for contact in list(drop.contacts):
            if (contact.kind, contact.value) not in have:
                contact.person_id, contact.is_primary = keep_id, False
        session.execute(update(Address).where(Address.person_id == drop_id)
                        .values(person_id=keep_id))
        _repoint_case_people(session, keep_id, drop_id)
        _move_billing(session, "person_id", keep_id, drop_id)
    session.flush()
    session.expire(keep)
    session.expire(drop)


def _move_billing(session, column: str, keep_id: int, drop_id: int) -> None:
    """What the dropped record owes, was billed and paid becomes the kept one's; issued
    invoices keep the buyer as they were issued to."""
    for model in (BillableItem, Invoice, Payment):
        session.execute(update(model).where(getattr(model, column) == drop_id)
                        .values({column: keep_id}))
    if column == "person_id":  # the people behind items: once each
        both = select(BillableItemPerson.item_id).where(BillableItemPerson.person_id == keep_id)
        session.execute(delete(BillableItemPerson).where(
            BillableItemPerson.person_id == drop_id, BillableItemPerson.item_id.in_(both)))
        session.execute(update(BillableItemPerson).where(BillableItemPerson.person_id == drop_id)
                        .values(person_id=keep_id))


def _repoint_case_people(session, keep_id: int, drop_id: int) -> None:
    """The dropped person's cases are the kept one's; where both were on a case, the
    kept one's role stays."""
    both = select(CasePerson.case_id).where(CasePerson.person_id == keep_id)
    session.execute(delete(CasePerson).where(CasePerson.person_id == drop_id,
                                             CasePerson.case_id.in_(both)))
    session.execute(update(CasePerson).where(CasePerson.person_id == drop_id)
                    .values(person_id=keep_id))


def _repoint(session, model, rtype, keep_id, drop_id, key) -> None:
    """Point rows of ``drop`` at ``keep``; rows ``keep`` already has are dropped."""
    existing = {key(r) for r in session.scalars(select(model).where(
        model.record_type == rtype, model.record_id == keep_id))}
    for row in session.scalars(select(model).where(model.record_type == rtype,
                                                   model.record_id == drop_id)).all():
        if key(row) in existing:
            session.delete(row)
        else:
            row.record_id = keep_id
    session.flush()


def _repoint_links(session, rtype, keep_id, drop_id) -> None:
    for row in _links(session, rtype, drop_id):
        # No autoflush: the re-pointed row must not reach the database before we know
        # whether it duplicates a link the survivor already has.
        with session.no_autoflush:
            if (row.source_type, row.source_id) == (rtype, drop_id):
                row.source_id = keep_id
            if (row.target_type, row.target_id) == (rtype, drop_id):
                row.target_id = keep_id
            if (row.source_type, row.source_id) == (row.target_type, row.target_id) or \
                    _duplicate(session, row):
                session.delete(row)
        session.flush()


def _links(session, rtype, record_id):
    return session.scalars(select(RecordLink).where(
        ((RecordLink.source_type == rtype) & (RecordLink.source_id == record_id))
        | ((RecordLink.target_type == rtype) & (RecordLink.target_id == record_id)))).all()


def _duplicate(session, row) -> bool:
    return session.scalar(select(RecordLink.id).where(
        RecordLink.id != row.id, RecordLink.source_type == row.source_type,
        RecordLink.source_id == row.source_id, RecordLink.target_type == row.target_type,
        RecordLink.target_id == row.target_id, RecordLink.link_type == row.link_type)) is not None
