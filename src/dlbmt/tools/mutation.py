"""Grader self-test by mutation: does every task's grader notice a missing solution?

For every autograded task, a *mutant* is the reference submission with that
task's solution cells put back to their release version (the stub ``# IHR CODE
HIER`` / ``raise NotImplementedError()``). Executed and graded like a real
submission, a mutant must lose exactly the points of that task and of the
checks that declare a dependency on it, and nothing else. More lost points
mean an undeclared dependency (or a grader that judges the wrong answer); fewer
mean a grader that passes without the solution (or a needless declaration).

Which solution cells belong to a task (positional rule): the solution code
cells between the previous autograded test cell and the task's own test cell.
A task without such cells (``nb1_keras_predict``, which uses the model of the
cell before ``nb1_keras_model``) gets no mutant of its own; it is *covered by*
the preceding task with solution cells. Manually graded (Markdown) tasks are
not part of the self-test.

Semantics of ``depends_on`` (``@pytest.mark.task(..., depends_on=(...))``),
as :func:`expected_loss` computes them. They are per check, not per task:

* a check fails when its own task is the mutated one;
* a check fails when one of the tasks in its ``depends_on`` has lost any point,
  that is, when the task is the mutated one or has at least one failing check;
* this is applied until nothing changes, so the loss propagates transitively
  (A mutated -> a check of B with ``depends_on=("A",)`` fails -> a check of C
  with ``depends_on=("B",)`` fails, ...);
* every other check keeps its points.

A task's expected score is its full points (the sum of its checks' points)
minus the points of its failing checks; the actual score must equal it exactly.

Usage (from inside the course folder)::

    dlbmt selftest 01_grundlagen --workers 2

The answer key is (re)built as for grading and, as a baseline, graded against
itself: it must get full points, or no mutant can be judged. Each mutant's
executed notebook and recorded answers stay in ``.grading/mutation/`` for
inspection.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlbmt.errors import CourseError
from dlbmt.grading.cells import nbgrader_meta, task_answer_cells
from dlbmt.grading.course import Course
from dlbmt.grading.execution import execute_notebook
from dlbmt.grading.graders import TaskResult, discard_server, run_graders
from dlbmt.grading.keys import ensure_key
from dlbmt.grading.prepared import prepare as prepare_heldout
from dlbmt.grading.sandbox import Limits
from dlbmt.grading.status import Limit
from dlbmt.tools.examples import reference_submission

# Scores are sums of small point values; anything closer than this is equal.
SCORE_TOLERANCE = 1e-9


def task_solutions(source: nbformat.NotebookNode) -> dict[str, tuple[str, ...]]:
    """{autograded task: grade_ids of its solution cells}, in notebook order."""
    return task_answer_cells(source)


def covered_by(source: nbformat.NotebookNode) -> dict[str, str]:
    """{task without solution cells: the preceding task whose mutant covers it}."""
    covering: dict[str, str] = {}
    previous = None
    for task, solution_ids in task_solutions(source).items():
        if solution_ids:
            previous = task
        elif previous is not None:
            covering[task] = previous
    return covering


def restore_locked_cells(
    submission: nbformat.NotebookNode, source: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """A copy of ``submission`` whose test and locked cells are the source's again.

    This is what nbgrader's ``OverwriteCells`` does before autograding; it puts
    back the hidden test code that records the answers.
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(submission)))
    originals = {
        nbgrader_meta(c)["grade_id"]: c for c in source.cells if nbgrader_meta(c).get("grade_id")
    }
    for cell in notebook.cells:
        original = originals.get(nbgrader_meta(cell).get("grade_id"))
        if original is None or nbgrader_meta(original).get("solution"):
            continue
        if nbgrader_meta(original).get("locked") or nbgrader_meta(original).get("grade"):
            cell.source = original.source
    return notebook


@dataclass
class Mutant:
    task: str
    solution_ids: tuple[str, ...]
    notebook: nbformat.NotebookNode


def mutants(
    source: nbformat.NotebookNode,
    release: nbformat.NotebookNode,
    reference: nbformat.NotebookNode | None = None,
) -> list[Mutant]:
    """One mutant per autograded task that has solution cells, in notebook order.

    ``reference`` is the full-marks submission the mutants start from; by
    default it is derived from ``source`` and ``release`` (the solutions
    without their markers). Its hidden test code is restored from ``source``.
    """
    if reference is None:
        reference = _derived_reference(source, release)
    base = restore_locked_cells(reference, source)
    stubs = {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in release.cells
        if nbgrader_meta(c).get("grade_id")
    }
    positions = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(base.cells)}
    result = []
    for task, solution_ids in task_solutions(source).items():
        if not solution_ids:
            continue
        notebook = nbformat.from_dict(json.loads(json.dumps(base)))
        for grade_id in solution_ids:
            if grade_id not in stubs or grade_id not in positions:
                raise CourseError(
                    f"The solution cell {grade_id} of {task} is missing from the release or the "
                    "reference submission. Release the assignment again."
                )
            notebook.cells[positions[grade_id]].source = stubs[grade_id]
        result.append(Mutant(task, solution_ids, notebook))
    return result


def _derived_reference(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dlbmt-mutation-") as scratch:
        paths = Path(scratch) / "source.ipynb", Path(scratch) / "release.ipynb"
        nbformat.write(source, paths[0])
        nbformat.write(release, paths[1])
        return reference_submission(*paths)


def expected_loss(task: str, checks: Iterable[Mapping]) -> dict[str, float]:
    """Points each task is expected to lose when ``task``'s solution is missing.

    ``checks`` are the graders' check records (``task``, ``points``,
    ``depends_on``). A check fails when its task is ``task`` or when a task in
    its ``depends_on`` has lost any point, transitively (see the module's
    docstring). Returns every task of ``checks`` (0.0 when it loses nothing).
    """
    checks = list(checks)
    failing = [False] * len(checks)
    lost = {task}
    changed = True
    while changed:
        changed = False
        for index, check in enumerate(checks):
            if failing[index]:
                continue
            if check["task"] == task or lost.intersection(check.get("depends_on", ())):
                failing[index] = True
                lost.add(check["task"])
                changed = True
    losses = {check["task"]: 0.0 for check in checks}
    for check, fails in zip(checks, failing, strict=True):
        if fails:
            losses[check["task"]] += float(check["points"])
    return losses


def full_points(checks: Iterable[Mapping]) -> dict[str, float]:
    points: dict[str, float] = {}
    for check in checks:
        points[check["task"]] = points.get(check["task"], 0.0) + float(check["points"])
    return points


def unknown_dependencies(checks: Iterable[Mapping]) -> list[str]:
    """Declared dependencies on tasks that no grader scores (typos never take points)."""
    checks = list(checks)
    tasks = {check["task"] for check in checks}
    return sorted(
        f"{check.get('nodeid', check['task'])} depends on unknown task {name!r}"
        for check in checks
        for name in check.get("depends_on", ())
        if name not in tasks
    )


@dataclass
class MutantResult:
    assignment: str
    task: str
    solution_ids: tuple[str, ...]
    expected: dict[str, float]
    actual: dict[str, float]
    seconds: float = 0.0
    events: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def mismatches(self) -> dict[str, tuple[float | None, float | None]]:
        """{task: (expected, actual)} for every task whose score differs."""
        differ = {}
        for task in sorted(set(self.expected) | set(self.actual)):
            want, got = self.expected.get(task), self.actual.get(task)
            if want is None or got is None or not math.isclose(want, got, abs_tol=SCORE_TOLERANCE):
                differ[task] = (want, got)
        return differ

    @property
    def ok(self) -> bool:
        return not self.error and not self.mismatches

    def describe(self) -> str:
        if self.error:
            return f"{self.task}: {self.error}"
        lines = [f"mutant {self.task} (solution cells {', '.join(self.solution_ids)}):"]
        for task, (want, got) in self.mismatches.items():
            lines.append(f"  {task}: expected {_fmt(want)}, got {_fmt(got)}")
        if self.events:
            lines.append(f"  limits hit: {self.events}")
        return "\n".join(lines)


def judge(
    assignment: str,
    mutant_task: str,
    solution_ids: tuple[str, ...],
    checks: Sequence[Mapping],
    actual: Mapping[str, float],
    tasks: Iterable[str] | None = None,
) -> MutantResult:
    """Compare a mutant's actual per-task scores with the expected ones.

    ``checks`` come from grading the full-marks baseline; ``tasks`` restricts
    the comparison (default: every task of ``checks``).
    """
    full = full_points(checks)
    losses = expected_loss(mutant_task, checks)
    names = sorted(full) if tasks is None else list(tasks)
    expected = {name: full.get(name, 0.0) - losses.get(name, 0.0) for name in names}
    return MutantResult(
        assignment, mutant_task, tuple(solution_ids), expected,
        {name: float(actual[name]) for name in names if name in actual},
    )  # fmt: skip


@dataclass
class NotebookReport:
    assignment: str
    notebook: str
    tasks: list[str]
    full: dict[str, float]
    baseline: dict[str, float]
    covered_by: dict[str, str]
    unknown_dependencies: list[str]
    results: list[MutantResult]

    @property
    def baseline_problems(self) -> dict[str, str]:
        """{task: why} for tasks the answer key, graded against itself, does not get in full."""
        problems = {}
        for task in self.tasks:
            full, got = self.full.get(task), self.baseline.get(task, 0.0)
            if full is None:
                problems[task] = "no grader scores this task"
            elif not math.isclose(full, got, abs_tol=SCORE_TOLERANCE):
                problems[task] = f"the answer key gets {_fmt(got)} of {_fmt(full)} points"
        return problems

    @property
    def ok(self) -> bool:
        return (
            not self.baseline_problems
            and not self.unknown_dependencies
            and all(r.ok for r in self.results)
        )


@dataclass
class SelfTestReport:
    notebooks: list[NotebookReport]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.notebooks)

    def result(self, assignment: str, task: str) -> MutantResult:
        for notebook in self.notebooks:
            for result in notebook.results:
                if result.assignment == assignment and result.task == task:
                    return result
        raise KeyError(f"no mutant of {task} in {assignment}")


def _scores(results: Mapping[str, TaskResult]) -> dict[str, float]:
    return {task: result.score for task, result in results.items()}


def _checks(results: Mapping[str, TaskResult]) -> list[dict]:
    return [check for result in results.values() for check in result.checks]


def _reference_notebook(course: Course, assignment: str, source_path: Path):
    path = course.root / "examples" / "submissions" / "reference" / assignment / source_path.name
    if path.is_file():
        return nbformat.read(path, as_version=4)
    return None


def selftest(
    course: Course,
    *,
    assignments: str | Sequence[str],
    workers: int = 2,
    tasks: Iterable[str] | None = None,
) -> SelfTestReport:
    """Execute and grade every mutant of ``assignments`` on ``workers`` kernels at a time.

    The mutants start from ``examples/submissions/reference`` when the course
    has it, otherwise from the reference derived from source and release.
    ``tasks`` limits the mutants to those tasks.
    """
    started = time.monotonic()
    course = Course(course.root.resolve())
    if isinstance(assignments, str):
        assignments = [assignments]
    wanted = set(tasks) if tasks is not None else None
    plans = []
    mutated: set[str] = set()
    for assignment in assignments:
        course.check_assignment(assignment)
        prepare_heldout(course, assignment)  # once, not in each mutant's grader run
        for source_path in course.source_notebooks(assignment):
            release_path = course.release / assignment / source_path.name
            if not release_path.is_file():
                raise CourseError(f"{release_path} is missing. Release {assignment} first.")
            source = nbformat.read(source_path, as_version=4)
            release = nbformat.read(release_path, as_version=4)
            reference = _reference_notebook(course, assignment, source_path)
            found = mutants(source, release, reference)
            mutated |= {m.task for m in found}
            if wanted is not None:
                found = [m for m in found if m.task in wanted]
            plans.append((assignment, source_path.stem, source, found))
    if wanted is not None and wanted - mutated:
        raise CourseError(
            f"No mutant for {', '.join(sorted(wanted - mutated))}: only autograded tasks with "
            f"solution cells of their own have one ({', '.join(sorted(mutated))})."
        )
    workers = max(1, workers)
    # Students' limits, with each kernel's share of the cores.
    limits = Limits.from_config(course.config(), threads=max(1, (os.cpu_count() or 1) // workers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Keys first: the mutant jobs queued behind them wait for them only after executing.
        keys = {
            (assignment, stem): pool.submit(_key_and_baseline, course, assignment, stem, limits)
            for assignment, stem, _, _ in plans
        }
        runs = {
            (assignment, stem, mutant.task): pool.submit(
                _run_mutant, course, assignment, stem, mutant, keys[(assignment, stem)], limits
            )
            for assignment, stem, _, found in plans
            for mutant in found
        }
        try:
            reports = _collect(plans, keys, runs)
        except BaseException:
            for future in runs.values():
                future.cancel()  # a broken key or Ctrl-C: do not wait for the queued mutants
            raise
        finally:
            # Each thread kept a graders' server for its next mutant; there is none.
            pool.shutdown(wait=True)
            discard_server()
    return SelfTestReport(reports, time.monotonic() - started)


def _collect(plans, keys: dict, runs: dict) -> list[NotebookReport]:
    """Wait for the keys and the mutants and judge each mutant."""
    reports = []
    for assignment, stem, source, found in plans:
        _, baseline = keys[(assignment, stem)].result()
        checks = _checks(baseline)
        notebook_tasks = list(task_solutions(source))
        notebook_checks = [c for c in checks if c["task"] in notebook_tasks]
        results = []
        for mutant in found:
            actual, seconds, events, error = runs[(assignment, stem, mutant.task)].result()
            result = judge(
                assignment, mutant.task, mutant.solution_ids, notebook_checks, actual,
                notebook_tasks,
            )  # fmt: skip
            result.seconds, result.events, result.error = seconds, events, error
            results.append(result)
        reports.append(
            NotebookReport(
                assignment=assignment,
                notebook=stem,
                tasks=notebook_tasks,
                full=full_points(notebook_checks),
                baseline={t: s for t, s in _scores(baseline).items() if t in notebook_tasks},
                covered_by=covered_by(source),
                unknown_dependencies=unknown_dependencies(checks),
                results=results,
            )
        )
    return reports


def _key_and_baseline(course: Course, assignment: str, stem: str, limits: Limits):
    key = ensure_key(course, assignment, stem, limits)
    return key, run_graders(course, assignment, key, key, threads=limits.threads, warm=True)


def _run_mutant(
    course: Course, assignment: str, stem: str, mutant: Mutant, key: Future, limits: Limits
):
    """Execute one mutant and grade it: (scores, seconds, limit events, error)."""
    folder = course.mutation_dir(assignment, stem)
    answers = folder / mutant.task
    if answers.exists():
        shutil.rmtree(answers)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run = execute_notebook(
            mutant.notebook, answer_dir=answers, data_dir=course.data, limits=limits
        )
        nbformat.write(run.notebook, folder / f"{mutant.task}.ipynb")
        key_path, _ = key.result()
        graded = run_graders(
            course, assignment, answers, key_path, threads=limits.threads, warm=True
        )
        scores = _scores(graded)
    except Exception as error:  # noqa: BLE001 - reported per mutant, the others go on
        return {}, 0.0, [], f"{type(error).__name__}: {error}"
    events = list(run.events)
    if not run.finished and not events:
        events.append({"limit": Limit.RUNNER_STOPPED})
    return scores, run.seconds, events, ""


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _losses(full: Mapping[str, float], scores: Mapping[str, float]) -> str:
    lost = [
        f"{task} -{_fmt(full[task] - scores.get(task, 0.0))}"
        for task in full
        if not math.isclose(full[task], scores.get(task, 0.0), abs_tol=SCORE_TOLERANCE)
    ]
    return ", ".join(lost) or "nothing"


def format_report(report: SelfTestReport) -> str:
    """A readable table: per mutant the expected and actual losses and the verdict."""
    lines = []
    for notebook in report.notebooks:
        bad = sum(not r.ok for r in notebook.results)
        lines.append(
            f"\n{notebook.assignment}/{notebook.notebook}: {len(notebook.results)} mutants, "
            f"{bad} with mismatches"
        )
        for task, why in notebook.baseline_problems.items():
            lines.append(f"  BASELINE  {task}: {why}; its mutant losses cannot be judged")
        for problem in notebook.unknown_dependencies:
            lines.append(f"  DEPENDS_ON  {problem}")
        for task, by in notebook.covered_by.items():
            lines.append(f"  {task} has no solution cells of its own: covered by {by}'s mutant")
        width = max([len(r.task) for r in notebook.results] + [6])
        lines.append(f"  {'mutant':<{width}}  {'sec':>5}  expected losses | actual losses")
        for result in notebook.results:
            verdict = "ok" if result.ok else "MISMATCH"
            if result.error:
                actual = f"ERROR {result.error}"
            else:
                actual = _losses(notebook.full, result.actual)
            lines.append(
                f"  {result.task:<{width}}  {result.seconds:5.0f}  "
                f"{_losses(notebook.full, result.expected)} | {actual}  {verdict}"
            )
            indent = " " * (width + 11)
            if not result.error:
                for task, (want, got) in result.mismatches.items():
                    lines.append(f"{indent}{task}: expected {_fmt(want)}, got {_fmt(got)}")
            if result.events:
                lines.append(f"{indent}limits hit: {result.events}")
    verdict = "all mutants lose exactly the expected points" if report.ok else "MISMATCHES"
    lines.append(f"\n{verdict} ({report.seconds:.0f} s)")
    return "\n".join(lines)
