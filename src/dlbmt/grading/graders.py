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
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlbmt.errors import CourseError
from dlbmt.grading.course import Course
from dlbmt.grading.execution import kill_group, thread_environment
from dlbmt.grading.grader_server import JOB_TMP, LOG_NAME
from dlbmt.grading.kept import Kept
from dlbmt.grading.prepared import PREPARED_VARIABLE
from dlbmt.grading.prepared import folder_of as prepared_folder
from dlbmt.grading.sandbox import (
    SANDBOX_GID,
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
# The graders' server changes to the sandbox user and gives each job its own namespaces.
SERVER_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN")
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
    warm: bool = False,
) -> dict[str, TaskResult]:
    """Score every task of ``assignment``; returns results keyed by grade_id.

    With ``warm`` (``dlbmt autograde`` and ``dlbmt selftest``), grading as root with
    bubblewrap, the graders run in a child of a server kept for the calling thread
    that has done its imports (:mod:`dlbmt.grading.grader_server`); otherwise in a
    fresh process. :func:`discard_server` stops the kept servers.
    """
    folder = course.graders / assignment
    if not folder.is_dir():
        raise CourseError(f"No graders for {assignment}: {folder} is missing.")
    use_bwrap = sandbox and bubblewrap() is not None
    if sandbox and not use_bwrap:
        warn_unsandboxed()
    if warm and drops_privileges(use_bwrap):
        settings = _ServerSettings.of(course, key, threads)
        kept = _kept()
        server = kept.take(settings) or _GraderServer.start(course, settings)
        try:
            graded = server.grade(course, assignment, answers, key)
        except BaseException:
            server.discard()
            raise
        if graded is not None:
            kept.keep(server)
            return _results(assignment, *graded)
        server.discard()  # it stopped (killed from outside): this submission gets a fresh process
    payload, output = _fresh_process(course, assignment, answers, key, use_bwrap, threads)
    return _results(assignment, payload, output)


def _fresh_process(
    course: Course, assignment: str, answers: Path, key: Path, use_bwrap: bool, threads
) -> tuple[dict | None, str]:
    """The graders in a process of their own: (report, output)."""
    folder = course.graders / assignment
    as_root = drops_privileges(use_bwrap)
    uid = sandbox_uid() if use_bwrap and as_root else None
    with tempfile.TemporaryDirectory(prefix="dlbmt-grade-") as scratch:
        out = Path(scratch) / "out"
        out.mkdir()
        secret = _secret_for_graders(course, Path(scratch), uid)
        ready = _prepared_for_graders(course, assignment, Path(scratch) / "prepared", uid)
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
            raise _too_slow(assignment) from None
        return _read_report(report), completed.stdout[-3000:] + completed.stderr[-2000:]


def _too_slow(assignment: str) -> CourseError:
    return CourseError(
        f"The graders of {assignment} did not finish within {GRADER_TIMEOUT_SECONDS} s."
    )


def _results(assignment: str, payload: dict | None, output: str) -> dict[str, TaskResult]:
    if payload is None:
        raise CourseError(f"The graders of {assignment} did not run:\n{output[-4000:]}")
    if payload.get("exitstatus") not in (0, 1):
        raise CourseError(
            f"The graders of {assignment} stopped with pytest exit status "
            f"{payload.get('exitstatus')}:\n{output[-3000:]}"
        )
    results: dict[str, TaskResult] = {}
    for check in payload["tests"]:
        result = results.setdefault(check["task"], TaskResult(check["task"]))
        result.max_score += check["points"]
        result.score += check["points"] if check["passed"] else 0.0
        result.checks.append(check)
    return results


@dataclass(frozen=True)
class _ServerSettings:
    """What a graders' server was started with; it serves only calls with the same."""

    root: Path
    # The folder of answer keys it sees: the course's, or the one key a caller gave.
    keys: Path
    threads: int | None
    # (path, mtime, size) of every file the server copied, imported or reads for all jobs.
    files: tuple

    @classmethod
    def of(cls, course: Course, key: Path, threads: int | None) -> _ServerSettings:
        keys = course.state / "key"
        if not key.is_relative_to(keys):
            keys = key
        paths = [
            course.secret_file(), course.graders / "pytest.ini",
            *sorted(course.graders.glob("*/*.py")),
            *sorted((course.state / "prepared").glob("*/*.npz")),
            *sorted(path for path in keys.rglob("*") if path.is_file()),
        ]  # fmt: skip
        files = []
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue
            files.append((str(path), info.st_mtime_ns, info.st_size))
        return cls(course.root, keys, threads, tuple(files))


class _GraderServer:
    """A started :mod:`dlbmt.grading.grader_server` in the graders' sandbox, for every
    assignment of one course.

    Each job gets a folder of its own under ``jobs/``: a copy of the answers and
    an empty folder for the report, both the sandbox user's alone, removed when
    the job is done. The server's children see no other job's folder.
    """

    def __init__(self, settings, process, scratch, uid: int):
        self.settings = settings
        self.process = process
        self.scratch = scratch
        self.uid = uid
        self.jobs = Path(scratch.name) / "jobs"
        self.prepared = Path(scratch.name) / "prepared"
        self._buffer = b""
        self._count = 0

    @classmethod
    def start(cls, course: Course, settings: _ServerSettings) -> _GraderServer:
        scratch = tempfile.TemporaryDirectory(prefix="dlbmt-graders-")
        base, uid = Path(scratch.name), sandbox_uid()
        secret = _secret_for_graders(course, base, uid)
        ready = base / "prepared"
        ready.mkdir(mode=0o755)
        assignments = sorted(p.name for p in course.graders.iterdir() if p.is_dir())
        for assignment in assignments:
            _prepared_for_graders(course, assignment, ready / assignment, uid)
        jobs = base / "jobs"
        jobs.mkdir(mode=0o711)
        command = [
            sys.executable, "-m", "dlbmt.grading.grader_server",
            "--graders", str(course.graders), "--ini", str(course.graders / "pytest.ini"),
            "--secret", str(secret), "--uid", str(uid), "--gid", str(SANDBOX_GID),
            "--tmp-bytes", str(GRADER_LIMITS.scratch_bytes),
        ]  # fmt: skip
        if any(settings.keys.rglob("*.keras")):
            command += ["--preload", "keras"]  # the graders will load the students' models
        command = sandbox_prefix(
            read_only=[course.graders, course.data, settings.keys, secret, ready],
            writable=[jobs],
            private_bytes=GRADER_LIMITS.scratch_bytes,
            chdir=jobs,
            as_root=True,
            capabilities=SERVER_CAPABILITIES,
            tmp_writable=False,  # each job gets a /tmp/job of its own
        ) + command  # fmt: skip
        with open(base / "server.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=jobs,
                env={
                    **_grader_environment(course, Path(JOB_TMP), settings.threads),
                    "TMPDIR": JOB_TMP,
                },
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                preexec_fn=lambda: apply_limits(GRADER_LIMITS),
            )
        return cls(settings, process, scratch, uid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def discard(self) -> None:
        kill_group(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.scratch.cleanup()

    def grade(
        self, course: Course, assignment: str, answers: Path, key: Path
    ) -> tuple[dict | None, str] | None:
        """(report, output) of the graders on ``answers``; None if the server is gone."""
        self._count += 1
        job = self.jobs / str(self._count)
        job.mkdir(mode=0o711)
        try:
            copy, out = job / "answers", job / "out"
            _private_copy(answers, copy, self.uid)
            out.mkdir(mode=0o700)
            os.chown(out, self.uid, -1)
            request = {
                "graders": str(course.graders / assignment), "key": str(key),
                "prepared": str(self.prepared / assignment), "answers": str(copy), "out": str(out),
            }  # fmt: skip
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
                self.process.stdin.flush()
            except OSError:
                return None
            if self._status(assignment) is None:
                return None
            return _read_report(out / "report.json"), _tail(out / LOG_NAME)
        finally:
            shutil.rmtree(job, ignore_errors=True)

    def _status(self, assignment: str) -> int | None:
        """The exit status the server reports for the job; None if it stopped or garbled."""
        deadline = time.monotonic() + GRADER_TIMEOUT_SECONDS
        fd = self.process.stdout.fileno()
        while True:
            line, newline, rest = self._buffer.partition(b"\n")
            if newline:
                self._buffer = rest
                try:
                    message = json.loads(line)
                except ValueError:
                    return None
                if isinstance(message, dict) and isinstance(message.get("status"), int):
                    return message["status"]
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _too_slow(assignment)
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return None
                self._buffer += chunk


# One kept server per thread: ``dlbmt autograde`` grades on one thread per worker
# process, ``dlbmt selftest`` on a pool of threads, each of which needs its own.
_KEPT: dict[int, Kept] = {}
_KEPT_LOCK = threading.Lock()


def _kept() -> Kept:
    """The calling thread's kept graders' server (maybe none)."""
    with _KEPT_LOCK:
        return _KEPT.setdefault(threading.get_ident(), Kept())


def warm_up(course: Course, key: Path, threads: int | None) -> None:
    """Start the graders' server now, so that its imports run beside the notebook.

    ``dlbmt autograde`` calls this before a submission's notebook runs; the graders
    then find the server ready. Does nothing where :func:`run_graders` would not
    use a server, and nothing when the kept one already fits.
    """
    if not drops_privileges(bubblewrap() is not None):
        return
    settings = _ServerSettings.of(course, key, threads)
    kept = _kept()
    kept.keep(kept.take(settings) or _GraderServer.start(course, settings))


def discard_server() -> None:
    """Stop every graders' server kept for a next submission (at the end of a run)."""
    with _KEPT_LOCK:
        kept = list(_KEPT.values())
    for helper in kept:
        helper.discard()


def _private_copy(answers: Path, target: Path, uid: int) -> None:
    """The answer store, copied for the graders' user alone (the coordinator wrote it)."""
    if answers.is_dir():
        shutil.copytree(answers, target, symlinks=True)
    else:
        target.mkdir()
    for folder, _, files in os.walk(target):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                os.chown(path, uid, -1)
                path.chmod(0o400)
        os.chown(folder, uid, -1)
        Path(folder).chmod(0o500)


def _tail(path: Path, limit: int = 8000) -> str:
    """The end of the job's log, if it is a plain file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as log:
        if not stat.S_ISREG(os.fstat(log.fileno()).st_mode):
            return ""
        log.seek(max(0, os.fstat(log.fileno()).st_size - limit))
        return log.read(limit).decode("utf-8", errors="replace")


def _secret_for_graders(course: Course, scratch: Path, uid: int | None) -> Path:
    """A copy of the course's secret that the graders' user, and only it, can read.

    The course's own file stays readable by its owner alone (mode 600): the graders
    run as the sandbox's unprivileged user and get this private copy instead.
    """
    return _hand_over(course.secret_file(), scratch / "secret.json", uid)


def _prepared_for_graders(course: Course, assignment: str, copy: Path, uid: int | None) -> Path:
    """A private copy of the held-out data the coordinator prepared (maybe none), read-only."""
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
