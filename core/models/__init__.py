"""The core's tables, one module per concept; importing this registers them all."""

from core.models.activity import Activity, ActivityLink
from core.models.api_token import ApiToken
from core.models.attachment import Attachment
from core.models.audit import AuditEntry
from core.models.auth_session import AuthSession, LoginAttempt
from core.models.bank import BankProfile, BankStatement, BankStatementLine
from core.models.billing import (
    BillableItem,
    BillableItemPerson,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)
from core.models.billing_run import BillingRun
from core.models.calculation import Calculation, CalculationLine
from core.models.calendar import CalendarEvent, EventAttendee, EventLink
from core.models.case import ApprovalRequest, Case, CasePerson, PhaseChange, ProcessSetting
from core.models.consent import Consent, ProcessingPurpose
from core.models.contract import Contract, ContractPrice, ExpectedPayment, Instalment
from core.models.document import (
    Document,
    DocumentTemplate,
    NumberCounter,
    NumberSeries,
    TemplateVersion,
)
from core.models.field import ArchivedFieldValue, FieldDefinition
from core.models.idempotency_key import IdempotencyKey
from core.models.importing import ImportMapping
from core.models.job import Job
from core.models.link import RecordLink
from core.models.mailing import Mailing
from core.models.membership import Membership
from core.models.organisation import Organisation, OrganisationType, OrgUnit
from core.models.outbox import OutboxMessage, Suppression
from core.models.password_reset import PasswordReset
from core.models.person import Address, ContactPoint, Person
from core.models.place import Place
from core.models.plugin_state import PluginState
from core.models.price_list import PriceItem
from core.models.public_form import FormSubmission, PublicForm
from core.models.quality import QualityRule
from core.models.role import Role, RoleAccess, RolePermission, UserRole
from core.models.segment import Segment
from core.models.site_setting import SiteSetting
from core.models.stamp import ConfigStamp
from core.models.tag import Tag, Tagging
from core.models.task import Task, TaskLink
from core.models.team import Team, TeamMember
from core.models.term_override import TermOverride
from core.models.usage import UsageEvent
from core.models.user import User
from core.models.user_preference import UserPreference
from core.models.webhook import Webhook, WebhookDelivery

__all__ = ["SiteSetting", "UserPreference", "Activity", "ActivityLink", "Address",
           "FormSubmission", "PublicForm", "ApiToken", "ApprovalRequest", "Case",
           "CasePerson", "PhaseChange", "ProcessSetting", "Document", "DocumentTemplate",
           "NumberCounter", "NumberSeries", "TemplateVersion", "ArchivedFieldValue", "Attachment",
           "AuditEntry", "AuthSession", "LoginAttempt", "Role", "RoleAccess", "RolePermission",
           "UserRole", "ConfigStamp", "FieldDefinition", "CalendarEvent", "ContactPoint",
           "EventAttendee", "EventLink", "IdempotencyKey", "ImportMapping", "Job", "Mailing",
           "Membership", "OutboxMessage", "Suppression", "OrgUnit", "PasswordReset",
           "Organisation", "OrganisationType", "Person", "Place", "PluginState", "QualityRule",
           "RecordLink", "Segment", "Tag", "Tagging", "Task", "TaskLink", "Team",
           "ProcessingPurpose", "Consent", "TeamMember", "TermOverride", "UsageEvent", "User",
           "Webhook", "WebhookDelivery", "BillableItem", "BillableItemPerson", "Invoice",
           "InvoiceLine", "Payment", "PaymentAllocation", "BankProfile", "BankStatement",
           "BankStatementLine", "BillingRun", "Contract",
           "ContractPrice", "ExpectedPayment", "Instalment", "Calculation", "CalculationLine",
           "PriceItem"]
