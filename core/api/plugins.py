"""Installed plugins through the API: their state, version and what they add, and
switching one on or off.

Switching on checks the plugin and its dependencies and migrates its tables, as
``kartoteka plugins enable NAME`` and the staff page do; like them, it takes effect
when the application starts again (``loaded`` says what runs now). Everything here
needs the ``core.manage_plugins`` permission. A plugin that is not enabled is never
imported by the application, so of it only its name and its package's version are
known here; of an enabled one, its manifest and what it registers in this application.
"""

from __future__ import annotations

from flask import abort as http_abort
from flask import current_app
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import permissions, plugins
from core.api.auth import actor
from core.api.errors import problem
from core.db import Base
from core.errors import PluginError
from core.web.db import db
from core.web.i18n import current_locale

MANAGE = "core.manage_plugins"


class RegistersSchema(Schema):
    record_types = fields.List(fields.String())
    permissions = fields.List(fields.String())
    terms = fields.List(fields.String())
    processes = fields.List(fields.String())
    organisation_types = fields.List(fields.String())
    field_types = fields.List(fields.String())
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields",
                          metadata={"description": "Custom fields it ships."})
    templates = fields.List(fields.String())
    jobs = fields.List(fields.String(), metadata={
        "description": "Background jobs and periodic tasks."})
    hooks = fields.List(fields.String(), metadata={"description": "The hooks it implements."})


class PluginSchema(Schema):
    name = fields.String()
    state = fields.String(metadata={
        "description": "enabled, disabled, or missing (enabled but no longer installed)."})
    loaded = fields.Boolean(metadata={
        "description": "This application runs it; an enabled plugin is not loaded until "
                       "the application starts again."})
    version = fields.String(allow_none=True)
    title = fields.String(allow_none=True, metadata={
        "description": "In the request's language; null for a plugin not loaded."})
    description = fields.String(allow_none=True)
    depends = fields.List(fields.String())
    registers = fields.Nested(RegistersSchema, allow_none=True, metadata={
        "description": "What it adds to this application; null for a plugin not loaded."})


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_plugins", __name__, url_prefix="/plugins",
                   description="Installed plugins and what they add")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, PluginSchema(many=True))
        @bp.alt_response(403, description="Needs the core.manage_plugins permission.")
        def get(self):
            """Every installed or enabled plugin, by name.

            ``POST /plugins/{name}/enable`` and ``/disable`` switch one on or off for the
            application's next start.
            """
            _require()
            return _report()

    @bp.route("/<string:name>")
    class Item(MethodView):
        @bp.response(200, PluginSchema)
        @bp.alt_response(403, description="Needs the core.manage_plugins permission.")
        def get(self, name):
            """One plugin."""
            _require()
            return _one(name)

    @bp.route("/<string:name>/enable")
    class Enable(MethodView):
        @bp.response(200, PluginSchema)
        @bp.alt_response(403, description="Needs the core.manage_plugins permission.")
        @bp.alt_response(404, description="No such plugin is installed.")
        @bp.alt_response(422, description="The plugin or a dependency cannot be enabled; "
                                          "nothing was changed.")
        def post(self, name):
            """Switch a plugin on (checked and migrated) for the next start."""
            _require()
            if name not in plugins.discover():
                abort(404)
            return _switch(name, lambda: plugins.enable(_rt().engine, [name], actor()))

    @bp.route("/<string:name>/disable")
    class Disable(MethodView):
        @bp.response(200, PluginSchema)
        @bp.alt_response(403, description="Needs the core.manage_plugins permission.")
        @bp.alt_response(404, description="No such plugin.")
        @bp.alt_response(422, description="An enabled plugin depends on it.")
        def post(self, name):
            """Switch a plugin off for the next start; its data is kept."""
            _require()
            _one(name)
            return _switch(name, lambda: plugins.disable(_rt().engine, name, actor()))

    return [bp]


def _one(name: str) -> dict:
    found = [p for p in _report() if p["name"] == name]
    if not found:
        abort(404)
    return found[0]


def _switch(name: str, change) -> dict:
    try:
        change()
    except PluginError as exc:
        http_abort(problem(422, _("The data was refused; see the message of each field."),
                           {"name": exc.reason}))
    db().expire_all()  # the change was written in a session of its own
    return _one(name)


def _require() -> None:
    if not permissions.can(actor(), MANAGE):
        http_abort(403, _("Your role does not allow managing plugins."))


def _rt():
    return current_app.extensions["kartoteka"]


def _host():
    return _rt().host


def _report() -> list[dict]:
    """Every plugin installed (entry points, read without importing), enabled (the
    database) or loaded (this application), by name."""
    available = plugins.discover()
    states = plugins.enabled_states(db())
    host = _host()
    return [_out(name, available.get(name), states.get(name), host.plugins.get(name))
            for name in sorted(set(available) | set(states) | set(host.plugins))]


def _out(name: str, entry_point, state, loaded) -> dict:
    found = {"name": name, "state": "disabled", "loaded": loaded is not None,
             "title": None, "description": None, "depends": [], "registers": None,
             "version": plugins.dist_version(entry_point) if entry_point else None}
    if state is not None:
        found.update(state="enabled" if entry_point else "missing", version=state.version,
                     depends=list(state.depends or []))
    if loaded is not None:
        manifest, locale = loaded.manifest, current_locale()
        found.update(version=manifest.version, title=manifest.label(locale),
                     description=manifest.description.get(locale)
                     or manifest.description.get("en"),
                     depends=list(manifest.depends), registers=_registers(name, loaded))
    return found


def _registers(name: str, loaded: plugins.Loaded) -> dict:
    host = _host()

    def own(keys) -> list[str]:
        return sorted(k for k in keys if k.startswith(f"{name}."))

    package = (loaded.module.__package__ or loaded.module.__name__)
    return {
        "record_types": sorted(
            m.class_.record_type for m in Base.registry.mappers
            if isinstance(m.class_.__dict__.get("record_type"), str)
            and (m.class_.__module__ == package
                 or m.class_.__module__.startswith(f"{package}."))),
        "permissions": own(host.permissions), "terms": own(host.terms),
        "processes": own(host.processes), "organisation_types": own(host.organisation_types),
        "field_types": own(host.field_types), "templates": own(host.templates),
        "jobs": own([*host.jobs, *host.periodic]),
        "fields": sorted(f"{f.record_type}.{f.key}" for owner, f in host.fields
                         if owner == name),
        "hooks": sorted(caller.name for caller in host.pm.get_hookcallers(loaded.module)
                        or []),
    }
