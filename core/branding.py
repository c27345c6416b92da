"""How the installation presents itself: its name, accent colour, logo and the portal's
welcome, set by an administrator and kept in ``site_settings``.

Every page's header and title and the portal's start page read them; the page at
``/settings/branding``, ``/api/v1/settings/branding`` and ``kartoteka branding`` change
them. A colour is refused when white text on it, or it as text on white, would be hard
to read (WCAG contrast under 4.5:1), so no setting can make the pages illegible.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from core import audit, permissions
from core.errors import Forbidden, ValidationError
from core.models import SiteSetting

MANAGE = "core.manage_settings"
DEFAULT_NAME = "Kartoteka"
KEYS = ("name", "accent", "portal_welcome")
LOGO = "logo"
MAX_NAME, MAX_WELCOME = 80, 2000
MAX_LOGO_BYTES, MAX_LOGO_SIDE = 512 * 1024, 2000
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MIN_CONTRAST = 4.5
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Branding:
    name: str = DEFAULT_NAME
    accent: str | None = None  # "#rrggbb"; None: the stylesheet's own
    portal_welcome: str = ""
    logo_type: str | None = None  # the logo's content type; None: no logo
    logo_version: str = ""  # changes with the logo, so browsers fetch the new one

    def as_dict(self) -> dict:
        return {"name": self.name, "accent": self.accent,
                "portal_welcome": self.portal_welcome, "has_logo": self.logo_type is not None}


def require(actor) -> None:
    if not permissions.can(actor, MANAGE):
        raise Forbidden(_("You may not change the branding."))


def current(session: Session) -> Branding:
    """The installation's branding: its settings over the defaults."""
    rows = {row.key: row for row in session.scalars(
        select(SiteSetting).where(SiteSetting.key.in_((*KEYS, LOGO)))
        .options(defer(SiteSetting.data)))}
    values = {key: rows[key].value for key in KEYS if key in rows and rows[key].value}
    logo = rows.get(LOGO)
    if logo is not None and isinstance(logo.value, dict):
        values["logo_type"] = logo.value.get("content_type")
        values["logo_version"] = logo.value.get("digest", "")
    return Branding(**values)


def logo(session: Session) -> tuple[bytes, str, str] | None:
    """The logo as (bytes, content type, version), or None."""
    row = session.get(SiteSetting, LOGO)
    if row is None or not row.data or not isinstance(row.value, dict):
        return None
    return row.data, row.value["content_type"], row.value.get("digest", "")


def update(session: Session, data: dict, actor=None) -> Branding:
    """Change any of name, accent and portal_welcome; an empty value returns a setting to
    its default. Raises ValidationError naming each bad field; nothing is kept then."""
    values = clean(data)
    before = current(session).as_dict()
    for key, value in values.items():
        _put(session, key, value, actor)
    session.flush()
    _audit(session, before, actor)
    return current(session)


def clean(data: dict) -> dict:
    unknown = set(data) - set(KEYS)
    errors = {key: _("There is no such setting.") for key in unknown}
    # Browsers send a textarea's line breaks as CRLF; paragraphs are split at "\n\n".
    values = {key: str(data[key] or "").replace("\r\n", "\n").strip()
              for key in KEYS if key in data}
    if "name" in values and len(values["name"]) > MAX_NAME:
        errors["name"] = _("At most %(n)d characters.", n=MAX_NAME)
    if "portal_welcome" in values and len(values["portal_welcome"]) > MAX_WELCOME:
        errors["portal_welcome"] = _("At most %(n)d characters.", n=MAX_WELCOME)
    if values.get("accent"):
        values["accent"] = values["accent"].lower()
        message = _colour_problem(values["accent"])
        if message:
            errors["accent"] = message
    if errors:
        raise ValidationError(errors)
    return values


def set_logo(session: Session, content: bytes, actor=None) -> Branding:
    """Keep ``content`` (PNG, JPEG or WebP, at most 512 KB and 2000 px a side) as the
    logo; anything else is refused with the reason, on the field ``logo``."""
    content_type = _image_type(content)
    before = current(session).as_dict()
    row = session.get(SiteSetting, LOGO) or SiteSetting(key=LOGO)
    row.value = {"content_type": content_type, "size": len(content),
                 "digest": hashlib.sha256(content).hexdigest()[:16]}
    row.data = content
    row.updated_by_id = getattr(actor, "id", None)
    session.add(row)
    session.flush()
    _audit(session, before, actor)
    return current(session)


def remove_logo(session: Session, actor=None) -> Branding:
    before = current(session).as_dict()
    row = session.get(SiteSetting, LOGO)
    if row is not None:
        session.delete(row)
        session.flush()
        _audit(session, before, actor)
    return current(session)


def _put(session: Session, key: str, value: str, actor) -> None:
    row = session.get(SiteSetting, key)
    if not value:  # back to the default: nothing kept
        if row is not None:
            session.delete(row)
        return
    row = row or SiteSetting(key=key)
    row.value, row.updated_by_id = value, getattr(actor, "id", None)
    session.add(row)


def _audit(session: Session, before: dict, actor) -> None:
    after = current(session).as_dict()
    changes = {key: (before[key], after[key]) for key in after if before[key] != after[key]}
    if changes:
        audit.event(session, "update", "site_settings", {k: list(v) for k, v in changes.items()},
                    actor, summary=_("Branding"))


def _image_type(content: bytes) -> str:
    if not content:
        raise ValidationError({"logo": _("Choose an image file.")})
    if len(content) > MAX_LOGO_BYTES:
        raise ValidationError({"logo": _("The logo may be at most %(n)d KB.",
                                         n=MAX_LOGO_BYTES // 1024)})
    too_large = ValidationError({"logo": _("The logo may be at most %(n)d pixels wide and "
                                           "high.", n=MAX_LOGO_SIDE)})
    try:
        with Image.open(io.BytesIO(content)) as image:
            if max(image.size) > MAX_LOGO_SIDE:
                raise too_large
            image.verify()
            kind = image.format
    except Image.DecompressionBombError:  # claims more pixels than any logo has
        raise too_large from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind = None
    if kind not in LOGO_FORMATS:
        raise ValidationError({"logo": _("The logo must be a PNG, JPEG or WebP image.")})
    return LOGO_FORMATS[kind]


def _colour_problem(value: str) -> str | None:
    if not _COLOUR.fullmatch(value):
        return _("Enter the colour as # and six hexadecimal digits, e.g. #1f5fbf.")
    ratio = contrast(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        return _("This colour is too light: white text on it, or it as text on white, "
                 "would be hard to read (contrast %(ratio)s:1, at least %(min)s:1 needed).",
                 ratio=f"{ratio:.1f}", min=MIN_CONTRAST)
    return None


def contrast(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two "#rrggbb" colours, 1 to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
