"""Permissions of the expertise plugin, granted to roles by administrators."""

from flask_babel import gettext as _

from core import Permission, permissions
from core.errors import Forbidden

MANAGE, ROUTE, REPORTS = "expertise.manage", "expertise.route_inquiries", "expertise.reports"

PERMISSIONS = [
    # Specialisations, departments and their managers, experts with their rates,
    # absences and conflicts of interest.
    Permission(MANAGE, {"pl": "Prowadzenie działów, specjalizacji i biegłych",
                        "en": "Keep departments, specialisations and experts"}),
    # The secretariat's step: an inquiry to a department.
    Permission(ROUTE, {"pl": "Kierowanie zapytań do działów",
                       "en": "Route inquiries to departments"}),
    # Margins per department, offers waiting, experts' hours, deadlines at risk.
    Permission(REPORTS, {"pl": "Raporty ekspertyz", "en": "Expertise reports"}),
]


def require_manage(actor) -> None:
    if not permissions.can(actor, MANAGE):
        raise Forbidden(_("You may not change departments, specialisations or experts."))
