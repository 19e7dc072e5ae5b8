"""The spare sandbox: started while one notebook runs, it serves the next one, and only that one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import nbformat
import pytest
from course_tools import run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission

from dlbmt.grading import execution, graders
from dlbmt.grading.answers import AnswerStore
from dlbmt.grading.autograde import autograde
from dlbmt.grading.course import Course
from dlbmt.grading.execution import discard_spare, execute_notebook
from dlbmt.grading.kept import Kept
from dlbmt.grading.sandbox import Limits
from dlbmt.grading.status import Status

# The first cell of every notebook here prints how long its kernel has existed.
KERNEL_AGE = (
    "import os\n"
    "ticks = os.sysconf('SC_CLK_TCK')\n"
    "started = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]) / ticks\n"
    "uptime = float(open('/proc/uptime').read().split()[0])\n"
    "print('kernel age', round(uptime - started, 1))"
)
# A spare waits this long before the next notebook comes; a kernel started on demand is
# younger than this when its first cell runs, one started ahead is older.
WAIT_SECONDS = 6


def _notebook(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(source) for source in (KERNEL_AGE, *sources)]
    for index, cell in enumerate(cells):
        cell.metadata["nbgrader"] = {"grade_id": f"cell_{index}"}
    return nbformat.v4.new_notebook(cells=cells)


def _run(tmp_path: Path, name: str, notebook, *, data: str = "data", keep_spare: bool = False):
    folder = tmp_path / data
    folder.mkdir(exist_ok=True)
    return execute_notebook(
        notebook, answer_dir=tmp_path / name, data_dir=folder, limits=Limits(wall_seconds=120),
        keep_spare=keep_spare,
    )  # fmt: skip


def _text(result, index: int) -> str:
    return "".join(str(output.get("text", "")) for output in result.notebook.cells[index].outputs)


def _kernel_age(result) -> float:
    return float(_text(result, 0).split("kernel age")[1])


def _spare():
    return execution._SPARE._helper


@pytest.fixture(autouse=True)
def _no_spare_left():
    yield
    discard_spare()


def test_the_next_notebook_finds_its_kernel_started(tmp_path):
    first = _run(tmp_path, "a", _notebook(), keep_spare=True)
    spare = _spare()
    assert spare is not None and spare.alive()
    time.sleep(WAIT_SECONDS)
    second = _run(tmp_path, "b", _notebook())
    assert _kernel_age(first) < WAIT_SECONDS - 2, "the first kernel was not started on demand"
    assert _kernel_age(second) >= WAIT_SECONDS - 1, "the second notebook did not use the spare"
    assert _spare() is None and not spare.alive(), "a used spare must be gone"
    assert not Path(spare.scratch.name).exists()


def test_a_spare_serves_one_notebook_only(tmp_path):
    leave_traces = (
        "secret = 'von A'\n"
        "import pathlib, tempfile\n"
        "for folder in ('.', pathlib.Path.home(), tempfile.gettempdir()):\n"
        "    (pathlib.Path(folder) / 'trace_a.txt').write_text('A')\n"
        "from dlbmt.recording import Recorder\n"
        "Recorder('task_a').save('value', lambda: 1)"
    )
    look_for_traces = (
        "import pathlib, tempfile\n"
        "found = [str(f) for f in ('.', pathlib.Path.home(), tempfile.gettempdir())\n"
        "         if (pathlib.Path(f) / 'trace_a.txt').exists()]\n"
        "print('globals of A:', 'secret' in globals(), 'files of A:', found)"
    )
    first = _run(tmp_path, "a", _notebook(leave_traces), keep_spare=True)
    assert first.finished and AnswerStore(tmp_path / "a").task("task_a").get("value") == 1
    time.sleep(WAIT_SECONDS)
    second = _run(tmp_path, "b", _notebook(look_for_traces, leave_traces))
    assert _kernel_age(second) >= WAIT_SECONDS - 1, "the second notebook did not use the spare"
    assert "globals of A: False files of A: []" in _text(second, 1)
    # The second notebook recorded its own answer; nothing of the first is in its store.
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["task_a"]
    assert AnswerStore(tmp_path / "b").task("task_a").get("value") == 1


def test_a_spare_for_other_settings_is_stopped_not_used(tmp_path):
    _run(tmp_path, "a", _notebook(), keep_spare=True)
    spare = _spare()
    time.sleep(WAIT_SECONDS)
    other = _run(tmp_path, "b", _notebook(), data="other_data")
    assert _kernel_age(other) < WAIT_SECONDS - 2, "a spare with another data folder was used"
    assert not spare.alive() and _spare() is None


def test_discarding_stops_the_spare_and_removes_its_folder(tmp_path):
    _run(tmp_path, "a", _notebook(), keep_spare=True)
    spare = _spare()
    discard_spare()
    assert not spare.alive() and not Path(spare.scratch.name).exists()


def test_an_idle_spare_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(Kept, "IDLE_SECONDS", 1)
    # The idle time runs from when the spare is kept, while the notebook still runs; on a
    # busy machine it may expire before the run ends, so the spare is caught as it is kept.
    kept, keep = [], execution._SPARE.keep
    monkeypatch.setattr(execution._SPARE, "keep", lambda box: (kept.append(box), keep(box)))
    _run(tmp_path, "a", _notebook(), keep_spare=True)
    time.sleep(4)
    assert len(kept) == 1 and not kept[0].alive() and _spare() is None


def test_a_grading_run_leaves_no_spare_behind(tmp_path, monkeypatch):
    course = build_tiny_course(tmp_path / "course")
    run_dlbmt(course, "release", ASSIGNMENT)
    for student in ("anna", "ben"):
        submit(course, student, ASSIGNMENT, reference_submission(course))
    monkeypatch.chdir(course)
    outcomes = autograde(
        Course(course), jobs=[(ASSIGNMENT, "anna"), (ASSIGNMENT, "ben")], workers=1,
        progress=False,
    )  # fmt: skip
    assert [o.status for o in outcomes] == [Status.GRADED, Status.GRADED]
    # This process lives on (a Dask worker of a cluster would, too): no sandbox may wait in
    # it, and no graders' server either.
    assert _spare() is None
    assert graders._kept()._helper is None


class _FakeBox:
    settings = ("limits", "data", True)

    def __init__(self):
        self.discarded = False

    def alive(self) -> bool:
        return not self.discarded

    def discard(self) -> None:
        self.discarded = True


def test_a_taken_or_replaced_spare_leaves_no_idle_timer_running():
    # One spare per submission: a timer left sleeping for each would pile up in a long run.
    # Counted are this spare's timers only: threads of earlier tests may end meanwhile.
    spare = Kept()

    def timers() -> int:
        return sum(
            isinstance(thread, threading.Timer) and thread.function == spare._expire
            for thread in threading.enumerate()
        )

    boxes = [_FakeBox() for _ in range(5)]
    for box in boxes:
        spare.keep(box)
    assert timers() >= 1, "the kept spare has its idle timer"
    assert [box.discarded for box in boxes] == [True] * 4 + [False]
    assert spare.take(_FakeBox.settings) is boxes[-1]
    time.sleep(0.1)
    assert timers() == 0
