"""The pages of the portal's publications (TR-3): the staff write them at
/training/publications (``training.manage``), the member units read them at
/portal/training/publications, each unit only those for every unit or for it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from core import permissions, records
from core.menu import MenuItem
from core.models import Organisation, User
from core.web.db import db
from core.web.forms import commit_or_errors, optional_int
from plugins.training import publications
from plugins.training.models import Publication

staff_bp = Blueprint("training_publications", __name__, url_prefix="/training/publications",
                     template_folder="templates")
portal_bp = Blueprint("training_portal_publications", __name__, url_prefix="/publications",
                      template_folder="templates")
MENU = [
    MenuItem("training_publications.index", label={"pl": "Publikacje", "en": "Publications"},
             permission="training.manage", section=("training_publications",)),
    MenuItem("training_portal_publications.index",
             label={"pl": "Komunikaty i publikacje", "en": "News and publications"},
             area="portal", section=("training_portal_publications",)),
]
FIELDS = ("title", "kind", "body")


@staff_bp.before_request
@login_required
def managers_only():
    if not permissions.can(current_user, "training.manage"):
        abort(403)


@staff_bp.get("/")
def index():
    return render_template("training/staff_publications.html",
                           items=publications.listed(db()), kinds=publications.KINDS)


@staff_bp.route("/new", methods=["GET", "POST"])
def new():
    return _form(None)


@staff_bp.route("/<int:publication_id>", methods=["GET", "POST"])
def edit(publication_id: int):
    return _form(_publication(publication_id))


@staff_bp.post("/<int:publication_id>/delete")
def delete(publication_id: int):
    session, item = db(), _publication(publication_id)
    _done, errors = commit_or_errors(session, lambda: publications.delete(session, item,
                                                                          current_user))
    for message in errors.values():
        flash(message, "error")
    if not errors:
        flash(_("“%(title)s” was moved to the bin.", title=item.title))
    return redirect(url_for(".index"))


def _form(item: Publication | None):
    session, errors = db(), {}
    values = _values(item)
    if request.method == "POST":
        values = {**{name: request.form.get(name, "") for name in FIELDS},
                  "unit_ids": [i for i in map(optional_int, request.form.getlist("unit_ids"))
                               if i is not None],
                  "published": request.form.get("published") == "1"}
        version = optional_int(request.form.get("version"))

        def write():
            if item is None:
                return publications.create(session, values, current_user)
            return publications.update(session, item, values, current_user, version)

        _saved, errors = commit_or_errors(session, write)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for(".index"))
    return render_template("training/staff_publication_form.html", item=item, values=values,
                           errors=errors, kinds=publications.KINDS, units=_units(session))


def _values(item: Publication | None) -> dict:
    if item is None:
        return {"title": "", "kind": "announcement", "body": "", "unit_ids": [],
                "published": False}
    return {"title": item.title, "kind": item.kind, "body": item.body,
            "unit_ids": list(item.unit_ids or []), "published": item.published_at is not None}


def _units(session) -> list[tuple[int, str]]:
    """The units that may be chosen: those with an account on the portal."""
    with_portal = select(User.organisation_id).where(User.organisation_id.is_not(None))
    query = records.visible(Organisation, current_user).where(
        Organisation.id.in_(with_portal)).order_by(Organisation.name_key)
    return [(unit.id, unit.name) for unit in session.scalars(query)]


def _publication(publication_id: int) -> Publication:
    found = db().get(Publication, publication_id)
    if found is None or found.deleted_at is not None:
        abort(404)
    return found


# --------------------------------------------------------------------- the portal


@portal_bp.get("/", endpoint="index")
def portal_index():
    return render_template("training/portal_publications.html", kinds=publications.KINDS,
                           items=publications.for_unit(db(), current_user.organisation_id))


@portal_bp.get("/<int:publication_id>")
def portal_show(publication_id: int):
    found = db().get(Publication, publication_id)
    if not publications.shown_to(found, current_user.organisation_id):
        abort(404)
    return render_template("training/portal_publication.html", item=found,
                           kinds=publications.KINDS,
                           paragraphs=publications.paragraphs(found))
