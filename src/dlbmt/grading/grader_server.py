"""The graders' server: imports done once, one forked and sandboxed child per submission.

``dlbmt.grading.graders`` starts it inside the graders' sandbox (bubblewrap, as
root with a few capabilities) when ``dlbmt autograde`` grades as root. Starting
a fresh pytest process per submission costs 0.3 core-seconds of imports, and
3 core-seconds when the graders load Keras models; a fork of this server has
them already.

The server itself never reads a student's file. It reads one job per line on
its standard input (the assignment's graders, key and prepared data, the answers
to grade and the folder for the report), and for each it forks a child that

* leaves the server's pipes behind, so that it cannot talk for the server;
* gets a mount namespace with a fresh, limited temporary folder (its home; the
  sandbox's /tmp is read-only for it) and a process namespace of its own, whose
  every process dies when the child's pytest ends: nothing a job starts or
  writes outlives it;
* drops to the sandbox's unprivileged user without any capability, and then
  runs the graders with pytest, as a process of its own would.

The server answers each job with one line, the child's exit status. It is
started by root only; anyone else gets a fresh grader process per submission.
"""

from __future__ import annotations

import argparse
import ast
import ctypes
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

from dlbmt.grading.prepared import PREPARED_VARIABLE

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 1 << 14, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
# Exit status of a child that could not set up its sandbox (pytest uses 0 to 5).
SETUP_FAILED = 70
LOG_NAME = "log.txt"
# Each job's home and temporary folder, a tmpfs mounted for it alone.
JOB_TMP = "/tmp/job"


def _libc_call(name: str, *args) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{name} failed: {os.strerror(error)}")


def imported_modules(folder: Path) -> list[str]:
    """The modules the graders in ``folder`` import, except their own helper modules."""
    local = {path.stem for path in folder.glob("*.py")}
    names: set[str] = set()
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return sorted(name for name in names if name.split(".")[0] not in local | {"__future__"})


def preload(graders: Path, extra: list[str]) -> None:
    """Import pytest with its default plugins and what the graders of every assignment import."""
    from _pytest.config import default_plugins

    imported = [name for folder in sorted(graders.iterdir()) if folder.is_dir()
                for name in imported_modules(folder)]  # fmt: skip
    for name in [*(f"_pytest.{p}" for p in default_plugins), *imported, *extra]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the graders' own run reports what does not import
            pass


def _isolate(tmp_bytes: int, uid: int, gid: int) -> None:
    """Give this process its own temporary folders and the next child its own process namespace.

    The sandbox's /tmp holds the server's bind mounts and is not writable for jobs;
    a job writes temporary files to ``JOB_TMP`` (its home too), a tmpfs of its own.
    """
    _libc_call("unshare", CLONE_NEWNS | CLONE_NEWPID)
    _libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
    for path in (JOB_TMP, "/dev/shm"):
        if os.path.isdir(path):
            options = f"size={tmp_bytes},nr_inodes=20000,mode=0700,uid={uid},gid={gid}"
            _libc_call("mount", b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                       options.encode())  # fmt: skip


def _run_pytest(job: dict, settings: argparse.Namespace) -> int:
    """In the job's own process namespace: become the sandbox user and run the graders."""
    import pytest

    os.setgroups([])
    os.setgid(settings.gid)
    os.setuid(settings.uid)  # from root to a user: every capability is gone
    _libc_call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # The server was started with these; a module may have read them at import already.
    os.environ.update(HOME=JOB_TMP, TMPDIR=JOB_TMP, MPLCONFIGDIR=f"{JOB_TMP}/.matplotlib")
    os.environ[PREPARED_VARIABLE] = job["prepared"]
    tempfile.tempdir = None
    os.chdir(job["out"])
    log = os.open(LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    arguments = [
        job["graders"], "-c", settings.ini, "--rootdir", settings.graders,
        "-p", "dlbmt.grading.grader_plugin",
        "--answers", job["answers"], "--key", job["key"],
        "--report", str(Path(job["out"]) / "report.json"), "--secret", settings.secret,
        "-q", "--no-header", "-p", "no:cacheprovider",
    ]  # fmt: skip
    return int(pytest.main(arguments))


def _job(job: dict, settings: argparse.Namespace) -> int:
    """The forked child: sandbox the job, run it as the next child, return its status."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _isolate(settings.tmp_bytes, settings.uid, settings.gid)
    pid = os.fork()
    if pid == 0:
        try:
            code = _run_pytest(job, settings)
        except BaseException as error:  # noqa: BLE001 - reported through the log, if open
            print(f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
            code = SETUP_FAILED
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def serve(settings: argparse.Namespace) -> None:
    """Preload, then fork one child per job line until standard input ends."""
    # Jobs run as another user and cannot attach to the server anyway; not being
    # dumpable also keeps its memory and its /proc entries closed to them.
    _libc_call("prctl", PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.makedirs(JOB_TMP, mode=0o755, exist_ok=True)
    preload(Path(settings.graders), settings.preload)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                code = _job(job, settings)
            except BaseException:  # noqa: BLE001 - the parent reports a failed job
                code = SETUP_FAILED
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--graders", required=True, help="the course's graders folder")
    parser.add_argument("--ini", required=True, help="the graders' pytest.ini")
    parser.add_argument("--secret", required=True, help="the graders' copy of the secret")
    parser.add_argument("--uid", type=int, required=True, help="the sandbox user of the jobs")
    parser.add_argument("--gid", type=int, required=True)
    parser.add_argument("--tmp-bytes", type=int, required=True, help="each job's temporary folder")
    parser.add_argument("--preload", action="append", default=[], help="more modules to import")
    serve(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
