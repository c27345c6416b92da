"""The administrators' plugin page: every installed plugin with its status, switched on
or off from the page, taking effect at the next start."""

from sqlalchemy import select

from core import plugins, roles, users
from core.models import AuditEntry
from core.testing import ADMIN_EMAIL


def states(rt) -> set[str]:
    with rt.session() as session:
        return set(plugins.enabled_states(session))


def test_a_plugin_is_switched_on_and_off_for_the_next_start(client, rt,
                                                            kartoteka_app_factory):
    page = client.get("/admin/plugins/")
    assert page.status_code == 200
    assert 'id="plugin-printing"' in page.text and "Some changes take effect" not in page.text

    switched = client.post("/admin/plugins/printing", data={"enabled": "1"},
                           follow_redirects=True)
    assert "printing is switched on; restart Kartoteka to start using it." in switched.text
    assert "until the restart: off" in switched.text
    assert "Some changes take effect when Kartoteka restarts" in switched.text
    assert states(rt) == {"printing"}
    with rt.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "plugin_state")).one()
        assert entry.actor_id is not None and entry.changes["enabled"] == [False, True]

    restarted = kartoteka_app_factory(default_locale="en")
    assert "printing" in restarted.extensions["kartoteka"].host.plugins

    client.post("/admin/plugins/printing", data={"enabled": "0"})
    assert states(rt) == set()


def test_a_plugin_that_cannot_be_switched_on_says_why_and_nothing_changes(
        client, rt, third_party):
    page = client.get("/admin/plugins/")
    assert 'id="plugin-needs_absent"' in page.text  # listed apart: its error is shown
    refused = client.post("/admin/plugins/needs_absent", data={"enabled": "1"},
                          follow_redirects=True)
    assert "needs_absent was not changed: depends on plugin &#39;absent&#39;" in refused.text
    assert states(rt) == set()


def test_only_those_who_may_manage_plugins_see_the_page(app, rt, kartoteka_login):
    with rt.session() as session, session.begin():
        clerk = users.create_user(session, "clerk@example.com", "correct horse battery")
        roles.assign(session, clerk, [roles.STAFF])
    client = kartoteka_login(app.test_client(), "clerk@example.com", "correct horse battery")
    assert client.get("/admin/plugins/").status_code == 403
    assert client.post("/admin/plugins/printing", data={"enabled": "1"}).status_code == 403
    assert states(rt) == set()
    admin = kartoteka_login(app.test_client(), ADMIN_EMAIL)
    assert "/admin/plugins/" in admin.get("/").text
