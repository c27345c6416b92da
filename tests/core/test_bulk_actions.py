"""The bulk actions' service (``core.bulk_actions``): each record changed through its
service in a savepoint of its own, in the caller's one transaction; what is skipped
and why; the owners an actor may give records to; organisations' current members."""

from datetime import date

import pytest
from api_helpers import callers
from sqlalchemy import func, select

from core import bulk_actions, events, memberships, organisations, people, roles, tags, teams, users
from core.errors import ValidationError
from core.models import AuditEntry, Organisation, Person, User

PASSWORD = "correct horse battery"


@pytest.fixture
def world(rt) -> dict[str, int]:
    """An administrator, Ola (her own records only), Tomasz and Tamara (one team, its
    records), a retired account; Anna and Bogdan, Ola's Jan."""
    with rt.session() as s, s.begin():
        own = roles.create(s, "own_only", "Own records only")
        roles.set_access(s, own, {("*", a): "own" for a in ("read", "create", "edit")})
        team = roles.create(s, "team_only", "The team's records")
        roles.set_access(s, team, {("*", a): "team" for a in ("read", "create", "edit")})
        found = {
            "admin": users.create_user(s, "admin@example.com", PASSWORD, "Ada",
                                       is_admin=True).id,
            "ola": users.create_user(s, "ola@example.com", PASSWORD, "Ola",
                                     roles=["own_only"]).id,
            "tomasz": users.create_user(s, "tomasz@example.com", PASSWORD, "Tomasz",
                                        roles=["team_only"]).id,
            "tamara": users.create_user(s, "tamara@example.com", PASSWORD, "Tamara",
                                        roles=["staff"]).id,
        }
        retired = users.create_user(s, "old@example.com", PASSWORD, "Old")
        retired.active = False
        group = teams.create_team(s, "Sprzedaż")
        for name in ("tomasz", "tamara"):
            teams.add_member(s, group, s.get(User, found[name]))
        for first, last, owner in (("Anna", "Nowak", None), ("Bogdan", "Lis", None),
                                   ("Jan", "Mój", found["ola"])):
            found[first] = people.create(s, {"first_name": first, "last_name": last,
                                             "owner_id": owner}).id
    return found


def actor(s, world, name) -> User:
    return s.get(User, world[name])


def test_each_record_is_tagged_in_the_callers_one_transaction(rt, world):
    ids = [world["Anna"], world["Bogdan"]]
    with rt.session() as s:
        outcome = bulk_actions.tag(s, Person, ids, "VIP", actor(s, world, "admin"))
        assert outcome.changed == ids and not outcome.unchanged and not outcome.skipped
        s.rollback()  # the caller decides: nothing is kept
    with rt.session() as s:
        assert tags.tags_of(s, s.get(Person, world["Anna"])) == []
    with rt.session() as s, s.begin():
        bulk_actions.tag(s, Person, [*ids, ids[0]], "VIP", actor(s, world, "admin"))
    with rt.session() as s:
        assert all(tags.tags_of(s, s.get(Person, i)) == ["VIP"] for i in ids)


def test_a_record_refused_midway_is_undone_alone_and_the_others_are_announced(
        rt, world, monkeypatch):
    real = people.update

    def vetoed(session, person, data, actor=None, **kwargs):
        real(session, person, data, actor, **kwargs)  # written, then refused
        if person.id == world["Anna"]:
            raise ValidationError({"owner_id": "A plugin says no."})
        return person

    monkeypatch.setattr(bulk_actions.people, "update", vetoed)
    ids = [world["Bogdan"], world["Anna"], world["Jan"]]
    with rt.session() as s, s.begin():
        outcome = bulk_actions.assign_owner(s, rt.host, Person, ids, world["tamara"],
                                            actor(s, world, "admin"))
        announced = [kw["record"].id for hook, kw in s.info.get(events.PENDING, [])
                     if hook == "kartoteka_record_updated"]
    assert outcome.changed == [world["Bogdan"], world["Jan"]]
    assert outcome.skipped == [bulk_actions.Skipped(world["Anna"], "Anna Nowak",
                                                    "A plugin says no.")]
    assert announced == [world["Bogdan"], world["Jan"]]
    with rt.session() as s:
        assert s.get(Person, world["Anna"]).owner_id is None
        assert s.get(Person, world["Bogdan"]).owner_id == world["tamara"]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.record_id == world["Anna"], AuditEntry.action == "update")) == 0


def test_what_the_actor_may_not_see_or_change_is_skipped_with_the_reason(rt, world):
    with rt.session() as s, s.begin():
        ola = actor(s, world, "ola")
        outcome = bulk_actions.untag(s, Person, [world["Anna"], world["Jan"]], "VIP", ola)
        assert outcome.unchanged == [world["Jan"]]  # hers, but not tagged
        assert outcome.skipped == [bulk_actions.Skipped(
            world["Anna"], "", "it does not exist or you may not see it")]


def test_bad_input_is_refused_before_anything_is_written(rt, world):
    with rt.session() as s:
        admin = actor(s, world, "admin")
        for ids, message in (([], "Nothing was chosen"), (["12x"], "Not a record's number"),
                             ([0], "Not a record's number"), ([True], "Not a record's number"),
                             (range(1, bulk_actions.MAX_IDS + 2), "At most 1000 records")):
            with pytest.raises(ValidationError) as refused:
                bulk_actions.tag(s, Person, ids, "VIP", admin)
            assert message in refused.value.errors["ids"]
        with pytest.raises(ValidationError) as refused:
            bulk_actions.tag(s, Person, [world["Anna"]], " ", admin)
        assert "tag" in refused.value.errors
        for owner in (None, world["ola"] + 1000, "x"):
            with pytest.raises(ValidationError) as refused:
                bulk_actions.assign_owner(s, rt.host, Person, [world["Anna"]], owner, admin)
            assert "owner_id" in refused.value.errors
        assert not s.new and not s.dirty
        assert s.get(Person, world["Anna"]).version == 1


def test_the_owners_one_may_give_records_to_follow_the_reach_of_the_role(rt, world):
    with rt.session() as s:
        def names(who):
            return [u.full_name for u in bulk_actions.owners(s, actor(s, world, who),
                                                             "organisation")]

        assert names("admin") == ["Ada", "Ola", "Tamara", "Tomasz"]  # active staff only
        assert names("ola") == ["Ola"]
        assert names("tomasz") == ["Tamara", "Tomasz"]
        assert "Old" not in names("tamara")
        retired = s.scalar(select(User).where(User.email == "old@example.com"))
        with pytest.raises(ValidationError):
            bulk_actions.assign_owner(s, rt.host, Person, [world["Anna"]], retired.id,
                                      actor(s, world, "admin"))


def test_an_organisations_current_members_are_its_people_today(rt, world):
    with rt.session() as s, s.begin():
        kornik = organisations.create(s, rt.host, {"name": "Gmina Kórnik",
                                                   "type_key": "core.municipality"})
        anna, bogdan, jan = (s.get(Person, world[n]) for n in ("Anna", "Bogdan", "Jan"))
        memberships.join(s, anna, kornik, "", date(2020, 1, 1))
        memberships.leave(s, memberships.join(s, bogdan, kornik, "", date(2020, 1, 1)),
                          date(2021, 1, 1))
        memberships.join(s, jan, kornik, "", date(2020, 1, 1))
        memberships.join(s, bogdan, kornik, "", date(2099, 1, 1))  # not yet
        kornik_id = kornik.id
    with rt.session() as s:
        found, skipped = bulk_actions.members(s, [kornik_id, kornik_id + 1],
                                              actor(s, world, "admin"))
        assert sorted(found) == sorted([world["Anna"], world["Jan"]])
        assert [x.id for x in skipped] == [kornik_id + 1]
        assert s.get(Organisation, kornik_id) is not None



# --------------------------------------------------------------------- the API


def test_the_api_tags_and_gives_owners_in_bulk_and_lists_what_it_left_out(app, rt, world):
    api = callers(app, rt, boss={"admin": True},
                  own={"access": {"read": "own", "create": "own", "edit": "own"}})
    with rt.session() as s, s.begin():
        mine = people.create(s, {"first_name": "Ewa", "last_name": "Własna",
                                 "owner_id": api.ids["own"]}).id
    anna, bogdan = world["Anna"], world["Bogdan"]
    response = api.own("post", "/people/bulk", json={"action": "tag", "ids": [mine, anna],
                                                     "tag": "VIP"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"changed": [mine], "unchanged": [], "skipped": [
        {"id": anna, "reason": "it does not exist or you may not see it"}]}
    response = api.boss("post", "/people/bulk", json={"action": "untag", "ids": [mine, anna],
                                                      "tag": "VIP"})
    assert response.get_json() == {"changed": [mine], "unchanged": [anna], "skipped": []}
    response = api.boss("post", "/people/bulk", json={
        "action": "assign_owner", "ids": [anna, bogdan], "owner_id": world["tamara"]})
    assert response.get_json()["changed"] == [anna, bogdan]
    with rt.session() as s:
        assert s.get(Person, bogdan).owner_id == world["tamara"]
        assert tags.tags_of(s, s.get(Person, mine)) == []


def test_the_api_refuses_bad_bulk_input_as_field_errors_and_changes_nothing(app, rt, world):
    api = callers(app, rt, boss={"admin": True},
                  own={"access": {"read": "own", "create": "own", "edit": "own"}})
    anna = world["Anna"]
    for caller, body, field in (
            (api.boss, {"action": "tag", "ids": [], "tag": "VIP"}, "ids"),
            (api.boss, {"action": "tag", "ids": list(range(1, 1002)), "tag": "VIP"}, "ids"),
            (api.boss, {"action": "tag", "ids": [anna]}, "tag"),
            (api.boss, {"action": "tag", "ids": [anna], "tag": "x" * 61}, "tag"),
            (api.boss, {"action": "burn", "ids": [anna]}, "action"),
            (api.boss, {"action": "assign_owner", "ids": [anna]}, "owner_id"),
            (api.own, {"action": "assign_owner", "ids": [anna], "owner_id": world["tamara"]},
             "owner_id")):
        response = caller("post", "/organizations/bulk" if field == "action" else
                          "/people/bulk", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in str(response.get_json()), (body, response.get_json())
    with rt.session() as s:
        assert tags.tags_of(s, s.get(Person, anna)) == []
        assert s.get(Person, anna).version == 1


def test_the_bulk_route_is_documented_with_its_errors(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/people/bulk", "/api/v1/organizations/bulk"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"200", "401", "422"} <= responses.keys()
