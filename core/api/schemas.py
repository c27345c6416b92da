"""The API's marshmallow schemas: what a record looks like to a program.

Writable fields are listed explicitly and anything else is refused (422), so a client
cannot set the id, the version, who created a record or when. ``custom`` holds the
custom field values; the services validate them with the schema built from the
definitions, and the OpenAPI document describes them from the same definitions.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from core.validation import max_length

PAGE_MAX = 200


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Tracked(Schema):
    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True, metadata={
        "description": "Changes with every change; send it back in If-Match as the ETag."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    updated_by_id = fields.Integer(dump_only=True, allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    custom = fields.Dict(keys=fields.String(), metadata={
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


class ListArgs(Strict):
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
