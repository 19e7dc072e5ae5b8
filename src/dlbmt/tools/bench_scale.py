"""Scale benchmark of ``make bench``: grading time per submission as the class grows.

The TensorFlow-free tiny course (:mod:`dlbmt.tools.tiny_course`) with N
submissions, half the reference solution and half the untouched release, graded

* by ``dlbmt autograde tiny --workers 2`` (sandbox, graders, provenance), and
* by stock ``nbgrader autograde tiny`` with a plain configuration (nbgrader's own
  execution, one submission after the other, no sandbox, no graders),

one right after the other on the same notebooks, as medians of ``repeats``
interleaved pairs (sizes above ``ONCE_ABOVE`` once: they take minutes). It
reports the seconds per submission of each, their ratio, the coordinator's time
for merging a result into the gradebook, and whether every score is right.
"""

from __future__ import annotations

import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from dlbmt.grading.commands import run_module
from dlbmt.grading.course import Course
from dlbmt.tools import tiny_course
from dlbmt.tools.report import scores

SIZES = (16, 64, 256)
ONCE_ABOVE = 64
WORKERS = 2
# The tiny course's points: the reference earns these, the untouched release nothing.
REFERENCE_POINTS = {"tiny_square": 2.0, "tiny_value": 1.0}
STOCK_CONFIG = """
c = get_config()
c.CourseDirectory.course_id = "tiny"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
"""
MERGE_LINE = re.compile(r"merging into the gradebook took ([0-9.]+) s")


def _student(index: int) -> tuple[str, bool]:
    """(name, hands in the reference) of the ``index``-th student: every other one does."""
    return f"s{index:04d}", index % 2 == 0


def build(course: Course, folder: Path, size: int, stock: bool) -> Path:
    """A released tiny course with ``size`` submissions, ours or with a stock config."""
    root = tiny_course.build_tiny_course(folder, course)
    if stock:
        (root / "nbgrader_config.py").write_text(STOCK_CONFIG, encoding="utf-8")
    _run(root, "nbgrader", "generate_assignment", tiny_course.ASSIGNMENT, "--force")
    reference = tiny_course.reference_submission(root)
    release = root / "release" / tiny_course.ASSIGNMENT / f"{tiny_course.ASSIGNMENT}.ipynb"
    untouched = nbformat.read(release, as_version=4)
    for index in range(size):
        name, solved = _student(index)
        target = root / "submitted" / name / tiny_course.ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(reference if solved else untouched, target / release.name)
    if not stock:
        _run(root, "dlbmt", "key", tiny_course.ASSIGNMENT)
    return root


def _run(folder: Path, tool: str, *args: str) -> tuple[float, str]:
    started = time.monotonic()
    completed = run_module(tool, *args, cwd=folder)
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return seconds, completed.stdout


def _scores_right(root: Path, size: int) -> bool:
    """Every reference submission has all points, every untouched one none (either gradebook)."""
    table = scores(Course(root), assignment=tiny_course.ASSIGNMENT)
    for index in range(size):
        name, solved = _student(index)
        row = table.get((tiny_course.ASSIGNMENT, name), {})
        got = {task: row.get(task, (None, 0))[0] for task in REFERENCE_POINTS}
        if got != {t: (p if solved else 0.0) for t, p in REFERENCE_POINTS.items()}:
            return False
    return True


def measure(course: Course, size: int, repeats: int, scratch: Path) -> dict:
    """Interleaved pairs (stock, ours) for ``size`` submissions."""
    stock_runs, ours_runs, merges, right = [], [], [], True
    for repeat in range(repeats):
        stock = build(course, scratch / f"stock-{size}-{repeat}", size, stock=True)
        seconds, _ = _run(stock, "nbgrader", "autograde", tiny_course.ASSIGNMENT, "--force")
        stock_runs.append(seconds)
        right &= _scores_right(stock, size)
        shutil.rmtree(stock)
        ours = build(course, scratch / f"ours-{size}-{repeat}", size, stock=False)
        seconds, output = _run(
            ours, "dlbmt", "autograde", tiny_course.ASSIGNMENT, "--workers", str(WORKERS)
        )
        ours_runs.append(seconds)
        merge = MERGE_LINE.search(output)
        merges.append(float(merge.group(1)) if merge else float("nan"))
        right &= _scores_right(ours, size)
        shutil.rmtree(ours)
    stock_median, ours_median = statistics.median(stock_runs), statistics.median(ours_runs)
    return {
        "submissions": size,
        "repeats": repeats,
        "stock_seconds_per_submission": round(stock_median / size, 3),
        "dlbmt_seconds_per_submission": round(ours_median / size, 3),
        "stock_over_dlbmt": round(stock_median / ours_median, 2),
        "merge_ms_per_submission": round(1000 * statistics.median(merges) / size, 1),
        "scores_right": right,
        "samples": {
            "stock": [round(s, 1) for s in stock_runs],
            "dlbmt": [round(s, 1) for s in ours_runs],
        },  # fmt: skip
    }


def scale_benchmark(course: Course, sizes=SIZES, repeats: int = 3) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="dlbmt-scale-") as scratch:
        return [
            measure(course, size, repeats if size <= ONCE_ABOVE else 1, Path(scratch))
            for size in sizes
        ]


def format_rows(rows: list[dict]) -> str:
    lines = [
        f"Scale (tiny course, dlbmt autograde --workers {WORKERS} vs stock nbgrader autograde, "
        "seconds per submission)"
    ]
    for row in rows:
        lines.append(
            f"  N = {row['submissions']:>3}: stock {row['stock_seconds_per_submission']:.2f} s, "
            f"dlbmt {row['dlbmt_seconds_per_submission']:.2f} s, ratio "
            f"{row['stock_over_dlbmt']:.2f}, merge {row['merge_ms_per_submission']:.1f} ms, "
            f"scores {'right' if row['scores_right'] else 'WRONG'} "
            f"(medians of {row['repeats']}; runs {row['samples']})"
        )
    return "\n".join(lines)
