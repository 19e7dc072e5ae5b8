"""The class report: one HTML page per assignment with the figures an instructor needs.

Score distribution, pass rate of each task, time per submission and failures by
kind, from the gradebook and the per-submission result records.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

from dlbmt.grading.course import Course  # noqa: E402
from dlbmt.grading.provenance import read_result  # noqa: E402
from dlbmt.tools.report import scores  # noqa: E402


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _records(course: Course, assignment: str, students: list[str]) -> list[dict]:
    return [r for s in students if (r := read_result(course, assignment, s)) is not None]


def figures(course: Course, assignment: str) -> dict[str, str]:
    table = {
        s: row for (a, s), row in scores(course, assignment=assignment).items() if a == assignment
    }
    students = sorted(table) or course.students(assignment)
    records = _records(course, assignment, students)
    auto = {
        s: {t: v for t, v in row.items() if v[0] is not None} for s, row in table.items()
    }  # manual cells that nobody graded yet have no score
    result = {}

    figure, axis = plt.subplots(figsize=(6, 3))
    axis.hist([sum(v[0] for v in row.values()) for row in auto.values()], bins=10)
    axis.set(title="Score distribution", xlabel="points", ylabel="students")
    result["Score distribution"] = _png(figure)

    tasks = sorted({t for row in auto.values() for t in row})
    rates = [
        sum(row[t][0] >= row[t][1] for row in auto.values() if t in row) / max(1, len(auto))
        for t in tasks
    ]
    figure, axis = plt.subplots(figsize=(6, 0.3 * len(tasks) + 1))
    axis.barh(tasks, rates)
    axis.set(title="Pass rate per task (full points)", xlim=(0, 1))
    result["Pass rate per task"] = _png(figure)

    figure, axis = plt.subplots(figsize=(6, 3))
    timed = [r for r in records if r.get("seconds")]
    axis.bar([r["student"] for r in timed], [r["seconds"] for r in timed])
    axis.set(title="Time per submission", ylabel="seconds")
    axis.tick_params(axis="x", rotation=90)
    result["Time per submission"] = _png(figure)

    kinds = Counter()
    for record in records:
        if record.get("status") != "graded":
            kinds[record.get("problem") or "failed"] += 1
        kinds.update(event.get("limit", "limit") for event in record.get("limits", []))
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.bar(list(kinds) or ["none"], list(kinds.values()) or [0])
    axis.set(title="Failures by kind", ylabel="count")
    result["Failures by kind"] = _png(figure)
    return result


def write_report(course: Course, *, assignment: str, target: Path) -> Path:
    images = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>"
        for title, data in figures(course, assignment).items()
    )
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{sum(v[0] or 0 for v in row.values()):g}</td>"
        f"<td>{sum(v[1] for v in row.values()):g}</td></tr>"
        for (a, s), row in sorted(scores(course, assignment=assignment).items())
        if a == assignment
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{assignment}</title></head>"
        f"<body><h1>Class report: {html.escape(assignment)}</h1>"
        f"<table><tr><th>student</th><th>score</th><th>max</th></tr>{rows}</table>"
        f"{images}</body></html>"
    )
    target.write_text(page, encoding="utf-8")
    return target
