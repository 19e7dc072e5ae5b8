"""Running the environment's own programs (nbgrader, dlbmt, jupyter, pip) as subprocesses.

One helper for every such call: the same Python as the caller, the
environment's programs on PATH (nbgrader creates a gradebook with the `alembic`
program), output captured for the caller's messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dlbmt.errors import CourseError

# Python modules that the helper runs with ``python -m``.
MODULES = {"nbgrader": "nbgrader", "dlbmt": "dlbmt.tools.cli", "jupyter": "jupyter", "pip": "pip"}


def run_module(
    program: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``program`` (a key of MODULES) with ``args`` in ``cwd``; never raises for its exit."""
    environment = dict(os.environ if env is None else env)
    environment["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), environment.get("PATH", "")]
    )
    command = [sys.executable, "-m", MODULES[program], *args]
    if program == "nbgrader":
        command.append("--log-level=WARN")
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)


def require_ok(completed: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    """``completed``, or a CourseError with the end of its output."""
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-15:]
        raise CourseError(f"{what} failed:\n" + "\n".join(tail))
    return completed
