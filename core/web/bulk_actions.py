"""The action bar of the organisation and people lists: the rows ticked on a page are
tagged, untagged, given an owner, downloaded or mailed (``core.bulk_actions``).

The ticked rows come as ``id``; the "all on this page" box as ``all`` with the page's
rows as ``page_id``, so that it works without JavaScript too.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import bulk_actions, mailing, permissions, records
from core.errors import ValidationError
from core.models import Organisation, User
from core.terms import term
from core.web import exports, list_columns
from core.web import mailings as mailing_pages
from core.web.auth import safe_next
from core.web.db import db
from core.web.forms import form_id

SHOWN_SKIPPED = 10  # skipped records named in the message; the rest are counted
EXPORTS = {"xlsx": ("xlsx", None), "csv": ("csv", None), "csv-pl": ("csv", "pl")}


def owner_options(record_type: str) -> list[tuple[str, str]]:
    """The staff members the current user may give the list's records to."""
    return [(str(u.id), u.full_name or u.email)
            for u in bulk_actions.owners(db(), current_user, record_type)]


def can_mail() -> bool:
    return permissions.can(current_user, mailing.PERMISSION)


def run(model: type, list_endpoint: str):
    """Do what the action bar asks with the rows ticked, then go back to the list."""
    session, record_type = db(), model.record_type
    back = request.form.get("back", "")
    back = safe_next(back) if back.startswith(url_for(list_endpoint)) \
        else url_for(list_endpoint)
    action = request.form.get("action", "")
    ids = request.form.getlist("id")
    if request.form.get("all") == "1":
        ids += request.form.getlist("page_id")
    try:
        if action in ("tag", "untag"):
            change = bulk_actions.tag if action == "tag" else bulk_actions.untag
            name = request.form.get("tag", "")
            outcome = change(session, model, ids, name, current_user)
            message = _summary(action, outcome, record_type, tag=" ".join(name.split()))
        elif action == "owner":
            owner_id = form_id(request.form.get("owner_id"))
            outcome = bulk_actions.assign_owner(session, _host(), model, ids, owner_id,
                                                current_user)
            owner = session.get(User, owner_id)
            message = _summary(action, outcome, record_type,
                               owner=owner.full_name or owner.email)
        elif action == "export":
            return _export(model, ids)
        elif action == "mail":
            return _mail(model, ids, back)
        else:
            raise ValidationError({"action": _("Choose what to do with the chosen rows.")})
        session.commit()
    except ValidationError as exc:
        session.rollback()
        for text in exc.errors.values():
            flash(text, "error")
        return redirect(back, code=303)
    flash(message, "error" if outcome.skipped and not outcome.changed else "message")
    return redirect(back, code=303)


def _host():
    return current_app.extensions["kartoteka"].host


def _export(model: type, ids: list):
    """The chosen rows the user may see, in the list's columns, as the list's export."""
    chosen = bulk_actions.chosen(ids)
    fmt, excel = EXPORTS.get(request.form.get("format", ""), (None, None))
    if fmt is None:
        raise ValidationError({"format": _("Choose the file's format.")})
    query = records.visible(model, current_user).where(model.id.in_(chosen)) \
        .order_by(model.name_key, model.id)
    names = list_columns.exported(db(), model.record_type)
    return exports.send_export(query, model, model.record_type, fmt=fmt, excel=excel,
                               details={"ids": chosen}, names=names)


def _mail(model: type, ids: list, back: str):
    """The mailing composer with the chosen people as its audience; for organisations,
    their current members."""
    if not can_mail():
        raise ValidationError({"mail": _("Sending mailings needs the permission to send "
                                         "mailings.")})
    session = db()
    if model is Organisation:
        people_ids, skipped = bulk_actions.members(session, ids, current_user)
    else:
        found, skipped = bulk_actions.visible(session, model, ids, current_user)
        people_ids = [p.id for p in found]
    if skipped:
        flash(_skipped_part(skipped) + ".", "error")
    if not people_ids:
        raise ValidationError({"mail": _("Nobody to write to: no %(what)s among the "
                                         "chosen.", what=term("core.person", case="gen",
                                                              plural=True))})
    if len(people_ids) > mailing.MAX_PEOPLE:
        raise ValidationError({"mail": _("At most %(n)d people; save a segment for more.",
                                         n=mailing.MAX_PEOPLE)})
    people = term("core.person", count=len(people_ids))
    if model is Organisation:
        flash(_("Audience: the current members of the chosen %(whose)s (%(count)d %(what)s).",
                whose=term("core.organisation", case="gen", plural=True),
                count=len(people_ids), what=people))
    else:
        flash(_("Audience: %(count)d %(what)s chosen on the list.", count=len(people_ids),
                what=people))
    return mailing_pages.compose(people_ids)


def _summary(action: str, outcome: bulk_actions.Outcome, record_type: str, **names) -> str:
    """"Tagged 12 people with “VIP”; 1 unchanged; 2 skipped: …"."""
    count, key = len(outcome.changed), f"core.{record_type}"
    if action == "tag":
        parts = [_("Tagged %(count)d %(what)s with “%(tag)s”", count=count,
                   what=term(key, case="acc", count=count), tag=names["tag"])]
    elif action == "untag":
        parts = [_("Removed the tag “%(tag)s” from %(count)d %(what)s", count=count,
                   what=term(key, case="gen", count=count), tag=names["tag"])]
    else:
        parts = [_("Gave %(count)d %(what)s to %(owner)s", count=count,
                   what=term(key, case="acc", count=count), owner=names["owner"])]
    if outcome.unchanged:
        parts.append(_("unchanged: %(count)d", count=len(outcome.unchanged)))
    if outcome.skipped:
        parts.append(_skipped_part(outcome.skipped))
    return "; ".join(parts) + "."


def _skipped_part(skipped: list[bulk_actions.Skipped]) -> str:
    named = ", ".join(f"{s.label or '#' + str(s.id)} ({s.reason})"
                      for s in skipped[:SHOWN_SKIPPED])
    if len(skipped) > SHOWN_SKIPPED:
        named = _("%(named)s and %(n)d more", named=named, n=len(skipped) - SHOWN_SKIPPED)
    return _("%(count)d skipped: %(named)s", count=len(skipped), named=named)
