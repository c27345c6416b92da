"""Price lists (``core.price_lists``): the service, the staff pages and the API.

A plugin registers each list; here the tests register their own on the test's host. Those
with the list's permission add, change and retire its items; the rest of the staff read
them (403 on every change, and no controls shown). Bad input is refused field by field
with nothing written, on the forms with what was typed kept, in the API as 422. Every
test runs on SQLite and PostgreSQL."""

import re
from decimal import Decimal

import pytest
import schemathesis
from api_helpers import PASSWORD, callers, created
from schemathesis_checks import CHECKS, run
from sqlalchemy import select
from test_api import token_for

from core import price_lists, roles, users
from core.errors import Forbidden, ValidationError
from core.models import PriceItem, User
from core.price_lists import PriceList
from page_helpers import count, error_under, fetch, flashes, show, text, value_of, visible

PARTS = PriceList("test.parts", {"pl": "Części", "en": "Parts"},
                  {"panel": {"pl": "Panele", "en": "Panels"},
                   "labour": {"pl": "Robocizna", "en": "Labour"}})
# Kept by the accountants, not by whoever keeps the parts.
FEES = PriceList("test.fees", {"pl": "Opłaty", "en": "Fees"}, permission="core.billing")
PANEL = {"code": "JA-405", "name": "Panel JA Solar 405 W", "category": "panel",
         "unit": "szt.", "net_price": "1 234,50", "vat_rate": "8"}


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(default_locale="en")


@pytest.fixture
def world(rt):
    """The two lists registered; a keeper (core.manage_price_lists) and a reader (staff
    only); their ids by name."""
    rt.host.price_lists = {**rt.host.price_lists, PARTS.key: PARTS, FEES.key: FEES}
    with rt.session() as s, s.begin():
        pricing = roles.create(s, "pricing", "Pricing")
        roles.set_permissions(s, pricing, ["core.manage_price_lists"])
        return {"keeper": users.create_user(s, "keeper@example.com", PASSWORD, "Kasia",
                                            roles=["staff", "pricing"]).id,
                "reader": users.create_user(s, "reader@example.com", PASSWORD, "Rafał",
                                            roles=["staff"]).id,
                "admin": users.create_user(s, "boss@example.com", PASSWORD, "Boss",
                                           is_admin=True).id}


class writing:
    """A committed transaction of the service, as ``name``, in a request of the app
    (its messages are translated)."""

    def __init__(self, app, world, name="keeper"):
        self.app, self.world, self.name = app, world, name

    def __enter__(self):
        self.context = self.app.test_request_context()
        self.context.__enter__()
        self.session = self.app.extensions["kartoteka"].session()
        self.session.begin()
        return self.session, self.session.get(User, self.world[self.name])

    def __exit__(self, *exc):
        if exc[0] is None:
            self.session.commit()
        self.session.close()
        self.context.__exit__(*exc)


def add(app, world, price_list=PARTS, **data) -> int:
    with writing(app, world) as (s, keeper):
        actor = keeper if price_list is PARTS else s.get(User, world["admin"])
        return price_lists.create(s, price_list, {**PANEL, **data}, actor).id


def stored(app, item_id) -> PriceItem:
    return fetch(app, PriceItem, item_id)


def login(app, kartoteka_login, name):
    return kartoteka_login(app.test_client(), f"{name}@example.com", PASSWORD)


# --------------------------------------------------------------------- the service


def test_an_item_is_created_changed_and_retired(app, world):
    item_id = add(app, world)
    add(app, world, name="Montaż", category="labour", unit="h", net_price="90", vat_rate="23")
    found = stored(app, item_id)
    assert (found.list_key, found.name, found.net_price, found.vat_rate, found.active) == (
        "test.parts", "Panel JA Solar 405 W", Decimal("1234.5000"), "8", True)
    with writing(app, world) as (s, keeper):
        item = price_lists.get(s, PARTS, item_id)
        price_lists.update(s, PARTS, item, {"net_price": "0,0450"}, keeper,
                           expected_version=found.version)
    assert stored(app, item_id).net_price == Decimal("0.0450")
    with pytest.raises(ValidationError) as refused, writing(app, world) as (s, keeper):
        price_lists.update(s, PARTS, price_lists.get(s, PARTS, item_id), {"name": "X"},
                           keeper, expected_version=found.version)
    assert set(refused.value.errors) == {"version"}
    with writing(app, world) as (s, keeper):
        price_lists.retire(s, PARTS, price_lists.get(s, PARTS, item_id), keeper)
    with writing(app, world) as (s, _keeper):
        assert [i.name for i in price_lists.items(s, PARTS)] == ["Montaż"]
        assert [i.name for i in price_lists.items(s, PARTS, with_retired=True,
                                                  category="panel")] == [
            "Panel JA Solar 405 W"]
        assert price_lists.get(s, FEES, item_id) is None  # another list's


@pytest.mark.parametrize(("data", "wrong"), [
    ({"name": " "}, {"name"}),
    ({"net_price": "-0,01"}, {"net_price"}),
    ({"category": "roof"}, {"category"}),
    ({"vat_rate": "7"}, {"vat_rate"}),
    ({"name": "", "net_price": "-1", "category": "roof", "vat_rate": "22"},
     {"name", "net_price", "category", "vat_rate"}),
])
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(app, world, data, wrong):
    with pytest.raises(ValidationError) as refused, writing(app, world) as (s, keeper):
        price_lists.create(s, PARTS, {**PANEL, **data}, keeper)
    assert set(refused.value.errors) == wrong
    assert all(refused.value.errors.values())
    assert count(app, PriceItem) == 0


def test_only_those_with_the_lists_permission_keep_it(app, world):
    with pytest.raises(Forbidden), writing(app, world, "reader") as (s, reader):
        price_lists.create(s, PARTS, PANEL, reader)
    with pytest.raises(Forbidden), writing(app, world) as (s, keeper):
        price_lists.create(s, FEES, {"name": "Opłata", "net_price": "10"}, keeper)
    assert count(app, PriceItem) == 0


# --------------------------------------------------------------------- the staff pages


def rows(page: str) -> dict[int, str]:
    """The items the list shows, as a reader sees each row."""
    return {int(i): visible(row) for i, row in
            re.findall(r'<tr id="item-(\d+)"[^>]*>(.*?)</tr>', page, re.S)}


def groups(page: str) -> list[str]:
    return re.findall(r'<th scope="colgroup"[^>]*>(.*?)</th>', page)


def test_a_keeper_adds_an_item_with_a_polish_price_and_finds_it_under_its_category(
        app, world, kartoteka_login):
    keeper = login(app, kartoteka_login, "keeper")
    index = show(keeper, "/price-lists/")
    assert "Parts" in index and "Fees" in index and "Panels, Labour" in index
    assert '<a href="/price-lists/" aria-current="page">Price lists</a>' in index  # menu
    form = show(keeper, "/price-lists/test.parts/new")
    assert re.findall(r'<option value="(\w+)"[^>]*>(\w+)</option>', form)[:2] == [
        ("panel", "Panels"), ("labour", "Labour")]
    assert re.search(r'<option value="23" selected', form)
    response = keeper.post("/price-lists/test.parts/new", data=PANEL)
    assert response.status_code == 302 and response.location.endswith("/price-lists/test.parts/")
    add(app, world, name="Montaż", category="labour", unit="h", net_price="90",
        vat_rate="23")
    page = show(keeper, "/price-lists/test.parts/")
    assert "Saved." in flashes(page)
    assert groups(page) == ["Panels", "Labour"]
    item_id = next(i for i, row in rows(page).items() if "JA-405" in row)
    assert rows(page)[item_id] == "JA-405 Panel JA Solar 405 W szt. PLN1,234.50 8% Retire"
    assert stored(app, item_id).net_price == Decimal("1234.5000")
    # The form shows the stored price as it may be typed again.
    assert value_of(show(keeper, f"/price-lists/test.parts/{item_id}"), "net_price") == \
        "1234.50"


def test_a_polish_keeper_reads_the_categories_and_prices_in_polish(app, world,
                                                                    kartoteka_login):
    add(app, world)
    keeper = login(app, kartoteka_login, "keeper")
    keeper.get("/lang/pl")
    page = show(keeper, "/price-lists/test.parts/")
    assert groups(page) == ["Panele"] and "1\xa0234,50\xa0zł" in page
    assert "<h1>Części</h1>" in page
    assert ">Robocizna</option>" in show(keeper, "/price-lists/test.parts/new")


def test_a_refused_form_names_each_field_keeps_what_was_typed_and_writes_nothing(
        app, world, kartoteka_login):
    keeper = login(app, kartoteka_login, "keeper")
    page = text(keeper.post("/price-lists/test.parts/new", data={
        **PANEL, "name": " ", "net_price": "-5", "category": "roof", "vat_rate": "7",
        "unit": ""}))
    for name in ("name", "net_price", "category", "vat_rate", "unit"):
        assert error_under(page, name), name
    assert error_under(page, "net_price") == "Enter a price of 0 or more."
    assert (value_of(page, "net_price"), value_of(page, "code")) == ("-5", "JA-405")
    assert "Nothing was saved" in page
    page = text(keeper.post("/price-lists/test.parts/new", data={**PANEL, "net_price": " "}))
    assert error_under(page, "net_price") == "Enter the price."  # a blank is no price
    assert count(app, PriceItem) == 0


def test_an_item_saved_meanwhile_is_not_overwritten(app, world, kartoteka_login):
    item_id = add(app, world)
    keeper = login(app, kartoteka_login, "keeper")
    form = show(keeper, f"/price-lists/test.parts/{item_id}")
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    with writing(app, world) as (s, someone):
        price_lists.update(s, PARTS, price_lists.get(s, PARTS, item_id),
                           {"net_price": "1100"}, someone)
    page = text(keeper.post(f"/price-lists/test.parts/{item_id}",
                            data={**PANEL, "net_price": "999", "version": version}))
    assert "changed by someone else" in page
    assert value_of(page, "net_price") == "1100.00"  # what is stored now
    assert stored(app, item_id).net_price == Decimal("1100")
    response = keeper.post(f"/price-lists/test.parts/{item_id}", data={
        **PANEL, "net_price": "999", "version": str(stored(app, item_id).version)})
    assert response.status_code == 302 and stored(app, item_id).net_price == Decimal("999")


def test_a_retired_item_leaves_the_list_unless_the_retired_are_asked_for(
        app, world, kartoteka_login):
    item_id = add(app, world)
    keeper = login(app, kartoteka_login, "keeper")
    version = stored(app, item_id).version
    response = keeper.post(f"/price-lists/test.parts/{item_id}/retire",
                           data={"version": version})
    assert response.status_code == 302 and stored(app, item_id).active is False
    page = show(keeper, response.location)
    assert "is retired" in flashes(page)[0]
    assert '<span class="badge">retired</span>' in page and "Offer again" in page
    assert item_id not in rows(show(keeper, "/price-lists/test.parts/"))
    stale = keeper.post(f"/price-lists/test.parts/{item_id}/reactivate",
                        data={"version": version})
    assert "changed by someone else" in " ".join(flashes(text(keeper.get(stale.location))))
    keeper.post(f"/price-lists/test.parts/{item_id}/reactivate",
                data={"version": stored(app, item_id).version})
    assert item_id in rows(show(keeper, "/price-lists/test.parts/"))


def test_staff_without_the_permission_read_a_list_and_change_nothing(
        app, world, kartoteka_login):
    item_id = add(app, world)
    reader = login(app, kartoteka_login, "reader")
    page = show(reader, "/price-lists/test.parts/")
    assert rows(page)[item_id].startswith("JA-405 Panel JA Solar 405 W")
    assert "/price-lists/test.parts/new" not in page and "Add an item" not in page
    assert "/retire" not in page and f"/price-lists/test.parts/{item_id}\"" not in page
    assert ">Price lists<" not in page  # neither the menu entry nor the way back
    assert reader.get("/price-lists/").status_code == 403
    assert reader.get("/price-lists/test.parts/new").status_code == 403
    assert reader.post("/price-lists/test.parts/new", data=PANEL).status_code == 403
    assert reader.get(f"/price-lists/test.parts/{item_id}").status_code == 403
    assert reader.post(f"/price-lists/test.parts/{item_id}",
                       data={**PANEL, "name": "X"}).status_code == 403
    assert reader.post(f"/price-lists/test.parts/{item_id}/retire").status_code == 403
    found = stored(app, item_id)
    assert (found.name, found.active, count(app, PriceItem)) == (PANEL["name"], True, 1)
    # Keeping one list is not keeping another.
    keeper = login(app, kartoteka_login, "keeper")
    assert "Add an item" not in show(keeper, "/price-lists/test.fees/")
    assert keeper.get("/price-lists/test.fees/new").status_code == 403


def test_an_unknown_list_or_another_lists_item_is_not_found(app, world, kartoteka_login):
    fee_id = add(app, world, FEES, name="Opłata", category="", net_price="10")
    keeper = login(app, kartoteka_login, "keeper")
    assert keeper.get("/price-lists/nope/").status_code == 404
    assert keeper.get("/price-lists/nope/new").status_code == 404
    assert keeper.get(f"/price-lists/test.parts/{fee_id}").status_code == 404
    assert keeper.post(f"/price-lists/test.parts/{fee_id}/retire").status_code == 404
    assert app.test_client().get("/price-lists/test.parts/").status_code == 302  # log in


# --------------------------------------------------------------------- the API


@pytest.fixture
def api(app, rt, world):
    return callers(app, rt, integrator={"permissions": ["core.manage_price_lists"]},
                   viewer={})


ITEMS = "/price-lists/test.parts/items"
API_PANEL = {**PANEL, "net_price": "1234.50", "details": {"power_w": 405}}


def test_the_api_lists_the_price_lists_in_the_callers_language(api):
    listed = api.viewer("get", "/price-lists/", headers={"Accept-Language": "pl"}).get_json()
    assert listed == [
        {"key": "test.fees", "title": "Opłaty", "categories": [], "permission": "core.billing"},
        {"key": "test.parts", "title": "Części", "permission": "core.manage_price_lists",
         "categories": [{"key": "panel", "title": "Panele"},
                        {"key": "labour", "title": "Robocizna"}]}]


def test_the_api_adds_lists_filters_and_changes_items(app, api):
    response = api.integrator("post", ITEMS, json=API_PANEL)
    item = created(response)
    assert (item["net_price"], item["vat_rate"], item["details"], item["active"]) == (
        "1234.5000", "8", {"power_w": 405}, True)
    assert response.headers["ETag"] == f'"{item["version"]}"'
    assert response.headers["Location"].endswith(f"{ITEMS}/{item['id']}")
    created(api.integrator("post", ITEMS, json={"name": "Montaż", "category": "labour",
                                            "unit": "h", "net_price": 90}))
    assert [i["name"] for i in api.viewer("get", ITEMS).get_json()] == [
        "Montaż", "Panel JA Solar 405 W"]  # by category, then name
    assert [i["name"] for i in api.viewer("get", ITEMS, query_string={
        "category": "panel"}).get_json()] == ["Panel JA Solar 405 W"]
    path = f"{ITEMS}/{item['id']}"
    etag = api.viewer("get", path).headers["ETag"]
    assert api.integrator("patch", path, json={"net_price": "1100"}).status_code == 428
    changed = api.integrator("patch", path, json={"net_price": "1100"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["net_price"] == "1100.0000"
    stale = api.integrator("patch", path, json={"name": "X"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stored(app, item["id"]).name == PANEL["name"]


def test_the_api_refuses_bad_input_field_by_field_and_writes_nothing(app, api):
    refused = api.integrator("post", ITEMS, json={**API_PANEL, "name": "", "net_price": "-1",
                                              "vat_rate": "7"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert set(refused.get_json()["errors"]) == {"name", "net_price", "vat_rate"}
    refused = api.integrator("post", ITEMS, json={**API_PANEL, "category": "roof"})
    assert refused.get_json()["errors"] == {"category": "Choose one of the list's categories."}
    refused = api.integrator("post", ITEMS, json={**API_PANEL, "net_price": ""})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"net_price"}
    assert api.integrator("post", ITEMS, json={**API_PANEL, "id": 7}).status_code == 422
    assert count(app, PriceItem) == 0
    item = created(api.integrator("post", ITEMS, json=API_PANEL))
    path = f"{ITEMS}/{item['id']}"
    refused = api.integrator("patch", path, json={"category": "roof", "unit": ""},
                         headers={"If-Match": "*"})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"unit"}  # the schema's, before the service
    refused = api.integrator("patch", path, json={"category": "roof"}, headers={"If-Match": "*"})
    assert set(refused.get_json()["errors"]) == {"category"}
    assert stored(app, item["id"]).category == "panel"


def test_the_api_refuses_changes_to_those_who_do_not_keep_the_list(app, api):
    item = created(api.integrator("post", ITEMS, json=API_PANEL))
    path = f"{ITEMS}/{item['id']}"
    assert api.viewer("get", path).status_code == 200
    assert api.viewer("post", ITEMS, json=API_PANEL).status_code == 403
    assert api.viewer("patch", path, json={"name": "X"},
                      headers={"If-Match": "*"}).status_code == 403
    assert api.viewer("delete", path).status_code == 403
    assert api.integrator("post", "/price-lists/test.fees/items",
                      json={"name": "Opłata", "net_price": "10"}).status_code == 403
    found = stored(app, item["id"])
    assert (found.name, found.active, count(app, PriceItem)) == (PANEL["name"], True, 1)


def test_the_api_answers_404_for_an_unknown_list_or_another_lists_item(app, world, api):
    fee_id = add(app, world, FEES, name="Opłata", category="", net_price="10")
    assert api.integrator("get", "/price-lists/nope/items").status_code == 404
    assert api.integrator("post", "/price-lists/nope/items", json=API_PANEL).status_code == 404
    assert api.integrator("get", f"{ITEMS}/{fee_id}").status_code == 404
    assert api.integrator("patch", f"{ITEMS}/{fee_id}", json={"name": "X"},
                      headers={"If-Match": "*"}).status_code == 404
    assert api.integrator("delete", f"{ITEMS}/{fee_id}").status_code == 404
    assert api.viewer("get", f"/price-lists/test.fees/items/{fee_id}").status_code == 200
    assert stored(app, fee_id).active is True


def test_deleting_through_the_api_retires_the_item(app, api):
    item = created(api.integrator("post", ITEMS, json=API_PANEL))
    path = f"{ITEMS}/{item['id']}"
    assert api.integrator("delete", path).status_code == 204
    assert api.integrator("get", ITEMS).get_json() == []
    retired = api.integrator("get", ITEMS, query_string={"retired": "true"}).get_json()
    assert [(i["id"], i["active"]) for i in retired] == [(item["id"], False)]
    assert api.integrator("get", path).get_json()["active"] is False  # kept, not deleted
    with app.extensions["kartoteka"].session() as s:
        assert s.scalar(select(PriceItem.deleted_at).where(PriceItem.id == item["id"])) is None
    back = api.integrator("patch", path, json={"active": True}, headers={"If-Match": "*"})
    assert back.status_code == 200 and len(api.integrator("get", ITEMS).get_json()) == 1


# --------------------------------------------------------------------- the document


@pytest.fixture
def api_schema(kartoteka_app_factory):
    """The price lists' operations of the live document, with a list registered and
    items 1 to 3 on it (tests/core/test_api_schemathesis.py runs without any list, so
    it meets only 404s there)."""
    app = kartoteka_app_factory(default_locale="en", api_rate_limit="")
    rt = app.extensions["kartoteka"]
    rt.host.price_lists = {**rt.host.price_lists, PARTS.key: PARTS}
    token = token_for(rt)
    with app.test_request_context(), rt.session() as s, s.begin():
        admin = users.find_by_email(s, "api@example.com")
        for name, category in (("Panel", "panel"), ("Falownik", "panel"), ("Montaż", "labour")):
            price_lists.create(s, PARTS, {**PANEL, "name": name, "category": category}, admin)
    config = schemathesis.Config.from_dict({
        "headers": {"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        "generation": {"max-examples": 5, "deterministic": True, "database": "none",
                       "dictionaries": {
                           "integer": {"dictionary": "ids", "probability": 0.6},
                           "string": {"dictionary": "keys", "probability": 0.5}}},
        "dictionaries": {"ids": {"values": [1, 2, 3]},
                         "keys": {"values": [PARTS.key, "panel", "labour"]},
                         "etags": {"values": ["*", '"1"']}},
        "parameters": {"header.If-Match": {"dictionary": "etags", "probability": 0.8}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    return schema.include(path_regex="^/api/v1/price-lists/")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the API's document is the same on both
def test_every_price_list_operation_answers_as_the_document_says(api_schema):
    failures, succeeded = run(api_schema)
    assert not failures, "\n\n".join(failures)
    # The requests reached real items, not only 404s.
    assert {f"{method} /api/v1/price-lists/{path}" for method, path in (
        ("GET", ""), ("GET", "{key}/items"), ("POST", "{key}/items"),
        ("GET", "{key}/items/{item_id}"), ("PATCH", "{key}/items/{item_id}"),
        ("DELETE", "{key}/items/{item_id}"))} <= succeeded
