"""Runs ``kartoteka`` commands as processes of their own, without an interpreter's start.

A command run as a new process spends two to three seconds importing before it does
anything, and the tests about discovery and start-up run dozens. This process imports
what the command imports once, then forks a child for each command: the child is a
new process in every way the tests look at (its own environment, ``sys.path`` from
``PYTHONPATH``, plugins discovered and imported afresh, its own exit code and output),
only without the imports. Nothing but imports happens before the fork: no engine, no
app, no thread.

Requests are JSON lines on stdin: ``{"args", "env", "cwd", "script_dir", "stdin",
"stdout", "stderr"}`` (the last three file paths); the answer is ``{"returncode": n}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import core.cli  # noqa: F401 (what every command imports)
import core.web  # noqa: F401
from core import plugins

for _name, _entry in plugins.discover().items():  # the installed plugins' modules
    try:
        _entry.load()
    except Exception:  # a broken one fails again in the child, as it should
        pass


def _child(request: dict) -> None:
    """Become the command: its environment, its files, its ``sys.path``; never return."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # As the console script's interpreter builds it: its folder, then PYTHONPATH.
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[0] = request["script_dir"]
        sys.path[1:1] = [p for p in extra if p not in sys.path]
        importlib.invalidate_caches()
        for fd, path, mode in ((0, request["stdin"], os.O_RDONLY),
                               (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                               (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            os.dup2(os.open(path, mode, 0o644), fd)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.argv = ["kartoteka", *request["args"]]
        try:
            core.cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)
        except BaseException:  # as the interpreter would: the traceback, exit code 1
            import traceback

            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)

