"""Grading benchmarks of ``make bench``: overhead per submission and throughput.

- Overhead: ``dlbmt autograde`` of one submission, the whole command, against
  bare execution of the same notebook (``jupyter nbconvert --execute``); the
  median of interleaved pairs.
- Throughput: the same six real submissions (reference and typical of each
  notebook) graded by stock ``nbgrader autograde``, one assignment after the
  other as nbgrader does it, and by one ``dlbmt autograde --workers N`` run,
  for N = 1, 2 and the number of cores; stock and 2 workers as medians of
  interleaved runs.
- ``make demo`` after set-up, once, on a copy of the course without answer keys,
  as an instructor's first run after cloning: release, three students of every
  notebook graded with two workers, feedback, export and report.

Each measurement works on a fresh copy of the course in a scratch folder. The
answer keys and the held-out data are made once per course, not per submission:
the bench makes them once, reports how long the held-out data took, and gives
every copy of the overhead and throughput measurements the same secret, keys
and prepared data, so that neither is repeated nor measured there. ``make demo``
makes its own.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlbmt.grading.commands import run_module
from dlbmt.grading.course import GRADING_PARTS, Course, copy_parts

STUDENTS = ("reference", "typical")
# The targets of the performance issue, printed next to the figures.
OVERHEAD_TARGET_PERCENT = 5
THROUGHPUT_TARGET = 1.8
DEMO_TARGET_SECONDS = 240
# What every copy shares of the first one's .grading: made once per course, not per submission.
SHARED_STATE = ("secret.json", "key", "prepared")
# What ``make demo`` reads besides the grading parts.
DEMO_PARTS = (*GRADING_PARTS, "Makefile", "examples")
# nbgrader as it ships: its own Execute and SaveAutoGrades, no sandbox, no graders.
STOCK_CONFIG = """
c = get_config()
c.CourseDirectory.course_id = "dl-bmt"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.Execute.timeout = 600
"""


def course_copy(
    course: Course, target: Path, students=STUDENTS, stock: bool = False, state: Path | None = None
) -> Path:
    """A released copy of the course with the example ``students`` submitted.

    ``state``: a ``.grading`` folder whose secret, answer keys and prepared held-out
    data the copy reuses (:data:`SHARED_STATE`), so that making them is neither
    repeated nor measured.
    """
    course.copy_parts(target, GRADING_PARTS)
    if stock:
        (target / "nbgrader_config.py").write_text(STOCK_CONFIG, encoding="utf-8")
    examples = course.root / "examples" / "submissions"
    for student in students:
        for assignment in course.assignments():
            submitted = target / "submitted" / student / assignment
            shutil.copytree(examples / student / assignment, submitted)
    for assignment in course.assignments():
        run(target, "nbgrader", "generate_assignment", assignment, "--force")
    if state is not None:
        copy_parts(state, target / ".grading", SHARED_STATE)
    elif not stock:
        run(target, "dlbmt", "key")
    return target


def run(folder: Path, tool: str, *args: str) -> float:
    """Run ``dlbmt`` or ``nbgrader`` in ``folder``; returns its wall time in seconds."""
    started = time.monotonic()
    completed = run_module(tool, *args, cwd=folder)
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return seconds


def overhead(course: Course, folder: Path, assignment: str, repeats: int) -> dict:
    """Median of ``repeats`` interleaved pairs: bare nbconvert, then our whole command.

    Single runs of a training notebook vary by several seconds on a laptop; pairs
    taken one right after the other see the same machine state, and medians keep
    one disturbed run from deciding the figure.
    """
    from dlbmt.tools.bench import bare_execution_seconds

    notebook = course.root / "examples/submissions/reference" / assignment / f"{assignment}.ipynb"
    bare, ours = [], []
    for _ in range(repeats):
        bare.append(bare_execution_seconds(notebook, course.data))
        ours.append(
            run(folder, "dlbmt", "autograde", assignment, "--student", "reference", "--force")
        )
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    return {
        "assignment": assignment,
        "bare_seconds": round(bare_median, 1),
        "autograde_seconds": round(ours_median, 1),
        "overhead_percent": round(100 * (ours_median - bare_median) / bare_median, 1),
        "samples": {"bare": [round(x, 1) for x in bare], "autograde": [round(x, 1) for x in ours]},
    }


def throughput(
    course: Course, scratch: Path, workers: list[int], state: Path, repeats: int
) -> dict:
    """Stock sequential nbgrader against one ``dlbmt autograde --workers N`` run.

    Stock nbgrader and our 2-worker run, the comparison the target is about, are
    measured in ``repeats`` interleaved pairs and reported as medians; the other
    worker counts once each.
    """
    stock_runs, ours = [], {count: [] for count in workers}
    for repeat in range(repeats):
        stock = course_copy(course, scratch / f"stock-{repeat}", stock=True)
        stock_runs.append(sum(run(stock, "nbgrader", "autograde", a) for a in course.assignments()))
        for count in workers:
            if repeat and count != 2:
                continue
            folder = course_copy(course, scratch / f"workers-{count}-{repeat}", state=state)
            ours[count].append(run(folder, "dlbmt", "autograde", "--workers", str(count)))
    nbgrader_seconds = statistics.median(stock_runs)
    medians = {n: statistics.median(samples) for n, samples in ours.items()}
    return {
        "submissions": len(STUDENTS) * len(course.assignments()),
        "nbgrader_sequential_seconds": round(nbgrader_seconds, 1),
        "dlbmt_seconds": {n: round(s, 1) for n, s in medians.items()},
        "speedup": {n: round(nbgrader_seconds / s, 2) for n, s in medians.items()},
        "samples": {
            "nbgrader": [round(x, 1) for x in stock_runs],
            **{f"workers_{n}": [round(x, 1) for x in samples] for n, samples in ours.items()},
        },
    }


def prepare_seconds(course: Course, assignments: list[str]) -> dict[str, float]:
    """Make each assignment's held-out data, as ``dlbmt autograde`` does once per course."""
    from dlbmt.grading.prepared import prepare

    seconds = {}
    for assignment in assignments:
        started = time.monotonic()
        prepare(course, assignment)
        seconds[assignment] = round(time.monotonic() - started, 1)
    return seconds


def demo(course: Course, target: Path) -> dict:
    """``make demo`` in a copy of the course, with this environment as its set-up.

    The Makefile's own recipe runs (``VENV`` is the running environment, and ``-o``
    keeps make from installing it again), so the figure is what ``make demo`` costs.
    """
    venv = Path(sys.prefix)
    make = shutil.which("make")
    if sys.prefix == sys.base_prefix or make is None or not (course.root / "Makefile").is_file():
        return {"skipped": "needs make, the course's Makefile and a virtual environment"}
    course.copy_parts(target, DEMO_PARTS)
    started = time.monotonic()
    completed = subprocess.run(
        [make, "demo", f"VENV={venv}", "-o", str(venv / ".installed")],
        cwd=target,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"make demo failed:\n{completed.stderr[-3000:]}")
    return {"seconds": round(seconds, 1)}


def grading_benchmarks(course: Course, assignments: list[str], repeats: int = 3) -> dict:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dlbmt-bench-") as scratch:
        scratch = Path(scratch)
        single = course_copy(course, scratch / "overhead", students=("reference",))
        preparing = prepare_seconds(Course(single), course.assignments())
        overheads = [overhead(course, single, a, repeats) for a in assignments]
        speed = throughput(course, scratch, sorted({1, 2, cores}), single / ".grading", repeats)
        demo_run = demo(course, scratch / "demo")
    return {
        "cores": cores,
        "repeats": repeats,
        "prepare_seconds": preparing,
        "overhead": overheads,
        "throughput": speed,
        "demo": demo_run,
    }
