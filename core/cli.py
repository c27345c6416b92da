"""The ``kartoteka`` command: set up, migrate, manage plugins and accounts, serve.

Core commands never import a plugin, so ``plugins list`` and ``plugins disable`` work
while an enabled plugin is broken. Plugins add commands through
``kartoteka_register_commands``; they are loaded only when a command that is not the
core's is asked for, or for ``--help``.
"""

from __future__ import annotations

import functools
import json
import secrets
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import core
from core import (
    audit,
    config,
    demo,
    jobs,
    migrate,
    password_reset,
    plugins,
    roles,
    runtime,
    tokens,
    users,
)
from core.db import make_engine, utcnow
from core.errors import KartotekaError, PluginError, ValidationError
from core.models import ApiToken, User
from core.terms import GENDERS, LOCALES


class KartotekaGroup(click.Group):
    """Adds the enabled plugins' commands next to the core's, lazily."""

    _plugin_commands: dict | None = None

    def _load_plugin_commands(self) -> dict:
        if self._plugin_commands is None:
            self._plugin_commands = {}
            group = click.Group()
            try:
                # Only reads which plugins are enabled: asking for help never migrates.
                settings = config.load()
                engine = make_engine(settings.database_url)
                if _database_exists(engine):
                    host = runtime.load_enabled(engine, settings)
                    host.call_each("kartoteka_register_commands", cli=group)
            except (KartotekaError, SQLAlchemyError) as exc:
                click.echo(f"(plugin commands unavailable: {_first_line(exc)})", err=True)
            for name, cmd in group.commands.items():
                if name not in self.commands:
                    self._plugin_commands[name] = cmd
        return self._plugin_commands

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(self._load_plugin_commands()))

    def get_command(self, ctx, name):
        return self.commands.get(name) or self._load_plugin_commands().get(name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            url = make_engine(config.load().database_url).url.render_as_string(
                hide_password=True)
            _fail(f"the database at {url} cannot be used: {_first_line(exc)}")


@click.group(cls=KartotekaGroup)
@click.version_option(core.__version__, prog_name="kartoteka")
@click.pass_context
def cli(ctx):
    """Kartoteka: a CRM core with industry plugins.

    Settings come from KARTOTEKA_* environment variables and instance/kartoteka.toml;
    see the README.
    """
    ctx.with_resource(audit.door("cli"))  # what any command changes, plugins' too


def _database_exists(engine) -> bool:
    """False for an SQLite file not created yet (nothing is installed there)."""
    database = engine.url.database
    return engine.dialect.name != "sqlite" or not database or Path(database).exists()


def _engine():
    settings = config.load()
    config.ensure_instance(settings)
    return make_engine(settings.database_url)


def _fail(message: str) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


# --------------------------------------------------------------------- init


@cli.command()
@click.option("--plugins", "plugin_names", default="",
              help="Comma-separated plugins to enable, or 'all' for every installed one.")
@click.option("--demo", "with_demo", is_flag=True, help="Load demo data from enabled plugins.")
@click.option("--admin-email", default=None, help="Create this administrator account.")
@click.option("--admin-password-file", type=click.Path(dir_okay=False), default=None,
              help="Where to write the administrator's generated password.")
def init(plugin_names: str, with_demo: bool, admin_email, admin_password_file):
    """Set up a new installation; on an existing one, only migrate.

    Creates the database schema, enables the chosen plugins, creates the first
    administrator with a generated password and loads demo data. Running it again
    on an installation that exists changes nothing but the schema.
    """
    engine = _engine()
    new = migrate.status(engine, [migrate.CORE_BRANCH])[0].current is None
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    if not new:
        _upgrade_enabled(engine)
        click.echo("The installation exists; its schema is up to date.")
        return
    names = list(plugins.discover()) if plugin_names == "all" else \
        [n.strip() for n in plugin_names.split(",") if n.strip()]
    try:
        for loaded in plugins.enable(engine, names):
            click.echo(f"Enabled {loaded.name} {loaded.manifest.version}")
    except PluginError as exc:
        _fail(f"{exc}\nThe installation was created without plugins.")
    if admin_email:
        password = secrets.token_urlsafe(12)
        with Session(engine) as session, session.begin():
            users.create_user(session, admin_email, password, "Administrator", is_admin=True)
        if admin_password_file:
            path = Path(admin_password_file)
            path.write_text(f"{admin_email}\n{password}\n")
            path.chmod(0o600)
        click.echo(f"Administrator: {admin_email}  password: {password}")
    if with_demo:
        _load_places()  # the demo's reps and leads are planned by distance
        _load_demo()
    click.echo("Kartoteka is set up.")


# --------------------------------------------------------------------- db


@cli.group()
def db():
    """Database schema: upgrade, status, plugin revisions."""


@db.command("upgrade")
def db_upgrade():
    """Bring the core and every enabled plugin to their newest schema."""
    engine = _engine()
    migrate.upgrade(engine, migrate.CORE_BRANCH)
    _upgrade_enabled(engine)
    click.echo("The schema is up to date.")


def _upgrade_enabled(engine) -> None:
    host = _host_or_fail(engine)
    for branch in host.branches()[1:]:
        migrate.upgrade(engine, branch)


def _host_or_fail(engine):
    try:
        return runtime.load_enabled(engine, config.load())
    except KartotekaError as exc:
        _fail(str(exc))


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def db_status(as_json: bool):
    """Show each migration branch's revision in the database and in the code."""
    engine = _engine()
    host = _host_or_fail(engine)
    lines = migrate.status(engine, host.branches())
    if as_json:
        click.echo(json.dumps([dict(name=s.name, current=s.current, head=s.head,
                                    up_to_date=s.up_to_date) for s in lines], indent=2))
        return
    for s in lines:
        state = "up to date" if s.up_to_date else "needs upgrade"
        click.echo(f"{s.name:16} {s.current or '-':28} head {s.head or '-':28} {state}")


@db.command("revision")
@click.option("--plugin", "plugin_name", required=True, help="The plugin (or 'core').")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--autogenerate", is_flag=True, help="Compare the plugin's models with the database.")
def db_revision(plugin_name: str, message: str, autogenerate: bool):
    """Create a migration revision for the core or for one enabled plugin."""
    engine = _engine()
    host = _host_or_fail(engine)
    if plugin_name == migrate.CORE:
        branch = migrate.CORE_BRANCH
    else:
        found = host.branch(plugin_name) if plugin_name in host.plugins else []
        if not found:
            _fail(f"'{plugin_name}' is not an enabled plugin with a migrations folder")
        branch = found[0]
    migrate.make_revision(engine, branch, message, autogenerate, tuple(plugins.discover()))


@db.command("downgrade")
@click.option("--plugin", "plugin_name", required=True, help="The plugin whose tables to revert.")
@click.argument("revision")
def db_downgrade(plugin_name: str, revision: str):
    """Revert a plugin's schema to REVISION ('base' removes its tables).

    This is the last step before uninstalling a plugin; disable it first.
    """
    engine = _engine()
    with Session(engine) as session:
        if plugin_name in plugins.enabled_states(session):
            _fail(f"disable '{plugin_name}' first: kartoteka plugins disable {plugin_name}")
    try:
        branch = plugins.build_host([plugin_name]).branch(plugin_name)
    except PluginError as exc:
        _fail(str(exc))
    for b in branch:
        migrate.downgrade(engine, b, revision)
    click.echo(f"{plugin_name}: downgraded to {revision}.")


# --------------------------------------------------------------------- plugins


@cli.group("plugins")
def plugins_group():
    """List, enable and disable plugins (a restart of the app applies the change)."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--locale", help="The language of titles (default: the installation's).")
def plugins_list(as_json: bool, locale: str | None):
    """Show every installed or enabled plugin with its status and error."""
    lines = plugins.report(_engine(), locale=locale or config.load().default_locale)
    if as_json:
        click.echo(json.dumps([line.as_dict() for line in lines], indent=2, ensure_ascii=False))
        return
    for line in lines:
        colour = {"enabled": "green", "disabled": None}.get(line.status, "red")
        click.echo(f"{line.name:16} {line.version:10} "
                   + click.style(f"{line.status:9}", fg=colour) + f" {line.title}")
        if line.error:
            click.echo(f"{'':16} {line.error}")


@plugins_group.command("enable")
@click.argument("names", nargs=-1, required=True)
def plugins_enable(names):
    """Check, migrate and enable plugins (dependencies must be enabled first)."""
    try:
        done = plugins.enable(_engine(), names)
    except PluginError as exc:
        _fail(f"{exc}\nNothing was enabled.")
    for loaded in done:
        click.echo(f"Enabled {loaded.name} {loaded.manifest.version}.")
    for name in sorted(set(names) - {p.name for p in done}):
        click.echo(f"{name} was already enabled.")


@plugins_group.command("disable")
@click.argument("name")
def plugins_disable(name: str):
    """Disable a plugin; its tables and data are kept."""
    try:
        changed = plugins.disable(_engine(), name)
    except PluginError as exc:
        _fail(str(exc))
    click.echo(f"Disabled {name}; its data is kept." if changed else f"{name} was not enabled.")


# --------------------------------------------------------------------- users


@cli.group("users")
def users_group():
    """Staff accounts."""


@users_group.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's e-mail address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; prompted for when omitted.")
@click.option("--name", "full_name", default="", help="Full name.")
def users_create_admin(email: str, password: str, full_name: str):
    """Create an administrator account."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            users.create_user(session, email, password, full_name, is_admin=True)
    except ValidationError as exc:
        _fail("\n".join(f"{field}: {message}" for field, message in exc.errors.items()))
    click.echo(f"Created administrator {email.strip().lower()}.")


@users_group.command("create")
@click.option("--email", required=True, help="The staff member's e-mail address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; prompted for when omitted.")
@click.option("--name", "full_name", default="", help="Full name.")
@click.option("--role", "role_keys", multiple=True,
              help="A role to give (repeatable); the built-in 'staff' role by default.")
def users_create(email: str, password: str, full_name: str, role_keys: tuple[str, ...]):
    """Create a staff account with the given roles."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            users.create_user(session, email, password, full_name,
                              roles=list(role_keys) or None)
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"Created {email.strip().lower()}.")


@users_group.command("list")
def users_list():
    """Staff accounts: e-mail, name, roles, active or not."""
    rt = _runtime()
    with rt.session() as session:
        for user in session.scalars(select(User).where(User.kind == "staff")
                                    .order_by(User.email)):
            held = ",".join(roles.roles_of(session, user)) + (",admin" if user.is_admin else "")
            state = "active" if user.active else "switched off"
            click.echo(f"{user.email}\t{user.full_name}\t{held.strip(',')}\t{state}")


@users_group.command("roles")
@click.argument("email")
@click.argument("role_keys", nargs=-1)
def users_roles(email: str, role_keys: tuple[str, ...]):
    """Give the account exactly these roles (none: take them all away)."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            roles.assign(session, _account(session, email), list(role_keys))
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"{email.strip().lower()}: {', '.join(role_keys) or 'no roles'}.")


@users_group.command("supervisor")
@click.argument("email")
@click.argument("supervisor_email", required=False)
def users_supervisor(email: str, supervisor_email: str | None):
    """Make SUPERVISOR_EMAIL the account's supervisor (left out: nobody)."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            boss = _account(session, supervisor_email) if supervisor_email else None
            users.set_supervisor(session, _account(session, email), boss.id if boss else None)
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"{email.strip().lower()} answers to {supervisor_email or 'nobody'}.")


@users_group.command("deactivate")
@click.argument("email")
def users_deactivate(email: str):
    """Switch an account off: its sessions and API tokens stop working at once."""
    rt = _runtime()
    with rt.session() as session, session.begin():
        users.deactivate(session, _account(session, email))
    click.echo(f"Switched off {email.strip().lower()}.")


@users_group.command("activate")
@click.argument("email")
def users_activate(email: str):
    """Switch an account on again."""
    rt = _runtime()
    with rt.session() as session, session.begin():
        users.activate(session, _account(session, email))
    click.echo(f"Switched on {email.strip().lower()}.")


@users_group.command("reset-link")
@click.argument("email")
def users_reset_link(email: str):
    """Print a single-use link to choose a new password, for the account to be given by
    other means than the mail (it works for KARTOTEKA_PASSWORD_RESET_MINUTES)."""
    rt = _runtime()
    with rt.session() as session, session.begin():
        user = _account(session, email)
        if not user.active:
            _fail(f"{user.email} is switched off; switch it on first.")
        link = password_reset.new_link(session, user, rt.settings)
    click.echo(link)


def _account(session, email: str) -> User:
    user = users.find_by_email(session, email)
    if user is None:
        _fail(f"There is no account {email.strip().lower()}.")
    return user


def _errors_text(exc: ValidationError) -> str:
    return "\n".join(f"{field}: {message}" for field, message in exc.errors.items())


# --------------------------------------------------------------------- roles


@cli.group("roles")
def roles_group():
    """Roles: what their holders may do with each type of record, and permissions."""


@roles_group.command("list")
def roles_list():
    """Roles: key, name, number of holders."""
    rt = _runtime()
    with rt.session() as session:
        for role in roles.all_roles(session):
            click.echo(f"{role.key}\t{role.name}\t{roles.holder_count(session, role)}")


@roles_group.command("show")
@click.argument("key")
def roles_show(key: str):
    """A role's record access (type.action=level) and permissions."""
    rt = _runtime()
    with rt.session() as session:
        role = _role(session, key)
        for (record_type, action), level in sorted(roles.access_of(session, role).items()):
            click.echo(f"{record_type}.{action}={level}")
        for permission in sorted(roles.permissions_of(session, role)):
            click.echo(f"permission {permission}")


@roles_group.command("create")
@click.argument("key")
@click.option("--name", required=True, help="The name people see.")
@click.option("--description", default="")
def roles_create(key: str, name: str, description: str):
    """Create a role that grants nothing yet."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            roles.create(session, key, name, description)
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"Created role {key}.")


@roles_group.command("access")
@click.argument("key")
@click.argument("levels", nargs=-1, required=True)
def roles_access(key: str, levels: tuple[str, ...]):
    """Set levels given as TYPE.ACTION=LEVEL ('*' for every type), e.g.
    organisation.read=team '*.export=none'; others stay as they are."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            role = _role(session, key)
            wanted = roles.access_of(session, role)
            for spec in levels:
                cell, _sep, level = spec.partition("=")
                record_type, _dot, action = cell.rpartition(".")
                wanted[(record_type, action)] = level
            roles.set_access(session, role, wanted)
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"Saved the record access of {key}.")


@roles_group.command("permissions")
@click.argument("key")
@click.argument("permission_keys", nargs=-1)
def roles_permissions(key: str, permission_keys: tuple[str, ...]):
    """Grant the role exactly these permissions (none: take them all away)."""
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            roles.set_permissions(session, _role(session, key), list(permission_keys))
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo(f"Saved the permissions of {key}.")


def _role(session, key: str):
    role = roles.find(session, key)
    if role is None:
        _fail(f"There is no role {key}.")
    return role


# --------------------------------------------------------------------- API tokens


@cli.group("tokens")
def tokens_group():
    """API tokens for integrators' programs."""


@tokens_group.command("create")
@click.option("--user", "email", required=True, help="The staff member the token acts as.")
@click.option("--name", default="API", show_default=True, help="What the token is for.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="Days until the token stops working; never by default.")
def tokens_create(email: str, name: str, expires_days: int | None):
    """Create a token and print it alone on standard output (it is shown only once)."""
    rt = _runtime()
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    with rt.session() as session, session.begin():
        user = users.find_by_email(session, email)
        if user is None or not user.active:
            _fail(f"There is no active account {email.strip().lower()}.")
        try:
            _row, token = tokens.create(session, user, name, expires)
        except ValidationError as exc:
            _fail("\n".join(f"{field}: {message}" for field, message in exc.errors.items()))
    click.echo(token)


@tokens_group.command("list")
@click.option("--user", "email", required=True)
def tokens_list(email: str):
    """The user's tokens: id, name, prefix, last use, expiry, revocation."""
    rt = _runtime()
    with rt.session() as session:
        user = users.find_by_email(session, email)
        if user is None:
            _fail(f"There is no account {email.strip().lower()}.")
        for row in tokens.of_user(session, user):
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.name}\tkt_{row.prefix}_…\t{state}\t"
                       f"last used {row.last_used_at or 'never'}\t"
                       f"expires {row.expires_at or 'never'}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int):
    """Revoke a token: it stops working at once."""
    rt = _runtime()
    with rt.session() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            _fail(f"There is no token {token_id}.")
        tokens.revoke(session, row)
    click.echo(f"Revoked token {token_id}.")


# --------------------------------------------------------------------- terms


@cli.group("terms")
def terms_group():
    """The nouns the application shows: list, reword and reset them (no restart)."""


@terms_group.command("list")
@click.option("--missing", "only_missing", is_flag=True,
              help="Only the reworded terms that leave forms out.")
def terms_list(only_missing: bool):
    """Every term with its Polish and English wording, and the forms it is missing."""
    from core import terminology

    rt = _runtime()
    with rt.session() as session:
        resolved = terminology.of(rt.host).resolved(session)
    shown = [r for _key, r in sorted(resolved.items()) if r.has_missing or not only_missing]
    for r in shown:
        reworded = ", ".join(loc for loc in ("pl", "en") if r.wording(loc).overridden)
        click.echo(f"{r.term.key:32} {r.term.pl.singular['nom']} / {r.term.en.singular['nom']}"
                   + (f"  (reworded: {reworded})" if reworded else ""))
        for locale, form, instead in terminology.missing(r):
            click.echo(f"{'':32} missing {locale} {form}: shows '{instead}'")
    if only_missing and not shown:
        click.echo("Every reworded term has all its forms.")


@terms_group.command("set")
@click.argument("key")
@click.option("--locale", type=click.Choice(LOCALES), default="pl", show_default=True)
@click.option("--singular", required=True,
              help="Polish: the six cases separated by commas (nom, gen, dat, acc, ins, loc), "
                   "or the nominative alone; English: one form. Leave a case empty "
                   "('a, , c, d, e, f') to use its fallback.")
@click.option("--plural", default="", help="The plural, as --singular.")
@click.option("--gender", type=click.Choice(GENDERS), default=None,
              help="Polish gender: m1 persons, m2 animals, m3 things, f, n.")
def terms_set(key: str, locale: str, singular: str, plural: str, gender: str | None):
    """Reword the term KEY for this installation; pages use it from their next request."""
    from core import term_overrides, terminology

    given = {number: _cli_forms(text, locale, number)
             for number, text in (("singular", singular), ("plural", plural))}
    rt = _runtime()
    try:
        with rt.session() as session, session.begin():
            row = term_overrides.save(session, rt.host.terms, key, locale, given["singular"],
                                      given["plural"], gender or "")
    except ValidationError as exc:
        if "key" in exc.errors:
            _fail(f"{exc.errors['key']}\nSee the terms with: kartoteka terms list")
        _fail("\n".join(f"{field}: {message}" for field, message in exc.errors.items()))
    with rt.session() as session:
        resolved = terminology.of(rt.host).resolved(session)[key]
    words = getattr(resolved.term, locale)
    click.echo(f"{key} ({locale}): {words.singular['nom']} / {words.plural['nom']}"
               + ("" if row is not None else " (the default wording)"))
    for missing_locale, form, instead in terminology.missing(resolved):
        if missing_locale == locale:
            click.echo(f"  missing {form}: shows '{instead}'")


def _cli_forms(text: str, locale: str, number: str) -> dict[str, str]:
    """'a, b, c, d, e, f' as case -> form; one form is the nominative."""
    from core.terms import CASES

    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if len(parts) <= 1:
        return {"nom": parts[0]} if parts else {}
    if locale == "pl" and len(parts) == len(CASES):
        return dict(zip(CASES, parts, strict=True))
    expected = f"six forms ({', '.join(CASES)}) or one" if locale == "pl" else "one form"
    _fail(f"--{number}: {len(parts)} forms given; {locale} takes {expected}.")


@terms_group.command("reset")
@click.argument("key")
@click.option("--locale", type=click.Choice(LOCALES), default=None,
              help="Only this language (both when left out).")
def terms_reset(key: str, locale: str | None):
    """Return the term KEY to its default wording."""
    from core import term_overrides

    rt = _runtime()
    with rt.session() as session, session.begin():
        removed = term_overrides.reset(session, key, locale)
    if removed:
        click.echo(f"{key}: back to the default wording.")
    elif key in rt.host.terms:
        click.echo(f"{key} was not reworded.")
    else:
        _fail(f"Unknown term: {key}.\nSee the terms with: kartoteka terms list")


# --------------------------------------------------------------------- branding


@cli.group("branding")
def branding_group():
    """The installation's name, accent colour, logo and the portal's welcome."""


@branding_group.command("show")
def branding_show():
    """Print the branding as it is."""
    from core import branding

    with _runtime().session() as session:
        found = branding.current(session)
    click.echo(f"name: {found.name}\naccent: {found.accent or '(default)'}\n"
               f"logo: {found.logo_type or '(none)'}\nportal welcome: "
               f"{found.portal_welcome or '(none)'}")


@branding_group.command("set")
@click.option("--name", default=None, help="Shown in the header and titles; '' for Kartoteka.")
@click.option("--accent", default=None, help="#rrggbb, dark enough for white text; '' for "
                                             "the default.")
@click.option("--welcome", default=None, help="The portal's welcome text; '' for none.")
@click.option("--logo", "logo_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="A PNG, JPEG or WebP file, at most 512 KB.")
@click.option("--no-logo", is_flag=True, help="Remove the logo.")
def branding_set(name, accent, welcome, logo_path, no_logo):
    """Change the settings given; the others stay. Nothing changes if one is refused."""
    from pathlib import Path

    from core import branding

    given = {key: value for key, value in (("name", name), ("accent", accent),
                                           ("portal_welcome", welcome)) if value is not None}
    try:
        with _runtime().session() as session, session.begin():
            branding.update(session, given)
            if logo_path:
                branding.set_logo(session, Path(logo_path).read_bytes())
            elif no_logo:
                branding.remove_logo(session)
    except ValidationError as exc:
        _fail(_errors_text(exc))
    click.echo("Saved.")


# --------------------------------------------------------------------- places


@cli.group("places")
def places_group():
    """The gazetteer of towns, for choosing records by distance from a town."""


@places_group.command("load")
@click.option("--country", default="PL", show_default=True,
              help="The country whose places to load (ISO code).")
@click.option("--if-empty", is_flag=True, help="Only when no places of it are loaded yet.")
def places_load(country: str, if_empty: bool):
    """Load a country's towns and villages with their coordinates (GeoNames)."""
    from core import places

    rt = _runtime()
    with rt.session() as session, session.begin():
        if if_empty and places.count(session, country):
            click.echo(f"The places of {country.upper()} are loaded already.")
            return
        loaded = places.load(session, country)
    if not loaded:
        _fail(f"No places known for the country {country!r}.")
    click.echo(f"Loaded {loaded} places of {country.upper()}.")


@places_group.command("find")
@click.argument("towns", nargs=-1, required=True)
def places_find(towns: tuple[str, ...]):
    """Where TOWNS lie, and how far the first is from each of the others."""
    from core import places

    rt = _runtime()
    with rt.session() as session:
        found = [places.find(session, town) for town in towns]
    for town, place in zip(towns, found, strict=True):
        if place is None:
            _fail(f"{town}: not in the list of places (is it loaded? kartoteka places load)")
        line = f"{place.name}  {place.latitude:.5f} {place.longitude:.5f}"
        if place is not found[0]:
            line += f"  {places.distance_km(found[0], place):.1f} km from {found[0].name}"
        click.echo(line)


# --------------------------------------------------------------------- reports


@cli.group("report")
def report_group():
    """Usage of the system and data quality, for managers and operators."""


@report_group.command("usage")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660),
              help="Length of the period, compared with the period before it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def report_usage(days: int, as_json: bool):
    """Active users, logins, records added, exports and reports."""
    from datetime import timedelta

    from core import usage
    from core.db import utcnow

    rt = _runtime()
    with rt.session() as session:
        result = usage.compare(session, utcnow() - timedelta(days=days))
    measures = ("active_users", "logins", "records_added", "exports", "reports")
    rows = {m: {"current": getattr(result.current, m), "previous": getattr(result.previous, m),
                "change_percent": result.change(m)} for m in measures}
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'':16}{'last ' + str(days) + ' days':>16}{'before':>10}{'change':>10}")
    for measure, row in rows.items():
        change = "-" if row["change_percent"] is None else f"{row['change_percent']:+.1f}%"
        click.echo(f"{measure:16}{row['current']:>16}{row['previous']:>10}{change:>10}")


@report_group.command("quality")
@click.argument("record_type", type=click.Choice(["organisation", "person"]))
def report_quality(record_type: str):
    """Records that break the data-quality rule of RECORD_TYPE."""
    from core import quality

    rt = _runtime()
    with rt.session() as session:
        findings = quality.report(session, record_type)
    for f in findings:
        name = getattr(f.record, "name", None) or f.record.full_name
        stale = " stale" if f.stale else ""
        click.echo(f"{f.record.id:>8}  {f.completeness:>3}%  {name}  {', '.join(f.missing)}{stale}")
    click.echo(f"{len(findings)} record(s) to fix.")


# --------------------------------------------------------------------- processes


@cli.group("processes")
def processes_group():
    """The processes of enabled plugins, their settings, and overdue phases."""


@processes_group.command("list")
def processes_list():
    """Every process with its phases."""
    rt = _runtime()
    for key, process in sorted(rt.host.processes.items()):
        click.echo(f"{key}: {' -> '.join(p.key for p in process.phases)}")


@processes_group.command("settings")
@click.argument("key")
@click.argument("values", nargs=-1)
def processes_settings(key: str, values: tuple[str, ...]):
    """Show the settings of process KEY, or change them: NAME=VALUE..."""
    from core import workflow

    rt = _runtime()
    process = rt.host.processes.get(key)
    if process is None:
        _fail(f"Unknown process: {key}.\nSee the processes with: kartoteka processes list")
    wanted = dict(v.split("=", 1) if "=" in v else (v, "") for v in values)
    with rt.session() as session, session.begin():
        if wanted:
            try:
                workflow.change_settings(session, process, wanted)
            except ValidationError as exc:
                _fail("\n".join(f"{k}: {v}" for k, v in exc.errors.items()))
        current = workflow.settings(session, process)
    for name, value in current.items():
        click.echo(f"{name} = {value}")


@processes_group.command("deadlines")
def processes_deadlines():
    """Remind owners a day before a phase's deadline and escalate cases past it to the
    owner's supervisor (run it from cron every hour; each happens once per phase)."""
    from core import workflow

    with _speaking() as rt, rt.session() as session, session.begin():
        done = workflow.watch_deadlines(session, rt.host)
    for word, found in (("reminded", done.reminded), ("escalated", done.escalated)):
        for case in found:
            click.echo(f"{word:>9}  {case.id:>8}  {case.process_key}  {case.phase_key}  "
                       f"{case.title}")
    click.echo(f"{len(done.reminded)} reminded, {len(done.escalated)} escalated.")


# --------------------------------------------------------------------- privacy


@cli.group("privacy")
def privacy_group():
    """People's rights over their data: access export and anonymisation."""


@privacy_group.command("export")
@click.argument("person_id", type=int)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The ZIP file to write.")
def privacy_export(person_id: int, output: str):
    """Write everything held about a person (JSON and files) to a ZIP file."""
    from core import privacy

    rt = _runtime()
    with rt.session() as session, session.begin():
        data = privacy.access_export(session, _person(session, person_id), None, rt.settings)
    Path(output).write_bytes(data)
    click.echo(f"Wrote {output} ({len(data)} bytes).")


@privacy_group.command("anonymise")
@click.argument("person_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_anonymise(person_id: int, yes: bool):
    """Erase a person's personal data, keeping the record and what the law requires."""
    from core import privacy

    rt = _runtime()
    with rt.session() as session, session.begin():
        person = _person(session, person_id)
        if not yes:
            click.confirm(f"Erase the personal data of {person.full_name} (#{person.id})?",
                          abort=True)
        try:
            first_time = privacy.anonymise(session, person, None, rt.settings)
        except ValidationError as exc:
            _fail("\n".join(f"{field}: {message}" for field, message in exc.errors.items()))
    click.echo(f"Anonymised person {person_id}." if first_time else
               f"Person {person_id} was anonymised already; what was added since is erased.")


def _person(session: Session, person_id: int):
    from core import records
    from core.models import Person

    person = records.get(session, Person, person_id, include_deleted=True)
    if person is None:
        _fail(f"There is no person {person_id}.")
    return person


# --------------------------------------------------------------------- mail


@cli.group("mail")
def mail_group():
    """Outgoing mail: the outbox, a test message, imported unsubscribes."""


@mail_group.command("status")
def mail_status():
    """How many messages the outbox holds in each state, and the mail settings."""
    from sqlalchemy import func

    from core.models import OutboxMessage

    rt = _runtime()
    s = rt.settings
    click.echo(f"Mail server: {s.smtp_host}:{s.smtp_port} ({s.smtp_security})" if s.smtp_host
               else "Mail server: not set (KARTOTEKA_SMTP_HOST); messages wait in the outbox")
    with rt.session() as session:
        rows = session.execute(select(OutboxMessage.state, func.count())
                               .group_by(OutboxMessage.state)).all()
    for state, n in sorted(rows):
        click.echo(f"{state:10} {n}")


@mail_group.command("test")
@click.argument("address")
def mail_test(address: str):
    """Send a test message to ADDRESS now and say what the mail server answered."""
    from core import outbox

    with _speaking() as rt:
        if not rt.settings.smtp_host:
            _fail("No mail server is set: give KARTOTEKA_SMTP_HOST (see the README).")
        with rt.session() as session, session.begin():
            ids = outbox.queue(session, [outbox.Draft(
                address, "Kartoteka: test message",
                "This message shows that Kartoteka can send mail.")])
        outbox.deliver(rt, jobs.worker_name())
        with rt.session() as session:
            from core.models import OutboxMessage

            message = session.get(OutboxMessage, ids[0])
            state, error = message.state, message.error
    if state != "sent":
        _fail(f"The message is {state}: {error}")
    click.echo(f"Sent to {address}.")


@mail_group.command("unsubscribes")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--purpose", help="Also withdraw the consent to this purpose of the people "
                                "with these addresses.")
@click.option("--note", default="", help="Where the list comes from.")
def mail_unsubscribes(csv_file, purpose: str | None, note: str):
    """Import addresses unsubscribed in another mailing system (a CSV file): they get
    no more marketing mail."""
    from core import unsubscribe

    with _speaking() as rt:
        with rt.session() as session, session.begin():
            try:
                result = unsubscribe.import_addresses(session, csv_file.read(), purpose,
                                                      note=note)
            except ValidationError as exc:
                _fail(_errors_text(exc))
    click.echo(f"Added {result['added']} address(es); {result['known']} were on the list "
               f"already; {result['withdrawn']} consent(s) withdrawn.")
    if result["invalid"]:
        click.echo("Not addresses, on lines: " + ", ".join(map(str, result["invalid"])))


# --------------------------------------------------------------------- billing


@cli.group("billing")
def billing_group():
    """Billing: the ledger's work that is run rather than clicked, such as exports to the
    accounting program. Billing commands of the core join this group."""


@billing_group.command("exporters")
def billing_exporters():
    """The exports there are (the core's and the enabled plugins'), by key."""
    from core.web.i18n import current_locale

    with _speaking() as rt:
        for key, exporter in rt.host.exporters.items():
            click.echo(f"{key:28} {exporter.label(current_locale())} (.{exporter.extension})")


@billing_group.command("export")
@click.option("--format", "key", required=True, metavar="KEY",
              help="The export, such as core.invoices_csv (see: kartoteka billing exporters).")
@click.option("--from", "start", required=True, metavar="DATE",
              help="The first day, YYYY-MM-DD: documents issued on it or later.")
@click.option("--to", "end", required=True, metavar="DATE",
              help="The last day, YYYY-MM-DD: documents issued on it or earlier.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The file to write, '-' for standard output; when left out, named after "
                   "the export and the period, in this folder.")
def billing_export(key: str, start: str, end: str, output: str | None):
    """Export the documents issued in a period (or the organisations they bill) for the
    accounting program, or as KSeF FA(3) XML; written whole or not at all."""
    import os
    import tempfile

    from core import accounting_exports

    with _speaking() as rt:
        exporter = rt.host.exporters.get(key)
        if exporter is None:
            _fail(f"Unknown export: {key}.\nSee the exports with: kartoteka billing exporters")
        try:
            first, last = accounting_exports.period({"from": start, "to": end})
        except ValidationError as exc:
            _fail("\n".join(f"--{field}: {message}" for field, message in exc.errors.items()))
        selection = accounting_exports.Selection(first, last, None, rt.settings)
        path = Path(output or exporter.file_name(selection))
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            with rt.session() as session, session.begin():
                try:
                    count = accounting_exports.run(session, rt.host, key, selection, spool)
                except ValidationError as exc:
                    _fail(_errors_text(exc))
            spool.seek(0)
            if output == "-":
                sys.stdout.buffer.write(spool.read())
                sys.stdout.buffer.flush()
                return
            # Into a file beside it first: a failed write leaves no half an export behind.
            fd, partial = tempfile.mkstemp(dir=path.resolve().parent, suffix=".partial")
            with os.fdopen(fd, "wb") as out:
                out.write(spool.read())
            os.replace(partial, path)
    click.echo(f"Wrote {path}: {count} from {first} to {last}.")


# --------------------------------------------------------------------- demo and serve


@billing_group.command("run")
@click.option("--from", "start", required=True, metavar="DATE",
              help="The first day of the period, YYYY-MM-DD.")
@click.option("--to", "end", required=True, metavar="DATE",
              help="The last day of the period, YYYY-MM-DD.")
@click.option("--strategy", "strategies", multiple=True, metavar="KEY",
              help="Only this strategy (repeat for more); all of them when left out.")
@click.option("--issue", is_flag=True, help="Issue the invoices at once instead of leaving "
                                            "drafts to check.")
@click.option("--issue-date", default=None, metavar="DATE",
              help="The issue date of what it issues; today when left out.")
@click.option("--preview", is_flag=True, help="Show what the run would make; make nothing.")
def billing_run(start: str, end: str, strategies: tuple[str, ...], issue: bool,
                issue_date: str | None, preview: bool):
    """Bill a period: what the strategies say is due, once. Running the same period
    again, or after this command was stopped halfway, makes nothing twice."""
    from core import billing_runs

    data = {"period_start": start, "period_end": end, "issue": issue,
            "strategies": list(strategies) or None, "issue_date": issue_date}
    with _speaking() as rt:
        try:
            with rt.session() as session, session.begin():
                if preview:
                    _print_preview(session, billing_runs.preview(session, rt.host, data))
                    return
                run_id = billing_runs.start(session, rt.host, data, queue=False).id
        except ValidationError as exc:
            _fail("\n".join(f"--{field.replace('_', '-')}: {message}"
                            for field, message in exc.errors.items()))
        made = billing_runs.execute(rt, run_id)
    if made.get("held"):
        _fail("This period's run is being worked by another worker; try again later.")
    click.echo(f"Invoices: {made['invoices']} (issued: {made['issued']}), new items: "
               f"{made['items']}, expected payments: {made['expected']}")
    for failed in made["failed"]:
        click.echo(f"Not billed: {failed['bill']}: {failed['error']}", err=True)


def _print_preview(session, preview) -> None:
    for bill in preview.bills:
        click.echo(f"{bill['client']} ({bill['label'] or bill['kind']}): "
                   f"{bill['amount']} {bill['currency']}")
        for line in bill["lines"]:
            click.echo(f"    {line['description']}: {line['amount']}")
    if preview.more:
        click.echo(f"... and {preview.more} more")
    totals = ", ".join(f"{amount} {currency}" for currency, amount in preview.totals.items())
    click.echo(f"Invoices: {preview.invoices}, expected payments: {preview.expected}, "
               f"lines: {preview.charges}, net: {totals or 0}")


@cli.command("demo")
def demo_command():
    """Load demo data from every enabled plugin (safe to run again)."""
    _load_demo()


def _load_places() -> None:
    from core import places

    with _runtime().session() as session, session.begin():
        if not places.count(session):
            click.echo(f"Loaded {places.load(session)} places for distances.")


def _load_demo() -> None:
    try:
        with _speaking() as rt:
            for name in demo.load(rt):
                click.echo(f"Demo data: {name}")
    except PluginError as exc:
        _fail(str(exc))


@contextmanager
def _speaking():
    """The runtime, with what a command writes for people to read (task titles, timeline
    entries, terms) in the installation's language, as the web application writes it."""
    from core.web import create_app

    try:
        app = create_app()
    except KartotekaError as exc:
        _fail(str(exc))
    with app.test_request_context():
        yield app.extensions["kartoteka"]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--worker/--no-worker", "with_worker", default=False,
              help="Also run a job worker beside the web server (one machine).")
def serve(host: str, port: int, threads: int, with_worker: bool):
    """Serve the web application."""
    from waitress import serve as waitress_serve

    from core.web import create_app

    try:
        app = create_app()
    except KartotekaError as exc:
        _fail(str(exc))
    if with_worker and not app.extensions["kartoteka"].jobs.immediate:
        _start_worker_beside()
    click.echo(f"Kartoteka {core.__version__} on http://{host}:{port}/")
    waitress_serve(app, host=host, port=port, threads=threads, ident="Kartoteka")


def _start_worker_beside() -> None:
    """``kartoteka worker`` as a child process that ends with the server."""
    import atexit
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()",
                              "worker"])
    atexit.register(child.terminate)
    click.echo(f"Job worker running (process {child.pid}).")


@cli.command()
@click.option("--threads", default=2, show_default=True, type=int,
              help="Jobs worked on at once.")
def worker(threads: int):
    """Work off the job queue: mailings, mail delivery, scheduled work.

    Run one per machine (or more); with the default queue (a file in the instance
    folder) they must share that machine, with jobs_url = redis://... any machine.
    """
    from core import outbox
    from core.web import create_app

    try:
        app = create_app()
    except KartotekaError as exc:
        _fail(str(exc))
    rt = app.extensions["kartoteka"]
    if rt.jobs.immediate:
        _fail("jobs_url is 'immediate': jobs run in the process that asks for them, so there "
              "is nothing for a worker to do.")
    with app.test_request_context():
        settled = outbox.recover(rt)
    if settled:
        click.echo(f"Outbox: {settled} message(s) left by a stopped worker settled.")
    rt.jobs.minutely()  # deliver what waits, start what is due, revive stalled jobs
    click.echo(f"Kartoteka worker {jobs.worker_name()}, {threads} thread(s).")
    rt.jobs.consumer(workers=threads).run()


def pass_runtime(command):
    """Give a plugin's command the running installation as its first argument.

    The runtime has ``session()`` for database work and ``host`` for hooks.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(_runtime(), *args, **kwargs)

    return wrapper


def _runtime() -> runtime.Runtime:
    try:
        return runtime.start(config.load())
    except KartotekaError as exc:
        _fail(str(exc))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def main() -> None:
    cli(prog_name="kartoteka")
