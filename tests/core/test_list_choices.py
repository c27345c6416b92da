"""The organisation and people lists as a user shapes them: filters by owner, tag,
membership and one custom field (all in the one filter language, so a segment saved from
the list holds what it shows), ordering by a column's header, and the columns each account
chooses, which its download follows."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from core import (
    field_definitions,
    memberships,
    organisations,
    people,
    preferences,
    segments,
    tags,
    users,
)
from core.models import FieldDefinition, Organisation, Person, Segment, User
from page_helpers import error_under, flashes, show, text, visible, writing

PASSWORD = "correct horse battery"


# --------------------------------------------------------------------- helpers


def staff(app, email="ola@example.com", name="Ola Nowak") -> int:
    with writing(app) as (session, _admin):
        return users.create_user(session, email, PASSWORD, name, roles=["staff"]).id


def login(app, email="ola@example.com"):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def admin_id(app) -> int:
    with writing(app) as (_session, admin):
        return admin.id


def org(app, name, type_key="core.municipality", tagged=(), **data) -> int:
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        found = organisations.create(
            session,
            host,
            {"name": name, "type_key": type_key, **data},
            admin,
            allow_duplicates=True,
        )
        for tag in tagged:
            tags.tag(session, found, tag, admin)
        return found.id


def person(app, first, last, email="", member_of=None, **data) -> int:
    with writing(app) as (session, admin):
        found = people.create(
            session,
            {"first_name": first, "last_name": last, "emails": [email] if email else [], **data},
            admin,
            allow_duplicates=True,
        )
        if member_of:
            memberships.join(session, found, session.get(Organisation, member_of))
        return found.id


def define(app, **data) -> int:
    data = {"record_type": "organisation", "label_pl": data["key"], "type": "text", **data}
    with app.app_context(), writing(app) as (session, admin):
        return field_definitions.create(session, data, admin).id


def listed(page: str, kind="organisations") -> list[str]:
    return [visible(n) for n in re.findall(rf'<td><a href="/{kind}/\d+">(.*?)</a></td>', page)]


def headers(page: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    return [
        visible(th).removesuffix(" ↑").removesuffix(" ↓")
        for th in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', head, re.S)
    ]


def header(page: str, label: str) -> str:
    """The opening tag and link of the column headed ``label``."""
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    for th in re.findall(r'(<th scope="col"[^>]*>.*?</th>)', head, re.S):
        if visible(th).removesuffix(" ↑").removesuffix(" ↓") == label:
            return th
    raise AssertionError(f"no column {label}")


def link_of(fragment: str) -> str:
    return re.search(r'href="([^"]+)"', fragment).group(1).replace("&amp;", "&")


def rows(page: str) -> list[list[str]]:
    body = re.search(r'<table class="list">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [
        [visible(td) for td in re.findall(r'<td(?! class="pick")[^>]*>(.*?)</td>', tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def save_segment(client, page: str, name: str):
    """Send the "Save this list as…" form the list shows, as a browser would."""
    form = re.search(r'<form class="inline save-segment".*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    data.pop("csrf_token", None)
    response = client.post("/segments/", data={**data, "name": name})
    assert response.status_code == 302, text(response)
    return response.headers["Location"]


def segment_filter(app, name: str) -> dict:
    with app.extensions["kartoteka"].session() as session:
        return session.scalar(select(Segment.filter).where(Segment.name == name))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


# --------------------------------------------------------------------- filters


def test_owner_filters_mine_nobodys_and_a_colleagues_and_a_segment_holds_the_same(app, client):
    ola = staff(app)
    me = admin_id(app)
    org(app, "Gmina Kórnik", owner_id=me)
    org(app, "Gmina Mosina", owner_id=ola)
    org(app, "Gmina Śrem")
    assert listed(show(client, "/organisations/?owner=me")) == ["Gmina Kórnik"]
    assert listed(show(client, "/organisations/?owner=none")) == ["Gmina Śrem"]
    page = show(client, f"/organisations/?owner={ola}&q=gmina")
    assert listed(page) == ["Gmina Mosina"]
    assert f'<option value="{ola}" selected>Ola Nowak</option>' in page

    url = save_segment(client, page, "Ola's")
    assert listed(show(client, url)) == ["Gmina Mosina"]
    assert segment_filter(app, "Ola's") == {
        "and": [
            {"field": "name", "op": "contains", "value": "gmina"},
            {"field": "owner_id", "op": "eq", "value": ola},
        ]
    }
    save_segment(client, show(client, "/organisations/?owner=none"), "Nobody's")
    assert segment_filter(app, "Nobody's") == {"and": [{"field": "owner_id", "op": "empty"}]}


def test_a_shared_segment_of_my_records_shows_each_viewer_their_own(app, client):
    ola = staff(app)
    org(app, "Gmina Kórnik", owner_id=admin_id(app))
    org(app, "Gmina Mosina", owner_id=ola)
    save_segment(client, show(client, "/organisations/?owner=me"), "Mine")
    assert segment_filter(app, "Mine") == {
        "and": [{"field": "owner_id", "op": "eq", "value": "me"}]}
    with writing(app) as (session, _admin):
        found = session.scalar(select(Segment).where(Segment.name == "Mine"))
        found.shared, segment_id = True, found.id
    assert listed(show(client, f"/organisations/?segment={segment_id}")) == ["Gmina Kórnik"]
    assert listed(show(login(app), f"/organisations/?segment={segment_id}")) == ["Gmina Mosina"]


def test_the_tag_filter_offers_the_tags_in_use_and_a_segment_holds_the_same(app, client):
    org(app, "Gmina Kórnik", tagged=["VIP"])
    org(app, "Gmina Mosina", tagged=["VIP", "Partner"])
    org(app, "Gmina Śrem")
    person(app, "Anna", "Nowak")
    page = show(client, "/organisations/?tag=VIP")
    assert listed(page) == ["Gmina Kórnik", "Gmina Mosina"]
    tag_select = re.search(r'<select id="f-tag".*?</select>', page, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]+)</option>", tag_select) == ["Any tag", "Partner", "VIP"]
    # People have no tags yet: the filter offers none of the organisations'.
    assert 'id="f-tag"' not in show(client, "/people/")

    url = save_segment(client, page, "VIP")
    assert listed(show(client, url)) == ["Gmina Kórnik", "Gmina Mosina"]
    org(app, "Gmina Luboń", tagged=["VIP"])  # the segment follows the tags
    assert listed(show(client, url)) == ["Gmina Kórnik", "Gmina Luboń", "Gmina Mosina"]


def test_people_filter_by_the_organisation_they_are_members_of(app, client):
    kornik, mosina = org(app, "Gmina Kórnik"), org(app, "Gmina Mosina")
    person(app, "Anna", "Nowak", member_of=kornik)
    person(app, "Bogdan", "Lis", member_of=mosina)
    person(app, "Cezary", "Kot")
    page = show(client, "/people/?organisation=korn")
    assert listed(page, "people") == ["Nowak Anna"]
    assert 'name="organisation" value="korn"' in page
    url = save_segment(client, page, "Kórnik's")
    assert listed(show(client, url), "people") == ["Nowak Anna"]
    assert "f-organisation" not in show(client, "/organisations/")  # people only


def test_a_custom_field_condition_filters_and_a_segment_holds_the_same(app, client):
    define(app, key="employees", type="integer", label_en="Employees")
    define(
        app,
        key="tier",
        type="choice",
        label_en="Tier",
        options={
            "choices": [
                {"value": "gold", "label_en": "Gold"},
                {"value": "silver", "label_en": "Silver"},
            ]
        },
    )
    define(app, key="joined", type="date", label_en="Joined")
    org(app, "Gmina Kórnik", custom={"employees": 1500, "tier": "gold", "joined": "2020-05-01"})
    org(app, "Gmina Mosina", custom={"employees": 40, "tier": "silver"})
    org(app, "Gmina Śrem")
    page = show(client, "/organisations/?cf=employees&cf_op=gt&cf_value=1+000")
    assert listed(page) == ["Gmina Kórnik"]
    # Once picked, the field offers only its own comparisons.
    ops = re.search(r'<select id="f-cf_op".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="(\w+)"', ops) == [
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "empty",
        "not_empty",
    ]
    assert 'id="f-cf_value" name="cf_value" type="text" value="1 000"' in page

    url = save_segment(client, page, "Big")
    assert listed(show(client, url)) == ["Gmina Kórnik"]
    assert segment_filter(app, "Big") == {
        "and": [{"field": "custom.employees", "op": "gt", "value": 1000}]
    }

    tier = show(client, "/organisations/?cf=tier&cf_op=ne&cf_value=gold")
    assert listed(tier) == ["Gmina Mosina", "Gmina Śrem"]
    assert '<option value="silver" >Silver</option>' in tier
    assert listed(show(client, "/organisations/?cf=tier&cf_op=empty")) == ["Gmina Śrem"]
    assert listed(show(client, "/organisations/?cf=joined&cf_op=lt&cf_value=2021-01-01")) == [
        "Gmina Kórnik"
    ]
    # A comparison left from another field without its field is no filter at all.
    assert listed(show(client, "/organisations/?cf=&cf_op=gt&cf_value=5")) == [
        "Gmina Kórnik",
        "Gmina Mosina",
        "Gmina Śrem",
    ]


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("cf=nosuch&cf_op=eq&cf_value=1", "cf", "Choose a field from the list."),
        ("cf=employees&cf_op=gt&cf_value=abc", "cf_value", "Give a number, such as 1200 or 12.5."),
        (
            "cf=employees&cf_op=contains&cf_value=4",
            "cf_op",
            "Choose a comparison that fits this field.",
        ),
        ("cf=employees&cf_op=eq&cf_value=", "cf_value", "Give a value to compare with."),
        ("cf=joined&cf_op=eq&cf_value=2024-13-01", "cf_value", "Give a date as YYYY-MM-DD."),
        ("owner=123456", "owner", "Choose an owner from the list."),
        ("tag=Nope", "tag", "Choose a tag from the list."),
    ],
)
def test_a_filter_that_cannot_be_used_says_why_next_to_it_and_the_list_still_shows(
    app, client, query, name, message
):
    define(app, key="employees", type="integer", label_en="Employees")
    define(app, key="joined", type="date", label_en="Joined")
    org(app, "Gmina Kórnik", custom={"employees": 4})
    org(app, "Gmina Mosina")
    response = client.get(f"/organisations/?q=gmina&{query}")
    assert response.status_code == 200
    page = text(response)
    assert error_under(page, name) == message
    assert f'aria-describedby="e-{name}"' in page
    assert listed(page) == ["Gmina Kórnik", "Gmina Mosina"]  # the rest of the filter holds
    if name == "cf_value" and "abc" in query:
        assert 'name="cf_value" type="text" value="abc"' in page  # kept as typed
    # Saving it as a segment is refused, the list saying why again; nothing is saved.
    response = client.post(
        "/segments/",
        data={
            "record_type": "organisation",
            "name": "X",
            **dict(p.split("=") for p in query.split("&")),
        },
    )
    assert response.status_code == 302
    again = text(client.get(response.headers["Location"]))
    assert flashes(again) == ["The segment was not saved: correct the filters first."]
    assert error_under(again, name) == message
    assert segment_filter(app, "X") is None


def test_a_field_the_user_may_not_see_is_not_offered_nor_filtered_by(app, client):
    define(app, key="rating", type="integer", label_en="Rating", view_roles=["admin"])
    org(app, "Gmina Kórnik", custom={"rating": 5})
    org(app, "Gmina Mosina", custom={"rating": 1})
    staff(app)
    ola = login(app)
    assert "Rating" not in show(ola, "/organisations/")
    page = show(ola, "/organisations/?cf=rating&cf_op=gt&cf_value=3")
    assert error_under(page, "cf") == "Choose a field from the list."
    assert listed(page) == ["Gmina Kórnik", "Gmina Mosina"]
    assert listed(show(client, "/organisations/?cf=rating&cf_op=gt&cf_value=3")) == ["Gmina Kórnik"]


def test_a_shared_segment_on_a_field_hidden_from_the_viewer_shows_them_nothing(app, client):
    define(app, key="rating", type="integer", label_en="Rating", view_roles=["admin"])
    org(app, "Gmina Kórnik", custom={"rating": 5})
    org(app, "Gmina Mosina", custom={"rating": 1})
    with writing(app) as (session, admin):
        segment_id = segments.save(session, "Good ratings", "organisation",
                                   {"field": "custom.rating", "op": "gt", "value": 3}, admin,
                                   shared=True).id
    assert listed(show(client, f"/organisations/?segment={segment_id}")) == ["Gmina Kórnik"]
    staff(app)
    page = show(login(app), f"/organisations/?segment={segment_id}")
    assert listed(page) == []  # which ones are in it would tell their ratings
    assert "filters by a field you may not see" in " ".join(flashes(page))


# --------------------------------------------------------------------- sorting


def test_a_header_sorts_by_its_column_both_ways_keeping_the_filters_and_segment(app, client):
    org(app, "Gmina Kórnik", city="Kórnik", nip="7770003699")
    org(app, "Gmina Mosina", city="Mosina")
    org(app, "Fundacja Zielona", type_key="core.foundation", city="Poznań")
    org(app, "Gmina Śrem")  # no city: last both ways
    page = show(client, "/organisations/")
    assert 'aria-sort="ascending"' in header(page, "Name")
    assert link_of(header(page, "Name")) == "/organisations/?sort=-name"
    assert listed(show(client, "/organisations/?sort=-name")) == [
        "Gmina Śrem",
        "Gmina Mosina",
        "Gmina Kórnik",
        "Fundacja Zielona",
    ]

    ascending = show(client, link_of(header(page, "City")))
    assert listed(ascending) == ["Gmina Kórnik", "Gmina Mosina", "Fundacja Zielona", "Gmina Śrem"]
    assert 'aria-sort="ascending"' in header(ascending, "City")
    assert "aria-sort" not in header(ascending, "Name")
    descending = show(client, link_of(header(ascending, "City")))
    assert listed(descending) == ["Fundacja Zielona", "Gmina Mosina", "Gmina Kórnik", "Gmina Śrem"]
    assert 'aria-sort="descending"' in header(descending, "City")

    # Types in the order of their labels: Foundation before Municipality.
    assert listed(show(client, "/organisations/?sort=type_key"))[0] == "Fundacja Zielona"
    assert listed(show(client, "/organisations/?sort=-type_key"))[-1] == "Fundacja Zielona"
    assert listed(show(client, "/organisations/?sort=nip"))[0] == "Gmina Kórnik"

    # Filters and a segment stay; the filter form keeps the order.
    url = save_segment(client, show(client, "/organisations/?q=gmina"), "Gminy")
    segment_id = int(url.rsplit("=", 1)[1])
    filtered = show(client, f"/organisations/?segment={segment_id}&owner=none&sort=-city")
    assert listed(filtered) == ["Gmina Mosina", "Gmina Kórnik", "Gmina Śrem"]
    city = link_of(header(filtered, "City"))
    assert f"segment={segment_id}" in city and "owner=none" in city and "sort=city" in city
    assert '<input type="hidden" name="sort" value="-city">' in filtered

    # An order by something else than a column shown is by name.
    for wrong in ("ciry", "regon", "--city", "custom.nothing", "notes"):
        assert listed(show(client, f"/organisations/?sort={wrong}")) == [
            "Fundacja Zielona",
            "Gmina Kórnik",
            "Gmina Mosina",
            "Gmina Śrem",
        ], wrong


def test_people_sort_by_e_mail_and_by_last_change_when_shown(app, client):
    anna = person(app, "Anna", "Nowak", email="zofia@example.com")
    person(app, "Bogdan", "Lis", email="adam@example.com")
    person(app, "Cezary", "Kot")
    with writing(app) as (session, admin):  # Anna's is the latest change
        people.update(session, session.get(Person, anna), {"notes": "Called"}, admin)
    by_name = ["Nowak Anna", "Lis Bogdan", "Kot Cezary"]
    assert listed(show(client, "/people/"), "people") == by_name
    page = show(client, "/people/?sort=email")
    assert listed(page, "people") == ["Lis Bogdan", "Nowak Anna", "Kot Cezary"]
    assert 'aria-sort="ascending"' in header(page, "E-mail")
    assert listed(show(client, link_of(header(page, "E-mail"))), "people") == [
        "Nowak Anna",
        "Lis Bogdan",
        "Kot Cezary",
    ]  # no address: last both ways
    assert listed(show(client, "/people/?sort=updated_at"), "people") == by_name  # not shown
    client.post("/people/columns", data={"column": ["email", "updated_at"]})
    newest = show(client, "/people/?sort=-updated_at")
    assert listed(newest, "people") == ["Nowak Anna", "Kot Cezary", "Lis Bogdan"]
    assert 'aria-sort="descending"' in header(newest, "Last changed")
    assert listed(show(client, "/people/?sort=updated_at"), "people") == [
        "Lis Bogdan",
        "Kot Cezary",
        "Nowak Anna",
    ]


def test_a_custom_column_still_sorts_and_the_next_page_keeps_order_and_filters(app, client):
    define(app, key="rank", type="integer", label_en="Rank", options={"in_list": True})
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        for i in range(55):
            organisations.create(
                session,
                host,
                {"name": f"Firma {i:02}", "type_key": "core.company", "custom": {"rank": 100 - i}},
                admin,
                allow_duplicates=True,
            )
    org(app, "Gmina Kórnik", custom={"rank": 1})
    first = show(client, "/organisations/?sort=-custom.rank&type_key=core.company")
    assert 'aria-sort="descending"' in header(first, "Rank")
    following = re.search(r'<a href="([^"]*after=[^"]*)">', first).group(1).replace("&amp;", "&")
    assert "type_key=core.company" in following and "sort=-custom.rank" in following
    names = listed(first) + listed(show(client, following))
    assert names == [f"Firma {i:02}" for i in range(55)]


# --------------------------------------------------------------------- columns


def test_the_columns_chosen_are_kept_for_the_account_only(app, client):
    define(app, key="employees", type="integer", label_en="Employees")
    org(app, "Gmina Kórnik", city="Kórnik", regon="631257816", custom={"employees": 12})
    staff(app)
    ola = login(app)
    defaults = ["Name", "Type", "City", "NIP"]
    assert headers(show(client, "/organisations/")) == defaults
    response = client.post(
        "/organisations/columns",
        data={
            "column": ["custom.employees", "regon", "city", "nonsense"],
            "back": "/organisations/?q=gmina",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/organisations/?q=gmina"
    page = show(client, "/organisations/")
    assert headers(page) == ["Name", "City", "REGON", "Employees"]
    assert rows(page) == [["Gmina Kórnik", "Kórnik", "631257816", "12"]]
    assert re.search(r'value="regon" checked', page)
    assert headers(show(ola, "/organisations/")) == defaults  # another account's list
    assert headers(show(client, "/people/")) == ["Name", "E-mail", "Phone"]

    # The download has the columns shown; "every field" has them all.
    download = csv_rows(client.get("/organisations/export?format=csv&q=gmina"))
    assert download == [
        ["Organisation name", "City", "REGON", "Employees"],
        ["Gmina Kórnik", "Kórnik", "631257816", "12"],
    ]
    everything = csv_rows(client.get("/organisations/export?format=csv&columns=all"))
    assert len(everything[0]) > 10 and "Employees" in everything[0]
    assert csv_rows(ola.get("/organisations/export?format=csv"))[0] == [
        "Organisation name",
        "Type",
        "City",
        "NIP",
    ]

    nothing = client.post("/organisations/columns", data={"back": "/organisations/"})
    assert nothing.status_code == 303
    assert headers(show(client, "/organisations/")) == ["Name"]
    client.post("/organisations/columns", data={"reset": "1"})
    assert headers(show(client, "/organisations/")) == defaults
    with app.extensions["kartoteka"].session() as session:
        admin = session.get(User, admin_id(app))
        assert preferences.get(session, admin, "list_columns.organisation") is None


def test_a_column_whose_field_is_deleted_or_hidden_goes_silently(app, client):
    employees = define(
        app, key="employees", type="integer", label_en="Employees", options={"in_list": True}
    )
    define(app, key="rating", type="integer", label_en="Rating", record_type="person")
    person(app, "Anna", "Nowak", custom={"rating": 3})
    org(app, "Gmina Kórnik", custom={"employees": 12})
    staff(app)
    ola = login(app)
    ola.post("/people/columns", data={"column": ["email", "custom.rating"]})
    assert headers(show(ola, "/people/")) == ["Name", "E-mail", "Rating"]
    client.post("/organisations/columns", data={"column": ["city", "custom.employees"]})
    assert headers(show(client, "/organisations/")) == ["Name", "City", "Employees"]

    assert client.post(f"/admin/fields/{employees}/delete").status_code == 302
    page = show(client, "/organisations/?sort=custom.employees")
    assert headers(page) == ["Name", "City"] and listed(page) == ["Gmina Kórnik"]
    assert "Employees" not in text(client.get("/organisations/export?format=csv"))

    with writing(app) as (session, admin):
        row = session.scalar(select(FieldDefinition).where(FieldDefinition.key == "rating"))
        field_definitions.change(session, row, {"view_roles": ["admin"]}, admin)
    assert headers(show(ola, "/people/")) == ["Name", "E-mail"]
    assert "Rating" not in csv_rows(ola.get("/people/export?format=csv"))[0]


def test_a_portal_account_reaches_neither_the_lists_nor_their_choices(app, rt):
    kornik = org(app, "Gmina Kórnik", tagged=["VIP"])
    with writing(app) as (session, _admin):
        users.create_user(
            session,
            "portal@kornik.pl",
            PASSWORD,
            "Kórnik",
            portal_of=session.get(Organisation, kornik),
        )
    portal = login(app, "portal@kornik.pl")
    for path in (
        "/organisations/?owner=me&tag=VIP",
        "/people/?cf=x&sort=email",
        "/people/export?format=csv&columns=all",
    ):
        assert portal.get(path).status_code == 404, path
    for path in ("/organisations/columns", "/people/columns"):
        assert portal.post(path, data={"column": ["city"]}).status_code == 404, path
    with rt.session() as session:
        account = users.find_by_email(session, "portal@kornik.pl")
        assert preferences.get(session, account, "list_columns.organisation") is None
        assert preferences.get(session, account, "list_columns.person") is None


def test_text_that_cannot_be_stored_is_refused_next_to_its_box(app, client):
    define(app, key="note", type="text", label_en="Note")
    org(app, "Gmina Kórnik", custom={"note": "ok"})
    page = show(client, "/organisations/?q=a%00b&cf=note&cf_op=contains&cf_value=x%00")
    message = "The text contains characters that cannot be stored."
    assert error_under(page, "q") == error_under(page, "cf_value") == message
    assert listed(page) == ["Gmina Kórnik"]
