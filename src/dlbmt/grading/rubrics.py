"""The rubrics of the free-text answers, where grading by hand happens.

Each manually graded answer cell of a source notebook holds, inside its
solution region, a model answer followed by its rubric ("**Bewertungshinweise
...**"). Autograding puts both into the autograded notebook as a Markdown cell
right after the student's answer, so that formgrader shows them beside it;
feedback removes those cells again (:class:`RemoveRubrics`), and the release
never has them (nbgrader strips solution regions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from dlbmt.grading.cells import grade_id, is_manual_answer, nbgrader_meta

RUBRIC_MARK = "**Bewertungshinweise"
# Metadata that marks an inserted rubric cell (and says whose rubric it is).
METADATA_KEY = "dlbmt_rubric"


@dataclass(frozen=True)
class Rubric:
    grade_id: str
    points: float
    model_answer: str
    rubric: str

    def markdown(self) -> str:
        return (
            "### Nur für Lehrende: Bewertung von "
            f"`{self.grade_id}` ({self.points:g} Punkt{'' if self.points == 1 else 'e'})\n\n"
            f"{self.rubric}\n\n**Musterlösung:**\n\n{self.model_answer}\n\n"
            "*(Diese Zelle steht nur im bewerteten Notebook; die Rückmeldung an Studierende "
            "enthält sie nicht.)*"
        )


def _solution_region(source: str) -> str:
    lines, inside = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside:
            lines.append(line)
    return "\n".join(lines).strip()


def rubrics(notebook: nbformat.NotebookNode) -> dict[str, Rubric]:
    """{grade_id: rubric} of every manually graded answer in a source notebook."""
    found = {}
    for cell in notebook.cells:
        if not is_manual_answer(cell):
            continue
        region = _solution_region(cell.source)
        model, _, rubric = region.partition(RUBRIC_MARK)
        meta = nbgrader_meta(cell)
        found[meta["grade_id"]] = Rubric(
            grade_id=meta["grade_id"],
            points=float(meta.get("points", 0)),
            model_answer=model.strip(),
            rubric=(RUBRIC_MARK + rubric).strip() if rubric else "(keine Bewertungshinweise)",
        )
    return found


def source_rubrics(source_folder: Path, notebook_name: str) -> dict[str, Rubric]:
    path = source_folder / f"{notebook_name}.ipynb"
    return rubrics(nbformat.read(path, as_version=4)) if path.is_file() else {}


class AddRubrics(NbGraderPreprocessor):
    """Put each free-text answer's rubric right after it in the autograded notebook."""

    def preprocess(self, nb, resources):
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        folder = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        found = source_rubrics(folder, info["notebook"])
        cells = []
        for cell in nb.cells:
            if cell.metadata.get(METADATA_KEY):
                continue  # a submission may carry an old rubric cell: never keep it
            cells.append(cell)
            task = grade_id(cell)
            if is_manual_answer(cell) and task in found:
                rubric = nbformat.v4.new_markdown_cell(found[task].markdown())
                rubric.metadata[METADATA_KEY] = task
                cells.append(rubric)
        nb.cells = cells
        return nb, resources


class RemoveRubrics(NbGraderPreprocessor):
    """Feedback without the rubric cells that autograding added."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not cell.metadata.get(METADATA_KEY)]
        return nb, resources
