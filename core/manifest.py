"""What a plugin says about itself before it is registered.

The manifest is a module attribute of the plugin's ``plugin.py`` rather than a hook:
ordering by dependencies and the core-version check must happen before registration,
and pluggy can only call hooks of plugins already registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


@dataclass(frozen=True)
class Manifest:
    """Metadata of a plugin.

    :param name: the plugin's key; equals its entry-point name, prefixes its tables
        (``<name>_...``), terms, permissions and its Alembic version table.
    :param version: the plugin's own version.
    :param title: ``{"pl": ..., "en": ...}`` shown in lists and the admin screen.
    :param description: ``{"pl": ..., "en": ...}``, one or two sentences.
    :param depends: names of plugins that must be enabled before this one.
    :param requires_core: a PEP 440 specifier of the core versions it supports.
    """

    name: str
    version: str
    title: dict[str, str]
    description: dict[str, str]
    depends: tuple[str, ...] = ()
    requires_core: str = ">=0.1"
    extra: dict = field(default_factory=dict)

    def problems(self, core_version: str) -> list[str]:
        """Everything wrong with this manifest, as sentences; empty when it is fine."""
        found = []
        if not NAME_RE.fullmatch(self.name):
            found.append(f"name '{self.name}' must be lowercase letters, digits and _")
        for lang in ("pl", "en"):
            if not self.title.get(lang):
                found.append(f"title in '{lang}' is missing")
            if not self.description.get(lang):
                found.append(f"description in '{lang}' is missing")
        try:
            if Version(core_version) not in SpecifierSet(self.requires_core):
                found.append(
                    f"supports core {self.requires_core}, but this is core {core_version}"
                )
        except InvalidSpecifier:
            found.append(f"requires_core '{self.requires_core}' is not a version specifier")
        return found

    def label(self, locale: str = "pl") -> str:
        return self.title.get(locale) or self.title.get("en") or self.name


def dependency_order(manifests: dict[str, Manifest]) -> list[str]:
    """Names sorted so that every plugin comes after the plugins it depends on.

    Only edges between the given manifests count; missing ones are checked elsewhere.
    Ties are broken by name so the order is the same on every machine.
    """
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in visiting:
            cycle = " -> ".join(path[path.index(name):] + (name,))
            raise ValueError(f"dependency cycle: {cycle}")
        visiting.add(name)
        for dep in sorted(manifests[name].depends):
            if dep in manifests:
                visit(dep, path + (name,))
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(manifests):
        visit(name, ())
    return ordered
