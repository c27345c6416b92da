"""Draw the built-in plugins' processes into docs/diagrams/, from their definitions.

The pictures are what the administrators' pages show (``core.diagram``), in English.
The test suite checks they are current; run after changing a process:
``.venv/bin/python docs/sync_diagrams.py``.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "docs" / "diagrams"
BUILT_IN = ("training", "photovoltaics", "grants", "printing", "fundraising", "expertise")


def diagrams() -> dict[str, str]:
    """File name -> SVG text, for every process of the built-in plugins."""
    from core import diagram, migrate, plugins
    from core.db import make_engine
    from core.web import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/kartoteka.db"
        engine = make_engine(url)
        migrate.upgrade(engine, migrate.CORE_BRANCH)
        plugins.enable(engine, BUILT_IN)
        engine.dispose()
        app = create_app({"database_url": url, "instance_path": folder,
                          "default_locale": "en"})
        host = app.extensions["kartoteka"].host
        with app.test_request_context():
            found = {f"{key}.svg": diagram.svg(process, "en", processes=host.processes) + "\n"
                     for key, process in sorted(host.processes.items())}
        app.extensions["kartoteka"].engine.dispose()
    return found


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    wanted = diagrams()
    for stale in set(p.name for p in FOLDER.glob("*.svg")) - set(wanted):
        (FOLDER / stale).unlink()
    for name, text in wanted.items():
        (FOLDER / name).write_text(text)


if __name__ == "__main__":
    main()
