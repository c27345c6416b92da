"""Plugins: discovery through entry points, loading, checks and the hook registry.

A plugin is a module named by an entry point in the ``kartoteka.plugins`` group. The
built-in plugins are found exactly like a third party's. Installed is not enabled:
which plugins are enabled is stored in the database (``plugin_state``), so every
process of an installation agrees, and a plugin that is not enabled is never imported
by the application.

Broken plugins fail closed: an enabled plugin that cannot be imported, checked or
registered stops start-up with its error and the command that disables it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pluggy
from importlib_metadata import EntryPoint, entry_points
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

import core
from core import audit, defaults, hookspecs, migrate
from core.accounting_exports import Exporter
from core.billing_strategies import Strategy
from core.db import Base
from core.documents import Template
from core.errors import PluginError, ValidationError
from core.fields import CustomField
from core.fieldtypes import FieldType
from core.jobs import JobKind, Periodic
from core.manifest import Manifest, dependency_order
from core.migrate import CORE_BRANCH, Branch
from core.models import PluginState
from core.organisations import OrgType
from core.permissions import Permission
from core.price_lists import PriceList
from core.terms import Term
from core.workflow import Process

GROUP = "kartoteka.plugins"
log = logging.getLogger(__name__)


def discover() -> dict[str, EntryPoint]:
    """Installed plugins by name, read from entry-point metadata without importing."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return dict(sorted(found.items()))


def dist_version(ep: EntryPoint) -> str:
    return ep.dist.version if ep.dist is not None else ""


@dataclass(frozen=True)
class Loaded:
    """An imported and checked plugin module."""

    module: ModuleType
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.name


def load(name: str, ep: EntryPoint | None) -> Loaded:
    """Import one plugin and check its manifest and tables; PluginError if broken."""
    if ep is None:
        raise PluginError(name, "is not installed (no entry point in 'kartoteka.plugins')")
    try:
        module = ep.load()
    except Exception as exc:  # any error in a plugin's import is that plugin's error
        raise PluginError(name, f"failed to import {ep.value}: {_describe(exc)}") from exc
    manifest = getattr(module, "manifest", None)
    if not isinstance(manifest, Manifest):
        raise PluginError(name, f"{ep.value} has no 'manifest = core.Manifest(...)'")
    if manifest.name != name:
        raise PluginError(name, f"manifest is named '{manifest.name}', entry point '{name}'")
    problems = manifest.problems(core.__version__) + _table_problems(module, name)
    if problems:
        raise PluginError(name, "; ".join(problems))
    return Loaded(module, manifest)


def _table_problems(module: ModuleType, name: str) -> list[str]:
    package = (module.__package__ or module.__name__).split(".")
    package_name = ".".join(package)
    found = []
    for mapper in Base.registry.mappers:
        owner = mapper.class_.__module__
        if owner == package_name or owner.startswith(package_name + "."):
            table = getattr(mapper.local_table, "name", "")
            if not table.startswith(f"{name}_"):
                found.append(f"table '{table}' must be named '{name}_...'")
    return found


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass
class PluginHost:
    """The plugin manager of one application, with what the plugins registered."""

    pm: pluggy.PluginManager
    plugins: dict[str, Loaded]
    terms: dict[str, Term] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    organisation_types: dict[str, OrgType] = field(default_factory=dict)
    field_types: dict[str, FieldType] = field(default_factory=dict)
    fields: list[tuple[str, CustomField]] = field(default_factory=list)  # (plugin, field)
    processes: dict[str, Process] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    jobs: dict[str, JobKind] = field(default_factory=dict)
    periodic: dict[str, Periodic] = field(default_factory=dict)
    billing_strategies: dict[str, Strategy] = field(default_factory=dict)
    exporters: dict[str, Exporter] = field(default_factory=dict)
    price_lists: dict[str, PriceList] = field(default_factory=dict)

    @property
    def hook(self):
        return self.pm.hook

    def call_each(self, hook_name: str, only: str | None = None, **kwargs) -> list[tuple]:
        """Call a hook implementation by implementation, naming the plugin on error.

        Returns ``[(plugin_name, result), ...]`` in pluggy's call order, skipping
        implementations that return ``None``.
        """
        results = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            if only is not None and impl.plugin_name != only:
                continue
            args = {k: kwargs[k] for k in impl.argnames}
            try:
                result = impl.function(**args)
            except ValidationError:
                raise  # a deliberate refusal of a change, not a fault of the plugin
            except Exception as exc:
                raise PluginError(impl.plugin_name, f"{hook_name} raised {_describe(exc)}") from exc
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def notify(self, hook_name: str, **kwargs) -> None:
        """Call a notification hook; a failing implementation is logged, the rest run."""
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                log.exception("plugin '%s' failed in %s", impl.plugin_name, hook_name)

    def gather(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call a hook that adds to a page: ``[(plugin_name, result), ...]`` of those
        that answered; a failing implementation is logged and left out, so the page
        still opens."""
        results = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            try:
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception:
                log.exception("plugin '%s' failed in %s", impl.plugin_name, hook_name)
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def branches(self) -> list[Branch]:
        """The core's migration branch and those of the plugins, dependencies first."""
        found = [CORE_BRANCH]
        for name in self.plugins:
            found.extend(self.branch(name))
        return found

    def branch(self, name: str) -> list[Branch]:
        return [Branch(name, Path(path)) for _, path in
                self.call_each("kartoteka_register_migrations", only=name)]


def build_host(names: Iterable[str], available: dict[str, EntryPoint] | None = None,
               trace: bool = False) -> PluginHost:
    """Load, order, register and check the named plugins; PluginError on the first fault."""
    available = discover() if available is None else available
    loaded = {name: load(name, available.get(name)) for name in sorted(set(names))}
    _check_dependencies(loaded, available)
    ordered = {n: loaded[n] for n in dependency_order({n: p.manifest for n, p in loaded.items()})}

    pm = pluggy.PluginManager("kartoteka")
    pm.add_hookspecs(hookspecs)
    pm.register(defaults, name="core")
    for name, plugin in ordered.items():
        try:
            pm.register(plugin.module, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(name, str(exc)) from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_plugin_name(pm, exc.plugin), str(exc)) from exc
    if trace:
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()

    host = PluginHost(pm, ordered)
    host.terms = _collect(host, "kartoteka_register_terms", Term)
    host.permissions = _collect(host, "kartoteka_register_permissions", Permission)
    host.organisation_types = _collect(host, "kartoteka_register_organisation_types", OrgType)
    host.field_types = _collect(host, "kartoteka_register_field_types", FieldType)
    host.fields = _shipped_fields(host)
    host.processes = _processes(host)
    host.templates = _collect(host, "kartoteka_register_templates", Template)
    work = _collect(host, "kartoteka_register_jobs", (JobKind, Periodic))
    host.jobs = {k: w for k, w in work.items() if isinstance(w, JobKind)}
    host.periodic = {k: w for k, w in work.items() if isinstance(w, Periodic)}
    host.billing_strategies = _collect(host, "kartoteka_register_billing_strategies", Strategy)
    host.exporters = _collect(host, "kartoteka_register_billing_exporters", Exporter)
    host.price_lists = _collect(host, "kartoteka_register_price_lists", PriceList)
    return host


def _processes(host: PluginHost) -> dict[str, Process]:
    found = _collect(host, "kartoteka_register_processes", Process)
    for key, process in found.items():
        problems = process.problems()
        unknown = [c for p in process.phases for c in p.starts if c not in found]
        problems += [f"starts the unknown process '{c}'" for c in unknown]
        if problems:
            raise PluginError(key.split(".")[0], f"process '{key}' {'; '.join(problems)}")
    return found


def _shipped_fields(host: PluginHost) -> list[tuple[str, CustomField]]:
    found: list[tuple[str, CustomField]] = []
    for owner, items in host.call_each("kartoteka_register_fields"):
        for item in items:
            if not isinstance(item, CustomField):
                raise PluginError(owner, f"kartoteka_register_fields returned {item!r}, "
                                         "not a CustomField")
            if not item.key.startswith(f"{owner}_"):
                raise PluginError(owner, f"field key '{item.key}' must start with '{owner}_'")
            if item.processes and item.record_type != "case":
                raise PluginError(owner, f"field '{item.key}' is not a case field; only case "
                                         "fields can be limited to processes")
            found.append((owner, item))
    return found


def _plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or getattr(plugin, "__name__", "?")


def _check_dependencies(loaded: dict[str, Loaded], available: dict[str, EntryPoint]) -> None:
    for name, plugin in loaded.items():
        for dep in plugin.manifest.depends:
            if dep in loaded:
                continue
            if dep in available:
                raise PluginError(name, f"depends on plugin '{dep}', which is not enabled; "
                                        f"enable it first: kartoteka plugins enable {dep}")
            raise PluginError(name, f"depends on plugin '{dep}', which is not installed")
    try:
        dependency_order({n: p.manifest for n, p in loaded.items()})
    except ValueError as exc:
        raise PluginError(next(iter(loaded)), str(exc)) from exc


def _collect(host: PluginHost, hook_name: str, kind: type | tuple[type, ...]) -> dict:
    """Merge what each plugin registers by key; keys are '<owner>.<name>', claimed once."""
    found: dict = {}
    owners: dict[str, str] = {}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = " or ".join(k.__name__ for k in kinds)
    for owner, items in host.call_each(hook_name):
        for item in items:
            if not isinstance(item, kinds):
                raise PluginError(owner, f"{hook_name} returned {item!r}, not a {names}")
            label = type(item).__name__.lower()
            if not item.key.startswith(f"{owner}."):
                raise PluginError(owner, f"{label} key '{item.key}' must start with "
                                         f"'{owner}.'")
            if item.key in found:
                raise PluginError(owner, f"{label} '{item.key}' is already registered by "
                                         f"'{owners[item.key]}'")
            found[item.key] = item
            owners[item.key] = owner
    return found


# --------------------------------------------------------------------- enabled state


def enabled_states(session) -> dict[str, PluginState]:
    if not inspect(session.connection()).has_table(PluginState.__tablename__):
        return {}
    rows = session.scalars(select(PluginState).where(PluginState.enabled.is_(True)))
    return {row.name: row for row in rows}


def enable(engine, names: Iterable[str], actor=None) -> list[Loaded]:
    """Check, migrate and enable plugins; nothing is enabled if any of them fails."""
    names = list(dict.fromkeys(names))
    with Session(engine) as session:
        already = set(enabled_states(session))
    available = discover()
    for name in names:
        if name not in available:
            known = ", ".join(available) or "none"
            raise PluginError(name, f"is not installed; installed plugins: {known}")
    host = build_host(already | set(names), available)
    new = [n for n in host.plugins if n in names]
    for name in new:
        for branch in host.branch(name):
            migrate.upgrade(engine, branch)
    with Session(engine) as session, session.begin():
        for name in new:
            manifest = host.plugins[name].manifest
            state = session.get(PluginState, name) or PluginState(name=name)
            before = (bool(state.enabled), state.version)
            state.enabled = True
            state.version = manifest.version
            state.depends = list(manifest.depends)
            session.add(state)
            if before != (True, manifest.version):
                audit.write(session, state, "update", {
                    "enabled": (before[0], True),
                    "version": (before[1] or None, manifest.version)}, actor)
    return [host.plugins[n] for n in new]


def disable(engine, name: str, actor=None) -> bool:
    """Disable a plugin without importing it; its tables and data stay.

    Returns False when it was not enabled. Refuses while an enabled plugin depends
    on it, naming both.
    """
    with Session(engine) as session, session.begin():
        states = enabled_states(session)
        if name not in states:
            return False
        dependents = sorted(n for n, s in states.items() if name in (s.depends or []))
        if dependents:
            raise PluginError(name, f"plugin '{dependents[0]}' depends on it; disable "
                                    f"that first: kartoteka plugins disable {dependents[0]}")
        states[name].enabled = False
        audit.write(session, states[name], "update", {"enabled": (True, False)}, actor)
    return True


@dataclass
class PluginReport:
    """One line of ``kartoteka plugins list``."""

    name: str
    version: str
    enabled: bool
    status: str  # enabled | disabled | broken | missing
    error: str | None = None
    title: str = ""
    description: str = ""
    depends: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def report(engine, locale: str = "pl") -> list[PluginReport]:
    """Every installed or enabled plugin with its status; never raises for a plugin."""
    with Session(engine) as session:
        states = enabled_states(session)
    available = discover()
    lines: dict[str, PluginReport] = {}
    for name in sorted(set(available) | set(states)):
        ep = available.get(name)
        line = PluginReport(name, dist_version(ep) if ep else states[name].version,
                            name in states, "enabled" if name in states else "disabled")
        try:
            loaded = load(name, ep)
        except PluginError as exc:
            line.error = exc.reason
            if name in states:
                line.status = "missing" if ep is None else "broken"
        else:
            m = loaded.manifest
            line.version, line.depends = m.version, list(m.depends)
            line.title, line.description = m.label(locale), m.description.get(locale, "")
        lines[name] = line
    _report_registration_errors(lines, available)
    return list(lines.values())


def report_apart(settings, locale: str = "pl") -> list[PluginReport]:
    """``report`` in a process of its own, for a running application: listing imports
    every installed plugin, and a disabled one's tables must not stay mapped in it."""
    env = {**os.environ, "KARTOTEKA_DATABASE_URL": settings.database_url,
           "KARTOTEKA_INSTANCE_PATH": settings.instance_path}
    done = subprocess.run([sys.executable, "-c", "from core.cli import main; main()",
                           "plugins", "list", "--json", "--locale", locale],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    return [PluginReport(**line) for line in json.loads(done.stdout)]


def _report_registration_errors(lines: dict[str, PluginReport], available) -> None:
    """Build the enabled set as start-up would, marking each plugin that breaks it."""
    candidates = {n for n, line in lines.items() if line.status == "enabled"}
    while candidates:
        try:
            build_host(candidates, available)
            return
        except PluginError as exc:
            culprit = exc.plugin if exc.plugin in candidates else next(iter(sorted(candidates)))
            lines[culprit].status, lines[culprit].error = "broken", exc.reason
            candidates.discard(culprit)
