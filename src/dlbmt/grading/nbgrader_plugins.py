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

import glob
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import DeduplicateIds, GetGrades, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool, Int

from dlbmt.grading.cells import grade_id, is_test_cell, owning_task
from dlbmt.grading.course import Course
from dlbmt.grading.execution import execute_notebook, recorded_answers
from dlbmt.grading.feedback import limit_messages, task_feedback_output
from dlbmt.grading.graders import run_graders, warm_up
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
            if "nbgrader" in cell.metadata and grade_id(cell) not in known:
                self.log.warning(
                    "Ignoring the student's cell with unknown grade_id %r", grade_id(cell)
                )
                del cell.metadata["nbgrader"]
        return nb, resources


STUB_RAISE = "raise NotImplementedError()"
OPEN_TASK_STUB = (
    'raise NotImplementedError("Aufgabe {label} ist noch offen: Ersetzen Sie diese Zeile durch '
    'Ihren Code.")'
)
# A row of a notebook's header table: | Aufgabe | Inhalt (`grade_id`) | Punkte |
HEADER_ROW = re.compile(r"^\|\s*([^|]*?)\s*\|\s*(.*?)\s*\(`(\w+)`\)[^|]*\|\s*[\d.,]+\s*\|\s*$")


def task_labels(nb) -> dict[str, str]:
    """{grade_id: "1a, Handrechnung (nb1_hand_values)"} from the notebook's header table."""
    labels = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.split("\n"):
            if match := HEADER_ROW.match(line.strip()):
                number, title, grade_id = match.groups()
                labels[grade_id] = f"{number}, {title} ({grade_id}),".lstrip(", ")
    return labels


class NameTheTaskInStubs(NbGraderPreprocessor):
    """Stubs of the release say, in German, which task is still open.

    nbgrader's ClearSolutions puts the same stub into every answer cell; this runs
    after it and names the task the cell answers, as the header table names it.
    """

    def preprocess(self, nb, resources):
        labels = task_labels(nb)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or STUB_RAISE not in cell.source:
                continue
            task = owning_task(nb, index)
            label = labels.get(task, f"{task}," if task else "")
            stub = OPEN_TASK_STUB.format(label=label.rstrip(",")) if label else STUB_RAISE
            cell.source = cell.source.replace(STUB_RAISE, stub)
        return nb, resources


class RefuseLinkedNotebook(NbGraderPreprocessor):
    """Refuse a submitted notebook that is a symbolic link (to the source notebook, say).

    nbgrader would read whatever the link points to. Only this student's
    submission fails, with a message that says why.
    """

    def preprocess(self, nb, resources):
        folder = resources.get("metadata", {}).get("path", "")
        path = Path(folder) / f"{resources.get('unique_key', '')}.ipynb"
        if path.is_symlink():
            raise RuntimeError(
                f"{path} is a symbolic link, not a notebook; it is not graded. Ask the student "
                "to submit the notebook file itself."
            )
        return nb, resources


def linked_files(root: str | Path) -> list[str]:
    """Every symbolic link under ``root``, as nbgrader ignore patterns (absolute, escaped).

    nbgrader copies a submission's other files with ``shutil.copy``, which follows a
    link: to the graders, the key, the source notebook or ``/dev/zero``. With these
    patterns in ``c.CourseDirectory.ignore`` (see ``nbgrader_config.py``) neither
    ``nbgrader autograde`` nor ``dlbmt autograde`` copies them.
    """
    found = []
    for here, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(here, name)
            if os.path.islink(path):
                found.append(glob.escape(os.path.abspath(path)))
    return sorted(found)


HIDDEN_OUTPUT_NOTE = (
    "[Ausgabe entfernt: Sie enthielt Code der verborgenen Tests, der nicht in die "
    "Rückmeldung gehört.]\n"
)
# Hidden-test lines shorter than this (")", "]", "pass") also occur in honest outputs.
MIN_HIDDEN_LINE = 8


class ScrubHiddenTestEchoes(NbGraderPreprocessor):
    """Feedback without hidden tests, even where a kernel printed them.

    nbgrader's ClearHiddenTests strips the hidden part of each test cell's source,
    but not outputs: a kernel sees the code it runs (``In``, ``inspect``) and can
    print it. This runs first and replaces every output that contains a line of a
    hidden test block. It also removes hidden-test markers from cells that are not
    test cells (a student may type them), which ClearHiddenTests would reject and
    so stop the feedback of every student after this one.
    """

    begin = "BEGIN HIDDEN TESTS"
    end = "END HIDDEN TESTS"

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            if is_test_cell(cell):
                hidden |= self._hidden_lines(cell.source)
            elif self.begin in cell.source or self.end in cell.source:
                cell.source = "\n".join(
                    line for line in cell.source.split("\n")
                    if self.begin not in line and self.end not in line
                )  # fmt: skip
        hidden |= {self.begin, self.end}
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [self._scrubbed(output, hidden) for output in cell.outputs]
        return nb, resources

    def _hidden_lines(self, source: str) -> set[str]:
        lines, inside = set(), False
        for line in source.split("\n"):
            if self.begin in line:
                inside = True
            elif self.end in line:
                inside = False
            elif inside and len(line.strip()) >= MIN_HIDDEN_LINE:
                lines.add(line.strip())
        return lines

    @staticmethod
    def _scrubbed(output, hidden: set[str]):
        text = ANSI_ESCAPE.sub("", _output_text(output))
        # A printed repr escapes quotes and line breaks; look at both forms.
        unescaped = text.encode("utf-8", "replace").decode("unicode_escape", "ignore")
        if any(line in text or line in unescaped for line in hidden):
            return nbformat.v4.new_output("stream", name="stdout", text=HIDDEN_OUTPUT_NOTE)
        return output


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _output_text(output) -> str:
    """All text an output shows: stream text, every data representation, an error."""
    parts = [output.get("text", ""), output.get("evalue", "")]
    parts += output.get("traceback", [])
    for value in output.get("data", {}).values():
        parts += value if isinstance(value, list) else [value]
    return "\n".join(part if isinstance(part, str) else json.dumps(part) for part in parts)


class GetGradesWithPending(GetGrades):
    """nbgrader's GetGrades, and which answers still wait for a person.

    Free text that nobody has graded yet has no score at all; nbgrader's page would
    show it as 0 points. The course's feedback template (``grading/templates``)
    shows it as "noch nicht bewertet" and marks the total as provisional.
    """

    def preprocess(self, nb, resources):
        self._pending, self._pending_points = 0, 0.0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["pending"] = self._pending
        resources["nbgrader"]["pending_points"] = self._pending_points
        return nb, resources

    def _get_score(self, cell, resources) -> None:
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id,
            self.student_id,
        )  # fmt: skip
        pending = is_pending(grade)
        cell.metadata.nbgrader["pending"] = pending
        if pending:
            self._pending += 1
            self._pending_points += float(grade.max_score or 0)


def is_pending(grade) -> bool:
    """True for a grade that waits for a person: flagged, and without any score yet."""
    return (
        bool(grade.needs_manual_grade) and grade.manual_score is None and (grade.auto_score is None)
    )


FEEDBACK_TEMPLATE_FILE = "index.de.html.j2"


def feedback_template_dirs() -> list[str]:
    """Template folders for feedback: the course's first, then nbgrader's.

    Both hold a template "feedback"; the course's has only ``index.de.html.j2``,
    which extends nbgrader's ``index.html.j2``. The same works when formgrader
    generates feedback, which names the template "feedback" itself.
    """
    import nbgrader.server_extensions.formgrader as formgrader

    ours = Path(__file__).parent / "templates"
    return [str(ours), str(Path(formgrader.__file__).parent / "templates")]


def _course(preprocessor) -> Course:
    return Course(Path(CourseDirectory(config=preprocessor.config).root))


class SandboxedExecute(NbGraderPreprocessor):
    """Execute the notebook in the sandbox, recording answers into the grading state.

    Its limits are :class:`dlbmt.grading.sandbox.Limits`, read from the config by
    ``Limits.from_config``; the traits below only document the settings.
    """

    wall_timeout = Int(Limits.wall_seconds, help="Seconds for the whole notebook.").tag(config=True)
    memory_limit = Int(Limits.memory_bytes, help="Bytes of address space per process.").tag(
        config=True
    )
    max_processes = Int(Limits.max_processes, help="Processes the kernel may start.").tag(
        config=True
    )
    output_limit = Int(Limits.output_bytes, help="Bytes of output kept per cell.").tag(config=True)
    answer_bytes = Int(Limits.answer_bytes, help="Bytes the answer store may hold.").tag(
        config=True
    )
    answer_files = Int(Limits.answer_files, help="Files the answer store may hold.").tag(
        config=True
    )
    threads = Int(0, help="TensorFlow and BLAS threads per kernel; 0: the machine's.").tag(
        config=True
    )
    sandbox = Bool(True, help="Use bubblewrap when it is installed.").tag(config=True)
    keep_spare = Bool(
        False, help="Start the next notebook's sandbox while this one runs (dlbmt autograde)."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        course = _course(self)
        info = resources["nbgrader"]
        answers = course.answers_dir(info["assignment"], info["student"], info["notebook"])
        if answers.exists():
            shutil.rmtree(answers)
        limits = Limits.from_config(self.config, threads=self.threads or None)
        # Only the answers the graders read (the names the key holds) are kept.
        key = ensure_key(course, info["assignment"], info["notebook"])
        if self.keep_spare and self.sandbox:
            warm_up(course, key, self.threads or None)  # its imports run beside the notebook
        result = execute_notebook(
            nb, answer_dir=answers, data_dir=course.data, limits=limits, sandbox=self.sandbox,
            answers_wanted=recorded_answers(key), keep_spare=self.keep_spare,
        )  # fmt: skip
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
        execute = self.config.get("SandboxedExecute", {})
        # dlbmt autograde keeps helpers between submissions: the sandbox and the graders' server.
        self._results = run_graders(
            course, info["assignment"], answers, key, threads=execute.get("threads") or None,
            warm=bool(execute.get("keep_spare")),
        )  # fmt: skip
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
