"""German feedback texts for each task: points and helpful messages, never expected values."""

from __future__ import annotations

import html

import nbformat

from dlbmt.grading.status import Limit

LIMIT_TEXTS = {
    Limit.CELL_TIME: "Zelle {cell} hat das Zeitlimit pro Zelle überschritten und wurde "
    "abgebrochen.",
    Limit.KERNEL_DIED: "In Zelle {cell} ist der Kernel abgestürzt oder wurde beendet; "
    "danach wurde mit einem neuen Kernel weitergerechnet.",
    Limit.MEMORY: "Zelle {cell} hat das Speicherlimit erreicht (MemoryError); danach wurde "
    "mit einem neuen Kernel weitergerechnet.",
    Limit.OUTPUT_SIZE: "Zelle {cell} hat zu viel ausgegeben; die Ausgabe wurde gekürzt.",
    Limit.WALL_TIME: "Das Notebook hat das Zeitlimit von {seconds} s überschritten und wurde "
    "abgebrochen. Aufgaben, die bis dahin aufgezeichnet waren, wurden bewertet.",
    Limit.RUNNER_STOPPED: "Die Ausführung wurde vorzeitig beendet (z. B. Speicherlimit). "
    "Aufgaben, die bis dahin aufgezeichnet waren, wurden bewertet.",
    Limit.ANSWER_STORE: "Zelle {cell} hat den Speicher für Antworten gefüllt (zu viele oder zu "
    "große Dateien im Antwortordner). Was dort zuvor ordnungsgemäß aufgezeichnet war, wurde "
    "bewertet.",
}


def limit_messages(events: list[dict], grade_id: str) -> list[str]:
    """Texts for the limits that concern this task's cells, and the whole-notebook ones.

    A limit in an answer cell belongs to the task it answers (``task``); one in a
    cell outside any task concerns every task after it and is shown everywhere.
    """
    texts = []
    for event in events:
        owner = event.get("task") or event.get("grade_id")
        if "cell" in event and owner not in (grade_id, None):
            continue
        template = LIMIT_TEXTS.get(event.get("limit"), "Ein Limit wurde erreicht.")
        texts.append(template.format(cell=_cell_name(event), seconds=event.get("seconds")))
    return texts


def _cell_name(event: dict) -> str:
    """How a student finds the cell: counted from 1 like in the notebook, with its ID."""
    index = event.get("cell")
    if not isinstance(index, int):
        return "?"
    grade_id = event.get("grade_id")
    return f"{index + 1} ({grade_id})" if grade_id else str(index + 1)


def _format_points(value: float) -> str:
    return f"{value:g}"


def feedback_lines(grade_id: str, score: float, points: float, result, limits: list[str]):
    lines = [f"Aufgabe {grade_id}: {_format_points(score)} von {_format_points(points)} Punkten"]
    checks = result.checks if result is not None else []
    if not checks:
        lines.append("  - Für diese Aufgabe liegen keine Prüfungen vor.")
    for check in checks:
        mark = "✓" if check["passed"] else "✗"
        line = f"  {mark} {check['check']}"
        if not check["passed"] and check["message"]:
            line += f" – {check['message']}"
        lines.append(line)
    lines += [f"  ! {text}" for text in limits]
    return lines


def task_feedback_output(grade_id: str, score: float, points: float, result, limits: list[str]):
    """A notebook output that shows the task's feedback in the autograded notebook."""
    lines = feedback_lines(grade_id, score, points, result, limits)
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
    markup = (
        f'<div class="dlbmt-feedback"><strong>{html.escape(lines[0])}</strong>'
        f"<ul>{items}</ul></div>"
    )
    return nbformat.v4.new_output(
        "display_data", data={"text/plain": "\n".join(lines), "text/html": markup}
    )
