"""``make bench``: runtime figures of the reference solutions and of grading.

For each assignment it measures, on this machine:
- the reference solution end to end with a fresh kernel (``jupyter nbconvert --execute``),
  against the notebook's budget from its issue;
- the same notebook run by our sandboxed runner with recording;
- every number the reference run recorded whose name mentions accuracy, mse or loss;
- the figures each notebook's lesson stands on, with their bands
  (:mod:`dlbmt.tools.bench_lessons`);
- the grading overhead per submission and the throughput against stock nbgrader
  (:mod:`dlbmt.tools.bench_grading`; skip with ``--no-grading``);
- the seconds per submission as the class grows, 16 to 256 tiny submissions, against
  stock nbgrader (:mod:`dlbmt.tools.bench_scale`; skip with ``--no-scale``);
- the margins of the graders' thresholds on trained networks, as pass rates of the
  reference and of typical wrong approaches over many seeds
  (:mod:`dlbmt.tools.margins`; skip with ``--no-margins``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from dlbmt.grading.answers import AnswerStore
from dlbmt.grading.course import Course
from dlbmt.grading.execution import execute_notebook
from dlbmt.tools.bench_lessons import lesson_bands

BUDGET_SECONDS = {"01_grundlagen": 90, "02_anwendung": 120, "03_grenzen": 120}
METRIC_WORDS = ("accuracy", "mse", "loss")


def bare_execution_seconds(notebook: Path, data_dir: Path) -> float:
    import os

    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, DLBMT_DATA_DIR=str(data_dir), MPLBACKEND="Agg")
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--output-dir", scratch, str(notebook)],
            check=True, capture_output=True, env=env, cwd=scratch,
        )  # fmt: skip
        return time.monotonic() - started


def recorded_metrics(answers: Path) -> dict[str, float]:
    metrics = {}
    store = AnswerStore(answers)
    for task in sorted(p.name for p in answers.iterdir() if p.is_dir()):
        for name in store.task(task).names():
            if any(word in name for word in METRIC_WORDS):
                try:
                    value = store.task(task).get(name)
                except Exception:  # noqa: BLE001 - a failed recording is simply not reported
                    continue
                if isinstance(value, int | float):
                    metrics[f"{task}.{name}"] = round(float(value), 4)
    return metrics


def bench_assignment(course: Course, assignment: str) -> dict:
    notebook = course.root / "examples/submissions/reference" / assignment / f"{assignment}.ipynb"
    bare = bare_execution_seconds(notebook, course.data)
    with tempfile.TemporaryDirectory() as scratch:
        answers = Path(scratch) / "answers"
        source = course.source / assignment / f"{assignment}.ipynb"
        result = execute_notebook(
            nbformat.read(source, as_version=4), answer_dir=answers, data_dir=course.data
        )
        metrics = recorded_metrics(answers)
        lesson = [band.as_dict() for band in lesson_bands(course, assignment, answers)]
    budget = BUDGET_SECONDS.get(assignment)
    return {
        "assignment": assignment,
        "reference_seconds": round(bare, 1),
        "budget_seconds": budget,
        "within_budget": budget is None or bare <= budget,
        "sandboxed_recording_seconds": round(result.seconds, 1),
        "overhead_percent": round(100 * (result.seconds - bare) / bare, 1),
        "metrics": metrics,
        "lesson": lesson,
    }


def run_bench(
    course: Course,
    *,
    assignments: list[str],
    grading: bool = True,
    margins: bool = True,
    scale: bool = True,
    repeats: int = 3,
    seeds: int = 10,
    json_path: Path | None = None,
) -> bool:
    """Measure and print everything ``make bench`` reports.

    False when a budget, a lesson band or a margin broke.
    """
    results = [bench_assignment(course, a) for a in assignments]
    grading_figures = None
    if grading:
        from dlbmt.tools.bench_grading import grading_benchmarks

        grading_figures = grading_benchmarks(course, assignments, repeats)
    for item in results:
        mark = "ok" if item["within_budget"] else "OVER BUDGET"
        print(
            f"{item['assignment']}: reference {item['reference_seconds']} s "
            f"(budget {item['budget_seconds']} s, {mark}); sandboxed with recording "
            f"{item['sandboxed_recording_seconds']} s ({item['overhead_percent']:+} %)"
        )
        for name, value in item["metrics"].items():
            print(f"    {name} = {value}")
        for band in item["lesson"]:
            print(f"    lesson: {band['text']}")
    if grading_figures:
        print_grading(grading_figures)
    scale_rows = None
    if scale:
        from dlbmt.tools.bench_scale import format_rows, scale_benchmark

        scale_rows = scale_benchmark(course, repeats=repeats)
        print("\n" + format_rows(scale_rows))
    margin_rows = None
    if margins:
        from dlbmt.tools import margins as margin_tools

        margin_rows = margin_tools.measure(course, seeds)
        print("\nThreshold margins (pass rates over seeds)")
        print(margin_tools.format_rows(margin_rows))
    if json_path is not None:
        payload = {
            "notebooks": results,
            "grading": grading_figures,
            "scale": scale_rows,
            "margins": margin_rows,
        }
        json_path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    budgets = all(item["within_budget"] for item in results)
    lessons = all(band["holds"] for item in results for band in item["lesson"])
    return budgets and lessons and (margin_rows is None or margin_tools.holds(margin_rows))


def print_grading(grading: dict) -> None:
    from dlbmt.tools.bench_grading import (
        DEMO_TARGET_SECONDS,
        OVERHEAD_TARGET_PERCENT,
        THROUGHPUT_TARGET,
    )

    print(f"\nGrading on {grading['cores']} cores")
    preparing = grading.get("prepare_seconds") or {}
    if preparing:
        made = ", ".join(f"{name} {seconds} s" for name, seconds in preparing.items())
        print(f"  held-out data, made once per course before the measurements below: {made}")
    for item in grading["overhead"]:
        print(
            f"  {item['assignment']}: dlbmt autograde of one submission "
            f"{item['autograde_seconds']} s vs bare nbconvert {item['bare_seconds']} s "
            f"({item['overhead_percent']:+} %, target +{OVERHEAD_TARGET_PERCENT} %; medians of "
            f"{grading['repeats']} pairs, autograde {item['samples']['autograde']}, "
            f"bare {item['samples']['bare']})"
        )
    speed = grading["throughput"]
    print(
        f"  {speed['submissions']} submissions: stock nbgrader autograde, sequential, "
        f"{speed['nbgrader_sequential_seconds']} s (runs {speed['samples']['nbgrader']})"
    )
    for workers, seconds in speed["dlbmt_seconds"].items():
        print(
            f"    dlbmt autograde --workers {workers}: {seconds} s "
            f"({speed['speedup'][workers]}x; target for 2 workers {THROUGHPUT_TARGET}x; "
            f"runs {speed['samples'][f'workers_{workers}']})"
        )
    demo = grading.get("demo") or {}
    if "seconds" in demo:
        print(
            f"  make demo after set-up (release, 9 submissions with 2 workers and their answer "
            f"keys, feedback, export, report): {demo['seconds']} s "
            f"(target {DEMO_TARGET_SECONDS} s)"
        )
    elif demo:
        print(f"  make demo: skipped ({demo['skipped']})")
