"""The expert-opinion firm most of the expertise plugin's tests run in.

``app``: the plugin enabled, in English; a file overrides ``app_config`` to name the
seller (``SELLER``, for invoices) or to speak Polish, and ``expertise_app`` builds one
of its own. ``firm``: a request context, an open session and the registry (see
``Firm.furnished``); ``world``: the firm staffed for the inquiry's process too (see
``Firm.staffed``). A file whose firm differs extends these in a fixture of its own;
one whose pages or API read the records builds them committed, in ``opened(app,
commit=True)``. Every test runs on SQLite and PostgreSQL (``kartoteka_app_factory``
depends on ``kartoteka_database_url``).
"""

from contextlib import contextmanager

import pytest
from sqlalchemy import select

from core import approvals, cases, organisations, people, roles, users, workflow
from core.errors import ValidationError
from core.models import DocumentTemplate
from plugins.expertise import departments, estimates, experts, inquiries, specialisations

PASSWORD = "correct horse battery"
PROCESS = "expertise.inquiry"
SELLER = "Ekspertyzy Test sp. z o.o."


@pytest.fixture
def app_config() -> dict:
    """The app's configuration besides the plugin and English."""
    return {}


@pytest.fixture
def expertise_app(kartoteka_app_factory):
    """``build(**config)``: an app with the plugin enabled, in English unless told."""
    def build(**config):
        return kartoteka_app_factory(["expertise"], **{"default_locale": "en", **config})

    return build


@pytest.fixture
def app(expertise_app, app_config):
    return expertise_app(**app_config)


@pytest.fixture
def firm(app):
    """A request context, an open session and the registry: the specialisations
    construction and vehicles, the construction department with its manager, its
    expert Jan Biegły at 200 zł an hour, and the client."""
    with opened(app) as made:
        yield made.furnished()


@pytest.fixture
def world(firm):
    """The firm staffed for inquiries: an estimator who owns them, a secretary who
    routes them, a board member, and the vehicles department too."""
    return firm.staffed()


@contextmanager
def opened(app, commit=False):
    """A request context, a session and a ``Firm`` with no records yet; with ``commit``
    in a transaction, committed at the end for the pages and the API to read."""
    rt = app.extensions["kartoteka"]
    with app.test_request_context(), rt.session() as session:
        if not commit:
            yield Firm(session, rt)
            return
        with session.begin():
            yield Firm(session, rt)


def refused(call, *args, **kwargs) -> dict:
    """The field errors of the ValidationError ``call(*args, **kwargs)`` raises."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.errors


class Firm:
    """The firm's records in one session, and the steps that take an inquiry where a
    test starts: through the services, as the people of the firm."""

    def __init__(self, session, rt):
        self.session, self.rt, self.host, self.settings = session, rt, rt.host, rt.settings

    # --- Who and what ------------------------------------------------------------------

    def furnished(self, manager=None):
        """The registry: the specialisations construction and vehicles; the
        construction department, managed by ``manager`` (else Marek Kierownik, staff);
        its expert Jan Biegły (``expert``) at 200 zł an hour; the client, Budimex."""
        self.manager = manager or self.user("manager@example.com", ["staff"],
                                            "Marek Kierownik")
        self.construction = specialisations.create(self.session, {"name": "Construction"})
        self.vehicles = specialisations.create(self.session, {"name": "Vehicles"})
        self.building = self.department("Construction department", [self.construction],
                                        self.manager)
        self.client = self.organisation("Budimex Sp. z o.o.")
        self.expert = self.new_expert("Jan", "Biegły")
        return self

    def staffed(self):
        """Who takes an inquiry through the process: the roles estimators (who make
        calculations), expertise_secretariat (who route inquiries) and expertise_board;
        Konrad Opiekun, an estimator who owns the inquiries (``owner``); Sara Sekretariat
        of the secretariat (``secretary``); Zofia Zarząd of the board (``board``); and
        the vehicles department (``cars``), with no manager."""
        self.estimators = self.role("estimators", "Estimators", ["core.calculate"])
        self.secretariat = self.role("expertise_secretariat", "Secretariat",
                                     ["expertise.route_inquiries"])
        self.role("expertise_board", "Board")
        self.owner = self.user("owner@example.com", ["staff", "estimators"], "Konrad Opiekun")
        self.secretary = self.user("secretary@example.com", ["staff", "expertise_secretariat"],
                                   "Sara Sekretariat")
        self.board = self.user("board@example.com", ["staff", "expertise_board"],
                               "Zofia Zarząd")
        self.cars = self.department("Vehicles department", [self.vehicles])
        return self

    def role(self, key, name, permissions=()):
        role = roles.create(self.session, key, name)
        if permissions:
            roles.set_permissions(self.session, role, list(permissions))
        return role

    def user(self, email, role_keys=None, full_name="", **data):
        """A staff account with ``role_keys`` (else the staff role), or as ``data``
        says (``is_admin``, ``portal_of``)."""
        return users.create_user(self.session, email, PASSWORD, full_name, roles=role_keys,
                                 **data)

    def person(self, first, last, **data):
        return people.create(self.session, {"first_name": first, "last_name": last, **data})

    def organisation(self, name, type_key="core.company", actor=None, **data):
        return organisations.create(self.session, self.host, {
            "name": name, "type_key": type_key, **data}, actor, allow_duplicates=True)

    def department(self, name, covered=(), manager=None):
        return departments.create(self.session, {
            "name": name, "manager_id": manager.id if manager else None,
            "specialisation_ids": [s.id for s in covered]})

    def new_expert(self, first, last, rate="200.00", specialisation=None, department=None,
                   actor=None, **data):
        """An expert of ``specialisation`` (construction unless said) working in
        ``department`` (the construction one unless said), or with ``internal=False``
        an external one, of no department."""
        internal = data.get("internal", True)
        return experts.create(self.session, {
            "person_id": self.person(first, last).id, "hourly_rate": rate,
            "department_id": (department or self.building).id if internal else None,
            "specialisation_ids": [(specialisation or self.construction).id], **data}, actor)

    # --- The inquiry's steps -----------------------------------------------------------

    def inquiry(self, client_people=(), **data):
        """A new inquiry of the client's, the owner's, at its first phase (a meeting)."""
        return cases.create(self.session, self.host, {
            "title": "Opinia o stanie budynku", "process_key": PROCESS,
            "owner_id": self.owner.id, "organisation_id": self.client.id, **data},
            actor=self.owner, people=list(client_people))

    def move(self, case, target, actor=None):
        return workflow.move(self.session, self.host, case, target, actor=actor or self.owner)

    def blockers(self, case, target, actor=None):
        found = {m.transition.target: m.blockers
                 for m in workflow.moves(self.session, self.host, case, actor or self.owner)}
        return found[target]

    def routed(self, case=None, department=None, **details):
        """``case`` (else a new inquiry) of construction with ``details``, routed by the
        secretary to ``department`` (else the construction one)."""
        case = case or self.inquiry()
        self.move(case, "inquiry")
        inquiries.update(self.session, case, {"specialisation_id": self.construction.id,
                                              **details}, actor=self.owner)
        inquiries.route(self.session, self.host, case, (department or self.building).id,
                        actor=self.secretary)
        return case

    def estimate(self, case, data, actor=None):
        return estimates.estimate(self.session, case, data, actor=actor or self.owner)

    def estimated(self, margin="40", case=None, **details):
        """``case`` (else a new inquiry) routed to construction and estimated: Jan
        Biegły's 10 hours at 200 zł, priced at the margin given."""
        case = self.routed(case, **details)
        self.move(case, "estimate")
        self.estimate(case, {"experts": [{"expert_id": self.expert.id, "hours": "10"}],
                             "margin": margin})
        return case

    def offer_transition(self, case):
        return workflow.process_of(self.host, case).transition("estimate", "offer")

    def required(self, case):
        """The steps of approval the offer needs: "manager", and "board" too?"""
        return [r.step_key for r in approvals.required(self.session, self.host, case,
                                                       self.offer_transition(case))]

    def pending(self, case):
        return [r for r in approvals.requests(self.session, case) if r.status == "pending"]

    def approve_offer(self, case):
        """The offer approved by the manager and, where asked, the board; sent."""
        first = approvals.request(self.session, self.host, case, "offer", actor=self.owner)
        approvals.decide(self.session, self.host, first, "approve", self.manager)
        for board in self.pending(case):
            approvals.decide(self.session, self.host, board, "approve", self.board)
        self.move(case, "offer")

    def template(self, key="expertise.offer"):
        return self.session.scalar(select(DocumentTemplate).where(DocumentTemplate.key == key))
