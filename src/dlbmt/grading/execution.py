"""Execute a notebook in the sandbox and collect what it did (trusted side)."""

from __future__ import annotations

import base64
import binascii
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

from dlbmt.grading import kernel_runner
from dlbmt.grading.cells import grade_id, owning_task
from dlbmt.grading.kept import Kept
from dlbmt.grading.sandbox import (
    KERNEL_ROOT,
    RUNNER_CAPABILITIES,
    SANDBOX_GID,
    Limits,
    apply_limits,
    bubblewrap,
    drops_privileges,
    instructor_packages,
    sandbox_prefix,
    sandbox_uid,
    warn_unsandboxed,
)
from dlbmt.grading.status import Limit
from dlbmt.recording import ANSWER_DIR_VARIABLE, MAX_FILE_BYTES
from dlbmt.settings import DATA_DIR_VARIABLE

# Cell reports are bounded by the output limit per cell; answers by the store's size,
# streamed at most a few times over. Anything beyond this is not read.
MAX_REPORT_BYTES = 2 * 1024**3
# The runner's cell status -> the limit that the feedback names.
LIMIT_OF_STATUS = {"timeout": Limit.CELL_TIME, "kernel_died": Limit.KERNEL_DIED,
                   "memory": Limit.MEMORY}  # fmt: skip
# The runner's reasons for stopping to copy answers -> one limit the feedback names.
ANSWER_STORE_LIMITS = {"answer_files", "answer_store_full", "answer_file_size", "answer_traffic"}


@dataclass
class ExecutionResult:
    notebook: nbformat.NotebookNode
    events: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    sandboxed: bool = False
    finished: bool = False


@dataclass
class _Folders:
    """Where the kernel works, as the runner and the kernel see it."""

    work: Path
    home: Path
    answers: Path
    runtime: Path | None = None
    tmp: Path | None = None


def kernel_environment(folders: _Folders, data_dir: Path, threads: int | None) -> dict[str, str]:
    """The kernel's environment: nothing from the grader's but what it needs."""
    keep = ("PATH", "LANG", "LC_ALL", "DLBMT_SMOKE", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            ANSWER_DIR_VARIABLE: str(folders.answers),
            DATA_DIR_VARIABLE: str(data_dir),
            "HOME": str(folders.home),
            # The sandbox user has no passwd entry; getpass.getuser() reads these first.
            "USER": "student",
            "LOGNAME": "student",
            # No TF_CPP_MIN_LOG_LEVEL: each notebook's first cell quiets TensorFlow itself,
            # and the graded run shows what the student saw (tests/course/test_first_run.py).
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(folders.home / ".matplotlib"),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
            # joblib (imported by keras through scikit-learn) probes for POSIX semaphores,
            # which the sandbox does not give, and warns in the student's first cell that it
            # runs serially; it runs serially anyway.
            "JOBLIB_MULTIPROCESSING": "0",
        }
    )
    if folders.tmp is not None:
        env["TMPDIR"] = str(folders.tmp)
    env.update(thread_environment(threads))
    return env


def thread_environment(threads: int | None) -> dict[str, str]:
    """What holds TensorFlow and BLAS in a process to ``threads`` threads."""
    if not threads:
        return {}
    return {"OMP_NUM_THREADS": str(threads), "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": "1"}  # fmt: skip


def _runner_command(folders: _Folders, limits: Limits, runner: Path, write_end: int) -> list[str]:
    command = [sys.executable, str(runner),
               "--result-fd", str(write_end),
               "--cell-timeout", str(limits.cell_seconds),
               "--output-limit", str(limits.output_bytes),
               "--workdir", str(folders.work),
               "--answers", str(folders.answers),
               "--scratch", str(folders.work), "--scratch", str(folders.home),
               "--answer-bytes", str(limits.answer_bytes),
               "--answer-files", str(limits.answer_files),
               "--max-file-bytes", str(MAX_FILE_BYTES),
               "--scratch-bytes", str(limits.scratch_bytes),
               "--scratch-files", str(limits.scratch_files)]  # fmt: skip
    if folders.runtime is not None:
        command += ["--runtime", str(folders.runtime)]
    if folders.tmp is not None:
        command += ["--tmp", str(folders.tmp)]
    return command


def execute_notebook(
    notebook: nbformat.NotebookNode,
    *,
    answer_dir: Path,
    data_dir: Path,
    limits: Limits | None = None,
    sandbox: bool = True,
    answers_wanted: dict[str, set[str]] | None = None,
    keep_spare: bool = False,
) -> ExecutionResult:
    """Run ``notebook`` in the sandbox; the answers it recorded land in ``answer_dir``.

    ``answers_wanted`` maps each task to the answer names the graders read (those
    the answer key holds); only those are kept. Without it every well-named answer
    file is kept (for recording the key itself). Nothing else the kernel wrote
    survives the run.

    With ``keep_spare`` a second sandbox is started while this notebook runs and
    kept for the next call with the same settings, so that the next notebook finds
    its runner and kernel already started. A sandbox serves one notebook only:
    the spare is as fresh as one started on demand.
    """
    limits = limits or Limits()
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    use_bwrap = sandbox and bubblewrap() is not None
    if sandbox and not use_bwrap:
        warn_unsandboxed()
    settings = (limits, Path(data_dir), use_bwrap)
    with _SPARE.take(settings) or _Sandbox.start(settings) as box:
        if keep_spare:
            _SPARE.keep(_Sandbox.start(settings))
        process = box.process
        report = _Report()
        reader = threading.Thread(target=report.read, args=(box.take_report(),), daemon=True)
        reader.start()
        events: list[dict] = []
        started = time.monotonic()
        try:
            # The notebook, hidden tests included, never exists as a file in the sandbox.
            process.stdin.write(nbformat.writes(notebook).encode("utf-8"))
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            events.append({"limit": Limit.WALL_TIME, "seconds": limits.wall_seconds})
        finally:
            kill_group(process)
        reader.join(timeout=30)
        seconds = time.monotonic() - started
    _merge_outputs(notebook, report.cells, events)
    events += [_named(notebook, event) for event in report.events]
    _write_answers(report.answers, answer_dir, answers_wanted)
    if not report.finished and not any(e["limit"] == Limit.WALL_TIME for e in events):
        events.append({"limit": Limit.RUNNER_STOPPED, "returncode": process.returncode})
    return ExecutionResult(notebook, events, seconds, use_bwrap, report.finished)


class _Sandbox:
    """A started runner (and its first kernel), waiting for a notebook on its standard input."""

    def __init__(self, process: subprocess.Popen, report_fd: int, scratch, settings: tuple):
        self.process = process
        self.report_fd: int | None = report_fd
        self.scratch = scratch
        self.settings = settings

    @classmethod
    def start(cls, settings: tuple[Limits, Path, bool]) -> _Sandbox:
        """A sandbox for ``(limits, data folder, with bubblewrap)``, its kernel starting."""
        limits, data_dir, use_bwrap = settings
        as_root = drops_privileges(use_bwrap)
        scratch = tempfile.TemporaryDirectory(prefix="dlbmt-run-")
        runner = Path(scratch.name) / "runner" / "kernel_runner.py"
        runner.parent.mkdir()
        runner.write_bytes(Path(kernel_runner.__file__).read_bytes())
        read_end, write_end = os.pipe()
        if use_bwrap:
            folders = _Folders(
                KERNEL_ROOT / "work", KERNEL_ROOT / "home", KERNEL_ROOT / "answers",
                runtime=KERNEL_ROOT / "runtime", tmp=KERNEL_ROOT / "tmp",
            )  # fmt: skip
            command = _runner_command(folders, limits, runner, write_end)
            if as_root:
                command += ["--kernel-user", str(sandbox_uid()), "--kernel-group",
                            str(SANDBOX_GID), "--mount-tmpfs"]  # fmt: skip
            prefix = sandbox_prefix(
                read_only=[data_dir, runner.parent],
                hidden=instructor_packages(),
                private=[folders.work, folders.home, folders.answers, folders.tmp,
                         folders.runtime],
                private_bytes=None if as_root else limits.scratch_bytes,
                chdir=KERNEL_ROOT,
                as_root=as_root,
                capabilities=RUNNER_CAPABILITIES,
                # The kernel's temporary files go to its own limited folder (TMPDIR).
                tmp_writable=not as_root,
            )  # fmt: skip
            command = prefix + command
        else:
            base = Path(scratch.name)
            folders = _Folders(base / "work", base / "home", base / "answers")
            command = _runner_command(folders, limits, runner, write_end)
        try:
            process = subprocess.Popen(
                command,
                cwd=scratch.name,
                env=kernel_environment(folders, data_dir, limits.threads),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(write_end,),
                start_new_session=True,
                preexec_fn=lambda: apply_limits(limits),
            )
        except BaseException:
            os.close(read_end)
            scratch.cleanup()
            raise
        finally:
            os.close(write_end)
        return cls(process, read_end, scratch, settings)

    def alive(self) -> bool:
        return self.process.poll() is None

    def take_report(self) -> int:
        """The read end of the report pipe; the caller closes it."""
        fd, self.report_fd = self.report_fd, None
        return fd

    def discard(self) -> None:
        kill_group(self.process)
        if self.report_fd is not None:
            os.close(self.report_fd)
            self.report_fd = None
        self.scratch.cleanup()

    def __enter__(self) -> _Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


_SPARE = Kept()


def discard_spare() -> None:
    """Stop the sandbox kept for a next notebook, if any (at the end of a grading run)."""
    _SPARE.discard()


class _Report:
    """What the runner reported: cell outputs, answer files, limits, and whether it finished."""

    def __init__(self):
        self.cells: list[dict] = []
        self.answers: dict[str, bytes] = {}
        self.events: list[dict] = []
        self.finished = False

    def read(self, fd: int) -> None:
        total = 0
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as stream:
            for raw in stream:
                total += len(raw)
                if total > MAX_REPORT_BYTES:
                    break
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(line, dict):
                    self._take(line)

    def _take(self, line: dict) -> None:
        if line.get("done") is True:
            self.finished = True
        elif "answer" in line:
            try:
                self.answers[str(line["answer"])] = base64.b64decode(line["data"], validate=True)
            except (KeyError, TypeError, ValueError, binascii.Error):
                pass
        elif "gone" in line:
            self.answers.pop(str(line["gone"]), None)
        elif line.get("limit") in ANSWER_STORE_LIMITS:
            cell = line.get("cell")
            event = {"limit": Limit.ANSWER_STORE, "reason": line["limit"]}
            if isinstance(cell, int):
                event["cell"] = cell
            self.events.append(event)
        elif "index" in line:
            self.cells.append(line)


def _named(notebook, event: dict) -> dict:
    """The event with the grade_id of its cell and the task that cell answers, if any."""
    index = event.get("cell")
    if isinstance(index, int) and 0 <= index < len(notebook.cells):
        event["grade_id"] = grade_id(notebook.cells[index])
        task = owning_task(notebook, index)
        if task and task != event["grade_id"]:
            event["task"] = task
    return event


def _write_answers(
    answers: dict[str, bytes], answer_dir: Path, wanted: dict[str, set[str]] | None
) -> None:
    """Keep the answer files the graders read, named as the recorder names them."""
    answer_dir.mkdir(parents=True, exist_ok=True)
    for relative, data in sorted(answers.items()):
        task, _, name = relative.partition("/")
        if not kernel_runner.ANSWER_NAME.match(task) or not _valid_answer_name(name):
            continue
        if wanted is not None and answer_name(name) not in wanted.get(task, ()):
            continue
        if len(data) > MAX_FILE_BYTES:
            continue
        (answer_dir / task).mkdir(exist_ok=True)
        (answer_dir / task / name).write_bytes(data)


def answer_name(file_name: str) -> str:
    """The answer a file of the store holds: ``value`` for value.json or value.error.json."""
    return file_name.split(".", 1)[0]


def recorded_answers(store: Path) -> dict[str, set[str]]:
    """{task: answer names} of an answer store on disk (the key's, for example)."""
    return {
        folder.name: {answer_name(path.name) for path in folder.iterdir()}
        for folder in sorted(store.iterdir())
        if folder.is_dir() and not folder.is_symlink()
    }


def _valid_answer_name(name: str) -> bool:
    suffix = next((s for s in kernel_runner.ANSWER_SUFFIXES if name.endswith(s)), None)
    return suffix is not None and bool(kernel_runner.ANSWER_NAME.match(name[: -len(suffix)]))


def kill_group(process: subprocess.Popen) -> None:
    """Kill ``process`` and every process of its group, and reap it (sandboxes run in their own)."""
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
        limit = LIMIT_OF_STATUS.get(status, Limit.OUTPUT_SIZE if line.get("truncated") else None)
        if limit:
            events.append(_named(notebook, {"limit": limit, "cell": index}))
