"""ruff is the single style authority; CI runs the same check as `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from course_tools import REPO

PATHS = ["src", "tests", "graders", "nbgrader_config.py"]
RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check_is_clean():
    completed = subprocess.run([RUFF, "check", *PATHS], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout


def test_ruff_format_is_clean():
    completed = subprocess.run(
        [RUFF, "format", "--check", *PATHS], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout
