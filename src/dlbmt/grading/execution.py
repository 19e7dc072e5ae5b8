"""Execute a notebook in the sandbox and collect what it did (trusted side)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlbmt.grading.sandbox import (
    Limits,
    apply_limits,
    bubblewrap,
    drops_privileges,
    hand_over,
    sandbox_prefix,
    sandbox_uid,
    warn_unsandboxed,
)
from dlbmt.recording import ANSWER_DIR_VARIABLE
from dlbmt.settings import DATA_DIR_VARIABLE

MAX_REPORT_BYTES = 64 * 1024**2
# The runner's cell status -> the limit that the feedback names.
LIMIT_OF_STATUS = {"timeout": "cell_time", "kernel_died": "kernel_died", "memory": "memory"}


@dataclass
class ExecutionResult:
    notebook: nbformat.NotebookNode
    events: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    sandboxed: bool = False
    finished: bool = False


def kernel_environment(answer_dir: Path, data_dir: Path, home: Path) -> dict[str, str]:
    """The kernel's environment: nothing from the grader's but what it needs."""
    keep = ("PATH", "LANG", "LC_ALL", "DLBMT_SMOKE", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            ANSWER_DIR_VARIABLE: str(answer_dir),
            DATA_DIR_VARIABLE: str(data_dir),
            "HOME": str(home),
            # The sandbox user has no passwd entry; getpass.getuser() reads these first.
            "USER": "student",
            "LOGNAME": "student",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(home / ".matplotlib"),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
        }
    )
    threads = os.environ.get("DLBMT_THREADS")
    if threads:
        env.update({"OMP_NUM_THREADS": threads, "TF_NUM_INTRAOP_THREADS": threads,
                    "TF_NUM_INTEROP_THREADS": "1"})  # fmt: skip
    return env


def execute_notebook(
    notebook: nbformat.NotebookNode,
    *,
    answer_dir: Path,
    data_dir: Path,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> ExecutionResult:
    """Run ``notebook`` in a private working folder; answers land in ``answer_dir``."""
    limits = limits or Limits()
    answer_dir.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    use_bwrap = sandbox and bubblewrap() is not None
    if sandbox and not use_bwrap:
        warn_unsandboxed()
    with tempfile.TemporaryDirectory(prefix="dlbmt-run-") as scratch:
        workdir = Path(scratch) / "work"
        home = Path(scratch) / "home"
        workdir.mkdir()
        home.mkdir()
        path = workdir / "notebook.ipynb"
        nbformat.write(notebook, path)
        read_end, write_end = os.pipe()
        runner = [sys.executable, "-m", "dlbmt.grading.kernel_runner", str(path),
                  "--result-fd", str(write_end),
                  "--cell-timeout", str(limits.cell_seconds),
                  "--output-limit", str(limits.output_bytes)]  # fmt: skip
        unprivileged = drops_privileges(use_bwrap)
        if unprivileged:
            uid = sandbox_uid()
            hand_over(uid, workdir, home, answer_dir)
            runner += ["--user", str(uid)]
        if use_bwrap:
            prefix = sandbox_prefix(
                workdir=workdir, answer_dir=answer_dir, data_dir=data_dir, home=home,
                as_root=unprivileged,
            )  # fmt: skip
            command = prefix + runner
        else:
            command = runner
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=kernel_environment(answer_dir, data_dir, home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
            start_new_session=True,
            preexec_fn=lambda: apply_limits(limits),
        )
        os.close(write_end)
        lines: list[dict] = []
        reader = threading.Thread(target=_read_lines, args=(read_end, lines), daemon=True)
        reader.start()
        events: list[dict] = []
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            events.append({"limit": "wall_time", "seconds": limits.wall_seconds})
        finally:
            _kill_group(process)
        reader.join(timeout=10)
        seconds = time.monotonic() - started
    finished = any(line.get("done") for line in lines)
    _merge_outputs(notebook, lines, events)
    if not finished and not events:
        events.append({"limit": "runner_stopped", "returncode": process.returncode})
    return ExecutionResult(notebook, events, seconds, use_bwrap, finished)


def _read_lines(fd: int, lines: list[dict]) -> None:
    total = 0
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as stream:
        for raw in stream:
            total += len(raw)
            if total > MAX_REPORT_BYTES:
                break
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _merge_outputs(notebook, lines: list[dict], events: list[dict]) -> None:
    for line in lines:
        index = line.get("index")
        if not isinstance(index, int) or not 0 <= index < len(notebook.cells):
            continue
        cell = notebook.cells[index]
        if cell.cell_type != "code":
            continue
        try:
            cell.outputs = [nbformat.from_dict(o) for o in line.get("outputs", [])]
            nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
        except Exception:  # noqa: BLE001 - malformed output from the sandbox is dropped
            cell.outputs = []
        status = line.get("status")
        limit = LIMIT_OF_STATUS.get(status, "output_size" if line.get("truncated") else None)
        if limit:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            event = {"limit": limit, "cell": index, "grade_id": grade_id}
            task = owning_task(notebook, index)
            if task and task != grade_id:
                event["task"] = task
            events.append(event)


def owning_task(notebook, index: int) -> str | None:
    """The autograded task a solution cell answers: the next autograded test cell's grade_id."""
    meta = notebook.cells[index].metadata.get("nbgrader", {})
    if not meta.get("solution") or meta.get("grade"):
        return meta.get("grade_id") if meta.get("grade") else None
    for cell in notebook.cells[index + 1 :]:
        after = cell.metadata.get("nbgrader", {})
        if after.get("grade") and not after.get("solution") and cell.cell_type == "code":
            return after.get("grade_id")
    return None
