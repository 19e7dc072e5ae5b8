"""``make bench``: runtime figures of the reference solutions and of grading.

For each assignment it measures, on this machine:
- the reference solution end to end with a fresh kernel (``jupyter nbconvert --execute``),
  against the notebook's budget from its issue;
- the same notebook run by our sandboxed runner with recording;
- every number the reference run recorded whose name mentions accuracy, mse or loss;
- the grading overhead per submission and the throughput against stock nbgrader
  (:mod:`dlbmt.tools.bench_grading`; skip with ``--no-grading``);
- the margins of the graders' thresholds on trained networks, as pass rates of the
  reference and of typical wrong approaches over many seeds
  (:mod:`dlbmt.tools.margins`; skip with ``--no-margins``).
"""

from __future__ import annotations

import argparse
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
    budget = BUDGET_SECONDS.get(assignment)
    return {
        "assignment": assignment,
        "reference_seconds": round(bare, 1),
        "budget_seconds": budget,
        "within_budget": budget is None or bare <= budget,
        "sandboxed_recording_seconds": round(result.seconds, 1),
        "overhead_percent": round(100 * (result.seconds - bare) / bare, 1),
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--no-grading", action="store_true", help="skip the grading overhead and throughput runs"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved runs behind each compared figure"
    )
    parser.add_argument("--no-margins", action="store_true", help="skip the threshold margins")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per margin approach")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    course = Course.find()
    results = [bench_assignment(course, a) for a in args.assignments or course.assignments()]
    grading = None
    if not args.no_grading:
        from dlbmt.tools.bench_grading import grading_benchmarks

        grading = grading_benchmarks(course, [item["assignment"] for item in results], args.repeats)
    for item in results:
        mark = "ok" if item["within_budget"] else "OVER BUDGET"
        print(
            f"{item['assignment']}: reference {item['reference_seconds']} s "
            f"(budget {item['budget_seconds']} s, {mark}); sandboxed with recording "
            f"{item['sandboxed_recording_seconds']} s ({item['overhead_percent']:+} %)"
        )
        for name, value in item["metrics"].items():
            print(f"    {name} = {value}")
    if grading:
        print_grading(grading)
    margins = None
    if not args.no_margins:
        from dlbmt.tools import margins as margin_tools

        margins = margin_tools.measure(course, args.seeds)
        print("\nThreshold margins (pass rates over seeds)")
        print(margin_tools.format_rows(margins))
    if args.json:
        payload = {"notebooks": results, "grading": grading, "margins": margins}
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
    budgets = all(item["within_budget"] for item in results)
    return 0 if budgets and (margins is None or margin_tools.holds(margins)) else 1


def print_grading(grading: dict) -> None:
    print(f"\nGrading on {grading['cores']} cores")
    for item in grading["overhead"]:
        print(
            f"  {item['assignment']}: dlbmt autograde of one submission "
            f"{item['autograde_seconds']} s vs bare nbconvert {item['bare_seconds']} s "
            f"({item['overhead_percent']:+} %, limit +15 %; medians of {grading['repeats']} "
            f"pairs, autograde {item['samples']['autograde']}, bare {item['samples']['bare']})"
        )
    speed = grading["throughput"]
    print(
        f"  {speed['submissions']} submissions: stock nbgrader autograde, sequential, "
        f"{speed['nbgrader_sequential_seconds']} s (runs {speed['samples']['nbgrader']})"
    )
    for workers, seconds in speed["dlbmt_seconds"].items():
        print(
            f"    dlbmt autograde --workers {workers}: {seconds} s "
            f"({speed['speedup'][workers]}x; 2 workers must reach 1.5x; "
            f"runs {speed['samples'][f'workers_{workers}']})"
        )


if __name__ == "__main__":
    sys.exit(main())
