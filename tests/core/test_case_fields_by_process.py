"""Case fields limited to processes: a print project's fields are not on a photovoltaic
installation's form, card or API answer, a value for them is refused there, and
administrators choose the processes of a field on its page and through the API."""

import re

import pytest
from sqlalchemy import select, update

from core import cases, field_definitions, roles, tokens, users
from core.errors import ValidationError
from core.models import Case, FieldDefinition
from page_helpers import error_under, fetch, show, text, visible, writing

PRINTING, PV = "printing.project", "photovoltaics.installation"
SIGNED_ORDER = "printing_signed_order"
SIGNED_ORDER_LABEL = "Signed order received"
ADVANCE = "photovoltaics_storage"
PASSWORD = "correct horse battery"


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing", "photovoltaics"], default_locale="en")


# --------------------------------------------------------------------- helpers


def open_case(app, process_key, title="Roof in Kórnik", **data) -> int:
    rt = app.extensions["kartoteka"]
    with app.app_context(), writing(app) as (session, admin):
        return cases.create(
            session, rt.host, {"title": title, "process_key": process_key, **data}, admin
        ).id


def leave_value(app, case_id, **custom) -> None:
    """A value stored before its field was limited to another process."""
    with writing(app) as (session, _admin):
        stored = session.get(Case, case_id).custom or {}
        session.execute(update(Case).where(Case.id == case_id).values(custom={**stored, **custom}))


def define(app, **data) -> int:
    data = {"record_type": "case", "type": "text", "label_pl": data["key"], **data}
    with app.app_context(), writing(app) as (session, admin):
        return field_definitions.create(session, data, admin).id


def row_of(app, key, record_type="case") -> FieldDefinition:
    with app.extensions["kartoteka"].session() as session:
        return session.scalar(
            select(FieldDefinition).where(
                FieldDefinition.record_type == record_type, FieldDefinition.key == key
            )
        )


def api_caller(app, email="api@example.com", admin=True):
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        user = users.create_user(session, email, PASSWORD, is_admin=admin)
        if not admin:
            roles.assign(session, user, ["staff"])
        secret = tokens.create(session, user, "test")[1]
    client = app.test_client()

    def call(method, path, **kwargs):
        kwargs["headers"] = {
            "Authorization": f"Bearer {secret}",
            "Accept-Language": "en",
            **kwargs.get("headers", {}),
        }
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def details(page: str) -> dict[str, str]:
    """The custom values a card shows, by label."""
    blocks = "".join(re.findall(r'<dl class="details custom">(.*?)</dl>', page, re.S))
    return {
        visible(dt): visible(dd)
        for dt, dd in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", blocks, re.S)
    }


def checked_processes(page: str) -> list[str]:
    box = re.search(r'<fieldset class="field processes.*?</fieldset>', page, re.S).group(0)
    return re.findall(r'value="([^"]+)" checked', box)


# --------------------------------------------------------------------- the case pages


def test_the_form_offers_only_the_fields_of_the_chosen_process(client):
    page = show(client, f"/cases/new?process={PV}")
    assert f'name="custom.{ADVANCE}"' in page
    assert f'name="custom.{SIGNED_ORDER}"' not in page and SIGNED_ORDER_LABEL not in page
    page = show(client, f"/cases/new?process={PRINTING}")
    assert f'name="custom.{SIGNED_ORDER}"' in page and f'name="custom.{ADVANCE}"' not in page


def test_a_photovoltaic_case_shows_no_printing_field_a_print_project_does(app, client):
    installation = open_case(app, PV, custom={ADVANCE: True})
    leave_value(app, installation, **{SIGNED_ORDER: True})
    project = open_case(app, PRINTING, "Banners", custom={SIGNED_ORDER: True})
    card = details(show(client, f"/cases/{installation}"))
    assert card.get("With energy storage") == "Yes"
    assert SIGNED_ORDER_LABEL not in card
    assert f'name="custom.{SIGNED_ORDER}"' not in show(client, f"/cases/{installation}/edit")
    assert details(show(client, f"/cases/{project}"))[SIGNED_ORDER_LABEL] == "Yes"
    assert f'name="custom.{SIGNED_ORDER}"' in show(client, f"/cases/{project}/edit")


def test_saving_a_photovoltaic_case_keeps_the_old_printing_value_unseen(app, client):
    installation = open_case(app, PV)
    leave_value(app, installation, **{SIGNED_ORDER: True})
    case = fetch(app, Case, installation)
    response = client.post(
        f"/cases/{installation}/edit",
        data={
            "title": "Roof in Mosina",
            "currency": "PLN",
            "version": str(case.version),
            f"custom.{ADVANCE}": "true",
            f"custom.{SIGNED_ORDER}": "false",
        },
    )  # not on the form: not read
    assert response.status_code == 302, text(response)
    assert fetch(app, Case, installation).custom == {ADVANCE: True, SIGNED_ORDER: True}


def test_changing_the_process_of_a_new_case_shows_its_fields_before_saving(app, client):
    typed = {
        "process_key": PV,
        "fields_for": PRINTING,
        "title": "Roof in Kórnik",
        "currency": "PLN",
        f"custom.{SIGNED_ORDER}": "true",
    }
    response = client.post("/cases/new", data=typed)
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "process_key") == (
        "The fields of this process are shown now; fill them in and save again."
    )
    assert f'name="custom.{ADVANCE}"' in page and f'name="custom.{SIGNED_ORDER}"' not in page
    assert 'value="Roof in Kórnik"' in page and f'name="fields_for" value="{PV}"' in page
    assert not fetch_all(app)
    shown = client.post("/cases/new", data={**typed, "action": "fields"})
    assert error_under(text(shown), "process_key") is None and not fetch_all(app)
    saved = client.post("/cases/new", data={**typed, "fields_for": PV, f"custom.{ADVANCE}": "true"})
    assert saved.status_code == 302, text(saved)
    (case,) = fetch_all(app)
    assert (case.process_key, case.custom) == (PV, {ADVANCE: True})


def fetch_all(app) -> list[Case]:
    with app.extensions["kartoteka"].session() as session:
        return list(session.scalars(select(Case)))


def test_a_required_field_of_one_process_is_not_asked_of_another(app, client):
    define(
        app,
        key="sheet_size",
        label_en="Sheet size",
        required=True,
        options={"processes": [PRINTING]},
    )
    response = client.post(
        "/cases/new", data={"process_key": PV, "fields_for": PV, "title": "Roof", "currency": "PLN"}
    )
    assert response.status_code == 302, text(response)
    refused = client.post(
        "/cases/new",
        data={
            "process_key": PRINTING,
            "fields_for": PRINTING,
            "title": "Banners",
            "currency": "PLN",
            "custom.sheet_size": "",
        },
    )
    assert error_under(text(refused), "custom.sheet_size") == "Fill in Sheet size."


def test_a_copy_leaves_an_old_value_of_another_process_behind(app):
    installation = open_case(app, PV, custom={ADVANCE: True})
    leave_value(app, installation, **{SIGNED_ORDER: True})
    rt = app.extensions["kartoteka"]
    with app.app_context(), writing(app) as (session, admin):
        copy = cases.copy(session, rt.host, session.get(Case, installation), admin)
        assert copy.custom == {ADVANCE: True}


def test_a_portal_account_still_reaches_no_case_page(app, client):
    installation = open_case(app, PV)
    with writing(app) as (session, _admin):
        from core import organisations

        org = organisations.create(
            session,
            app.extensions["kartoteka"].host,
            {"name": "Gmina Kórnik", "type_key": "core.municipality"},
        )
        users.create_user(
            session, "portal@kornik.pl", PASSWORD, "Kórnik", portal_of=org, portal_admin=True
        )
    portal = app.test_client()
    portal.post("/login", data={"email": "portal@kornik.pl", "password": PASSWORD})
    for path in (
        f"/cases/new?process={PV}",
        f"/cases/{installation}",
        f"/cases/{installation}/edit",
        "/admin/fields/new",
    ):
        assert portal.get(path).status_code == 404, path
    assert (
        portal.post(f"/cases/{installation}/edit", data={f"custom.{ADVANCE}": "true"}).status_code
        == 404
    )
    assert fetch(app, Case, installation).custom in ({}, None)


# --------------------------------------------------------------------- the API


def test_the_api_shows_each_case_the_fields_of_its_process(app):
    api = api_caller(app)
    installation = open_case(app, PV, custom={ADVANCE: True})
    leave_value(app, installation, **{SIGNED_ORDER: True})
    project = open_case(app, PRINTING, "Banners", custom={SIGNED_ORDER: True})
    assert api("get", f"/cases/{installation}").get_json()["custom"] == {ADVANCE: True}
    assert api("get", f"/cases/{project}").get_json()["custom"] == {SIGNED_ORDER: True}
    listed = {c["id"]: c["custom"] for c in api("get", "/cases/").get_json()["items"]}
    assert listed == {installation: {ADVANCE: True}, project: {SIGNED_ORDER: True}}


def test_the_api_refuses_a_value_of_another_process_naming_the_field(app):
    api = api_caller(app)
    response = api(
        "post",
        "/cases/",
        json={"title": "Roof", "process_key": PV, "custom": {SIGNED_ORDER: True, ADVANCE: True}},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        f"custom.{SIGNED_ORDER}": (
            f"{SIGNED_ORDER_LABEL} is not a field of the process “Photovoltaic installation”."
        )
    }
    assert not fetch_all(app)
    installation = open_case(app, PV)
    etag = api("get", f"/cases/{installation}").headers["ETag"]
    changed = api(
        "patch",
        f"/cases/{installation}",
        json={"custom": {SIGNED_ORDER: True}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 422
    assert list(changed.get_json()["errors"]) == [f"custom.{SIGNED_ORDER}"]
    assert fetch(app, Case, installation).custom in ({}, None)


def test_the_api_may_clear_an_old_value_of_another_process(app):
    api = api_caller(app)
    installation = open_case(app, PV, custom={ADVANCE: True})
    leave_value(app, installation, **{SIGNED_ORDER: True})
    etag = api("get", f"/cases/{installation}").headers["ETag"]
    cleared = api(
        "patch",
        f"/cases/{installation}",
        json={"custom": {SIGNED_ORDER: None}},
        headers={"If-Match": etag},
    )
    assert cleared.status_code == 200, cleared.get_json()
    assert fetch(app, Case, installation).custom == {ADVANCE: True}


def test_the_openapi_document_names_the_processes_of_a_field(app):
    spec = api_caller(app)("get", "/openapi.json").get_json()
    prop = spec["components"]["schemas"]["Case"]["properties"]["custom"]["properties"]
    assert prop[SIGNED_ORDER]["x-processes"] == [PRINTING]
    assert "Only on cases of the processes: printing.project." in prop[SIGNED_ORDER]["description"]


def test_the_field_api_reads_and_writes_the_processes(app):
    api = api_caller(app)
    read = api("get", f"/fields/case/{SIGNED_ORDER}")
    assert read.get_json()["processes"] == [PRINTING]
    created = api(
        "post",
        "/fields/",
        json={
            "record_type": "case",
            "key": "site",
            "type": "text",
            "label_pl": "Miejsce",
            "processes": [PV],
        },
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["processes"] == [PV]
    relabelled = api(
        "patch",
        "/fields/case/site",
        json={"label_en": "Site"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert relabelled.get_json()["processes"] == [PV]
    unknown = api(
        "patch",
        "/fields/case/site",
        json={"processes": [PV, "nope.process"]},
        headers={"If-Match": relabelled.headers["ETag"]},
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == {
        "processes": ("There is no process 'nope.process'; choose from the enabled ones.")
    }
    widened = api(
        "patch",
        "/fields/case/site",
        json={"processes": []},
        headers={"If-Match": relabelled.headers["ETag"]},
    )
    assert widened.get_json()["processes"] == []
    organisation = api(
        "post",
        "/fields/",
        json={
            "record_type": "organisation",
            "key": "site",
            "type": "text",
            "label_pl": "Miejsce",
            "processes": [PV],
        },
    )
    assert organisation.status_code == 422
    assert organisation.get_json()["errors"] == {
        "processes": "Only fields of cases can be limited to processes."
    }
    assert row_of(app, "site", "organisation") is None


def test_the_field_api_needs_the_permission_to_change_processes(app):
    api = api_caller(app, "staff@example.com", admin=False)
    etag = api("get", f"/fields/case/{SIGNED_ORDER}").headers["ETag"]
    response = api(
        "patch", f"/fields/case/{SIGNED_ORDER}", json={"processes": []}, headers={"If-Match": etag}
    )
    assert response.status_code == 403
    assert row_of(app, SIGNED_ORDER).options["processes"] == [PRINTING]


# --------------------------------------------------------------------- the field pages


def test_the_field_list_names_the_processes_of_a_field(client):
    page = show(client, "/admin/fields/")
    row = visible(
        re.search(rf'<tr id="field-\d+">(?:(?!</tr>).)*{SIGNED_ORDER}.*?</tr>', page, re.S).group(0)
    )
    assert "only for: Print project" in row


def test_an_administrator_limits_a_field_to_processes_and_changes_them(app, client):
    page = show(client, "/admin/fields/new?record_type=case")
    assert f'value="{PRINTING}"' in page and f'value="{PV}"' in page
    response = client.post(
        "/admin/fields/new",
        data={
            "record_type": "case",
            "key": "site",
            "type": "text",
            "label_pl": "Miejsce",
            "label_en": "Site",
            "position": "0",
            "processes": [PV],
        },
    )
    assert response.status_code == 302, text(response)
    field_id = row_of(app, "site").id
    assert row_of(app, "site").options["processes"] == [PV]
    assert 'name="custom.site"' in show(client, f"/cases/new?process={PV}")
    assert 'name="custom.site"' not in show(client, f"/cases/new?process={PRINTING}")
    assert checked_processes(show(client, f"/admin/fields/{field_id}/edit")) == [PV]
    response = client.post(
        f"/admin/fields/{field_id}/edit",
        data={
            "label_pl": "Miejsce",
            "label_en": "Site",
            "position": "0",
            "processes": [PRINTING, PV],
        },
    )
    assert response.status_code == 302, text(response)
    assert row_of(app, "site").options["processes"] == [PRINTING, PV]
    client.post(f"/admin/fields/{field_id}/edit", data={"label_pl": "Miejsce", "position": "0"})
    assert row_of(app, "site").options["processes"] == []  # none ticked: every process
    assert 'name="custom.site"' in show(client, f"/cases/new?process={PRINTING}")


def test_an_unknown_process_is_refused_next_to_the_boxes(app, client):
    response = client.post(
        "/admin/fields/new",
        data={
            "record_type": "case",
            "key": "site",
            "type": "text",
            "label_pl": "Miejsce",
            "position": "0",
            "processes": [PV, "nope.process"],
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert error_under(page, "processes") == (
        "There is no process 'nope.process'; choose from the enabled ones."
    )
    assert 'value="Miejsce"' in page and PV in checked_processes(page)
    assert row_of(app, "site") is None
    organisation = client.post(
        "/admin/fields/new",
        data={
            "record_type": "organisation",
            "key": "site",
            "type": "text",
            "label_pl": "Miejsce",
            "position": "0",
            "processes": [PV],
        },
    )
    assert error_under(text(organisation), "processes") == (
        "Only fields of cases can be limited to processes."
    )
    assert row_of(app, "site", "organisation") is None


def test_a_field_of_a_disabled_plugins_process_keeps_it_when_edited(app, client):
    field_id = define(app, key="site", label_en="Site", options={"processes": [PV]})
    with writing(app) as (session, _admin):
        row = session.get(FieldDefinition, field_id)
        row.options = {**row.options, "processes": [PV, "visits.visit"]}
    page = show(client, f"/admin/fields/{field_id}/edit")
    assert checked_processes(page) == [PV, "visits.visit"]
    response = client.post(
        f"/admin/fields/{field_id}/edit",
        data={"label_pl": "Miejsce", "position": "0", "processes": [PV, "visits.visit"]},
    )
    assert response.status_code == 302, text(response)
    assert row_of(app, "site").options["processes"] == [PV, "visits.visit"]


def test_staff_without_the_permission_cannot_open_the_field_pages(app, kartoteka_login):
    with writing(app) as (session, _admin):
        user = users.create_user(session, "staff@example.com", PASSWORD, "Staff")
        roles.assign(session, user, ["staff"])
    staff_client = kartoteka_login(app.test_client(), "staff@example.com", PASSWORD)
    field_id = row_of(app, SIGNED_ORDER).id
    assert staff_client.get(f"/admin/fields/{field_id}/edit").status_code == 403
    assert (
        staff_client.post(
            f"/admin/fields/{field_id}/edit", data={"label_pl": "x", "position": "0"}
        ).status_code
        == 403
    )
    assert row_of(app, SIGNED_ORDER).options["processes"] == [PRINTING]


def test_making_a_field_required_counts_only_the_cases_of_its_processes(app):
    field_id = define(app, key="site", label_en="Site", options={"processes": [PRINTING]})
    open_case(app, PRINTING, "Banners")
    open_case(app, PV)
    with (
        pytest.raises(ValidationError) as refused,
        app.app_context(),
        writing(app) as (
            session,
            admin,
        ),
    ):
        row = session.get(FieldDefinition, field_id)
        field_definitions.change(session, row, {"required": True}, admin)
    assert refused.value.errors["default"].startswith(
        "Existing records without a value for this field: 1."
    )
    with app.app_context(), writing(app) as (session, admin):
        row = session.get(FieldDefinition, field_id)
        field_definitions.change(session, row, {"required": True, "default": "Hall"}, admin)
    assert {c.process_key: (c.custom or {}).get("site") for c in fetch_all(app)} == {
        PRINTING: "Hall",
        PV: None,
    }
    with app.app_context(), writing(app) as (session, admin):  # now on more cases
        row = session.get(FieldDefinition, field_id)
        field_definitions.change(session, row, {"options": {"processes": [PRINTING, PV]}}, admin)
    assert {c.process_key: (c.custom or {}).get("site") for c in fetch_all(app)} == {
        PRINTING: "Hall",
        PV: "Hall",
    }


# --------------------------------------------------------------------- shipped fields


def test_an_administrators_processes_stay_across_a_restart(app, kartoteka_app_factory):
    with app.app_context(), writing(app) as (session, admin):
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == SIGNED_ORDER))
        field_definitions.change(session, row, {"options": {"processes": [PRINTING, PV]}}, admin)
    restarted = kartoteka_app_factory(["printing", "photovoltaics"], default_locale="en")
    with restarted.extensions["kartoteka"].session() as session:
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == SIGNED_ORDER))
        assert row.options["processes"] == [PRINTING, PV]


def test_a_field_shipped_before_it_was_limited_gets_its_processes_once(app):
    rt = app.extensions["kartoteka"]
    shipped = next(f for plugin, f in rt.host.fields if f.key == SIGNED_ORDER)
    with writing(app) as (session, _admin):
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == SIGNED_ORDER))
        row.options = {k: v for k, v in row.options.items() if k != "processes"}
    with app.app_context(), writing(app) as (session, _admin):
        field_definitions.ship(session, shipped, "printing", rt.host)
    assert row_of(app, SIGNED_ORDER).options["processes"] == [PRINTING]
    with app.app_context(), writing(app) as (session, admin):
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == SIGNED_ORDER))
        field_definitions.change(session, row, {"options": {"processes": []}}, admin)
    with app.app_context(), writing(app) as (session, _admin):
        field_definitions.ship(session, shipped, "printing", rt.host)
    assert row_of(app, SIGNED_ORDER).options["processes"] == []


def test_a_type_change_keeps_the_processes(app):
    field_id = define(app, key="site", label_en="Site", options={"processes": [PV]})
    with app.app_context(), writing(app) as (session, admin):
        row = session.get(FieldDefinition, field_id)
        field_definitions.change_type(session, row, "long_text", admin)
    assert row_of(app, "site").options["processes"] == [PV]
