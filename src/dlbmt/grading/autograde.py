"""Autograde submissions, several at a time, on a Dask cluster.

The coordinating process (the ``dlbmt autograde`` command) decides what needs
grading, hands each submission to a worker and is the only writer of the
gradebook. A worker (:func:`grade_submission`) runs nbgrader's autograde
converter for one student against a private SQLite copy of the gradebook's
structure: the notebook runs in the sandbox, the graders score it in a separate
process, and the worker returns what the submission earned. The coordinator
merges that into the gradebook as each result arrives, after the worker has
written it atomically to the submission's provenance record.

Submissions run on a local Dask cluster with ``--workers N`` processes, each
kernel with an equal share of the cores so that TensorFlow in one does not
starve the others, or on an existing cluster (``scheduler``). A file lock per
student, and a cluster-wide lock on a Dask cluster, keep the same student from
being graded twice at the same moment.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from dlbmt.errors import CourseError
from dlbmt.grading import gradebook as gb
from dlbmt.grading.course import Course
from dlbmt.grading.execution import discard_spare
from dlbmt.grading.graders import discard_server
from dlbmt.grading.keys import ensure_key
from dlbmt.grading.nbgrader_plugins import linked_files
from dlbmt.grading.prepared import prepare as prepare_heldout
from dlbmt.grading.provenance import fingerprint, is_current, read_result, write_result
from dlbmt.grading.sandbox import SandboxWarning, bubblewrap, warn_unsandboxed
from dlbmt.grading.status import Status

INVALID_NOTEBOOK_HINT = "Ask the student to resubmit it, or repair the JSON."


@dataclass
class Outcome:
    assignment: str
    student: str
    status: Status
    seconds: float
    message: str = ""
    gradebook: dict | None = field(default=None, repr=False)
    merge_seconds: float = 0.0  # the coordinator's time to write it into the gradebook

    @property
    def graded(self) -> bool:
        """The submission's points are in the gradebook (graded now or kept)."""
        return self.status in (Status.GRADED, Status.UP_TO_DATE, Status.MERGED)


def unreadable_notebook(course: Course, assignment: str, student: str) -> str | None:
    """Why a submitted notebook cannot be graded, or None when it can be read."""
    folder = course.submitted / student / assignment
    for source in course.source_notebooks(assignment):
        path = folder / source.name
        if path.is_symlink():
            return (
                f"{path.relative_to(course.root)} is a symbolic link, not a notebook. "
                f"{INVALID_NOTEBOOK_HINT}"
            )
        if not path.is_file():
            continue  # nbgrader gives a missing notebook zero points
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # noqa: BLE001 - any parse failure means: not gradable
            return (
                f"{path.relative_to(course.root)} is not a valid notebook "
                f"({type(error).__name__}). {INVALID_NOTEBOOK_HINT}"
            )
    return None


@contextmanager
def student_lock(course: Course, assignment: str, student: str):
    path = course.lock_file(assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cluster_lock(assignment: str, student: str):
    """A lock held across the whole Dask cluster, when this runs on one of its workers.

    File locks are not reliable on the network file systems clusters share.
    """
    # A Dask worker has imported distributed already. Importing it only to learn that
    # this is no worker cost 0.3 s per sequential run.
    if "distributed" not in sys.modules:
        return nullcontext()
    try:
        from distributed import Lock, get_worker

        get_worker()
    except (ImportError, ValueError):
        return nullcontext()
    return Lock(f"dlbmt-grade-{assignment}-{student}")


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"[{record.levelname}] {record.getMessage()}")


def _run_nbgrader_autograde(
    course: Course, assignment: str, student: str, db_url: str, threads: int
) -> list[str]:
    """nbgrader's autograde converter for one student, in this process; returns its problems."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    config = course.config()
    # nbgrader_config.py already lists the links that existed when it was read.
    config.CourseDirectory.ignore = CourseDirectory(config=config).ignore + linked_files(
        course.submitted / student / assignment
    )
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = db_url
    config.CourseDirectory.assignment_id = assignment
    config.CourseDirectory.student_id = student
    config.BaseConverter.force = True
    config.SandboxedExecute.threads = threads
    # The next submission's sandbox and kernel start while this one runs, and the graders'
    # server stays with its imports done; the coordinator stops both when its run ends.
    config.SandboxedExecute.keep_spare = True
    log = logging.getLogger(f"dlbmt.grading.autograde.{assignment}.{student}")
    log.propagate = False
    log.setLevel(logging.WARNING)
    collected = _Collect()
    log.addHandler(collected)
    try:
        converter = Autograde(coursedir=CourseDirectory(config=config), config=config, log=log)
        with gb.quiet_sqlalchemy():
            converter.start()
    except Exception as error:  # noqa: BLE001 - whatever nbgrader raises fails only this student
        collected.lines.append(f"[ERROR] {type(error).__name__}: {error}")
        return collected.lines
    finally:
        log.removeHandler(collected)
    failed = any(line.startswith("[ERROR]") for line in collected.lines)
    return collected.lines if failed else []


def grade_submission(
    course: Course, assignment: str, student: str, structure: Path, threads: int | None = None
) -> Outcome:
    """Grade one submission into a private gradebook; runs on a worker.

    Writes the provenance record (atomically) and returns what was earned for the
    coordinator to merge. Never raises for anything a submission contains.
    """
    with warnings.catch_warnings():
        # The coordinator gives the advice about a missing bubblewrap once, not per submission.
        warnings.simplefilter("ignore", SandboxWarning)
        return _grade_submission(course, assignment, student, structure, threads)


def _grade_submission(
    course: Course, assignment: str, student: str, structure: Path, threads: int | None
) -> Outcome:
    started = time.monotonic()
    graded_as = fingerprint(course, assignment, student)
    problem = unreadable_notebook(course, assignment, student)
    if problem:
        write_result(course, assignment, student, 0.0, graded_as=graded_as, problem=problem)
        return Outcome(assignment, student, Status.UNREADABLE, 0.0, problem)
    threads = threads or int(os.environ.get("DLBMT_THREADS", 0)) or (os.cpu_count() or 1)
    with student_lock(course, assignment, student), _cluster_lock(assignment, student):
        scratch = Path(tempfile.mkdtemp(prefix="dlbmt-gradebook-"))
        try:
            url = gb.private_copy(structure, scratch)
            problems = _run_nbgrader_autograde(course, assignment, student, url, threads)
            earned = None if problems else gb.submission_record(url, assignment, student)
        except Exception as error:  # noqa: BLE001 - e.g. an unreadable private gradebook
            problems, earned = [f"[ERROR] {type(error).__name__}: {error}"], None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = time.monotonic() - started
        message = "" if earned else "nbgrader autograde failed:\n  " + "\n  ".join(problems[-6:])
        write_result(
            course, assignment, student, seconds, graded_as=graded_as, gradebook=earned,
            problem=message or None,
        )  # fmt: skip
    status = Status.GRADED if earned is not None else Status.FAILED
    return Outcome(assignment, student, status, seconds, message, earned)


def _dispatch(
    jobs: list[tuple[str, str]],
    course: Course,
    structure: Path,
    workers: int,
    scheduler: str | None,
) -> Iterator[Outcome]:
    """Grade ``jobs`` and yield each outcome as soon as it is done."""
    if scheduler is None and (workers == 1 or len(jobs) == 1):
        threads = max(1, (os.cpu_count() or 1) // workers)
        try:
            for assignment, student in jobs:
                yield grade_submission(course, assignment, student, structure, threads)
        finally:
            discard_helpers()
        return
    from distributed import as_completed

    with _client(scheduler, workers) as client:
        # On a cluster of its own each local worker gets its share of the cores;
        # workers of an existing cluster decide from DLBMT_THREADS or their machine.
        threads = None if scheduler else max(1, (os.cpu_count() or 1) // workers)
        futures = {
            client.submit(
                grade_submission, course, assignment, student, structure, threads,
                key=f"dlbmt-{assignment}-{student}-{os.getpid()}", pure=False,
            ): (assignment, student)
            for assignment, student in jobs
        }  # fmt: skip
        for future in as_completed(futures):
            assignment, student = futures[future]
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - a worker that died, not the submission
                yield Outcome(
                    assignment, student, Status.FAILED, 0.0,
                    f"the Dask worker grading it failed ({type(error).__name__}: {error})",
                )  # fmt: skip
        try:
            client.run(discard_helpers)  # workers of a cluster outlive the run; their helpers not
        except Exception:  # noqa: BLE001 - a worker gone already has no spare either
            pass


def discard_helpers() -> None:
    """Stop what a worker kept for its next submission: a sandbox and a graders' server."""
    discard_spare()
    discard_server()


@contextmanager
def _client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            # Waits as long as Dask's distributed.comm.timeouts.connect (30 s unless set).
            client = Client(scheduler)
        except OSError as error:
            raise CourseError(
                f"No Dask scheduler answers at {scheduler} ({error}). Start it (dask scheduler, "
                "dask-jobqueue or dask-kubernetes) or leave out --scheduler to grade on this "
                "machine."
            ) from None
        with client:
            yield client
        return
    import dask

    # Workers sample their own stacks every 10 ms for the dashboard's profile, which
    # nobody looks at here; on a small machine that CPU is taken from the kernels.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,  # nbgrader changes the working directory: one task each
            processes=True,
            memory_limit=0,  # the sandbox limits each kernel's memory
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        yield client


def autograde(
    course: Course,
    *,
    jobs: list[tuple[str, str]],
    workers: int = 1,
    progress: bool = True,
    force: bool = False,
    scheduler: str | None = None,
) -> list[Outcome]:
    """Grade the ``(assignment, student)`` jobs that are not up to date (all with ``force``).

    A submission that failed for a passing reason is tried once more. Without
    bubblewrap this warns once, not once per submission.
    """
    if scheduler is None and bubblewrap() is None:
        warn_unsandboxed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        return _autograde(course, jobs, workers, progress, force, scheduler)


def _autograde(course, jobs, workers, progress, force, scheduler) -> list[Outcome]:
    for assignment in sorted({a for a, _ in jobs}):
        for notebook in course.source_notebooks(assignment):
            ensure_key(course, assignment, notebook.stem)
    outcomes: dict[tuple[str, str], Outcome] = {}
    with gb.open_gradebook(course) as gradebook:
        if not force:
            outcomes.update(_kept_or_merged(course, gradebook, jobs))
        pending = [job for job in jobs if job not in outcomes]
        # Held-out data once for all submissions still to grade, made on the trusted side.
        for assignment in sorted({a for a, _ in pending}):
            prepare_heldout(course, assignment)
        if pending:
            structure = gb.snapshot_structure(course, course.work / f"structure-{os.getpid()}.db")
            try:
                outcomes.update(_grade(course, gradebook, pending, structure, workers, scheduler,
                                       progress))  # fmt: skip
            finally:
                structure.unlink(missing_ok=True)
    return [outcomes[job] for job in jobs]


def _kept_or_merged(course: Course, gradebook, jobs) -> dict[tuple[str, str], Outcome]:
    """Submissions whose record is current: kept, or merged when the gradebook lacks them."""
    done = {}
    for assignment, student in jobs:
        record = read_result(course, assignment, student)
        if not is_current(record, course, assignment, student):
            continue
        if gb.scores_in(gradebook, assignment, student) != record["scores"]:
            gb.merge_submission(gradebook, assignment, student, record["gradebook"])
            done[(assignment, student)] = Outcome(assignment, student, Status.MERGED, 0.0)
        else:
            done[(assignment, student)] = Outcome(assignment, student, Status.UP_TO_DATE, 0.0)
    return done


def _grade(course, gradebook, pending, structure, workers, scheduler, progress) -> dict:
    outcomes = {}
    workers = max(1, min(workers, len(pending)))
    bar = tqdm(total=len(pending), unit="submission", disable=not progress, file=sys.stderr)
    retry = []
    for outcome in _dispatch(pending, course, structure, workers, scheduler):
        _settle(gradebook, outcome, outcomes)
        if outcome.status is Status.FAILED:
            retry.append((outcome.assignment, outcome.student))
        bar.update(1)
    bar.close()
    # A second try, one at a time with all cores, for failures that may have passed
    # (a worker that died, a machine under memory pressure).
    for outcome in _dispatch(retry, course, structure, 1, scheduler) if retry else ():
        _settle(gradebook, outcome, outcomes)
    return outcomes


def _settle(gradebook, outcome: Outcome, outcomes: dict) -> None:
    """The single writer: merge a graded submission into the gradebook."""
    if outcome.graded:
        started = time.monotonic()
        gb.merge_submission(gradebook, outcome.assignment, outcome.student, outcome.gradebook)
        outcome = dataclasses.replace(outcome, merge_seconds=time.monotonic() - started)
    outcomes[(outcome.assignment, outcome.student)] = outcome
