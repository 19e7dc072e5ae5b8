"""The sandboxed runner: limits are reported per cell and answers up to a limit survive."""

from __future__ import annotations

import nbformat
import pytest

from dlbmt.grading.answers import AnswerStore
from dlbmt.grading.execution import execute_notebook
from dlbmt.grading.sandbox import Limits, bubblewrap


def _notebook(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, cell in enumerate(cells):
        cell.metadata["nbgrader"] = {"grade_id": f"cell_{index}"}
    return nbformat.v4.new_notebook(cells=cells)


RECORD = "from dlbmt.recording import Recorder\nRecorder('{task}').save('value', lambda: {value})"


def _run(tmp_path, notebook, **limits):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return execute_notebook(
        notebook, answer_dir=tmp_path / "answers", data_dir=data, limits=Limits(**limits)
    )


def test_cell_time_limit_names_the_cell_and_later_tasks_still_run(tmp_path):
    notebook = _notebook(
        RECORD.format(task="first", value=1),
        "import time\nwhile True:\n    time.sleep(0.1)",
        RECORD.format(task="third", value=3),
    )
    result = _run(tmp_path, notebook, cell_seconds=3, wall_seconds=60)
    assert {"limit": "cell_time", "cell": 1, "grade_id": "cell_1"} in result.events
    store = AnswerStore(tmp_path / "answers")
    assert store.task("first").get("value") == 1
    assert store.task("third").get("value") == 3


def test_wall_time_limit_keeps_answers_recorded_before_it(tmp_path):
    notebook = _notebook(
        RECORD.format(task="early", value=7),
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)",
    )
    result = _run(tmp_path, notebook, cell_seconds=300, wall_seconds=8)
    assert any(event["limit"] == "wall_time" for event in result.events)
    assert AnswerStore(tmp_path / "answers").task("early").get("value") == 7


def test_kernel_death_is_reported_and_the_run_goes_on(tmp_path):
    notebook = _notebook("import os\nos._exit(1)", RECORD.format(task="after", value=2))
    result = _run(tmp_path, notebook, cell_seconds=30, wall_seconds=120)
    assert any(event["limit"] == "kernel_died" for event in result.events)
    assert AnswerStore(tmp_path / "answers").task("after").get("value") == 2


def test_enormous_output_is_cut(tmp_path):
    notebook = _notebook("for i in range(20000):\n    print('x' * 100)")
    result = _run(tmp_path, notebook, output_bytes=10_000)
    assert any(event["limit"] == "output_size" for event in result.events)
    assert sum(len(str(o)) for o in result.notebook.cells[0].outputs) < 20_000


@pytest.mark.skipif(bubblewrap() is None, reason="bubblewrap is not installed")
def test_sandbox_has_no_network_and_no_course_files(tmp_path):
    from course_tools import REPO

    notebook = _notebook(
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('NET OPEN')\nexcept OSError:\n    print('no network')",
        f"import os\nprint('graders visible' if os.path.exists('{REPO}/graders') else 'hidden')",
    )
    result = _run(tmp_path, notebook)
    assert result.sandboxed
    text = str(result.notebook.cells[0].outputs) + str(result.notebook.cells[1].outputs)
    assert "no network" in text and "hidden" in text


def test_fork_bomb_is_contained_and_later_cells_still_run(tmp_path):
    notebook = _notebook(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        RECORD.format(task="after", value=5),
    )
    result = _run(tmp_path, notebook, cell_seconds=5, wall_seconds=120, max_processes=64)
    assert any(event.get("cell") == 0 for event in result.events)
    assert AnswerStore(tmp_path / "answers").task("after").get("value") == 5


def test_memory_bomb_fails_inside_the_kernel_only(tmp_path):
    notebook = _notebook(
        "blocks = []\nwhile True:\n    blocks.append(bytearray(100 * 1024**2))",
        RECORD.format(task="after", value=6),
    )
    result = _run(tmp_path, notebook, cell_seconds=30, wall_seconds=120, memory_bytes=2 * 1024**3)
    assert {"limit": "memory", "cell": 0, "grade_id": "cell_0"} in result.events
    assert AnswerStore(tmp_path / "answers").task("after").get("value") == 6


@pytest.mark.skipif(bubblewrap() is None, reason="bubblewrap is not installed")
def test_daemon_left_behind_dies_with_the_run(tmp_path):
    marker = tmp_path / "answers" / "daemon_alive"
    notebook = _notebook(
        "import os, subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time, pathlib\\n"
        f'time.sleep(4)\\npathlib.Path("{marker}").write_text("alive")\'],'
        " start_new_session=True)",
    )
    _run(tmp_path, notebook, cell_seconds=30, wall_seconds=60)
    import time

    time.sleep(6)
    assert not marker.exists(), "a process started by the notebook outlived it"


FORKED_MEMORY = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(640 * 1024**2)
            time.sleep(8)
        finally:
            os._exit(0)
    children.append(pid)
time.sleep(5)
resident = 0
for pid in children:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            resident += int(line.split()[1]) * 1024
for pid in children:
    os.waitpid(pid, 0)
print("resident", resident)
"""


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="Known weakness: the memory limit is RLIMIT_AS, which binds each process on its "
    "own. A notebook that forks holds up to max_processes times memory_limit (by default "
    "256 x 8 GiB) and can drive the grading machine out of memory, hurting the submissions "
    "graded beside it. A cgroup memory limit per sandbox would bound the whole notebook.",
)
def test_memory_limit_binds_the_whole_notebook_not_each_process(tmp_path):
    limit = 2 * 1024**3
    result = _run(tmp_path, _notebook(FORKED_MEMORY), cell_seconds=60, memory_bytes=limit)
    text = "".join(output.get("text", "") for output in result.notebook.cells[0].outputs)
    words = text.split()
    if words[:1] != ["resident"]:
        pytest.fail(f"the probe did not run: {result.events} {text[:300]}")
    assert int(words[1]) < limit, "four children held more than the notebook's limit"
