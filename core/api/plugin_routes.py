"""The enabled plugins' own API resources, under /api/v1/<plugin>.

What ``kartoteka_register_api_blueprints`` returns is nested in one blueprint per
plugin, ``api_<plugin>``, made anew for each application, so a plugin's module-level
blueprints serve every application built in a process. The API mounts it like the
core's own resources: the same authentication, CSRF rule for session calls, error
answers and OpenAPI document, where the plugin's paths carry its name as their tag. A
disabled plugin is never imported, so its paths answer 404 and are not in the document.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Blueprint

from core.errors import PluginError, StartupError

HOOK = "kartoteka_register_api_blueprints"


def blueprints(app: Flask, csrf, taken: list[Blueprint]) -> list[Blueprint]:
    """One blueprint per plugin with API resources; ``taken``: the core's, whose paths
    and names a plugin may not claim. A faulty plugin stops start-up, naming the
    command that disables it."""
    host = app.extensions["kartoteka"].host
    prefixes = {bp.url_prefix for bp in taken} | {"/docs", "/openapi.json"}
    names = {bp.name for bp in taken}
    found = []
    try:
        for owner, items in host.call_each(HOOK):
            plugin = host.plugins.get(owner)
            parent = Blueprint(f"api_{owner}", __name__, url_prefix=f"/{owner}",
                               description=plugin.manifest.label("en") if plugin else owner)
            if parent.url_prefix in prefixes or parent.name in names:
                raise PluginError(owner, f"its API would be mounted at /api/v1/{owner}, "
                                         "which the core's own API uses")
            for bp in items:
                _check(owner, bp, parent)
                csrf.exempt(bp)  # checked in auth.authenticate for session calls
                parent.register_blueprint(bp)
            found.append(parent)
    except PluginError as exc:
        raise StartupError(f"{exc}\nDisable it with:\n    kartoteka plugins disable "
                           f"{exc.plugin}") from exc
    return found


def _check(owner: str, bp, parent: Blueprint) -> None:
    if not isinstance(bp, Blueprint):
        raise PluginError(owner, f"{HOOK} returned {bp!r}, not a flask_smorest.Blueprint")
    if any(other.name == bp.name for other, _options in parent._blueprints):
        raise PluginError(owner, f"it returned two API blueprints named '{bp.name}'")
    if not (bp.url_prefix or "").startswith("/"):
        raise PluginError(owner, f"API blueprint '{bp.name}' needs a url_prefix such as "
                                 f"'/{bp.name}': it is mounted at /api/v1/{owner}<url_prefix>")
