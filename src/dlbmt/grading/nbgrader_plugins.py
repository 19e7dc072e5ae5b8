"""nbgrader preprocessors that replace in-kernel judging with recording plus hidden graders.

``nbgrader_config.py`` puts ``SandboxedExecute`` in place of nbgrader's
``Execute`` and ``SaveGraderScores`` in place of ``SaveAutoGrades``, so that
both ``dlbmt autograde`` and a plain ``nbgrader autograde`` grade this way:

1. the submission runs in the sandbox; hidden test code only records answers;
2. the graders (pytest, separate process) score the answers against the key;
3. the scores go into nbgrader's gradebook for the matching grade cells, and
   each test cell's output is replaced by a German feedback text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool, Int

from dlbmt.grading.course import Course
from dlbmt.grading.execution import execute_notebook
from dlbmt.grading.feedback import limit_messages, task_feedback_output
from dlbmt.grading.graders import run_graders
from dlbmt.grading.keys import ensure_key
from dlbmt.grading.sandbox import Limits


class DeduplicateGradeIds(DeduplicateIds):
    """Keep the last cell of each grade_id and turn earlier copies into plain cells.

    nbgrader's own DeduplicateIds leaves the copies with empty nbgrader metadata,
    which CheckCellMetadata then rejects as an old format, failing the submission.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


class DropUnknownGradeCells(NbGraderPreprocessor):
    """Turn cells whose grade_id the source does not have into plain cells.

    A student who adds a cell with nbgrader metadata would otherwise make nbgrader
    reject the whole submission; such a cell can never earn points.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            known = {cell.name for cell in notebook.source_cells}
            known |= {cell.name for cell in notebook.grade_cells}
            known |= {cell.name for cell in notebook.solution_cells}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if "nbgrader" in cell.metadata and grade_id not in known:
                self.log.warning("Ignoring the student's cell with unknown grade_id %r", grade_id)
                del cell.metadata["nbgrader"]
        return nb, resources


def _course(preprocessor) -> Course:
    return Course(Path(CourseDirectory(config=preprocessor.config).root))


class SandboxedExecute(NbGraderPreprocessor):
    """Execute the notebook in the sandbox, recording answers into the grading state."""

    wall_timeout = Int(1800, help="Seconds for the whole notebook.").tag(config=True)
    memory_limit = Int(8 * 1024**3, help="Bytes of address space for the kernel.").tag(config=True)
    max_processes = Int(256, help="Processes the kernel may start.").tag(config=True)
    output_limit = Int(1_000_000, help="Bytes of output kept per cell.").tag(config=True)
    sandbox = Bool(True, help="Use bubblewrap when it is installed.").tag(config=True)

    def _cell_timeout(self) -> int:
        # nbgrader's own setting: c.Execute.timeout wins over c.ExecutePreprocessor.timeout.
        for section in ("Execute", "ExecutePreprocessor"):
            value = self.config.get(section, {}).get("timeout")
            if isinstance(value, int) and value > 0:
                return value
        return 600

    def preprocess(self, nb, resources):
        course = _course(self)
        info = resources["nbgrader"]
        answers = course.answers_dir(info["assignment"], info["student"], info["notebook"])
        if answers.exists():
            shutil.rmtree(answers)
        limits = Limits(
            wall_seconds=self.wall_timeout,
            cell_seconds=self._cell_timeout(),
            memory_bytes=self.memory_limit,
            max_processes=self.max_processes,
            output_bytes=self.output_limit,
        )
        result = execute_notebook(
            nb, answer_dir=answers, data_dir=course.data, limits=limits, sandbox=self.sandbox
        )
        self.log.info("Executed %s in %.1f s", info["notebook"], result.seconds)
        # Beside the answer store, not in it: the kernel could write into the store.
        events_file = answers.parent / f"{info['notebook']}.events.json"
        events_file.write_text(json.dumps(result.events), encoding="utf-8")
        resources["dlbmt"] = {"answers": str(answers), "events": result.events,
                              "seconds": result.seconds}  # fmt: skip
        return result.notebook, resources


class SaveGraderScores(SaveAutoGrades):
    """Score autograded test cells with the hidden graders instead of cell errors."""

    def preprocess(self, nb, resources):
        course = _course(self)
        info = resources["nbgrader"]
        key = ensure_key(course, info["assignment"], info["notebook"])
        answers = Path(resources["dlbmt"]["answers"])
        self._results = run_graders(course, info["assignment"], answers, key)
        self._events = resources["dlbmt"]["events"]
        resources["dlbmt"]["results"] = {k: vars(v) for k, v in self._results.items()}
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if not utils.is_solution(cell) and cell.cell_type == "code":
            result = self._results.get(grade_id)
            points = float(cell.metadata["nbgrader"].get("points", 0))
            score = 0.0 if result is None else min(result.score, points)
            limits = limit_messages(self._events, grade_id)
            cell.outputs = [task_feedback_output(grade_id, score, points, result, limits)]
            nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
            grade = self.gradebook.find_grade(
                grade_id, self.notebook_id, self.assignment_id, self.student_id
            )
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None
            self.gradebook.db.commit()
            return
        super()._add_score(cell, resources)
