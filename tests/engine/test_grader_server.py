"""The graders' server: one process with its imports done, one sandboxed child per submission.

A child parses files a student made. If a crafted file ever took one over, it
must not reach the next submission's grading: no process, no file and no pipe
of one job survives into the next, and no job runs with a privilege. The checks
below play such a taken-over grader; each reports what it could do.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from tiny_course import ASSIGNMENT, build_tiny_course, tiny_course_with_graders

from dlbmt.grading import graders
from dlbmt.grading.course import Course
from dlbmt.grading.graders import discard_server, run_graders, warm_up
from dlbmt.grading.keys import ensure_key
from dlbmt.grading.sandbox import Limits, bubblewrap, drops_privileges

pytestmark = pytest.mark.skipif(
    not drops_privileges(bubblewrap() is not None),
    reason="the graders' server runs only when grading as root with bubblewrap",
)

HOSTILE_GRADER = '''
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

MARK = Path(os.environ["HOME"]) / "left-by-an-earlier-job"


def _sleepers():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"sleep" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.task("tiny_value", points=1)
def test_nothing_of_an_earlier_job_is_left():
    """Nichts von einem früheren Lauf."""
    found = [str(MARK)] if MARK.exists() else []
    found += [f"sleep {pid}" for pid in _sleepers()]
    assert not found, "left: " + ", ".join(found)


def _target(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""  # the descriptor listdir itself had open


@pytest.mark.task("tiny_value", points=1)
def test_no_privilege_and_no_pipe_of_the_server():
    """Kein Recht und keine Leitung des Servers."""
    status = Path("/proc/self/status").read_text()
    effective = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    pipes = [fd for fd in os.listdir("/proc/self/fd") if _target(fd).startswith("pipe:")]
    assert os.getuid() != 0 and int(effective.split()[1], 16) == 0 and not pipes, (
        f"uid {os.getuid()}, {effective}, pipes {pipes}"
    )


@pytest.mark.task("tiny_value", points=1)
def test_the_shared_tmp_is_not_writable():
    """Das gemeinsame /tmp ist nicht beschreibbar."""
    with pytest.raises(OSError):
        Path("/tmp/shared-with-the-next-job").write_text("x")


@pytest.mark.task("tiny_value", points=1)
def test_temporary_files_go_to_the_jobs_own_folder():
    """Temporäre Dateien landen im eigenen Ordner des Laufs."""
    with tempfile.TemporaryDirectory() as folder:
        assert folder.startswith(os.environ["HOME"] + "/"), folder


@pytest.mark.task("tiny_square", points=1)
def test_leave_traces_for_the_next_job():
    """Spuren für den nächsten Lauf."""
    MARK.write_text("x")
    subprocess.Popen(["sleep", "600"], start_new_session=True)
'''


@pytest.fixture
def course(tmp_path):
    yield tiny_course_with_graders(tmp_path, "test_hostile.py", HOSTILE_GRADER)
    discard_server()


def _grade(course: Course, warm: bool = True) -> dict[str, list[dict]]:
    root = course.root.parent
    results = run_graders(course, ASSIGNMENT, root / "answers", root / "key", threads=1, warm=warm)
    return {task: result.checks for task, result in results.items()}


def _server():
    return graders._kept()._helper


def test_one_job_leaves_nothing_for_the_next(course):
    first = _grade(course)
    server = _server()
    second = _grade(course)
    assert _server() is server, "both jobs ran in children of one server"
    for checks in (first, second):
        failed = [c["message"] for c in checks["tiny_value"] if not c["passed"]]
        assert not failed
    # The one job that left traces is scored like any other check: the traces were made.
    assert [c["passed"] for c in second["tiny_square"]] == [True]


def test_the_course_graders_judge_as_in_a_fresh_process(tmp_path):
    course = Course(build_tiny_course(tmp_path / "course"))
    key = ensure_key(course, ASSIGNMENT, ASSIGNMENT, Limits(threads=1))
    (tmp_path / "nothing").mkdir()
    try:
        for answers in (key, tmp_path / "nothing"):
            warm, fresh = (
                run_graders(course, ASSIGNMENT, answers, key, threads=1, warm=warm)
                for warm in (True, False)
            )
            assert {t: vars(r) for t, r in warm.items()} == {t: vars(r) for t, r in fresh.items()}
            assert graders._kept()._helper is not None, "the first ran in the server"
        assert sum(r.score for r in warm.values()) == 0 < sum(r.max_score for r in warm.values())
    finally:
        discard_server()


def test_one_server_grades_every_assignment_of_the_course(tmp_path):
    course = Course(build_tiny_course(tmp_path / "course"))
    key = ensure_key(course, ASSIGNMENT, ASSIGNMENT, Limits(threads=1))
    # A second assignment whose graders expect nothing: every check of it fails on the key.
    other = course.graders / "other"
    shutil.copytree(course.graders / ASSIGNMENT, other)
    for module in other.glob("test_*.py"):
        module.write_text(module.read_text().replace("assert ", "assert not "), encoding="utf-8")
    try:
        scores, servers = {}, []
        for assignment in (ASSIGNMENT, "other", ASSIGNMENT):
            results = run_graders(course, assignment, key, key, threads=1, warm=True)
            scores.setdefault(assignment, []).append(sum(r.score for r in results.values()))
            servers.append(graders._kept()._helper)
        assert servers[0] is servers[1] is servers[2], "all three ran in one server"
        assert scores == {ASSIGNMENT: [3.0, 3.0], "other": [0.0]}
    finally:
        discard_server()


def test_the_server_started_before_the_notebook_runs_is_the_one_that_grades(course):
    warm_up(course, course.root.parent / "key", threads=1)
    server = _server()
    assert server is not None and server.alive()
    _grade(course)
    assert _server() is server


def test_a_server_killed_from_outside_costs_no_grade(course):
    _grade(course)
    server = _server()
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    results = _grade(course)
    assert all(c["passed"] for c in results["tiny_value"])
    assert _server() is not server and _server().alive()


def test_a_changed_grader_gets_a_new_server(course):
    _grade(course)
    server = _server()
    module = course.graders / ASSIGNMENT / "test_hostile.py"
    module.write_text(module.read_text() + "\n# changed\n", encoding="utf-8")
    _grade(course)
    assert _server() is not server
    assert server.process.poll() is not None, "the old server was stopped"


def test_each_thread_keeps_a_server_of_its_own_until_discarded(course):
    # dlbmt selftest grades from a pool of threads: two jobs at once must not share a server,
    # whose pipe carries one job at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        barrier = threading.Barrier(2)

        def grade_twice():
            barrier.wait()
            _grade(course)
            first = _server()
            barrier.wait()
            _grade(course)
            return first, _server()

        (first_a, again_a), (first_b, again_b) = pool.map(lambda _: grade_twice(), range(2))
    assert first_a is again_a and first_b is again_b, "each thread reused its own server"
    assert first_a is not first_b, "the two threads had a server each"
    discard_server()
    assert first_a.process.poll() is not None and first_b.process.poll() is not None
