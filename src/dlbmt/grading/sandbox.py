"""The sandboxes of grading: bubblewrap where available, limits always.

Two kinds of process run sandboxed, both with no network and a process
namespace of their own, so that every process they start dies with them:

* a submission's **kernel** (through the kernel runner). It sees the system and
  the Python installation read-only, but of this package only what students
  install: ``dlbmt.grading`` and ``dlbmt.tools`` are hidden. It sees the course
  data read-only, and it may write only to tmpfs folders inside the sandbox that
  are limited in bytes and files. It cannot see ``source/``, ``graders/``, the
  answer key, the gradebook, other students, or even its own notebook file.
* the **graders**. They run trusted code on files the student made (Keras
  archives, arrays, tables), so they, too, run as an unprivileged user with
  read-only views of the graders, the key, the answers and the data, and write
  only their report.

When the grader runs as root, both run as users of their own; otherwise
bubblewrap isolates them in a user namespace of the grader's user.
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")
# Where the kernel's private folders appear inside its sandbox.
KERNEL_ROOT = Path("/dlbmt")
# The runner mounts the kernel's folders itself (with a limit on files, which
# bubblewrap cannot set), starts kernels as the sandbox user and reads what they wrote.
RUNNER_CAPABILITIES = (
    "CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_CHOWN",
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook run, and the threads its kernel may use.

    The defaults are the course's; ``nbgrader_config.py`` overrides them with
    ``c.Execute.timeout`` (per cell) and ``c.SandboxedExecute.*`` (the rest), read by
    :meth:`from_config`, which students' submissions, the answer key and the graders'
    self-test all use.
    """

    wall_seconds: int = 1800
    cell_seconds: int = 600
    memory_bytes: int = 8 * 1024**3
    # Threads count as processes; a TensorFlow kernel uses a few dozen.
    max_processes: int = 256
    output_bytes: int = 1_000_000
    file_bytes: int = 256 * 1024**2
    # The answer store: the course's answers take about 3 MB in some 90 files.
    answer_bytes: int = 256 * 1024**2
    answer_files: int = 1000
    # Each of the kernel's other writable folders (working folder, home, /tmp).
    scratch_bytes: int = 1024**3
    scratch_files: int = 20_000
    # TensorFlow and BLAS threads of the kernel; None leaves it to the machine.
    threads: int | None = None

    # c.SandboxedExecute.<trait> -> field
    CONFIG_FIELDS = {
        "wall_timeout": "wall_seconds", "memory_limit": "memory_bytes",
        "max_processes": "max_processes", "output_limit": "output_bytes",
        "answer_bytes": "answer_bytes", "answer_files": "answer_files",
    }  # fmt: skip

    @classmethod
    def from_config(cls, config, threads: int | None = None) -> Limits:
        """The limits an ``nbgrader_config.py`` sets (traitlets config), with ``threads``."""
        values = {}
        # nbgrader's own setting: c.Execute.timeout wins over c.ExecutePreprocessor.timeout.
        for section in ("ExecutePreprocessor", "Execute"):
            timeout = config.get(section, {}).get("timeout")
            if isinstance(timeout, int) and timeout > 0:
                values["cell_seconds"] = timeout
        sandboxed = config.get("SandboxedExecute", {})
        for trait, name in cls.CONFIG_FIELDS.items():
            if isinstance(sandboxed.get(trait), int):
                values[name] = sandboxed[trait]
        return cls(**values, threads=threads)

    def with_threads(self, threads: int | None) -> Limits:
        return replace(self, threads=threads)


class SandboxWarning(UserWarning):
    pass


def bubblewrap() -> str | None:
    return shutil.which("bwrap")


def _python_roots() -> list[Path]:
    import dlbmt

    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    # An editable install imports dlbmt from the course's src/ folder.
    roots.add(Path(dlbmt.__file__).resolve().parents[1])
    for entry in sys.path:
        if entry.endswith("site-packages"):
            roots.add(Path(entry))
    return sorted(roots)


def instructor_packages() -> list[Path]:
    """The folders of the subpackages that students do not get (hidden from kernels)."""
    import dlbmt

    package = Path(dlbmt.__file__).resolve().parent
    return [package / "grading", package / "tools"]


def sandbox_prefix(
    *,
    read_only: Sequence[Path],
    writable: Sequence[Path] = (),
    hidden: Sequence[Path] = (),
    private: Sequence[Path] = (),
    private_bytes: int | None = None,
    chdir: Path,
    as_root: bool,
    capabilities: Sequence[str] = (),
    tmp_writable: bool = True,
) -> list[str]:
    """The bubblewrap command line that wraps a sandboxed command.

    read_only / writable: host folders (or files) shown at the same path.
    hidden: folders replaced by an empty one (for the instructor's packages).
    private: empty folders that exist only in the sandbox. Given ``private_bytes``
        each is a tmpfs of that size; otherwise the command mounts its own there.
    /tmp is private too, limited to ``private_bytes`` when given, and read-only for
    the sandbox user unless ``tmp_writable``.

    Started by root, the sandbox gets no user namespace but keeps ``capabilities``,
    so that the command can change to its sandbox user: only then do the process
    limits bind. Started by anyone else, a user namespace isolates it.
    """
    if as_root:
        isolation = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                     "--unshare-cgroup-try"]  # fmt: skip
        for capability in capabilities:
            isolation += ["--cap-add", capability]
    else:
        isolation = ["--unshare-all"]
    size = ["--size", str(private_bytes)] if private_bytes else []
    command = [
        bubblewrap(), *isolation,
        "--die-with-parent",
        "--new-session",
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777" if tmp_writable else "0755", *size, "--tmpfs", "/tmp",
    ]  # fmt: skip
    for path in SYSTEM_PATHS:
        p = Path(path)
        if p.is_symlink():
            command += ["--symlink", os.readlink(p), path]
        elif p.exists():
            command += ["--ro-bind", path, path]
    read_only = [
        root
        for root in [*_python_roots(), *read_only]
        if root.exists() and not any(str(root).startswith(s + "/") for s in SYSTEM_PATHS)
    ]
    # bubblewrap makes the folders above a mount point private to root; the sandbox
    # user must be able to walk through them.
    ancestors = sorted(
        {str(parent) for path in [*read_only, *writable, *private] for parent in path.parents}
        - {"/", "/tmp", *SYSTEM_PATHS},
        key=lambda text: text.count("/"),
    )
    for folder in ancestors:
        command += ["--perms", "0755", "--dir", folder]
    for path in read_only:
        command += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        if path.exists():
            command += ["--perms", "0755", "--tmpfs", str(path)]
    for path in writable:
        command += ["--bind", str(path), str(path)]
    for path in private:
        if private_bytes:
            command += ["--perms", "0700", *size, "--tmpfs", str(path)]
        else:
            command += ["--perms", "0755", "--dir", str(path)]
    command += ["--chdir", str(chdir)]
    return command


def drop_to(uid: int) -> list[str]:
    """A command prefix that runs the rest as ``uid`` without any capability."""
    return [
        shutil.which("setpriv") or "/usr/bin/setpriv",
        f"--reuid={uid}", f"--regid={SANDBOX_GID}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--",
    ]  # fmt: skip


def apply_limits(limits: Limits) -> None:
    """Set rlimits in the child before exec (used as ``preexec_fn``)."""
    settings = [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in settings:
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass  # a limit the platform does not allow stays at its default


# When the grader runs as root the kernel runs as a user of its own: limits on processes
# do not bind root, and the kernel should own nothing but its private folders. The limit
# on processes counts every process of a user, so each sandbox running at the same time
# needs a different user, or one student's fork bomb would starve another's kernel.
SANDBOX_UID_BASE = 1_000_000
SANDBOX_GID = 65534  # nogroup
_SLOTS = 16
_slot = itertools.count()


def sandbox_uid() -> int:
    """A user id no other sandbox on this machine runs as right now.

    Process ids are unique on a machine, and one process runs at most ``_SLOTS``
    sandboxes at a time, so the pair (pid, slot) is too.
    """
    return SANDBOX_UID_BASE + os.getpid() * _SLOTS + next(_slot) % _SLOTS


def drops_privileges(use_bwrap: bool) -> bool:
    # Without bubblewrap an unprivileged kernel could not reach a Python under /root.
    return use_bwrap and os.geteuid() == 0


UNSANDBOXED_ADVICE = (
    "bubblewrap (bwrap) was not found: notebooks and graders run with resource limits "
    "only, without file-system and network isolation. Install the Debian package "
    "'bubblewrap' (apt-get install bubblewrap) before grading real submissions."
)


def warn_unsandboxed() -> None:
    warnings.warn(UNSANDBOXED_ADVICE, SandboxWarning, stacklevel=2)
