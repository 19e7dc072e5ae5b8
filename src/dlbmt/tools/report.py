"""The score table per student and task, read from nbgrader's gradebook."""

from __future__ import annotations

from nbgrader.api import MissingEntry

from dlbmt.grading.course import Course
from dlbmt.grading.gradebook import open_gradebook


def scores(course: Course, *, assignment: str | None = None) -> dict[tuple[str, str], dict]:
    """{(assignment, student): {grade_id: score, ...}} for every graded submission."""
    table: dict[tuple[str, str], dict] = {}
    with open_gradebook(course) as gradebook:
        for item in gradebook.assignments:
            if assignment and item.name != assignment:
                continue
            for student in gradebook.students:
                try:
                    submission = gradebook.find_submission(item.name, student.id)
                except MissingEntry:
                    continue
                row = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        # Free text nobody has graded yet shows as "-", not as 0 points.
                        pending = grade.auto_score is None and grade.manual_score is None
                        row[grade.name] = (None if pending else grade.score, grade.max_score)
                table[(item.name, student.id)] = row
    return table


def score_table(course: Course, *, assignment: str | None = None) -> str:
    table = scores(course, assignment=assignment)
    if not table:
        return "No graded submissions yet."
    lines = []
    for name in sorted({a for a, _ in table}):
        rows = {s: r for (a, s), r in table.items() if a == name}
        tasks = sorted({t for r in rows.values() for t in r})
        width = max(len(s) for s in rows) + 2
        header = f"{'student':<{width}}" + "".join(f"{t:>{len(t) + 2}}" for t in tasks)
        lines += [f"\n{name}", header + "     total"]
        for student in sorted(rows):
            cells = "".join(f"{_fmt(rows[student].get(t, (0, 0))[0]):>{len(t) + 2}}" for t in tasks)
            got = sum(v[0] or 0 for v in rows[student].values())
            top = sum(v[1] for v in rows[student].values())
            lines.append(f"{student:<{width}}{cells}  {_fmt(got):>4}/{_fmt(top)}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:g}"
