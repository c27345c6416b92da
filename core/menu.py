"""Plugins' entries in the main menu, for the staff and for the portal.

A plugin returns ``MenuItem``s from ``kartoteka_register_menu_items``; the application
checks them once when it starts (the page must exist, and a portal entry must lead to a
portal page) and each page shows those its viewer may open.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale

from core import permissions
from core.terms import term

AREAS = ("staff", "portal")


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main menu.

    :param endpoint: the page it opens, as for ``url_for`` ("training.index").
    :param label: its text, ``{"pl": ..., "en": ...}``; or leave it out and give ``term``.
    :param term: a term key whose plural names the entry ("training.training"), so
        renaming the term renames the entry too.
    :param phrase: a phrase around that plural ("My %(what)s"), translated.
    :param area: "staff" (the staff menu) or "portal" (an organisation's accounts).
    :param permission: staff entries: shown only to those granted this key, or one of
        these keys (a tuple).
    :param portal_admin: portal entries: only for the organisation's administrator.
    :param section: other blueprints or endpoints whose pages mark this entry current.
    """

    endpoint: str
    label: dict[str, str] | None = None
    term: str | None = None
    phrase: str | None = None
    area: str = "staff"
    permission: str | tuple[str, ...] | None = None
    portal_admin: bool = False
    section: tuple[str, ...] = ()

    def text(self) -> str:
        if self.term and self.phrase:
            said = str(self.phrase) % {"what": term(self.term, plural=True)}
            return said[:1].upper() + said[1:]
        if self.term:
            return term(self.term, plural=True).capitalize()
        locale = str(get_locale() or "pl")
        return (self.label or {}).get(locale) or (self.label or {}).get("en") or self.endpoint

    def current_for(self, blueprint: str | None, endpoint: str | None) -> bool:
        marks = self.section or (self.endpoint.split(".")[0],)
        return blueprint in marks or endpoint in marks

    def shown_to(self, user) -> bool:
        if not user.is_authenticated or user.is_portal != (self.area == "portal"):
            return False
        if self.area == "portal":
            return user.portal_admin or not self.portal_admin
        keys = (self.permission,) if isinstance(self.permission, str) else self.permission
        return not keys or any(permissions.can(user, key) for key in keys)


def problem(item, endpoints: set[str], portal_blueprints: set[str]) -> str | None:
    """What is wrong with a plugin's entry, checked when the application starts."""
    if not isinstance(item, MenuItem):
        return f"{item!r} is not a core.menu.MenuItem"
    if item.area not in AREAS:
        return f"menu item {item.endpoint}: area must be one of {', '.join(AREAS)}"
    if item.endpoint not in endpoints:
        return f"menu item {item.endpoint}: there is no such page"
    if item.area == "portal" and item.endpoint.split(".")[0] not in portal_blueprints:
        return (f"menu item {item.endpoint}: a portal entry must lead to a page of "
                f"kartoteka_register_portal_blueprints")
    if not item.label and not item.term:
        return f"menu item {item.endpoint}: give a label or a term"
    return None


def shown(items: list[MenuItem], user, area: str) -> list[MenuItem]:
    return [item for item in items if item.area == area and item.shown_to(user)]
