"""Complaints on delivered print projects (PR-8).

A complaint is a case of its own process, a subprocess of the project it is about
(``parent_id``), opened only once the project is in delivery or closed: whoever
opens it, through the project's card, the case form, a subprocess or the API, the
veto of ``vetted`` refuses any other project. Everyone who took part in the order
comments as a note on the complaint's timeline; the account manager (the project's
owner), customer service and production are told apart by who they are and by the
roles ``printing_customer_service`` and ``printing_production``. The answer to the
client (the document ``printing.complaint_answer``) is made from those notes once the
outcome and the remedy are recorded; the cost is recorded before the complaint is
closed. An open complaint keeps a project in delivery from closing, as any unfinished
subprocess does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import CustomField, ValidationError, cases, workflow
from core import fields as custom_fields
from core.fieldtypes import choice_labels
from core.models import Activity, ActivityLink, Case, Document, DocumentTemplate, Role, User
from core.models.role import UserRole
from core.terms import _locale, term, upper_first
from core.workflow import Check, Phase, Process, Transition
from plugins.printing.process import PROJECT

COMPLAINT = "printing.complaint"
ANSWER_TEMPLATE = "printing.complaint_answer"
# A complaint is about goods the client has: the project is delivered or closed.
OPEN_ON = ("delivery", "closed")
CUSTOMER_SERVICE, PRODUCTION = "printing_customer_service", "printing_production"

PRODUCT = "printing_complaint_product"
DEFECT = "printing_complaint_defect"
OUTCOME = "printing_complaint_outcome"
REMEDY = "printing_complaint_remedy"
COST = "printing_complaint_cost"
REJECTED, NO_REMEDY = "rejected", "none"


# --- Fields ------------------------------------------------------------------------------

def _choices(*rows: tuple[str, str, str]) -> dict:
    return {"choices": [{"value": v, "label_pl": pl, "label_en": en} for v, pl, en in rows]}


def _field(key: str, type_: str, pl: str, en: str, position: int, **extra) -> CustomField:
    return CustomField("case", key, type_, {"pl": pl, "en": en}, group="Reklamacja",
                       position=position, processes=(COMPLAINT,), **extra)


FIELDS = [
    _field(PRODUCT, "text", "Produkt, którego dotyczy", "Product concerned", 1),
    _field(DEFECT, "long_text", "Opis wady", "Description of the defect", 2, required=True),
    _field(OUTCOME, "choice", "Rozstrzygnięcie", "Outcome", 3, indexed=True,
           options=_choices(("accepted", "Uznana", "Accepted"),
                            ("partly_accepted", "Uznana częściowo", "Partly accepted"),
                            (REJECTED, "Odrzucona", "Rejected"))),
    _field(REMEDY, "choice", "Sposób załatwienia", "Remedy", 4,
           options=_choices(("reprint", "Ponowny druk", "Reprint"),
                            ("discount", "Rabat", "Discount"),
                            ("refund", "Zwrot pieniędzy", "Refund"),
                            (NO_REMEDY, "Bez rekompensaty", "None"))),
    _field(COST, "money", "Koszt reklamacji", "Cost of the complaint", 5,
           options={"currency": "PLN"},
           help={"pl": "Ile reklamacja kosztowała drukarnię: druk, transport, rabat, zwrot.",
                 "en": "What the complaint cost the printing house: printing, transport, "
                       "discount, refund."}),
]


def _definition(session, key: str):
    return next((d for d in custom_fields.definitions(session, "case") if d.key == key), None)


def _label(session, key: str) -> str:
    found = _definition(session, key)
    return found.label(_locale()) if found is not None else key


# --- Who took part -----------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """Those who took part in one role: the account manager, customer service or
    production, and which of them have commented."""

    key: str
    name: str
    members: frozenset[int]
    commented: tuple[str, ...]

    @property
    def heard(self) -> bool:
        return bool(self.commented)


@dataclass(frozen=True)
class Author:
    """Someone who commented, and the groups they are in (none: they took part otherwise)."""

    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Participation:
    groups: tuple[Group, ...]
    authors: tuple[Author, ...]

    @property
    def silent(self) -> list[Group]:
        return [g for g in self.groups if not g.heard]


def project_of(session, complaint: Case) -> Case | None:
    return session.get(Case, complaint.parent_id) if complaint.parent_id else None


def comment_counts(session, complaint: Case) -> dict[int | None, int]:
    """Author id -> how many notes they wrote on the complaint."""
    return dict(session.execute(
        select(Activity.created_by_id, func.count())
        .join(ActivityLink, ActivityLink.activity_id == Activity.id)
        .where(ActivityLink.record_type == "case", ActivityLink.record_id == complaint.id,
               Activity.kind == "note", Activity.event == "")
        .group_by(Activity.created_by_id)).all())


def _holders(session, role_key: str) -> frozenset[int]:
    return frozenset(session.scalars(select(UserRole.user_id).join(
        Role, Role.id == UserRole.role_id).where(Role.key == role_key)))


def _role_name(session, role_key: str, fallback: dict[str, str]) -> str:
    return session.scalar(select(Role.name).where(Role.key == role_key)) \
        or workflow.localised(fallback)


def participation(session, complaint: Case) -> Participation:
    """Who commented on the complaint, and whether each group that took part in the
    order did."""
    counts = comment_counts(session, complaint)
    project = project_of(session, complaint)
    ids = {i for i in counts if i is not None}
    names = {u.id: u.full_name or u.email for u in session.scalars(
        select(User).where(User.id.in_(ids)))} if ids else {}
    groups = []
    for key, name, members in (
            ("account_manager", upper_first(term("printing.account_manager")),
             frozenset([project.owner_id]) if project and project.owner_id else frozenset()),
            ("customer_service", _role_name(session, CUSTOMER_SERVICE, {
                "pl": "Obsługa klienta", "en": "Customer service"}),
             _holders(session, CUSTOMER_SERVICE)),
            ("production", _role_name(session, PRODUCTION, {
                "pl": "Produkcja", "en": "Production"}), _holders(session, PRODUCTION))):
        groups.append(Group(key, name, members,
                            tuple(names[i] for i in sorted(members & ids, key=names.get))))
    authors = tuple(Author(names.get(i, ""), tuple(g.name for g in groups if i in g.members))
                    for i in sorted(counts, key=lambda i: names.get(i, "")))
    return Participation(tuple(groups), authors)


# --- The checks of its steps -------------------------------------------------------------

def _commented(session, case: Case):
    if comment_counts(session, case):
        return None
    return _("Nobody has commented yet: each participant adds their comment as a note "
             "in the history.")


def _everyone_heard(session, case: Case):
    found = participation(session, case)
    if not found.authors or not found.silent:
        return None  # with no comment at all, _commented says it
    return _("Not commented yet: %(groups)s.", groups=", ".join(g.name for g in found.silent))


def _outcome_recorded(session, case: Case):
    custom = case.custom or {}
    missing = [_label(session, k) for k in (OUTCOME, REMEDY) if not custom.get(k)]
    if missing:
        return _("Record the outcome first: %(fields)s.", fields=", ".join(missing))
    if custom[OUTCOME] == REJECTED and custom[REMEDY] != NO_REMEDY:
        remedy = _definition(session, REMEDY)
        none = choice_labels(remedy, _locale()).get(NO_REMEDY, NO_REMEDY) if remedy else NO_REMEDY
        return _("A rejected claim gets no remedy: choose “%(none)s” in %(field)s.",
                 none=none, field=_label(session, REMEDY))
    return None


def _answer_made(session, case: Case):
    made = session.scalar(select(Document.id).join(
        DocumentTemplate, DocumentTemplate.id == Document.template_id).where(
        DocumentTemplate.key == ANSWER_TEMPLATE, Document.record_type == "case",
        Document.record_id == case.id).limit(1))
    if made is not None:
        return None
    name = session.scalar(select(DocumentTemplate.name_en if _locale() == "en"
                                 else DocumentTemplate.name_pl)
                          .where(DocumentTemplate.key == ANSWER_TEMPLATE)) or ANSWER_TEMPLATE
    return _("Make the answer first: the document “%(template)s”.", template=name)


def _cost_recorded(session, case: Case):
    custom = case.custom or {}
    if custom.get(OUTCOME) == REJECTED or custom.get(COST) is not None:
        return None
    return _("Record %(field)s before closing (0 when there was none).",
             field=_label(session, COST))


COMMENTED = Check("printing.complaint_commented",
                  {"pl": "Są komentarze uczestników", "en": "Participants have commented"},
                  _commented)
# Optional: an installation without those roles, or a complaint one person settles,
# switches it off.
EVERYONE_HEARD = Check(
    "printing.complaint_everyone_heard",
    {"pl": "Wypowiedzieli się opiekun klienta, obsługa klienta i produkcja",
     "en": "The account manager, customer service and production have commented"},
    _everyone_heard, optional=True)
OUTCOME_RECORDED = Check("printing.complaint_outcome",
                         {"pl": "Rozstrzygnięcie zapisane", "en": "Outcome recorded"},
                         _outcome_recorded)
# Optional: an answer given by phone needs no letter.
ANSWER_MADE = Check("printing.complaint_answer",
                    {"pl": "Odpowiedź przygotowana", "en": "Answer made"},
                    _answer_made, optional=True)
COST_RECORDED = Check("printing.complaint_cost",
                      {"pl": "Koszt zapisany", "en": "Cost recorded"}, _cost_recorded)

COMPLAINT_PROCESS = Process(
    COMPLAINT, COMPLAINT,
    title={"pl": "Reklamacja", "en": "Complaint"},
    phases=(
        Phase("registered", "printing.phase_registered", deadline_days=2),
        Phase("review", "printing.phase_review", deadline_days=7),
        Phase("answer_prepared", "printing.phase_answer_prepared", deadline_days=3),
        Phase("answered", "printing.phase_answered", deadline_days=14),
        Phase("closed", "printing.phase_complaint_closed", final=True),
    ),
    transitions=(
        Transition("registered", "review"),
        Transition("review", "answer_prepared", checks=(COMMENTED, EVERYONE_HEARD)),
        Transition("answer_prepared", "review"),  # more to find out before answering
        Transition("answer_prepared", "answered", checks=(OUTCOME_RECORDED, ANSWER_MADE)),
        Transition("answered", "closed", checks=(OUTCOME_RECORDED, COST_RECORDED)),
    ),
)

PROCESSES = [COMPLAINT_PROCESS]


# --- Opening one -------------------------------------------------------------------------

def may_open_on(project: Case | None) -> bool:
    return project is not None and project.process_key == PROJECT.key \
        and project.phase_key in OPEN_ON


def rule() -> str:
    """Which projects can have a complaint, as people read it."""
    return _("Only a %(project)s in the phase “%(first)s” or “%(second)s” can have a "
             "%(complaint)s.", project=term(PROJECT.term),
             complaint=term("printing.complaint", case="acc"),
             first=workflow.phase_name(PROJECT, OPEN_ON[0]),
             second=workflow.phase_name(PROJECT, OPEN_ON[1]))


def project_problem(session, parent_id: int | None) -> str | None:
    """Why a complaint cannot be opened on the case ``parent_id``, or None."""
    project = session.get(Case, parent_id) if parent_id is not None else None
    if project is None or project.process_key != PROJECT.key or project.deleted_at:
        return _("Choose a %(what)s from the list.", what=term(PROJECT.term, case="acc"))
    if project.phase_key not in OPEN_ON:
        return " ".join((rule(), _("“%(title)s” is in the phase “%(phase)s”.",
                                   title=project.title,
                                   phase=workflow.phase_name(PROJECT, project.phase_key))))
    return None


def default_title(project: Case) -> str:
    prefix = f"{upper_first(term('printing.complaint'))}: "
    return prefix + project.title[:300 - len(prefix)]


def open_complaint(session, host, project: Case, data: dict, actor=None) -> Case:
    """A complaint on ``project``, looked after by its account manager (or, when the
    project has none who is active, by whoever opens it). ``data``: ``title`` (the
    project's name by default) and ``custom`` values (product, defect)."""
    problem = project_problem(session, project.id)
    if problem:
        raise ValidationError({"parent_id": problem})
    owner = session.get(User, project.owner_id) if project.owner_id else None
    if owner is None or not owner.active or owner.kind != "staff":
        owner = actor
    return cases.create(session, host, {
        "title": (data.get("title") or "").strip() or default_title(project),
        "process_key": COMPLAINT, "parent_id": project.id,
        "organisation_id": project.organisation_id,
        "owner_id": getattr(owner, "id", None), "custom": data.get("custom") or {}}, actor)


def of_project(session, project: Case, actor=None) -> list[Case]:
    return [c for c in cases.children(session, project, actor) if c.process_key == COMPLAINT]


# --- The veto: every way of writing a complaint --------------------------------------------

def vetted(session, record, changes: dict) -> None:
    """Refuse a complaint that is not on a delivered or closed project, and a negative
    cost, whichever way the complaint is written."""
    if not isinstance(record, Case) or record.process_key != COMPLAINT:
        return
    errors = {}
    if record.id is None or "parent_id" in changes:
        parent_id = changes["parent_id"][1] if "parent_id" in changes else record.parent_id
        problem = project_problem(session, parent_id)
        if problem:
            errors["parent_id"] = problem
    custom = changes["custom"][1] if "custom" in changes else None
    cost = (custom or {}).get(COST)
    if isinstance(cost, dict):
        try:
            negative = Decimal(str(cost.get("amount"))) < 0
        except InvalidOperation:
            negative = False  # the field's own validation speaks for a bad amount
        if negative:
            errors[f"custom.{COST}"] = _("%(field)s cannot be negative.",
                                         field=_label(session, COST))
    if errors:
        raise ValidationError(errors)
