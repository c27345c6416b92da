"""Permission keys: registered by the core and plugins, granted to roles.

Keys are '<owner>.<action>' (``core.manage_plugins``, ``training.enrol``); the owner
part is checked at start-up so two plugins never claim one key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    """A thing a role may be allowed to do.

    :param key: '<owner>.<action>', stable: stored in role grants.
    :param title: ``{"pl": ..., "en": ...}`` shown in the role editor.
    """

    key: str
    title: dict[str, str]

    def label(self, locale: str = "pl") -> str:
        return self.title.get(locale) or self.title.get("en") or self.key


CORE_PERMISSIONS = [
    Permission("core.manage_plugins", {"pl": "Zarządzanie wtyczkami", "en": "Manage plugins"}),
    Permission("core.manage_users", {"pl": "Zarządzanie kontami", "en": "Manage accounts"}),
]
