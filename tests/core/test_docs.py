"""The documentation says what the code does: the guide's plugin is the tested one."""

import inspect
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from core import config, hookspecs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "fixtures" / "kartoteka-visits"
GUIDE = (ROOT / "docs" / "plugins.md").read_text()
README = (ROOT / "README.md").read_text()


def example_files():
    return sorted(p for p in EXAMPLE.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts
                  and ".egg-info" not in str(p) and "build" not in p.parts)


def test_the_guide_shows_every_file_of_the_example_plugin_verbatim():
    assert len(example_files()) == 9
    for path in example_files():
        rel = path.relative_to(EXAMPLE).as_posix()
        assert f"`{rel}`:\n\n```" in GUIDE, f"{rel} is not in docs/plugins.md"
        assert path.read_text() in GUIDE, f"{rel} changed: run docs/sync_plugin_guide.py"


def test_the_hook_reference_is_the_hookspecs_text():
    for name in (n for n in dir(hookspecs) if n.startswith("kartoteka_")):
        fn = getattr(hookspecs, name)
        assert f"### `{name}{inspect.signature(fn)}`\n\n{inspect.getdoc(fn)}\n" in GUIDE


def test_the_example_plugins_own_tests_pass_as_the_guide_says(third_party, tmp_path):
    copy = tmp_path / "kartoteka-visits"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                  "*.egg-info"))
    env = {**os.environ, "PYTHONPATH": str(third_party)}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(copy / "tests")], cwd=copy, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_readme_starts_with_the_two_commands_and_lists_every_setting():
    top = README[:1500]
    assert "make run" in top and "make test" in top
    for f in fields(config.Settings):
        assert f"`KARTOTEKA_{f.name.upper()}`" in README, f"{f.name} is not in the README"


def test_the_process_diagrams_in_the_docs_are_drawn_from_the_current_definitions():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from sync_diagrams import FOLDER, diagrams
    finally:
        sys.path.pop(0)
    wanted = diagrams()
    assert "printing.project.svg" in wanted and "Print project" in wanted["printing.project.svg"]
    assert sorted(p.name for p in FOLDER.glob("*.svg")) == sorted(wanted)
    for name, text in wanted.items():
        assert (FOLDER / name).read_text() == text, f"{name}: run docs/sync_diagrams.py"
