"""The application factory."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import fields
from datetime import timedelta

from flask import Blueprint, Flask
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core import api, config, identifiers, menu, permissions, runtime, timeline
from core.errors import Forbidden, PluginError, StartupError
from core.terms import term, term_adj
from core.web import (
    account,
    admin,
    attachments,
    audit,
    auth,
    bank_statements,
    billable_items,
    billing_exports,
    billing_runs,
    branding,
    calculations,
    calendar,
    calendar_feed,
    cases,
    contracts,
    documents,
    health,
    home,
    i18n,
    imports,
    invoices,
    jobs,
    links,
    mailings,
    organisations,
    password_reset,
    payments,
    people,
    plugin_admin,
    portal,
    price_lists,
    privacy,
    processes,
    public_forms,
    roles,
    search,
    segments,
    tasks,
    terms,
    unsubscribe,
    users,
    webhooks,
)
from core.web.db import close_session
from core.web.fields import bp as fields_bp
from core.web.forms import MAX_ID

csrf = CSRFProtect()
PRIORITY_LABELS = {1: _l("low"), 2: _l("normal"), 3: _l("high"), 4: _l("urgent")}
STATUS_LABELS = {"open": _l("open"), "done": _l("done"), "cancelled": _l("cancelled")}
babel = Babel()


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the application for one installation.

    ``config_overrides`` may hold Kartoteka settings (``database_url``, ...; see
    ``core.config``) and Flask settings in upper case (``TESTING``, ...).
    """
    overrides = dict(config_overrides or {})
    setting_names = {f.name for f in fields(config.Settings)}
    settings = config.load({k: v for k, v in overrides.items() if k.lower() in setting_names})
    rt = runtime.start(settings)

    app = Flask("core.web", instance_path=settings.instance_path,
                template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # Refuse oversized uploads before reading them (a little room for the form).
        MAX_CONTENT_LENGTH=(int(settings.max_upload_mb) + 1) * 1024 * 1024,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(
            i18n.compile_translations(settings.instance / "translations")),
    )
    app.config.update({k: v for k, v in overrides.items() if k.lower() not in setting_names})
    if settings.trusted_proxies > 0:
        # Not X-Forwarded-Host: many proxies pass on a client's own, and links and the
        # redirect check build on the host (KARTOTEKA_PUBLIC_URL names the public one).
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    attach(app, rt)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.current_locale)
    auth.login_manager.init_app(app)
    app.jinja_env.globals.update(term=term, term_adj=term_adj,
                                 current_locale=i18n.current_locale,
                                 activity_label=timeline.label,
                                 activity_kinds=timeline.KIND_LABELS,
                                 priorities=PRIORITY_LABELS, task_statuses=STATUS_LABELS,
                                 one_week=timedelta(days=7), can=_can)
    app.context_processor(_page_globals)
    app.jinja_env.filters["identifier"] = _format_identifier
    app.teardown_appcontext(close_session)

    app.url_map.converters["int"] = RecordId
    for blueprint in (health.bp, auth.bp, password_reset.bp, home.bp, organisations.bp,
                      people.bp, admin.bp, attachments.bp, calendar_feed.bp, calendar.bp,
                      tasks.bp, search.bp, segments.bp, imports.bp, terms.bp, fields_bp,
                      account.bp, roles.bp, users.bp, cases.bp, processes.bp, documents.bp,
                      mailings.bp, jobs.bp, portal.bp, webhooks.bp,
                      plugin_admin.bp, billing_exports.bp, payments.bp, billable_items.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(bank_statements.bp)
    app.register_blueprint(branding.bp)
    app.register_blueprint(branding.public_bp)
    for blueprint in (contracts.bp, contracts.expected_bp, billing_runs.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(links.bp)
    app.register_blueprint(price_lists.bp)
    app.register_blueprint(calculations.bp)
    audit.init_app(app)
    privacy.init_app(app)
    invoices.init_app(app)
    unsubscribe.init_app(app, csrf)
    public_forms.init_app(app)
    api.init_app(app, csrf)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(Forbidden, _forbidden)
    app.before_request(_staff_pages_only_for_staff)
    _register_plugin_blueprints(app, rt)
    try:
        rt.host.call_each("kartoteka_startup", app=app)
    except PluginError as exc:
        raise StartupError(f"{exc}\nDisable it with:\n    kartoteka plugins disable "
                           f"{exc.plugin}") from exc
    return app


def attach(app: Flask, rt: runtime.Runtime) -> None:
    """Make ``rt`` the installation ``app`` runs. All that the app holds of its runtime is
    set here: the test suite gives an app built without plugins a fresh runtime for each
    test (``core.testing``) instead of building it again."""
    app.extensions["kartoteka"] = rt
    rt.jobs.bind(rt, context=lambda: _work_context(app))
    app.jinja_env.globals["plugins"] = rt.host.plugins
    api.ratelimit.restart(app)  # API calls counted in this process count afresh


@contextmanager
def _work_context(app: Flask):
    """Jobs run in this process (immediate mode, the worker) see the app as requests do,
    in an application context of their own: a job run as a request's transaction
    commits must not reach for that request's session (``g.db``), which is finishing.
    Such a job writes in the language of the request that started it."""
    from flask import has_request_context
    from flask_babel import force_locale, get_locale

    locale = str(get_locale()) if has_request_context() else None
    with app.app_context(), app.test_request_context():
        if locale is None:
            yield
        else:
            with force_locale(locale):
                yield


def _register_plugin_blueprints(app: Flask, rt: runtime.Runtime) -> None:
    """The plugins' staff pages, portal pages (under /portal/<plugin>, for portal
    accounts only) and menu entries, each checked before anything is served."""
    portal_names, plugin_portal = set(PORTAL_BLUEPRINTS), set()
    try:
        for owner, blueprints in rt.host.call_each("kartoteka_register_blueprints"):
            for bp in blueprints:
                app.register_blueprint(_checked(owner, bp))
        for owner, blueprints in rt.host.call_each("kartoteka_register_portal_blueprints"):
            for bp in blueprints:
                app.register_blueprint(_checked(owner, bp),
                                       url_prefix=f"/portal/{owner}{bp.url_prefix or ''}")
                plugin_portal.add(bp.name)
        app.extensions["kartoteka_plugin_portal"] = plugin_portal
        app.extensions["kartoteka_portal_blueprints"] = portal_names | plugin_portal
        app.extensions["kartoteka_menu"] = [*price_lists.menu(rt.host),
                                            *_menu_items(app, rt, plugin_portal)]
    except PluginError as exc:
        raise StartupError(f"{exc}\nDisable it with:\n    kartoteka plugins disable "
                           f"{exc.plugin}") from exc


def _checked(owner: str, bp) -> Blueprint:
    if not isinstance(bp, Blueprint) or not bp.name.startswith(owner):
        raise PluginError(owner, f"blueprint {bp!r} must be a flask.Blueprint "
                                 f"named after the plugin")
    return bp


def _menu_items(app: Flask, rt: runtime.Runtime, portal_names: set[str]) -> list:
    items = []
    for owner, offered in rt.host.call_each("kartoteka_register_menu_items"):
        for item in offered:
            wrong = menu.problem(item, set(app.view_functions), portal_names)
            if wrong:
                raise PluginError(owner, wrong)
            items.append(item)
    return items


def _page_globals() -> dict:
    """What every page's frame shows: the installation's branding and the plugins'
    menu entries the viewer may open."""
    from flask import current_app, request
    from flask_login import current_user

    items = current_app.extensions.get("kartoteka_menu", [])
    area = "portal" if current_user.is_authenticated and current_user.is_portal else "staff"
    return {"branding": branding.current(),
            "plugin_menu": [(item, item.current_for(request.blueprint, request.endpoint))
                            for item in menu.shown(items, current_user, area)]}


class RecordId(IntegerConverter):
    """<int:...> in URLs stops at the largest id the tables hold: a larger number is an
    unknown page (404), never an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _too_large(_error):
    """An upload over the limit: say so where the user was, instead of an error page;
    to a program, as the API's problem+json."""
    from flask import current_app, flash, redirect, request
    from flask_babel import gettext as _

    from core.api.errors import problem
    from core.web.auth import safe_next

    limit = current_app.extensions["kartoteka"].settings.max_upload_mb
    message = _("The file is larger than the limit of %(limit)s MB.", limit=limit)
    if request.path.startswith("/api/"):
        return problem(413, message)
    flash(message, "error")
    return redirect(safe_next(request.referrer), code=303)


def _can(key: str) -> bool:
    """Whether the logged-in user's roles grant ``key``: for links in templates."""
    from flask_login import current_user

    return current_user.is_authenticated and permissions.can(current_user, key)


# What a portal account may open: logging in and out, its own account, static files.
PORTAL_BLUEPRINTS = {"auth", "password_reset", "account", "health", "portal", "unsubscribe",
                     "public_forms", "branding_public",
                     None}


def _staff_pages_only_for_staff():
    """A portal account never reaches a staff page or the staff API: they do not exist
    for it (404), whatever the URL."""
    from flask import abort, current_app, redirect, request, url_for
    from flask_login import current_user

    if request.endpoint == "static" or request.path.startswith("/api/"):
        return None
    if request.blueprint in current_app.extensions.get("kartoteka_plugin_portal", ()):
        return portal.accounts_only()  # a plugin's portal page: for portal accounts only
    allowed = current_app.extensions.get("kartoteka_portal_blueprints", PORTAL_BLUEPRINTS)
    if current_user.is_authenticated and current_user.is_portal \
            and request.blueprint not in allowed:
        if request.endpoint == "home.index":  # the site's front door leads to its own
            return redirect(url_for("portal.index"))
        abort(404)
    return None


def _forbidden(error: Forbidden):
    """A write the user may not make: refused before anything was written."""
    from flask import render_template, request

    from core.api.errors import problem

    if request.path.startswith("/api/"):
        return problem(403, str(error))
    return render_template("core/forbidden.html", message=str(error)), 403


def _format_identifier(value: str, kind: str) -> str:
    """Identifiers grouped for reading (NIP 525-000-12-33); other values as they are."""
    if not value or kind not in identifiers.KINDS:
        return value or ""
    return identifiers.format(kind, value)
