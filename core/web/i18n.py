"""Languages of the interface: Polish by default, English complete too.

Translations are kept as ``.po`` sources in ``core/translations``; they are compiled
into the instance folder when the application starts, so a checkout needs no build
step and no compiled file is kept in the repository.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_request_context, request, session

SOURCES = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = ("pl", "en")


# Compiled catalogues by source and its modification time: a process that builds several
# applications (the test suite, several instances) parses each source once.
_compiled: dict[tuple[Path, int], bytes] = {}


def compile_translations(target: Path) -> Path:
    """Compile every ``.po`` newer than its ``.mo`` into ``target``; returns ``target``."""
    for po_path in SOURCES.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(SOURCES).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo_path.with_suffix(".tmp")
        tmp.write_bytes(_compile(po_path))
        tmp.replace(mo_path)  # atomic, so a second process never reads half a file
    return target


def _compile(po_path: Path) -> bytes:
    key = (po_path, po_path.stat().st_mtime_ns)
    if key not in _compiled:
        with po_path.open("rb") as src:
            catalog = read_po(src, locale=po_path.parts[-3])
        out = io.BytesIO()
        write_mo(out, catalog)
        _compiled[key] = out.getvalue()
    return _compiled[key]


def current_locale() -> str:
    if has_request_context() and request.path.startswith("/api/") \
            and request.accept_languages:
        # Programs say which language they want their messages in with each request.
        found = request.accept_languages.best_match(LANGUAGES)
        if found:
            return found
    if has_request_context() and session.get("lang") in LANGUAGES:
        return session["lang"]
    return current_app.extensions["kartoteka"].settings.default_locale
