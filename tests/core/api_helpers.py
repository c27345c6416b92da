"""Callers of the REST API for tests: staff accounts, each with a token and the rights
the test gives it."""

from __future__ import annotations

from types import SimpleNamespace

from core import roles, tokens, users
from core.permissions import ACTIONS

PASSWORD = "correct horse battery"


def callers(app, rt, **accounts) -> SimpleNamespace:
    """``name=dict(...)`` for each account: ``admin=True``; ``access={action: level}``
    (a role of its own giving that level for every record type, none for the actions
    left out); ``permissions=[...]`` (added to a role of its own); else the built-in
    staff role. The answer has a caller per name and ``ids``: name -> account id."""
    client = app.test_client()
    found = {}
    with rt.session() as s, s.begin():
        for name, spec in accounts.items():
            user = users.create_user(s, f"{name}@example.com", PASSWORD,
                                     full_name=name.title(), is_admin=spec.get("admin", False))
            if not spec.get("admin"):
                keys = ["staff"] if "access" not in spec else []
                if "access" in spec or "permissions" in spec:
                    role = roles.create(s, f"{name}_role", f"{name.title()}'s role")
                    roles.set_access(s, role, {("*", action): spec.get("access", {}).get(
                        action, "none") for action in ACTIONS})
                    roles.set_permissions(s, role, spec.get("permissions", []))
                    keys.append(role.key)
                roles.assign(s, user, keys)
            found[name] = (user.id, tokens.create(s, user, "test")[1])
    made = SimpleNamespace(ids={name: user_id for name, (user_id, _t) in found.items()})
    for name, (_user_id, token) in found.items():
        setattr(made, name, caller(client, token))
    return made


def caller(client, token: str):
    """``call(method, path, **kwargs)`` under /api/v1 with the token, asking for English."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def created(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()
