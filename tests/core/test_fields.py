"""Custom fields: definitions, validated values, filters on their index, and changes that
keep every record valid."""

from decimal import Decimal

import pytest
from sqlalchemy import select, text

from core import field_definitions, fields, filters, organisations, people, records
from core.errors import ValidationError
from core.field_definitions import ChangeRefused
from core.models import AuditEntry, FieldDefinition, Organisation, Person


def define(rt, **data) -> int:
    data = {"record_type": "organisation", "label_pl": data.get("key", "pole"), **data}
    with rt.session() as session, session.begin():
        return field_definitions.create(session, data).id


def new_org(rt, name="Gmina Kórnik", **custom) -> int:
    with rt.session() as session, session.begin():
        org = organisations.create(session, rt.host, {"name": name,
                                                      "type_key": "core.municipality",
                                                      "custom": custom},
                                   allow_duplicates=True)
        return org.id


def custom_of(rt, org_id, model=Organisation) -> dict:
    with rt.session() as session:
        return session.get(model, org_id).custom


def refused(rt, name="X", **custom) -> dict:
    with pytest.raises(ValidationError) as caught:
        new_org(rt, name, **custom)
    return caught.value.errors


def matching(app, flt, sort="name") -> list[str]:
    with app.test_request_context():
        rt = app.extensions["kartoteka"]
        with rt.session() as session:
            query = filters.apply(records.visible(Organisation), Organisation, flt)
            return [o.name for o in session.scalars(filters.sort(query, Organisation, sort))]


# ------------------------------------------------------------------ values


def test_values_are_validated_normalised_and_stored_as_their_type(app, rt):
    define(rt, key="employees", type="integer")
    define(rt, key="budget", type="money")
    define(rt, key="signed", type="date")
    define(rt, key="tax_id", type="nip")
    define(rt, key="share", type="percentage")
    org = new_org(rt, employees="1 200", budget="12 500,50", signed="2026-03-01",
                  tax_id="PL 777-306-15-79", share="12,5")
    assert custom_of(rt, org) == {"employees": 1200, "budget": {"amount": "12500.50",
                                                                "currency": "PLN"},
                                  "signed": "2026-03-01", "tax_id": "7773061579",
                                  "share": 12.5}


def test_each_bad_value_gets_its_own_message_and_nothing_is_written(app, rt):
    define(rt, key="employees", type="integer")
    define(rt, key="tax_id", type="nip")
    define(rt, key="signed", type="date")
    with app.test_request_context():
        errors = refused(rt, employees="many", tax_id="7773061570", signed="2026-02-30",
                         colour="red")
    assert errors["custom.employees"] == "Not a valid integer."
    assert "check digit" in errors["custom.tax_id"]
    assert errors["custom.signed"] == "Not a valid date."
    assert errors["custom.colour"] == "There is no field 'colour'."
    with rt.session() as session:
        assert session.scalar(select(Organisation).where(Organisation.name == "X")) is None


def test_builtin_and_custom_problems_are_reported_together(app, rt):
    define(rt, key="employees", type="integer")
    with app.test_request_context(), rt.session() as session, pytest.raises(
            ValidationError) as caught:
        organisations.create(session, rt.host, {"name": "", "type_key": "core.municipality",
                                                "nip": "123", "custom": {"employees": "x"}})
    assert {"name", "nip", "custom.employees"} <= caught.value.errors.keys()


def test_required_field_and_default_on_create(app, rt):
    define(rt, key="region_code", type="text", required=True)
    define(rt, key="status", type="choice", default="active",
           options={"choices": [{"value": "active"}, {"value": "closed"}]})
    with app.test_request_context():
        assert refused(rt)["custom.region_code"] == "Fill in region_code."
    org = new_org(rt, region_code="PZ")
    assert custom_of(rt, org) == {"region_code": "PZ", "status": "active"}


def test_update_changes_only_the_values_given_and_clears_with_empty(app, rt):
    define(rt, key="employees", type="integer")
    define(rt, key="note", type="text")
    org_id = new_org(rt, employees=5, note="first")
    with rt.session() as session, session.begin():
        org = session.get(Organisation, org_id)
        organisations.update(session, rt.host, org, {"custom": {"note": ""}})
    assert custom_of(rt, org_id) == {"employees": 5}


def test_a_plugin_setting_custom_values_itself_is_validated_too(app, rt):
    define(rt, key="employees", type="integer")
    with rt.session() as session:
        org = Organisation(name="Y", type_key="core.company", custom={"employees": "lots"})
        with pytest.raises(ValidationError) as caught:
            records.create(session, org)
    assert "custom.employees" in caught.value.errors


def test_relation_must_point_at_an_existing_record(app, rt):
    define(rt, key="partner", type="relation", options={"target": "organisation"})
    other = new_org(rt, "Powiat Poznański")
    org = new_org(rt, partner=other)
    assert custom_of(rt, org)["partner"] == other
    with app.test_request_context():
        assert refused(rt, partner=999999)["custom.partner"] == "There is no such record."


def test_people_take_custom_fields_as_well(app, rt):
    define(rt, record_type="person", key="shoe_size", type="integer")
    with rt.session() as session, session.begin():
        person = people.create(session, {"first_name": "Anna", "last_name": "Nowak",
                                          "custom": {"shoe_size": "38"}})
    assert custom_of(rt, person.id, Person) == {"shoe_size": 38}


def test_read_only_field_cannot_be_changed_by_staff(app, rt):
    define(rt, key="erp_id", type="text", read_only=True)
    org_id = new_org(rt, erp_id="A-1")

    class Staff:
        id, is_admin = None, False

    with app.test_request_context(), rt.session() as session:
        org = session.get(Organisation, org_id)
        with pytest.raises(ValidationError) as caught:
            organisations.update(session, rt.host, org, {"custom": {"erp_id": "B-2"}},
                                 actor=Staff())
    assert caught.value.errors == {"custom.erp_id": "You cannot change erp_id."}


# ------------------------------------------------------------------ definitions


@pytest.mark.parametrize("key, message", [
    ("name", "'name' is a built-in field of these records; choose another key."),
    ("nip", "'nip' is a built-in field of these records; choose another key."),
    ("custom", "'custom' is a built-in field of these records; choose another key."),
    ("Big Key", "A key starts with a small letter and has only small letters, digits and "
                "underscores (at most 64)."),
])
def test_a_key_that_collides_or_is_malformed_is_refused(app, rt, key, message):
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        define(rt, key=key, type="text")
    assert caught.value.errors == {"key": message}


def test_a_key_is_used_once_per_record_type(app, rt):
    define(rt, key="colour", type="text")
    define(rt, record_type="person", key="colour", type="text")
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        define(rt, key="colour", type="text")
    assert caught.value.errors == {"key": "Another field already has this key."}


def test_unknown_type_and_choices_without_values_are_refused(app, rt):
    with app.test_request_context():
        with pytest.raises(ValidationError) as caught:
            define(rt, key="a", type="colour")
        assert caught.value.errors == {"type": "Choose a type from the list."}
        with pytest.raises(ValidationError) as caught:
            define(rt, key="b", type="choice", options={"choices": []})
        assert caught.value.errors == {"options.choices": "Give at least one choice."}
        with pytest.raises(ValidationError) as caught:
            define(rt, key="c", type="integer", default="ten")
        assert caught.value.errors == {"default": "Not a valid integer."}


def test_required_field_added_to_existing_records_needs_a_default_they_all_get(app, rt):
    first, second = new_org(rt, "A"), new_org(rt, "B")
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        define(rt, key="region_code", type="text", required=True)
    assert caught.value.errors == {"default": (
        "Existing records without a value for this field: 2. Give a default value, which "
        "they will get, or make the field optional.")}
    with rt.session() as session:
        assert session.scalar(select(FieldDefinition)) is None
    define(rt, key="region_code", type="text", required=True, default="PZ")
    assert custom_of(rt, first) == custom_of(rt, second) == {"region_code": "PZ"}


def test_a_choice_in_use_is_removed_only_with_a_replacement(app, rt):
    field_id = define(rt, key="status", type="choice", options={"choices": [
        {"value": "lead"}, {"value": "client"}, {"value": "former"}]})
    org = new_org(rt, status="former")
    kept = {"choices": [{"value": "lead"}, {"value": "client"}]}
    with app.test_request_context(), rt.session() as session:
        row = session.get(FieldDefinition, field_id)
        with pytest.raises(ValidationError) as caught:
            field_definitions.change(session, row, {"options": kept})
    assert caught.value.errors == {"options.choices": (
        "Records using the choice 'former': 1; say which choice they get instead.")}
    assert custom_of(rt, org) == {"status": "former"}
    with rt.session() as session, session.begin():
        row = session.get(FieldDefinition, field_id)
        field_definitions.change(session, row, {"options": kept},
                                 replacements={"former": "lead"})
    assert custom_of(rt, org) == {"status": "lead"}


def test_type_change_converts_every_value_or_refuses_with_a_report(app, rt):
    field_id = define(rt, key="size", type="text")
    good, bad = new_org(rt, "A", size="12"), new_org(rt, "Bad one", size="twelve")
    with app.test_request_context(), rt.session() as session:
        row = session.get(FieldDefinition, field_id)
        with pytest.raises(ChangeRefused) as caught:
            field_definitions.change_type(session, row, "integer")
    assert caught.value.total == 1
    assert caught.value.errors == {"type": "Records whose value is not a valid whole number: "
                                           "1; change those values first."}
    assert [(p.record_id, p.name, p.value) for p in caught.value.problems] == [
        (bad, "Bad one", "twelve")]
    assert custom_of(rt, good) == {"size": "12"}
    with rt.session() as session, session.begin():
        org = session.get(Organisation, bad)
        organisations.update(session, rt.host, org, {"custom": {"size": "13"}})
    with rt.session() as session, session.begin():
        converted = field_definitions.change_type(session, session.get(FieldDefinition,
                                                                       field_id), "integer")
    assert converted == 2
    assert custom_of(rt, good) == {"size": 12} and custom_of(rt, bad) == {"size": 13}


def test_deleting_a_field_archives_its_values_and_restoring_brings_them_back(app, rt):
    field_id = define(rt, key="size", type="integer")
    org = new_org(rt, size=7)
    with rt.session() as session, session.begin():
        assert field_definitions.archive(session, session.get(FieldDefinition, field_id)) == 1
    assert custom_of(rt, org) == {}
    with app.test_request_context():
        assert "custom.size" in refused(rt, size=3)
        with pytest.raises(ValidationError) as caught:
            define(rt, key="size", type="text")
        assert caught.value.errors == {"key": "A deleted field has this key; restore it or "
                                              "choose another key."}
    with rt.session() as session, session.begin():
        assert field_definitions.restore(session, session.get(FieldDefinition, field_id)) == 1
    assert custom_of(rt, org) == {"size": 7}


def test_definition_changes_are_audited(app, rt):
    field_id = define(rt, key="size", type="integer")
    with rt.session() as session, session.begin():
        field_definitions.change(session, session.get(FieldDefinition, field_id),
                                 {"label_pl": "Rozmiar"})
    with rt.session() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "field_definitions").order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes["label_pl"] == ["size", "Rozmiar"]


def test_a_change_made_in_one_process_is_seen_by_another_without_restart(
        app, rt, kartoteka_app_factory):
    other = kartoteka_app_factory(default_locale="en").extensions["kartoteka"]
    with other.session() as session:
        assert fields.definitions(session, "organisation") == ()
    define(rt, key="size", type="integer")
    with other.session() as session:
        assert [d.key for d in fields.definitions(session, "organisation")] == ["size"]


# ------------------------------------------------------------------ filters and sorting


def test_filters_compare_each_type_as_its_kind(app, rt):
    define(rt, key="employees", type="integer")
    define(rt, key="budget", type="money")
    define(rt, key="signed", type="date")
    define(rt, key="status", type="choice", options={"choices": [{"value": "lead"},
                                                                 {"value": "client"}]})
    define(rt, key="topics", type="multi_choice", options={"choices": [
        {"value": "pv"}, {"value": "grants"}, {"value": "training"}]})
    define(rt, key="member", type="boolean")
    new_org(rt, "A", employees=9, budget="100", signed="2026-01-10", status="lead",
            topics="pv, grants", member=True)
    new_org(rt, "B", employees=100, budget="5000", signed="2025-12-31", status="client",
            topics=["training"], member=False)
    new_org(rt, "C")
    assert matching(app, {"field": "custom.employees", "op": "gt", "value": 10}) == ["B"]
    assert matching(app, {"field": "custom.budget", "op": "between",
                          "value": [50, 200]}) == ["A"]
    assert matching(app, {"field": "custom.signed", "op": "gte",
                          "value": "2026-01-01"}) == ["A"]
    assert matching(app, {"field": "custom.status", "op": "in",
                          "value": ["client"]}) == ["B"]
    assert matching(app, {"field": "custom.topics", "op": "eq", "value": "grants"}) == ["A"]
    assert matching(app, {"field": "custom.topics", "op": "in",
                          "value": ["training", "pv"]}) == ["A", "B"]
    assert matching(app, {"field": "custom.topics", "op": "empty"}) == ["C"]
    assert matching(app, {"field": "custom.member", "op": "eq", "value": True}) == ["A"]
    assert matching(app, {"field": "custom.employees", "op": "empty"}) == ["C"]
    assert matching(app, None, sort="-custom.employees") == ["B", "A", "C"]


def test_filter_on_a_wrong_kind_of_value_is_a_field_level_error(app, rt):
    define(rt, key="employees", type="integer")
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        matching(app, {"field": "custom.employees", "op": "contains", "value": "x"})
    assert list(caught.value.errors) == ["filter.op"]


def test_filter_on_an_indexed_field_uses_its_index(app, rt):
    define(rt, key="employees", type="integer", indexed=True)
    for i in range(30):
        new_org(rt, f"Org {i}", employees=i)
    with app.test_request_context(), rt.session() as session:
        query = filters.apply(select(Organisation.id), Organisation,
                              {"field": "custom.employees", "op": "eq", "value": 7})
        sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in session.execute(text(f"EXPLAIN {sql}")))
        else:
            plan = " ".join(r[3] for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert session.execute(query).scalars().all() != []
    assert "ix_cf_organisations_employees" in plan


def test_switching_the_index_off_drops_it(app, rt):
    field_id = define(rt, key="employees", type="integer", indexed=True)
    with rt.session() as session, session.begin():
        field_definitions.change(session, session.get(FieldDefinition, field_id),
                                 {"indexed": False})
    with rt.session() as session:
        names = _index_names(session)
    assert "ix_cf_organisations_employees" not in names


def _index_names(session) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text("SELECT indexname FROM pg_indexes "
                                    "WHERE schemaname = current_schema()"))
    else:
        rows = session.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
    return {r[0] for r in rows}


# ------------------------------------------------------------------ a plugin's field type


def test_a_plugin_field_type_and_shipped_field_work_end_to_end(kartoteka_app_factory):
    app = kartoteka_app_factory(["photovoltaics"], default_locale="en")
    rt = app.extensions["kartoteka"]
    with app.test_request_context():
        with rt.session() as session:
            shipped = fields.definition(session, "organisation", "photovoltaics_power")
            assert (shipped.type, shipped.indexed, shipped.source) == (
                "photovoltaics.kwp", True, "photovoltaics")
            assert "ix_cf_organisations_photovoltaics_power" in _index_names(session)
        org = new_org(rt, "Dom Kowalskich", photovoltaics_power="9,84")
        assert custom_of(rt, org) == {"photovoltaics_power": 9.84}
        errors = refused(rt, photovoltaics_power="-3")
        assert errors == {"custom.photovoltaics_power": "Give a power above 0 and at most "
                                                        "50000 kWp."}
        with rt.session() as session:
            shown = fields.display(session.get(Organisation, org), shipped)
        assert shown == "9.84\u00a0kWp"
        assert matching(app, {"field": "custom.photovoltaics_power", "op": "gte",
                              "value": 5}) == ["Dom Kowalskich"]


def test_decimals_keep_their_value(app, rt):
    define(rt, key="rate", type="decimal", options={"places": 4})
    org = new_org(rt, rate="0,1235")
    with rt.session() as session:
        d = fields.definition(session, "organisation", "rate")
        kind = fields.field_types()["decimal"]
        assert kind.make(d).deserialize(custom_of(rt, org)["rate"]) == Decimal("0.1235")


# ------------------------------------------------------------------ export


def test_export_has_a_column_per_custom_field_with_typed_cells(app, rt):
    import io

    from openpyxl import load_workbook

    from core import exporting

    define(rt, key="employees", type="integer", label_en="Employees")
    define(rt, key="budget", type="money", label_en="Budget")
    define(rt, key="status", type="choice", label_en="Status", options={"choices": [
        {"value": "lead", "label_pl": "Potencjalny", "label_en": "Prospect"}]})
    define(rt, key="secret", type="text", hidden=True)
    new_org(rt, "A", employees=12, budget="10,50", status="lead", secret="x")
    out = io.BytesIO()
    with app.test_request_context(), rt.session() as session:
        columns = exporting.default_columns(session, rt.host, Organisation)
        exporting.export(session, records.visible(Organisation), columns, out, "xlsx")
    header, row = [[c.value for c in r] for r in load_workbook(out).active.iter_rows()]
    assert header[-3:] == ["Employees", "Budget", "Status"]
    assert row[-3:] == [12, 10.5, "Prospect"]


# ------------------------------------------------------------------ import


def test_imported_records_get_the_defaults_of_custom_fields(app, rt):
    import io

    from core import importing

    define(rt, key="status", type="choice", default="lead",
           options={"choices": [{"value": "lead"}, {"value": "client"}]})
    source = io.BytesIO("Nazwa;Typ\nGmina Kórnik;Gmina\n".encode())
    with app.test_request_context():
        report = importing.run_import(rt.session, rt.host, source, "organisation",
                                      {"Nazwa": "name", "Typ": "type_key"})
    assert report.created == 1
    with rt.session() as session:
        assert session.scalar(select(Organisation)).custom == {"status": "lead"}


def test_a_cached_schema_answers_each_request_in_its_own_language(app, rt):
    define(rt, key="floors", type="integer", options={"min": 1, "max": 50})
    with app.test_request_context():
        assert refused(rt, floors=99) == {"custom.floors": "Give a value from 1 to 50."}
    with app.test_request_context(headers={"Accept-Language": "pl"}, path="/api/v1/x"):
        assert refused(rt, floors=99) == {"custom.floors": "Podaj wartość od 1 do 50."}
