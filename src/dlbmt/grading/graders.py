"""Run the hidden graders on recorded answers, sandboxed, in a process that runs no student code.

The graders load what students made (Keras archives, arrays, tables) and judge
it on data of their own. Parsing such files is the riskiest thing grading does,
so the graders run like a kernel: as an unprivileged user without network,
with read-only views of the graders, the key, the answers and the data, and
with only their report to write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dlbmt.errors import CourseError
from dlbmt.grading.course import Course
from dlbmt.grading.execution import thread_environment
from dlbmt.grading.prepared import PREPARED_VARIABLE
from dlbmt.grading.prepared import folder_of as prepared_folder
from dlbmt.grading.sandbox import (
    Limits,
    apply_limits,
    bubblewrap,
    drop_to,
    drops_privileges,
    sandbox_prefix,
    sandbox_uid,
    warn_unsandboxed,
)
from dlbmt.settings import DATA_DIR_VARIABLE

GRADER_TIMEOUT_SECONDS = 900
# The graders' report: a few lines per check.
MAX_REPORT_BYTES = 16 * 1024**2
# TensorFlow reserves a lot of address space; the graders' models are small.
GRADER_LIMITS = Limits(memory_bytes=16 * 1024**3, max_processes=1024, scratch_bytes=512 * 1024**2)


@dataclass
class TaskResult:
    task: str
    score: float = 0.0
    max_score: float = 0.0
    checks: list[dict] = field(default_factory=list)


def run_graders(
    course: Course,
    assignment: str,
    answers: Path,
    key: Path,
    *,
    sandbox: bool = True,
    threads: int | None = None,
) -> dict[str, TaskResult]:
    """Score every task of ``assignment``; returns results keyed by grade_id."""
    folder = course.graders / assignment
    if not folder.is_dir():
        raise CourseError(f"No graders for {assignment}: {folder} is missing.")
    use_bwrap = sandbox and bubblewrap() is not None
    if sandbox and not use_bwrap:
        warn_unsandboxed()
    as_root = drops_privileges(use_bwrap)
    uid = sandbox_uid() if use_bwrap and as_root else None
    with tempfile.TemporaryDirectory(prefix="dlbmt-grade-") as scratch:
        out = Path(scratch) / "out"
        out.mkdir()
        secret = _secret_for_graders(course, Path(scratch), uid)
        ready = _prepared_for_graders(course, assignment, Path(scratch), uid)
        report = out / "report.json"
        pytest = [
            sys.executable, "-m", "pytest", str(folder),
            "-c", str(course.graders / "pytest.ini"),
            "--rootdir", str(course.graders),
            "-p", "dlbmt.grading.grader_plugin",
            "--answers", str(answers), "--key", str(key), "--report", str(report),
            "--secret", str(secret),
            "-q", "--no-header", "-p", "no:cacheprovider",
        ]  # fmt: skip
        command = pytest
        if use_bwrap:
            if uid is not None:
                os.chown(out, uid, -1)
                command = drop_to(uid) + pytest
            command = sandbox_prefix(
                read_only=[course.graders, course.data, answers, key, secret, ready],
                writable=[out],
                private_bytes=GRADER_LIMITS.scratch_bytes,
                chdir=out,
                as_root=as_root,
                capabilities=("CAP_SETUID", "CAP_SETGID"),
            ) + command  # fmt: skip
        try:
            completed = subprocess.run(
                command,
                cwd=out,
                capture_output=True,
                text=True,
                timeout=GRADER_TIMEOUT_SECONDS,
                env={
                    **_grader_environment(course, Path("/tmp") if use_bwrap else out, threads),
                    PREPARED_VARIABLE: str(ready),
                },
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=lambda: apply_limits(GRADER_LIMITS),
            )
        except subprocess.TimeoutExpired:
            raise CourseError(
                f"The graders of {assignment} did not finish within {GRADER_TIMEOUT_SECONDS} s."
            ) from None
        payload = _read_report(report)
    if payload is None:
        raise CourseError(
            f"The graders of {assignment} did not run:\n{completed.stdout[-2000:]}"
            f"{completed.stderr[-2000:]}"
        )
    if payload.get("exitstatus") not in (0, 1):
        raise CourseError(
            f"The graders of {assignment} stopped with pytest exit status "
            f"{payload.get('exitstatus')}:\n{completed.stdout[-3000:]}"
        )
    results: dict[str, TaskResult] = {}
    for check in payload["tests"]:
        result = results.setdefault(check["task"], TaskResult(check["task"]))
        result.max_score += check["points"]
        result.score += check["points"] if check["passed"] else 0.0
        result.checks.append(check)
    return results


def _secret_for_graders(course: Course, scratch: Path, uid: int | None) -> Path:
    """A copy of the course's secret that the graders' user, and only it, can read.

    The course's own file stays readable by its owner alone (mode 600): the graders
    run as the sandbox's unprivileged user and get this private copy instead.
    """
    return _hand_over(course.secret_file(), scratch / "secret.json", uid)


def _prepared_for_graders(course: Course, assignment: str, scratch: Path, uid: int | None) -> Path:
    """A private copy of the held-out data the coordinator prepared (maybe none), read-only."""
    copy = scratch / "prepared"
    copy.mkdir()
    source = prepared_folder(course, assignment)
    for path in sorted(source.glob("*.npz")) if source.is_dir() else []:
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            _hand_over(path, copy / path.name, uid)
    copy.chmod(0o500)
    if uid is not None:
        os.chown(copy, uid, -1)
    return copy


def _hand_over(source: Path, target: Path, uid: int | None) -> Path:
    """Copy ``source`` to ``target``, readable by the graders' user ``uid`` alone."""
    shutil.copyfile(source, target)
    target.chmod(0o400)
    if uid is not None:
        os.chown(target, uid, -1)
    return target


def _read_report(path: Path) -> dict | None:
    try:
        if path.is_symlink() or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("tests"), list) else None


def _grader_environment(course: Course, home: Path, threads: int | None) -> dict[str, str]:
    """The graders' environment: nothing of the grader's but what they need."""
    keep = ("PATH", "LANG", "LC_ALL", "DLBMT_SMOKE", "OPENBLAS_CORETYPE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            DATA_DIR_VARIABLE: str(course.data),
            "HOME": str(home),
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(home / ".matplotlib"),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
            "PYTHONHASHSEED": "0",
            # pytest would cache the rewritten grader modules in graders/__pycache__:
            # grading must leave the course's hidden material as it was.
            "PYTHONDONTWRITEBYTECODE": "1",
            # The graders get the plugins named on their command line, not every pytest
            # plugin some installed package registers (anyio's alone cost 0.07 s of CPU
            # per submission).
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
    )
    env.update(thread_environment(threads))
    return env
