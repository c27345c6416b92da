"""The "Linked records" section of the organisation, person and case cards: links shown
with their type and the other record's name (only records the viewer may see; the others
counted), added by name with or without script, removed, refused with messages next to
the fields, and only for whoever may edit the record."""

import re

import pytest
from sqlalchemy import select

from core import cases, links, memberships, organisations, people, roles, users
from core.models import AuditEntry, Case, Organisation, Person, RecordLink
from core.testing import ADMIN_PASSWORD
from page_helpers import add_org, count, flashes, show, text, visible, writing

PASSWORD = ADMIN_PASSWORD


@pytest.fixture
def app(kartoteka_app_factory):
    return kartoteka_app_factory(["printing"], default_locale="en")


# --------------------------------------------------------------------- helpers


def add_person(app, first="Anna", last="Nowak", owner_id=None) -> int:
    with writing(app) as (session, admin):
        return people.create(
            session,
            {"first_name": first, "last_name": last, "owner_id": owner_id},
            admin,
            allow_duplicates=True,
        ).id


def add_case(app, title="Banners", owner_id=None) -> int:
    rt = app.extensions["kartoteka"]
    with writing(app) as (session, admin):
        return cases.create(
            session,
            rt.host,
            {"title": title, "process_key": "printing.project", "owner_id": owner_id},
            admin,
        ).id


def link(app, source, target, link_type="related") -> int:
    """``source`` and ``target`` as (model, id)."""
    with writing(app) as (session, admin):
        return links.link(session, session.get(*source), session.get(*target), link_type, admin).id


def role(app, key, levels) -> str:
    """A role giving ``levels`` ({action: level}) for every kind of record."""
    with writing(app) as (session, admin):
        made = roles.create(session, key, key.title(), actor=admin)
        roles.set_access(
            session,
            made,
            {
                ("*", action): levels.get(action, "none")
                for action in ("read", "create", "edit", "delete", "export")
            },
        )
    return key


def staff(app, email, role_keys) -> int:
    with writing(app) as (session, _admin):
        return users.create_user(
            session, email, PASSWORD, email.split("@")[0].title(), roles=list(role_keys)
        ).id


def login(app, kartoteka_login, email):
    return kartoteka_login(app.test_client(), email, PASSWORD)


def section(page: str) -> str:
    found = re.search(r'<section class="card record-links" id="links">(.*?)</section>', page, re.S)
    assert found, "no linked records section"
    return found.group(1)


def rows(page: str) -> list[str]:
    """The links the section lists, as a reader sees each row."""
    return [
        visible(row) for row in re.findall(r'<tr id="link-\d+">(.*?)</tr>', section(page), re.S)
    ]


def link_error(page: str, name: str) -> str | None:
    found = re.search(rf'<span class="error" id="e-link-{name}">(.*?)</span>', page, re.S)
    return found.group(1).strip() if found else None


def typed(page: str, name: str) -> str | None:
    found = re.search(rf'<input id="f-link-{name}" name="{name}" value="([^"]*)"', page)
    return found.group(1) if found else None


def add_link(client, card: str, **form):
    """Send the card's add-a-link form; the card it goes back to."""
    record_type, record_id = card
    response = client.post(f"/links/{record_type}/{record_id}", data=form)
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].endswith("#links")
    return text(client.get(response.headers["Location"].split("#")[0]))


def links_count(app) -> int:
    return count(app, RecordLink)


# --------------------------------------------------------------------- tests


def test_a_record_typed_by_name_is_linked_and_shows_on_both_cards(app, client):
    org = add_org(app, "Drukarnia Krzak")
    anna = add_person(app)
    page = add_link(
        client,
        ("organisation", org),
        target_type="person",
        target="anna nowak",
        link_type="contractor",
    )
    assert "Linked." in flashes(page)
    assert rows(page) == ["contractor Person Anna Nowak Remove"]
    assert f'<a href="/people/{anna}">Anna Nowak</a>' in section(page)
    other_side = show(client, f"/people/{anna}")
    assert rows(other_side) == ["contractor ← Organisation Drukarnia Krzak Remove"]
    assert f'<a href="/organisations/{org}">Drukarnia Krzak</a>' in section(other_side)
    with app.extensions["kartoteka"].session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.record_type == "record_links"))
        assert (entry.action, entry.door, entry.changes["link_type"][1]) == (
            "create",
            "ui",
            "contractor",
        )


def test_the_default_type_is_related_and_the_same_link_is_not_made_twice(app, client):
    org = add_org(app, "Drukarnia Krzak")
    anna = add_person(app)
    page = add_link(
        client,
        ("organisation", org),
        target_type="person",
        target_id=str(anna),
        target="Anna Nowak",
        link_type="",
    )
    assert rows(page) == ["related Person Anna Nowak Remove"]
    add_link(
        client,
        ("person", anna),
        target_type="organisation",
        target_id=str(org),
        target="Drukarnia Krzak",
        link_type="related",
    )
    assert links_count(app) == 1


def test_a_name_answering_to_several_records_asks_which_one(app, client):
    org = add_org(app, "Drukarnia Krzak")
    first = add_person(app, "Jan", "Kowalski")
    add_person(app, "Jan", "Kowalski")
    page = add_link(client, ("organisation", org), target_type="person", target="Jan Kowalski")
    assert link_error(page, "target") == "Several records answer to this name: choose one."
    assert typed(page, "target") == "Jan Kowalski"
    choices = re.search(
        r'<select id="f-link-target_id" name="target_id">(.*?)</select>', page, re.S
    ).group(1)
    assert len(re.findall(r'<option value="\d+">Jan Kowalski', choices)) == 2
    assert links_count(app) == 0
    page = add_link(
        client,
        ("organisation", org),
        target_type="person",
        target="Jan Kowalski",
        target_id=str(first),
    )
    assert rows(page) == ["related Person Jan Kowalski Remove"]
    assert f'href="/people/{first}"' in section(page)


def test_linking_a_record_to_itself_is_refused_next_to_the_field(app, client):
    org = add_org(app, "Drukarnia Krzak")
    page = add_link(
        client,
        ("organisation", org),
        target_type="organisation",
        target="Drukarnia Krzak",
        target_id=str(org),
        link_type="partner",
    )
    assert link_error(page, "target") == "A record cannot be linked to itself."
    assert (typed(page, "target"), typed(page, "link_type")) == ("Drukarnia Krzak", "partner")
    assert links_count(app) == 0
    # Typed by name, the record itself is not offered at all.
    page = add_link(
        client, ("organisation", org), target_type="organisation", target="Drukarnia Krzak"
    )
    assert link_error(page, "target") == (
        "Nothing found for “Drukarnia Krzak” among the records you may see."
    )
    assert links_count(app) == 0


def test_an_unknown_record_a_hidden_one_and_a_long_type_are_refused(app, kartoteka_login):
    owner = staff(
        app,
        "own@example.com",
        [role(app, "own_only", {"read": "own", "create": "own", "edit": "own"})],
    )
    mine = add_org(app, "Moja Gmina", owner_id=owner)
    hidden = add_org(app, "Cudza Gmina")
    client = login(app, kartoteka_login, "own@example.com")
    card = ("organisation", mine)
    page = add_link(client, card, target_type="organisation", target="Nieistniejąca")
    assert link_error(page, "target") == (
        "Nothing found for “Nieistniejąca” among the records you may see."
    )
    page = add_link(client, card, target_type="organisation", target="Cudza Gmina")
    assert "Nothing found" in link_error(page, "target")
    page = add_link(
        client, card, target_type="organisation", target="Cudza Gmina", target_id=str(hidden)
    )
    assert link_error(page, "target") == "There is no such record."
    assert "Cudza Gmina" not in visible(section(page).split('<form class="add-link"')[0])
    page = add_link(client, card, target_type="invoice_line", target="x", target_id="1")
    assert link_error(page, "target_type") == "Unknown kind of record 'invoice_line'."
    page = add_link(client, card, target_type="organisation", target="", link_type="x" * 51)
    assert link_error(page, "target") == "Type the name of the record to link."
    assert typed(page, "link_type") == "x" * 51
    other = add_org(app, "Trzecia Gmina", owner_id=owner)
    page = add_link(
        client,
        card,
        target_type="organisation",
        target_id=str(other),
        target="Trzecia Gmina",
        link_type="x" * 51,
    )
    assert link_error(page, "link_type") == "At most 50 characters."
    assert links_count(app) == 0


def test_links_to_records_the_viewer_may_not_see_are_counted_not_named(app, kartoteka_login):
    owner = staff(
        app,
        "own@example.com",
        [role(app, "own_only", {"read": "own", "create": "own", "edit": "own"})],
    )
    mine = add_org(app, "Moja Gmina", owner_id=owner)
    colleague = add_person(app, "Ewa", "Widoczna", owner_id=owner)
    secret_org = add_org(app, "Tajna Fundacja")
    secret_case = add_case(app, "Tajny projekt")
    link(app, (Organisation, mine), (Person, colleague), "contact")
    link(app, (Organisation, mine), (Organisation, secret_org), "partner")
    link(app, (Case, secret_case), (Organisation, mine), "client")
    client = login(app, kartoteka_login, "own@example.com")
    page = show(client, f"/organisations/{mine}")
    assert rows(page) == ["contact Person Ewa Widoczna Remove"]
    shown = visible(section(page).split('<form class="add-link"')[0])
    assert "and 2 records you may not see" in shown
    assert "Tajna" not in page and "Tajny" not in page and "partner" not in shown
    # The administrator sees all three.
    admin_page = show(login(app, kartoteka_login, "admin@example.com"), f"/organisations/{mine}")
    assert len(rows(admin_page)) == 3 and "may not see" not in section(admin_page)
    # Nothing to name: only the count.
    only_hidden = add_org(app, "Druga Moja", owner_id=owner)
    link(app, (Organisation, only_hidden), (Organisation, secret_org))
    page = show(client, f"/organisations/{only_hidden}")
    assert rows(page) == []
    assert "1 linked record you may not see" in visible(section(page))


def test_a_link_is_removed_with_its_button(app, client):
    org = add_org(app, "Drukarnia Krzak")
    anna = add_person(app)
    made = link(app, (Organisation, org), (Person, anna), "contractor")
    response = client.post(f"/links/person/{anna}/{made}/delete")
    assert response.status_code == 302
    page = show(client, f"/people/{anna}")
    assert "The link was removed." in flashes(page)
    assert rows(page) == [] and "No linked records yet." in section(page)
    assert links_count(app) == 0
    with app.extensions["kartoteka"].session() as session:
        assert (
            session.scalar(
                select(AuditEntry.action).where(
                    AuditEntry.record_type == "record_links", AuditEntry.action == "purge"
                )
            )
            == "purge"
        )
    # A link of another record is not removed through this one's card.
    other = add_person(app, "Ewa", "Inna")
    made = link(app, (Organisation, org), (Person, other))
    assert client.post(f"/links/person/{anna}/{made}/delete").status_code == 404
    assert links_count(app) == 1


def test_without_the_right_to_edit_the_record_links_are_shown_but_not_changed(app, kartoteka_login):
    staff(app, "reader@example.com", [role(app, "reader", {"read": "all"})])
    org = add_org(app, "Drukarnia Krzak")
    anna = add_person(app)
    made = link(app, (Organisation, org), (Person, anna), "contractor")
    client = login(app, kartoteka_login, "reader@example.com")
    page = show(client, f"/organisations/{org}")
    assert rows(page) == ["contractor Person Anna Nowak"]
    assert "add-link" not in page and "/delete" not in section(page)
    other = add_person(app, "Ewa", "Inna")
    refused = client.post(
        f"/links/organisation/{org}",
        data={"target_type": "person", "target_id": str(other), "target": "Ewa Inna"},
    )
    assert refused.status_code == 403
    assert client.post(f"/links/organisation/{org}/{made}/delete").status_code == 403
    assert links_count(app) == 1


def test_a_case_card_links_a_case_found_by_its_title(app, client):
    banners = add_case(app, "Banners for the fair")
    leaflets = add_case(app, "Leaflets")
    found = client.get(
        f"/links/find?type=case&q=banners&exclude_type=case&exclude_id={leaflets}"
    ).get_json()
    assert found == [{"id": banners, "label": "Banners for the fair", "detail": ""}]
    assert (
        client.get(
            f"/links/find?type=case&q=leaflets&exclude_type=case&exclude_id={leaflets}"
        ).get_json()
        == []
    )
    page = add_link(
        client, ("case", leaflets), target_type="case", target="banners", link_type="follows"
    )
    assert rows(page) == ["follows Case Banners for the fair Remove"]
    assert f'<a href="/cases/{banners}">' in section(page)


def test_the_suggestions_offer_only_records_the_user_may_see(app, kartoteka_login):
    owner = staff(
        app,
        "own@example.com",
        [role(app, "own_only", {"read": "own", "create": "own", "edit": "own"})],
    )
    add_org(app, "Gmina Widoczna", owner_id=owner)
    add_org(app, "Gmina Ukryta")
    client = login(app, kartoteka_login, "own@example.com")
    found = client.get("/links/find?type=organisation&q=gmina").get_json()
    assert [hit["label"] for hit in found] == ["Gmina Widoczna"]
    assert client.get("/links/find?type=user&q=admin").get_json() == []


def test_the_form_is_in_polish_for_a_polish_installation(polish, kartoteka_app_factory):
    app = polish.application
    org = add_org(app, "Drukarnia Krzak")
    response = polish.post(
        f"/links/organisation/{org}",
        data={"target_type": "organisation", "target_id": str(org), "target": "Drukarnia Krzak"},
    )
    page = text(polish.get(response.headers["Location"].split("#")[0]))
    assert link_error(page, "target") == "Rekordu nie można powiązać z nim samym."


def test_a_portal_account_does_not_reach_the_links(app):
    with writing(app) as (session, admin):
        org = organisations.create(
            session,
            app.extensions["kartoteka"].host,
            {"name": "Gmina Kórnik", "type_key": "core.municipality"},
            admin,
        )
        anna = people.create(session, {"first_name": "Anna", "last_name": "Nowak"}, admin)
        memberships.join(session, anna, org, role="clerk")
        made = links.link(session, org, anna, "contact", admin).id
        users.create_user(
            session, "portal@kornik.pl", PASSWORD, "Kórnik", portal_of=org, portal_admin=True
        )
        org_id, anna_id = org.id, anna.id
    client = app.test_client()
    assert (
        client.post("/login", data={"email": "portal@kornik.pl", "password": PASSWORD}).status_code
        == 302
    )
    assert client.get("/links/find?type=person&q=anna").status_code == 404
    assert (
        client.post(
            f"/links/organisation/{org_id}",
            data={"target_type": "person", "target_id": str(anna_id)},
        ).status_code
        == 404
    )
    assert client.post(f"/links/organisation/{org_id}/{made}/delete").status_code == 404
    assert links_count(app) == 1
