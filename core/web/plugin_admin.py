"""Administrators' plugin page: every installed plugin with its status and error, and
switching one on or off.

Switching on checks the plugin and its dependencies and migrates its tables, as
``kartoteka plugins enable`` does; both take effect when the application restarts
(its pages, hooks and API routes are registered at start), which the page says for
each plugin whose state differs from the running one's.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import plugins
from core.errors import PluginError
from core.web.admin import permission_required
from core.web.i18n import current_locale

bp = Blueprint("plugin_admin", __name__, url_prefix="/admin/plugins")
manage = permission_required("core.manage_plugins")


@bp.get("/")
@manage
def index():
    rt = current_app.extensions["kartoteka"]
    lines = plugins.report_apart(rt.settings, locale=current_locale())
    running = set(rt.host.plugins)
    return render_template("core/admin/plugins.html", lines=lines, running=running,
                           restart=any((line.status == "enabled") != (line.name in running)
                                       for line in lines))


@bp.post("/<name>")
@manage
def switch(name: str):
    rt = current_app.extensions["kartoteka"]
    on = request.form.get("enabled") == "1"
    try:
        changed = _enable(rt, name) if on else plugins.disable(rt.engine, name, current_user)
    except PluginError as exc:
        flash(_("%(name)s was not changed: %(reason)s", name=name, reason=exc.reason), "error")
    else:
        if changed and on:
            flash(_("%(name)s is switched on; restart Kartoteka to start using it.",
                    name=name))
        elif changed:
            flash(_("%(name)s is switched off; its data is kept. Restart Kartoteka to "
                    "stop using it.", name=name))
    return redirect(url_for("plugin_admin.index"))


def _enable(rt, name: str) -> bool:
    return bool(plugins.enable(rt.engine, [name], current_user))
