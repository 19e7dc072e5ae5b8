"""Runs one notebook cell by cell; started by ``dlbmt.grading.execution`` inside the sandbox.

The runner is self-contained on purpose: inside the sandbox ``dlbmt.grading``
and ``dlbmt.tools`` are hidden from the kernel, so the runner is handed over as
a file and imports nothing of ``dlbmt``.

What the kernel can and cannot do to the runner:

* The notebook, hidden tests included, arrives on the runner's standard input;
  no file in the sandbox holds it. The first kernel is started before it
  arrives, so that a runner started ahead of time (``dlbmt autograde`` keeps
  one ready for the next submission) has its kernel waiting.
* Started as root (the grader runs as root with bubblewrap), the runner stays
  root with a few capabilities and starts every kernel as the sandbox's user.
  That user cannot signal the runner, read its memory or write to its report
  pipe. The runner mounts everything the kernel may write (answer store,
  working folder, home, /tmp) as tmpfs with a limit on bytes and on files, so
  the kernel can fill nothing on the grading machine.
* The runner reports to the trusted parent through a dedicated pipe
  (``--result-fd``), one JSON line per executed cell, followed by the answer
  files that changed in it. Everything up to a crash or a killed run is known.
  The answer files are copied as bytes: the parent judges what they are.

A kernel whose cell hits the time or memory limit, or that dies, is replaced by
a fresh one and the run goes on with the next cell, so that one broken task
does not cost the later ones. The answer store survives the change of kernel.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import json
import os
import re
import stat
import sys
import time
from contextlib import ExitStack

JSONSCHEMA_FORMAT_LIBRARIES = (
    "rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "isoduration",
    "webcolors", "fqdn", "uri_template", "jsonpointer", "idna",
)  # fmt: skip

# jsonschema (through nbformat) imports a checker library for each string format it
# knows, if installed; rfc3987_syntax alone builds an IRI grammar for 0.8 s (as in
# dlbmt/__init__.py, which this file does not import). The notebook schema uses no
# format, so the runner, started once per submission, skips them all (0.03 s more).
for _format_library in JSONSCHEMA_FORMAT_LIBRARIES:
    sys.modules.setdefault(_format_library, None)

import nbformat  # noqa: E402
from jupyter_client import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

TRUNCATION_NOTE = "\n[Ausgabe gekürzt: die Zelle hat mehr als {limit} Bytes ausgegeben.]\n"
# What the answer store may hold: <task>/<name><suffix>, as dlbmt.recording writes it.
ANSWER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ANSWER_SUFFIXES = (".error.json", ".dtypes.json", ".json", ".npy", ".csv", ".keras")
# Files the runner streams to the parent over the whole run, at most; a notebook that
# rewrites its answers in every cell cannot keep the pipe busy for ever.
SYNC_FACTOR = 8
MS_NOSUID, MS_NODEV = 2, 4


class SandboxUserKernelManager(AsyncKernelManager):
    """Starts the kernel as the sandbox's user, who must be able to read its connection file."""

    kernel_uid: int | None = None
    kernel_gid: int | None = None

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.kernel_uid is not None:
            os.chown(self.connection_file, self.kernel_uid, self.kernel_gid)


def _limit_outputs(cell, limit: int) -> bool:
    """Trim a cell's outputs to ``limit`` bytes of JSON; True when something was cut."""
    kept, used = [], 0
    for output in cell.get("outputs", []):
        size = len(json.dumps(output))
        if used + size > limit:
            kept.append(
                nbformat.v4.new_output(
                    "stream", name="stderr", text=TRUNCATION_NOTE.format(limit=limit)
                )
            )
            cell["outputs"] = kept
            return True
        kept.append(output)
        used += size
    return False


def mount_tmpfs(path: str, size: int, inodes: int, uid: int, gid: int, mode: str) -> None:
    """Mount a tmpfs limited to ``size`` bytes and ``inodes`` files on ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size},nr_inodes={inodes},mode={mode},uid={uid},gid={gid}"
    flags = MS_NOSUID | MS_NODEV
    if libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, options.encode()) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mounting a tmpfs on {path} failed: {os.strerror(error)}")


class AnswerSync:
    """Streams the answer files that changed since the last call; judges nothing else."""

    def __init__(self, root: str, max_files: int, max_file_bytes: int, max_total_bytes: int):
        self.root = root
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.budget = SYNC_FACTOR * max_total_bytes
        self.sent: dict[str, tuple] = {}
        self.reported: set[str] = set()

    def _candidates(self) -> tuple[dict[str, os.stat_result], int]:
        found, entries = {}, 0
        try:
            tasks = list(os.scandir(self.root))
        except OSError:
            return found, entries
        for task in tasks:
            entries += 1
            if not ANSWER_NAME.match(task.name) or not task.is_dir(follow_symlinks=False):
                continue
            try:
                files = list(os.scandir(task.path))
            except OSError:
                continue
            for entry in files:
                entries += 1
                name = entry.name
                suffix = next((s for s in ANSWER_SUFFIXES if name.endswith(s)), None)
                if suffix is None or not ANSWER_NAME.match(name[: -len(suffix)]):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and len(found) < self.max_files:
                    found[f"{task.name}/{name}"] = info
        return found, entries

    def _read(self, relative: str) -> bytes | None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            descriptor = os.open(os.path.join(self.root, relative), flags)
        except OSError:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_file_bytes:
                return None
            return handle.read(self.max_file_bytes + 1)[: self.max_file_bytes + 1]

    def changes(self) -> tuple[list[dict], list[str]]:
        """Report lines for new, changed and removed answer files, and limits that were hit."""
        found, entries = self._candidates()
        lines, limits = [], []
        for relative in sorted(set(self.sent) - set(found)):
            del self.sent[relative]
            lines.append({"gone": relative})
        for relative, info in sorted(found.items()):
            signature = (info.st_size, info.st_mtime_ns, info.st_ino)
            if self.sent.get(relative) == signature:
                continue
            if info.st_size > self.max_file_bytes:
                limits.append("answer_file_size")
                continue
            data = self._read(relative)
            if data is None or len(data) > self.max_file_bytes:
                continue
            if len(data) > self.budget:
                limits.append("answer_traffic")
                break
            self.budget -= len(data)
            self.sent[relative] = signature
            lines.append({"answer": relative, "data": base64.b64encode(data).decode("ascii")})
        if entries > self.max_files or len(found) >= self.max_files:
            limits.append("answer_files")
        try:
            usage = os.statvfs(self.root)
            if usage.f_bavail == 0 or usage.f_favail == 0:
                limits.append("answer_store_full")
        except OSError:
            pass
        fresh = [name for name in dict.fromkeys(limits) if name not in self.reported]
        self.reported.update(fresh)
        return lines, fresh


class Runner:
    def __init__(self, args, report):
        self.notebook = nbformat.v4.new_notebook()
        self.args = args
        self.report = report
        self.sync = AnswerSync(
            args.answers, args.answer_files, args.max_file_bytes, args.answer_bytes
        )
        self._ready: tuple[NotebookClient, ExitStack] | None = None

    def _client(self) -> NotebookClient:
        manager = SandboxUserKernelManager
        manager.kernel_uid = self.args.kernel_user
        manager.kernel_gid = self.args.kernel_group
        return NotebookClient(
            self.notebook,
            timeout=self.args.cell_timeout,
            allow_errors=True,
            interrupt_on_timeout=False,
            kernel_name="python3",
            kernel_manager_class=manager,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": self.args.workdir}},
        )

    def _launch_options(self) -> dict:
        if self.args.kernel_user is None:
            return {}
        return {"user": self.args.kernel_user, "group": self.args.kernel_group, "extra_groups": []}

    def _started_kernel(self) -> tuple[NotebookClient, ExitStack]:
        client = self._client()
        stack = ExitStack()
        # leaving the stack shuts the kernel down (killing it if needed)
        stack.enter_context(client.setup_kernel(**self._launch_options()))
        return client, stack

    def start(self) -> None:
        """Start the first kernel; the notebook may arrive later."""
        self._ready = self._started_kernel()

    def run(self, notebook) -> None:
        self.notebook = notebook
        indices = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
        position = 0
        while position < len(indices):
            client, stack = self._ready or self._started_kernel()
            self._ready = None
            client.nb = notebook
            with stack:
                while position < len(indices):
                    index = indices[position]
                    position += 1
                    status = self._execute(client, index)
                    if status in {"timeout", "kernel_died", "memory"}:
                        break  # this kernel is unusable: start a fresh one
        self.stop()  # a notebook without code cells did not use the first kernel
        self._sync_answers()

    def stop(self) -> None:
        if self._ready is not None:
            self._ready[1].close()
            self._ready = None

    def _execute(self, client: NotebookClient, index: int) -> str:
        cell = self.notebook.cells[index]
        started = time.monotonic()
        try:
            client.execute_cell(cell, index)
            status = _status_of(cell)
        except CellTimeoutError:
            status = "timeout"
        except DeadKernelError:
            status = "kernel_died"
        truncated = _limit_outputs(cell, self.args.output_limit)
        self.report(
            {
                "index": index,
                "status": status,
                "truncated": truncated,
                "seconds": round(time.monotonic() - started, 3),
                "outputs": cell.get("outputs", []),
            }
        )
        self._sync_answers(index)
        return status

    def _sync_answers(self, index: int | None = None) -> None:
        lines, limits = self.sync.changes()
        for line in lines:
            self.report(line)
        for limit in limits:
            self.report({"limit": limit, "cell": index})


def _status_of(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "MemoryError" for o in errors):
        # The memory is still held by the kernel; later tasks need a fresh one.
        return "memory"
    return "error" if errors else "ok"


def _prepare_folders(args) -> None:
    """Give the kernel its writable folders: limited tmpfs when root, plain folders otherwise."""
    owner = (args.kernel_user, args.kernel_group)
    folders = [(args.answers, args.answer_bytes, args.answer_files, "0700")]
    folders += [(path, args.scratch_bytes, args.scratch_files, "0700") for path in args.scratch]
    if args.tmp:
        folders.append((args.tmp, args.scratch_bytes, args.scratch_files, "0700"))
    for path, size, inodes, mode in folders:
        os.makedirs(path, exist_ok=True)
        if args.mount_tmpfs:
            mount_tmpfs(path, size, inodes, *owner, mode)
    if args.runtime:
        # Connection files: written by the runner, each handed to its kernel's user.
        os.makedirs(args.runtime, mode=0o711, exist_ok=True)
        os.environ["JUPYTER_RUNTIME_DIR"] = args.runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("--output-limit", type=int, required=True)
    parser.add_argument("--workdir", required=True, help="the kernel's working folder")
    parser.add_argument("--answers", required=True, help="the answer store the kernel writes")
    parser.add_argument("--scratch", action="append", default=[], help="more kernel folders")
    parser.add_argument("--tmp", help="the kernel's folder for temporary files (TMPDIR)")
    parser.add_argument("--runtime", help="where the runner writes connection files")
    parser.add_argument("--kernel-user", type=int, help="start kernels as this user")
    parser.add_argument("--kernel-group", type=int, help="... and this group")
    parser.add_argument("--mount-tmpfs", action="store_true", help="mount limited tmpfs")
    parser.add_argument("--answer-bytes", type=int, default=256 * 1024**2)
    parser.add_argument("--answer-files", type=int, default=1000)
    parser.add_argument("--max-file-bytes", type=int, default=50 * 1024**2)
    parser.add_argument("--scratch-bytes", type=int, default=512 * 1024**2)
    parser.add_argument("--scratch-files", type=int, default=20_000)
    args = parser.parse_args(argv)

    result = os.fdopen(args.result_fd, "w", encoding="utf-8", buffering=1)
    os.set_inheritable(args.result_fd, False)

    def report(line: dict) -> None:
        result.write(json.dumps(line) + "\n")
        result.flush()

    _prepare_folders(args)
    runner = Runner(args, report)
    runner.start()
    try:
        # The notebook comes over standard input and is never written to a file.
        notebook = nbformat.reads(sys.stdin.read(), as_version=4)
    except BaseException:
        runner.stop()  # no notebook came (the spare of a run that ended): no kernel stays
        raise
    sys.stdin.close()
    runner.run(notebook)
    report({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
