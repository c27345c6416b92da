"""The API's marshmallow schemas: what a record looks like to a program.

Writable fields are listed explicitly and anything else is refused (422), so a client
cannot set the id, the version, who created a record or when. ``custom`` holds the
custom field values; the services validate them with the schema built from the
definitions, and the OpenAPI document describes them from the same definitions.
"""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate

from core import approvals, workflow
from core import cases as case_fields
from core.validation import an_id, max_length

PAGE_MAX = 200


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CustomValues(fields.Dict):
    """``custom`` as the OpenAPI document describes it: only the values of the fields
    the API offers the caller (``openapi.offered``), of a case those of its process; the
    rest stay stored, unshown."""

    def _serialize(self, value, attr, obj, **kwargs):
        from flask import g

        from core import fields as custom_fields
        from core.api import openapi

        shown = g.setdefault("api_custom_keys", {})  # a page dumps many records
        kind = (obj.record_type, custom_fields.process_of(obj))
        if kind not in shown:
            shown[kind] = {d.key for d in custom_fields.for_case(
                openapi.offered(obj.record_type, g.get("actor")), kind[1])}
        keys = shown[kind]
        return super()._serialize({k: v for k, v in (value or {}).items() if k in keys},
                                  attr, obj, **kwargs)


class Tracked(Schema):
    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    updated_by_id = fields.Integer(dump_only=True, allow_none=True)
    owner_id = fields.Integer(allow_none=True, validate=an_id())
    custom = CustomValues(keys=fields.String(), metadata={
        "description": "Values of custom fields, by key (see /api/v1/fields)."})


class OrganisationSchema(Tracked, Strict):
    name = fields.String(required=True, validate=max_length(300))
    short_name = fields.String(validate=max_length(100))
    type_key = fields.String(required=True, validate=max_length(64))
    nip = fields.String(validate=max_length(20))
    regon = fields.String(validate=max_length(20))
    krs = fields.String(validate=max_length(20))
    email = fields.String(validate=max_length(254))
    phone = fields.String(validate=max_length(40))
    website = fields.String(validate=max_length(300))
    street = fields.String(validate=max_length(200))
    postal_code = fields.String(validate=max_length(10))
    city = fields.String(validate=max_length(100))
    region = fields.String(validate=max_length(100))
    country = fields.String(validate=max_length(2))
    notes = fields.String(validate=max_length(20000))


class AddressSchema(Strict):
    label = fields.String(validate=max_length(50))
    street = fields.String(validate=max_length(200))
    postal_code = fields.String(validate=max_length(10))
    city = fields.String(validate=max_length(100))
    region = fields.String(validate=max_length(100))
    country = fields.String(validate=max_length(2))


class PersonSchema(Tracked, Strict):
    """A person; ``emails`` and ``phones`` list the first (primary) one first."""

    first_name = fields.String(required=True, validate=max_length(100))
    last_name = fields.String(required=True, validate=max_length(100))
    pesel = fields.String(validate=max_length(20))
    notes = fields.String(validate=max_length(20000))
    emails = fields.List(fields.String(validate=max_length(254)),
                         validate=validate.Length(max=20))
    phones = fields.List(fields.String(validate=max_length(40)),
                         validate=validate.Length(max=20))
    addresses = fields.List(fields.Nested(AddressSchema), validate=validate.Length(max=20))

    def get_attribute(self, obj, attr, default):
        if attr in ("emails", "phones"):
            return obj.contact_values(attr.removesuffix("s"))
        return super().get_attribute(obj, attr, default)


def schema_name(schema) -> str:
    """Component names: "Organisation", and "OrganisationPatch" for the partial schema of
    updates (apispec would otherwise number it "Organisation1")."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


class Sparse(Schema):
    """Lists that answer only some fields of each item (``core.api.sparse``)."""

    only = fields.String(data_key="fields", validate=max_length(2000), metadata={
        "description": 'Only these fields of each item, comma-separated: "name,city,'
                       'custom.size"; id always comes.'})


class ListArgs(Sparse, Strict):
    filter = fields.String(metadata={
        "description": "A filter in the filter language, as JSON: "
                       '{"field": "city", "op": "eq", "value": "Poznań"}.'})
    sort = fields.String(metadata={"description": 'One field, "-" for descending: '
                                                  '"name", "-created_at", "custom.size".'})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, PAGE_MAX))
    after = fields.String(validate=max_length(500), metadata={
        "description": "The cursor of the next page, from the previous page's ``next``."})


def page_schema(item: type[Schema]) -> type[Schema]:
    return type(f"{item.__name__.removesuffix('Schema')}Page", (Schema,), {
        "items": fields.List(fields.Nested(item)),
        "next": fields.String(allow_none=True, metadata={
            "description": "Pass as ``after`` for the next page; null on the last page."}),
    })


class FieldSchema(Schema):
    record_type = fields.String()
    key = fields.String()
    type = fields.String()
    label_pl = fields.String()
    label_en = fields.String()
    help_pl = fields.String()
    help_en = fields.String()
    group = fields.String()
    position = fields.Integer()
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    read_only = fields.Boolean()
    hidden = fields.Boolean()
    options = fields.Dict()
    indexed = fields.Boolean()


# ------------------------------------------------------------------ cases


def _amount(description: str, example: str):
    """The cases' own amount field (the same limits and messages as the forms), described
    as the decimal string it is in JSON, never a float."""
    field = case_fields.amount_field()
    field.metadata.update(type="string", format="decimal", example=example,
                          description=description, minimum=0,
                          maximum=float(case_fields.MAX_AMOUNT))
    return field


class CasePersonSchema(Schema):
    person_id = fields.Integer()
    role = fields.String()


class CaseSchema(Tracked, Strict):
    """A case (an order, a project, a matter) in a phase of its process.

    Amounts are decimal strings ("12500.50"), never floats. The phase changes only
    through ``POST /cases/{case_id}/move``; it cannot be written here.
    """

    title = fields.String(required=True, validate=max_length(300))
    process_key = fields.String(required=True, validate=max_length(64), metadata={
        "description": "The key of an enabled process (see /api/v1/processes); it cannot "
                       "be changed later."})
    phase_key = fields.String(dump_only=True)
    phase_name = fields.Method("_phase_name", dump_only=True, metadata={
        "type": "string",
        "description": "The phase as this installation names it, in the request's language."})
    phase_entered_at = fields.DateTime(dump_only=True)
    organisation_id = fields.Integer(allow_none=True, validate=an_id())
    parent_id = fields.Integer(allow_none=True, validate=an_id(), metadata={
        "description": "The case this one is a subprocess of: one the caller may see and "
                       "change, not this case or one of its own subprocesses. The parent "
                       "cannot move on before its subprocesses are finished."})
    amount = _amount("The value of the case.", "12500.50")
    cost = _amount("What the case costs.", "9000.00")
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error=_l(
        "Enter a three-letter currency code, such as PLN.")))
    margin = fields.Method("_margin", dump_only=True, allow_none=True, metadata={
        "type": "string", "format": "decimal",
        "description": "(amount - cost) / amount as a decimal string: \"0.2500\" is 25%; "
                       "null without an amount or a cost."})
    description = fields.String(validate=max_length(20000))
    people = fields.List(fields.Nested(CasePersonSchema), dump_only=True)

    def _phase_name(self, case) -> str:
        process = current_app.extensions["kartoteka"].host.processes.get(case.process_key)
        return workflow.phase_name(process, case.phase_key) if process else case.phase_key

    def _margin(self, case) -> str | None:
        margin = case.margin
        return None if margin is None else str(margin.quantize(Decimal("0.0001")))


class CaseListArgs(ListArgs):
    process = fields.String(validate=max_length(64), metadata={
        "description": "Only cases of this process (its key)."})
    phase = fields.String(validate=max_length(64), metadata={
        "description": "Only cases in this phase (its key)."})
    organisation_id = fields.Integer(validate=an_id())
    owner_id = fields.Integer(validate=an_id())


class MoveInSchema(Strict):
    target = fields.String(required=True, validate=max_length(64), metadata={
        "description": "The key of the phase to move to."})
    comment = fields.String(load_default="", validate=max_length(5000))


class BlockedMoveSchema(Schema):
    target = fields.String()
    target_name = fields.String()
    permission = fields.String(allow_none=True)
    allowed = fields.Boolean(metadata={"description": "Nothing blocks the step now."})
    blockers = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "What stands in the way, keyed as the field errors of a refused "
                       "move: check.<key>, approval, permission, subprocesses."})


class PhaseChangeSchema(Schema):
    id = fields.Integer()
    from_phase = fields.String(allow_none=True)
    from_name = fields.String(allow_none=True)
    to_phase = fields.String()
    to_name = fields.String()
    actor_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    comment = fields.String()


class ApproverSchema(Schema):
    kind = fields.String(metadata={"description": "supervisor or role"})
    role = fields.String(allow_none=True)
    name = fields.String()


class ApprovalRequestSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    transition = fields.String(metadata={"description": '"<from>-><to>"'})
    level = fields.Integer(metadata={"description": "The position in the rule's chain."})
    step_key = fields.String()
    status = fields.String(metadata={
        "description": "pending, approved, returned or superseded (the values changed)."})
    status_text = fields.Function(lambda r: approvals.describe_status(r), metadata={
        "type": "string", "description": "The status in words, in the request's language."})
    approver_id = fields.Integer(allow_none=True, metadata={
        "description": "The one person who decides; null when any holder of "
                       "approver_role does."})
    approver_role = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "Why this level is needed."})
    values = fields.Dict(metadata={"description": "The values the approval covers."})
    requested_by_id = fields.Integer(allow_none=True)
    requested_at = fields.DateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    comment = fields.String()


class UserRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class RequiredApprovalSchema(Schema):
    level = fields.Integer()
    step_key = fields.String()
    approver = fields.Nested(ApproverSchema)
    reason = fields.String()
    users = fields.List(fields.Nested(UserRefSchema), metadata={
        "description": "Who may decide."})
    status = fields.String(metadata={
        "description": "approved, pending (asked, not decided) or missing (not asked)."})
    request_id = fields.Integer(allow_none=True)


class ExplainArgs(Strict):
    target = fields.String(required=True, validate=max_length(64), metadata={
        "description": "The key of the phase the case would move to."})


class ExplainSchema(Schema):
    target = fields.String()
    target_name = fields.String()
    required = fields.List(fields.Nested(RequiredApprovalSchema), metadata={
        "description": "Every level that must approve the step for the case's values "
                       "now, in order; empty when none."})


class ApprovalAskSchema(Strict):
    target = fields.String(required=True, validate=max_length(64), metadata={
        "description": "The key of the phase the approval is for."})


class DecisionSchema(Strict):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "return")))
    comment = fields.String(load_default="", validate=max_length(5000), metadata={
        "description": "Required to return."})
    corrections = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                              metadata={"description": "Values of the case the approver "
                                                       "corrects before approving, such "
                                                       "as {\"amount\": \"12000.00\"}; "
                                                       "for a case priced by a "
                                                       "calculation, {\"calculation\": "
                                                       "{...}}: its new version, as "
                                                       "POST /cases/{id}/calculations "
                                                       "takes it."})


class CheckSchema(Schema):
    key = fields.String()
    title = fields.String()
    optional = fields.Boolean(metadata={"description": "Administrators may switch it off."})
    enabled = fields.Boolean()


class ApprovalStepSchema(Schema):
    key = fields.String()
    approver = fields.Nested(ApproverSchema)
    below = fields.String(allow_none=True, metadata={
        "description": "Threshold: the setting holding the band's upper limit (none for "
                       "the last band)."})
    when = fields.Dict(allow_none=True, metadata={
        "description": "Chain: the condition of the step, {\"kind\": \"margin_below\" or "
                       "\"amount_at_least\", \"setting\": ...}; null: always."})


class ApprovalRuleSchema(Schema):
    key = fields.String()
    kind = fields.String(metadata={"description": "threshold or chain"})
    free_below = fields.String(allow_none=True, metadata={
        "description": "Threshold: the setting below whose amount nobody approves."})
    binds = fields.List(fields.String(), metadata={
        "description": "The values an approval covers; changing one voids it."})
    steps = fields.List(fields.Nested(ApprovalStepSchema))


class TransitionSchema(Schema):
    key = fields.String()
    source = fields.String()
    target = fields.String()
    permission = fields.String(allow_none=True)
    checks = fields.List(fields.Nested(CheckSchema))
    approval = fields.Nested(ApprovalRuleSchema, allow_none=True)


class PhaseSchema(Schema):
    key = fields.String()
    name = fields.String()
    term = fields.String()
    deadline_days = fields.Integer(allow_none=True, metadata={
        "description": "The current deadline (an administrator's setting); null: none."})
    final = fields.Boolean()
    starts = fields.List(fields.String(), metadata={
        "description": "Processes of the child cases started on entering the phase."})
    then = fields.String(allow_none=True)


class SettingSchema(Schema):
    key = fields.String()
    title = fields.String()
    kind = fields.String(metadata={"description": "money, percent, days or flag"})
    default = fields.Raw(metadata={"description": "Money and percentages as decimal "
                                                  "strings."})
    value = fields.Raw(metadata={"description": "The current value."})


class ProcessSchema(Schema):
    key = fields.String()
    title = fields.String()
    name = fields.String(metadata={"description": "What its cases are called."})
    phases = fields.List(fields.Nested(PhaseSchema))
    transitions = fields.List(fields.Nested(TransitionSchema))
    settings = fields.List(fields.Nested(SettingSchema))


# ------------------------------------------------------------------ documents

DOCUMENT_SUBJECTS = ("organisation", "person", "case")  # core.documents.SUBJECTS
TEXT_MAX = 200_000  # a template's HTML or plain text


class DocumentSchema(Schema):
    """A document made from a template for a record: a PDF kept as its attachment."""

    id = fields.Integer()
    number = fields.String(allow_none=True, metadata={
        "description": "From the template's number series; null when it has none."})
    title = fields.String()
    template = fields.String(allow_none=True, metadata={"description": "The template's key."})
    template_version = fields.Integer(allow_none=True, metadata={
        "description": "The number of the template's version that made it."})
    record_type = fields.String()
    record_id = fields.Integer()
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    filename = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True, metadata={"description": "Of the PDF, in bytes."})
    sha256 = fields.String(allow_none=True, metadata={
        "description": "The PDF's SHA-256, taken when it was made."})
    download_url = fields.String(allow_none=True, metadata={
        "description": "Where to GET the PDF; null if its file was removed."})


class DocumentListArgs(Strict):
    record_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_SUBJECTS))
    record_id = fields.Integer(required=True, validate=an_id())


class DocumentInSchema(Strict):
    template = fields.String(required=True, validate=max_length(100), metadata={
        "description": "The key of the template (see /api/v1/templates/)."})
    record_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_SUBJECTS))
    record_id = fields.Integer(required=True, validate=an_id())


class TemplateSchema(Schema):
    key = fields.String()
    kind = fields.String(metadata={"description": "email, letter, contract, offer..."})
    kind_name = fields.String(metadata={"description": "The kind in the request's language."})
    name = fields.String(metadata={"description": "In the request's language."})
    subject_type = fields.String(metadata={
        "description": "What it is filled from: organisation, person or case."})
    series_key = fields.String(allow_none=True, metadata={
        "description": "The number series its documents take numbers from."})
    version = fields.Integer(allow_none=True, metadata={
        "description": "The number of the version in use; also the ETag."})
    active = fields.Boolean()


class TemplateDetailSchema(TemplateSchema):
    name_pl = fields.String()
    name_en = fields.String()
    subject = fields.String(metadata={"description": "E-mails' subject line."})
    body = fields.String(metadata={"description": "HTML with Jinja2."})
    text_body = fields.String(metadata={"description": "E-mails' plain text."})
    note = fields.String(metadata={"description": "What the current version changed."})
    updated_at = fields.DateTime(allow_none=True)
    updated_by_id = fields.Integer(allow_none=True)


class TemplateInSchema(Strict):
    body = fields.String(required=True, validate=max_length(TEXT_MAX), metadata={
        "description": "HTML with Jinja2."})
    subject = fields.String(validate=max_length(300), metadata={
        "description": "E-mails' subject line; the current one is kept if left out."})
    text_body = fields.String(validate=max_length(TEXT_MAX), metadata={
        "description": "E-mails' plain text; the current one is kept if left out."})
    note = fields.String(load_default="", validate=max_length(300), metadata={
        "description": "What changed, and why."})


class TemplateVersionSchema(Schema):
    number = fields.Integer()
    current = fields.Boolean()
    subject = fields.String()
    body = fields.String()
    text_body = fields.String()
    note = fields.String()
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)


class PreviewInSchema(Strict):
    record_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_SUBJECTS))
    record_id = fields.Integer(required=True, validate=an_id())
    body = fields.String(load_default=None, allow_none=True, validate=max_length(TEXT_MAX),
                         metadata={"description": "A text being edited, to see it filled "
                                                  "before saving; the current one if "
                                                  "left out."})


class PreviewSchema(Schema):
    html = fields.String()


class NumberSeriesSchema(Schema):
    key = fields.String()
    name = fields.String()
    pattern = fields.String(metadata={"example": "OF/{year}/{seq:04}"})
    reset = fields.String(metadata={"description": "yearly, monthly or never"})
    next_number = fields.String(allow_none=True, metadata={
        "description": "The number the next document would get now."})


class NumberSeriesInSchema(Strict):
    name = fields.String(required=True, validate=max_length(200))
    pattern = fields.String(required=True, validate=max_length(100), metadata={
        "description": "With {seq} (or {seq:04}) and {year}, {month}, {day} as the reset "
                       "needs."})
    reset = fields.String(load_default="yearly", metadata={
        "description": "When the running number starts again: yearly, monthly or never."})
