"""The sandbox around a submission's kernel: bubblewrap where available, limits always.

Inside the sandbox the kernel sees the system and Python installation read-only,
the course data read-only, a private copy of its own submission and a private
folder for its answers. It has no network and its own process namespace, so
every process it starts dies with it. It cannot see ``source/``, ``graders/``,
the answer key, the gradebook or other students.
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one notebook run."""

    wall_seconds: int = 1800
    cell_seconds: int = 600
    memory_bytes: int = 8 * 1024**3
    # Threads count as processes; a TensorFlow kernel uses a few dozen.
    max_processes: int = 1024
    output_bytes: int = 1_000_000
    file_bytes: int = 256 * 1024**2


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


def sandbox_prefix(
    *, workdir: Path, answer_dir: Path, data_dir: Path, home: Path, as_root: bool = False
) -> list[str]:
    """The bubblewrap command line that wraps the runner.

    Started by root, the sandbox gets no user namespace but keeps the right to change
    its user once, so that the runner can become a sandbox user inside: only then do the
    process limits bind. Started by anyone else, a user namespace isolates it.
    """
    if as_root:
        isolation = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                     "--unshare-cgroup-try",
                     "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # fmt: skip
    else:
        isolation = ["--unshare-all"]
    command = [
        bubblewrap(), *isolation,
        "--die-with-parent",
        "--new-session",
        "--proc", "/proc",
        "--dev", "/dev",
        "--tmpfs", "/tmp",
    ]  # fmt: skip
    for path in SYSTEM_PATHS:
        p = Path(path)
        if p.is_symlink():
            command += ["--symlink", os.readlink(p), path]
        elif p.exists():
            command += ["--ro-bind", path, path]
    read_only = [
        root
        for root in _python_roots()
        if root.exists() and not any(str(root).startswith(s + "/") for s in SYSTEM_PATHS)
    ] + [data_dir]
    writable = [workdir, answer_dir, home]
    # bubblewrap makes the folders above a mount point private to root; the sandbox
    # user must be able to walk through them.
    ancestors = sorted(
        {str(parent) for path in read_only + writable for parent in path.parents}
        - {"/", "/tmp", *SYSTEM_PATHS},
        key=lambda text: text.count("/"),
    )
    for folder in ancestors:
        command += ["--perms", "0755", "--dir", folder]
    for path in read_only:
        command += ["--ro-bind", str(path), str(path)]
    for path in writable:
        command += ["--bind", str(path), str(path)]
    command += ["--chdir", str(workdir)]
    return command


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


def hand_over(uid: int, *folders: Path) -> None:
    """Give the sandbox user its private folders."""
    for folder in folders:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, SANDBOX_GID, follow_symlinks=False)


def become_user(uid: int, gid: int) -> None:
    """Drop root for good (called by the runner inside the sandbox, before the kernel)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def warn_unsandboxed() -> None:
    warnings.warn(
        "bubblewrap (bwrap) was not found: notebooks run with resource limits only, "
        "without file-system and network isolation. Install the Debian package "
        "'bubblewrap' before grading real submissions.",
        SandboxWarning,
        stacklevel=2,
    )
