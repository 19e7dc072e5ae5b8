"""Run the hidden graders on recorded answers, in a process that never runs student code."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dlbmt.errors import CourseError
from dlbmt.grading.course import Course

GRADER_TIMEOUT_SECONDS = 900


@dataclass
class TaskResult:
    task: str
    score: float = 0.0
    max_score: float = 0.0
    checks: list[dict] = field(default_factory=list)


def run_graders(course: Course, assignment: str, answers: Path, key: Path) -> dict[str, TaskResult]:
    """Score every task of ``assignment``; returns results keyed by grade_id."""
    folder = course.graders / assignment
    if not folder.is_dir():
        raise CourseError(f"No graders for {assignment}: {folder} is missing.")
    with tempfile.TemporaryDirectory(prefix="dlbmt-grade-") as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable, "-m", "pytest", str(folder),
            "-c", str(course.graders / "pytest.ini"),
            "--rootdir", str(course.graders),
            "-p", "dlbmt.grading.grader_plugin",
            "--answers", str(answers), "--key", str(key), "--report", str(report),
            "-q", "--no-header", "-p", "no:cacheprovider",
        ]  # fmt: skip
        completed = subprocess.run(
            command,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=GRADER_TIMEOUT_SECONDS,
            env=_grader_environment(),
        )
        if not report.is_file():
            raise CourseError(
                f"The graders of {assignment} did not run:\n{completed.stdout[-2000:]}"
                f"{completed.stderr[-2000:]}"
            )
        payload = json.loads(report.read_text(encoding="utf-8"))
    if payload["exitstatus"] not in (0, 1):
        raise CourseError(
            f"The graders of {assignment} stopped with pytest exit status "
            f"{payload['exitstatus']}:\n{completed.stdout[-3000:]}"
        )
    results: dict[str, TaskResult] = {}
    for check in payload["tests"]:
        result = results.setdefault(check["task"], TaskResult(check["task"]))
        result.max_score += check["points"]
        result.score += check["points"] if check["passed"] else 0.0
        result.checks.append(check)
    return results


def _grader_environment() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONHASHSEED": "0",
                # pytest would cache the rewritten grader modules in graders/__pycache__:
                # grading must leave the course's hidden material as it was.
                "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    env.pop("DLBMT_ANSWER_DIR", None)
    return env
