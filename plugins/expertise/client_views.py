"""The 360° page of a client (EX-5), under /expertise/clients/: everything about a
client organisation (``/<organisation_id>``) or a private client
(``/person/<person_id>``) on one page, section by section (``client_view.py``), only
what the viewer may see. A client the viewer may not see answers 404.

The filter form narrows the sections: which to show (``kind``, repeated), a span of
days (``from``, ``to``), words (``q``) and open only (``open=1``). A value that cannot
be used is named next to its field (400) and the sections it would narrow are left
out. Each section shows its newest entries with how many there are in all, and links
to the core's full list where there is one (the card's history, the invoices and
contracts of the client).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import approvals, calculations, records
from core.errors import ValidationError
from core.models import Organisation, Person
from core.terms import term, upper_first
from core.web.db import db
from core.web.invoices import STATUS_LABELS as INVOICE_STATUSES
from core.web.listing import users_by_id
from plugins.expertise import client_view

bp = Blueprint("expertise_clients", __name__, url_prefix="/expertise/clients",
               template_folder="templates")


@bp.get("/<int:organisation_id>", endpoint="organisation")
@login_required
def organisation(organisation_id: int):
    return _page(_client(Organisation, organisation_id))


@bp.get("/person/<int:person_id>", endpoint="person")
@login_required
def person(person_id: int):
    return _page(_client(Person, person_id))


def _client(model: type, record_id: int):
    found = records.get(db(), model, record_id, current_user)
    if found is None:
        abort(404)
    return found


def _page(client):
    session, errors = db(), {}
    values = {"kind": request.args.getlist("kind"),
              **{name: request.args.get(name, "").strip()[:200]
                 for name in ("from", "to", "q", "open")}}
    try:
        filters = client_view.parse(request.args)
    except ValidationError as exc:
        errors, filters = exc.errors, None
    found = client_view.overview(session, _host(), client, current_user, filters) \
        if filters is not None else None
    record_type, titles = records.ref(client)[0], section_titles()
    return render_template(
        "expertise/client_view.html", client=client, record_type=record_type,
        overview=found, values=values, errors=errors, titles=titles,
        hidden_titles=", ".join(titles[k] for k in found.hidden) if found else "",
        lists=full_lists(record_type, client.id), users=users_by_id(session),
        kinds=list(titles.items()),
        money=approvals.money, percent=approvals.percent,
        offer_statuses=calculations.STATUS_LABELS, invoice_statuses=INVOICE_STATUSES,
    ), 400 if errors else 200


def case_panel(session, case, viewer):
    """On an inquiry's card: the way to everything about its client."""
    if case.process_key != client_view.PROCESS or case.organisation_id is None:
        return None
    client = records.get(session, Organisation, case.organisation_id, viewer)
    if client is None:
        return None
    return render_template(
        "expertise/client_panel.html", name=client.name,
        link=url_for("expertise_clients.organisation", organisation_id=client.id))


def record_panel(session, record, viewer):
    """On a client organisation's or person's card: the way to its 360° view."""
    if isinstance(record, Organisation):
        link = url_for("expertise_clients.organisation", organisation_id=record.id)
    elif isinstance(record, Person):
        link = url_for("expertise_clients.person", person_id=record.id)
    else:
        return None
    return render_template("expertise/client_panel.html", link=link, name=record.name
                           if isinstance(record, Organisation) else record.full_name)


def section_titles() -> dict[str, str]:
    """Each section's heading, in the order the page shows them."""
    def plural(key: str) -> str:
        return upper_first(term(key, plural=True))

    titles = {
        "contacts": _("Contacts"), "activities": _("Activities"), "meetings": _("Meetings"),
        "inquiries": plural("expertise.inquiry"), "offers": plural("expertise.offer"),
        "opinions": plural("expertise.opinion"), "documents": plural("core.document"),
        "cases": _("Service orders and other %(what)s", what=term("core.case", plural=True)),
        "correspondence": _("Correspondence"), "contracts": _("Contracts"),
        "invoices": _("Invoices")}
    return {key: titles[key] for key in client_view.SECTIONS}


def full_lists(record_type: str, record_id: int) -> dict[str, str]:
    """Where the core lists all of a section, for the "all" link under it."""
    card = "organisations.card" if record_type == "organisation" else "people.card"
    people = 1 if record_type == "organisation" else None
    party = f"{record_type}-{record_id}"
    cases = url_for(card, record_id=record_id, _anchor="cases")
    return {
        "contacts": url_for(card, record_id=record_id),
        "activities": url_for(card, record_id=record_id, people=people, _anchor="history"),
        "correspondence": url_for(card, record_id=record_id, people=people,
                                  kind=list(client_view.EMAILS), _anchor="history"),
        "inquiries": cases, "opinions": cases, "cases": cases,
        "documents": url_for(card, record_id=record_id, _anchor="documents"),
        "contracts": url_for("contracts.index", client=party),
        "invoices": url_for("invoices.index", buyer=party),
    }


def _host():
    return current_app.extensions["kartoteka"].host
