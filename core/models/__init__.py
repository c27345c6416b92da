"""The core's tables, one module per concept; importing this registers them all."""

from core.models.activity import Activity, ActivityLink
from core.models.link import RecordLink
from core.models.membership import Membership
from core.models.organisation import Organisation, OrganisationType, OrgUnit
from core.models.person import Address, ContactPoint, Person
from core.models.plugin_state import PluginState
from core.models.tag import Tag, Tagging
from core.models.user import User

__all__ = ["Activity", "ActivityLink", "Address", "ContactPoint", "Membership", "OrgUnit",
           "Organisation", "OrganisationType", "Person", "PluginState", "RecordLink", "Tag",
           "Tagging", "User"]
