"""Refresh docs/plugins.md from the example plugin's files and core/hookspecs.py.

The guide shows each file of tests/fixtures/kartoteka-visits after a line "`path`:",
and ends with the hook reference; both are copied from the sources, which the test
suite runs. Run after changing either: ``.venv/bin/python docs/sync_plugin_guide.py``.
"""

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "tests" / "fixtures" / "kartoteka-visits"
REFERENCE = "## Hook reference\n"


def file_blocks(text: str) -> str:
    def replace(match: re.Match) -> str:
        path, lang = match.group(1), match.group(2)
        return f"`{path}`:\n\n```{lang}\n{(EXAMPLE / path).read_text()}```\n"

    return re.sub(r"`([\w./-]+)`:\n\n```([\w+-]*)\n.*?```\n", replace, text, flags=re.S)


def hook_reference() -> str:
    from core import hookspecs

    source = (ROOT / "core" / "hookspecs.py").read_text()
    names = sorted((n for n in dir(hookspecs) if n.startswith("kartoteka_")),
                   key=lambda n: source.index(f"def {n}("))
    return "\n".join(f"### `{n}{inspect.signature(getattr(hookspecs, n))}`\n\n"
                     f"{inspect.getdoc(getattr(hookspecs, n))}\n" for n in names)


def main() -> None:
    text = GUIDE.read_text()
    head, _, _ = text.partition(REFERENCE)
    intro = "\nEvery hook is declared in `core/hookspecs.py`; this reference is the same text.\n\n"
    GUIDE.write_text(file_blocks(head) + REFERENCE + intro + hook_reference())


if __name__ == "__main__":
    main()
