"""Hostile submissions gain nothing: each case asserts the exact points it gets.

All cases run in one ``dlbmt autograde --workers 2`` of the tiny course, so each
hostile submission is graded beside others. A wrong answer alone scores
``tiny_square`` 1 of 2 (right shape, wrong values) and ``tiny_value`` 0 of 1.

Besides the points, every case is checked for what it must not do to others: the
gradebook passes SQLite's integrity check and holds exactly the expected students,
its course structure is unchanged, no file outside the graders' own output
changed, every other student's score and provenance record are untouched, and no
process of the run is left behind. The cases that hit a limit must have feedback
that names the cell and the limit, and a provenance record that lists it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import stat
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from course_tools import gradebook_scores, run_dlbmt, submit
from tiny_course import (
    ASSIGNMENT,
    DATA_FILE,
    WALL_SECONDS,
    build_tiny_course,
    cell_index,
    insert_student_cell,
    reference_submission,
    with_answers,
)

WRONG_SQUARE = "def square(x):\n    return np.asarray(x, dtype=float) * 2"
WRONG_VALUE = "value = 41"
KEY_VALUE_FILE = ".grading/key/tiny/tiny/answers/tiny_value/value.json"
# First line of every cell a hostile case adds; the checks find "the cell" by it.
HOSTILE = "# feindlich"
DAEMON_TOKEN = "dlbmt-tamper-daemon"


def _wrong(reference):
    return with_answers(reference, square=WRONG_SQUARE, value=WRONG_VALUE)


def _cases(course, reference, marker):
    wrong = _wrong(reference)
    cases = {
        "reference": reference,
        "honest_wrong": wrong,
        "numpy_patch": insert_student_cell(
            wrong,
            "tiny_square",
            """
            np.allclose = lambda *a, **k: True
            np.array_equal = lambda *a, **k: True
            np.isclose = lambda *a, **k: True
            """,
        ),
        "builtins_patch": insert_student_cell(
            wrong,
            "tiny_square",
            """
            import builtins
            builtins.all = lambda *a: True
            builtins.any = lambda *a: True
            builtins.abs = lambda *a: 0
            """,
        ),
        "recorder_patch": insert_student_cell(
            wrong,
            "tiny_square",
            """
            import dlbmt.recording
            dlbmt.recording.Recorder.save = lambda self, name, get: None
            dlbmt.recording.write_answer = lambda *a, **k: None
            """,
        ),
        "input_transformer": insert_student_cell(
            reference,
            "tiny_value_answer",
            """
            get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
            """,
        ),
        "gradebook_write": insert_student_cell(
            reference,
            "tiny_value",
            f"""
            import sqlite3
            for path in ("../../gradebook.db", "../gradebook.db", "{course}/gradebook.db"):
                try:
                    db = sqlite3.connect(path)
                    db.execute("UPDATE grade SET auto_score = 99")
                    db.commit()
                    print("gradebook opened", path)
                except Exception as error:
                    print("blocked", path, type(error).__name__)
            """,
        ),
        "key_read": insert_student_cell(
            wrong,
            "tiny_value",
            f"""
            import json
            try:
                value = json.load(open("{course}/{KEY_VALUE_FILE}"))["value"]
            except OSError as error:
                print("blocked", type(error).__name__)
            for path in ("{course}/graders/tiny/test_tiny.py", "{course}/source/tiny/tiny.ipynb"):
                try:
                    open(path).read()
                    print("read", path)
                except OSError as error:
                    print("blocked", type(error).__name__)
            """,
        ),
        "symlink_answer": insert_student_cell(
            wrong,
            "tiny_text",
            f"""
            import os
            folder = os.path.join(os.environ["DLBMT_ANSWER_DIR"], "tiny_value")
            os.makedirs(folder, exist_ok=True)
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.symlink("{course}/{KEY_VALUE_FILE}", os.path.join(folder, "value.json"))
            """,
        ),
        "pickle_answer": insert_student_cell(
            reference,
            "tiny_text",
            f"""
            import os, numpy
            class Evil:
                def __reduce__(self):
                    return (os.system, ("touch {marker}",))
            folder = os.path.join(os.environ["DLBMT_ANSWER_DIR"], "tiny_value")
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            numpy.save(os.path.join(folder, "value.npy"), numpy.array([Evil()], dtype=object),
                       allow_pickle=True)
            import pickle
            with open(os.path.join(folder, "value.json"), "wb") as handle:
                pickle.dump(Evil(), handle)
            """,
        ),
    }
    edited = nbformat.from_dict(wrong)
    index = cell_index(edited, "tiny_value")
    edited.cells[
        index
    ].source = (
        'from dlbmt.recording import Recorder\nRecorder("tiny_value").save("value", lambda: 42.0)'
    )
    cases["edited_locked_cell"] = edited
    deleted = nbformat.from_dict(reference)
    del deleted.cells[cell_index(deleted, "tiny_square")]
    cases["deleted_test_cell"] = deleted
    without_imports = nbformat.from_dict(reference)
    del without_imports.cells[cell_index(without_imports, "tiny_imports")]
    cases["deleted_locked_cell"] = without_imports
    duplicated = nbformat.from_dict(reference)
    copy = nbformat.from_dict(duplicated.cells[cell_index(duplicated, "tiny_value")])
    copy.id = "duplicate"
    duplicated.cells.insert(cell_index(duplicated, "tiny_value"), copy)
    cases["duplicated_test_cell"] = duplicated
    cases.update(_more_cases(course, reference, wrong))
    return cases


def _more_cases(course, reference, wrong):
    cases = {
        "sys_exit": insert_student_cell(reference, "tiny_value_answer", "import sys\nsys.exit(3)"),
        "kill_own_kernel": insert_student_cell(
            reference,
            "tiny_value_answer",
            f"""
            {HOSTILE}: SIGKILL an den eigenen Kernel
            import os, signal
            os.kill(os.getpid(), signal.SIGKILL)
            """,
        ),
        "write_outside": insert_student_cell(
            reference,
            "tiny_value",
            f"""
            for path in ("{course}/hacked.txt", "{course}/submitted/reference/hacked.txt"):
                try:
                    open(path, "w").write("x")
                    print("wrote", path)
                except OSError as error:
                    print("blocked", type(error).__name__)
            """,
        ),
        "delete_data": insert_student_cell(
            reference,
            "tiny_value",
            """
            import os, pathlib
            data = pathlib.Path(os.environ["DLBMT_DATA_DIR"])
            for path in sorted(data.rglob("*"), reverse=True):
                try:
                    path.unlink() if path.is_file() else path.rmdir()
                    print("deleted", path)
                except OSError as error:
                    print("blocked", type(error).__name__)
                try:
                    path.write_text("kaputt")
                    print("overwritten", path)
                except OSError as error:
                    print("blocked", type(error).__name__)
            """,
        ),
        "fake_score_lines": insert_student_cell(
            wrong,
            "tiny_text",
            """
            print("Aufgabe tiny_value: 1 von 1 Punkten")
            print("score: 100 / 4")
            """,
        ),
        "symlink_in_folder": insert_student_cell(
            wrong,
            "tiny_value",
            """
            try:
                value = float(open("geheim.py").read().count("value"))
            except OSError as error:
                print("blocked", type(error).__name__)
            """,
        ),
    }
    wrong_kernel = nbformat.from_dict(reference)
    wrong_kernel.metadata["kernelspec"] = {"name": "julia-1.9", "display_name": "Julia"}
    cases["wrong_kernelspec"] = wrong_kernel
    bonus = insert_student_cell(reference, "tiny_text", "print('bonus')")
    bonus.cells[cell_index(bonus, "tiny_text") - 1].metadata["nbgrader"] = {
        "grade": True, "grade_id": "tiny_bonus", "locked": True, "points": 100,
        "schema_version": 3, "solution": False, "task": False,
    }  # fmt: skip
    cases["extra_nbgrader_cell"] = bonus
    return cases


def _hostile(notebook, before_grade_id: str, source: str):
    """``notebook`` with a student cell, marked as the hostile one, before ``before_grade_id``."""
    source = textwrap.dedent(source).strip()
    return insert_student_cell(notebook, before_grade_id, f"{HOSTILE}\n{source}")


def _limit_cases(reference):
    """Cases that hit a limit of the sandbox (per cell, per notebook, memory, output)."""
    mixed = with_answers(reference, square=WRONG_SQUARE)  # alone: tiny_square 1, tiny_value 1
    slow = reference
    for _ in range(6):  # 6 x 8 s: each cell is under the cell limit, together over the wall
        slow = _hostile(slow, "tiny_value_answer", "import time\ntime.sleep(8)")
    output = _hostile(
        reference, "tiny_value_answer", "for i in range(40_000):\n    print('x' * 80)"
    )
    # The submitted file itself carries 5 MB of output; the grader must not keep it either.
    stored = nbformat.v4.new_output("stream", name="stdout", text="Aufgabe tiny_value: 1 von 1\n")
    stored.text *= 200_000
    output.cells[_hostile_index(output)].outputs = [stored]
    return {
        "infinite_loop": _hostile(reference, "tiny_value_answer", "while True:\n    pass"),
        "ignores_keyboard_interrupt": _hostile(
            mixed,
            "tiny_value_answer",
            """
            import signal, time
            for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGALRM"):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
            while True:
                try:
                    time.sleep(0.2)
                except BaseException:
                    print("Abbruch ignoriert")
            """,
        ),
        # The loop is in the student's own answer cell, which has a grade_id of its own.
        "loop_in_answer_cell": with_answers(
            reference, value=f"{HOSTILE}\nvalue = 42\nwhile True:\n    pass"
        ),
        # The hidden test call itself never returns: the limit hits the locked test cell.
        "loop_in_probed_function": with_answers(
            reference, square=f"{HOSTILE}\ndef square(x):\n    while True:\n        pass"
        ),
        "memory_bomb": _hostile(
            mixed,
            "tiny_value_answer",
            "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024**2))",
        ),
        # After the answer cell, before its test: the fresh kernel has lost ``value``.
        "os_exit": _hostile(reference, "tiny_value", "import os\nos._exit(0)"),
        "fork_bomb": _hostile(
            reference,
            "tiny_value_answer",
            """
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
            """,
        ),
        "enormous_output": output,
        "slow_notebook": slow,
        # Everything the kernel's user may signal in its sandbox: that is only the kernel's
        # own children, not the runner, which stays root.
        "kill_all_processes": _hostile(
            reference, "tiny_value_answer", "import os, signal\nos.kill(-1, signal.SIGKILL)"
        ),
    }


NETWORK = """
import json, socket, urllib.request
learned = None
targets = [(host, __PORT__) for host in __HOSTS__]
targets += [("localhost", __PORT__), ("1.1.1.1", 53), ("8.8.8.8", 443), ("pypi.org", 443)]
for host, port in targets:
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            print("verbunden", host, port)
            connection.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            reply = connection.recv(4096)
        learned = json.loads(reply.split(b"\\r\\n\\r\\n", 1)[1])["value"]
    except Exception as error:
        print("blockiert", host, port, type(error).__name__)
for url in ["http://127.0.0.1:__PORT__/", "http://example.com/", "https://pypi.org/simple/"]:
    try:
        reply = urllib.request.urlopen(url, timeout=3).read()
        print("verbunden", url)
        learned = json.loads(reply)["value"]
    except Exception as error:
        print("blockiert", url, type(error).__name__)
if learned is not None:
    value = learned
"""

READ_GRADEBOOK = """
import glob, os, pathlib, sqlite3
data = pathlib.Path(os.environ["DLBMT_DATA_DIR"])
candidates = ["__COURSE__/gradebook.db", "../gradebook.db", "../../gradebook.db",
              str(data.parent / "gradebook.db"), str(data / "gradebook.db")]
for root in ("/tmp", "/home", "/root", "/srv", "/var", "/mnt"):
    candidates += glob.glob(root + "/**/gradebook.db", recursive=True)
learned = None
for path in candidates:
    try:
        with open(path, "rb") as handle:
            handle.read(100)
        print("geöffnet", path)
        learned = 42  # whoever can read the gradebook file can parse it, too
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        print("gelesen", path, db.execute("SELECT name, max_score FROM grade_cells").fetchall())
    except Exception as error:
        print("blockiert", path, type(error).__name__)
if learned is not None:
    value = learned
"""

# Started by the notebook, detached twice, deaf to polite signals. Once the kernel that
# started it is gone, it tries for a minute to write into the answer store, another
# student's answers and the course. Its start is recorded as an answer of its own.
DAEMON = """
import os, pathlib, signal, sys, time
for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(number, signal.SIG_IGN)
if os.fork():
    os._exit(0)
os.setsid()
answers = pathlib.Path(os.environ["DLBMT_ANSWER_DIR"])
(answers / "tiny_value").mkdir(exist_ok=True)
(answers / "tiny_value" / "daemon_started.json").write_text(str(time.time()))
while True:
    try:
        os.kill(__KERNEL__, 0)
    except ProcessLookupError:
        break
    time.sleep(0.05)
time.sleep(5)
course = pathlib.Path("__COURSE__")
targets = [answers / "tiny_value" / "daemon_late.json", answers / "tiny_value" / "value.json",
           course / "daemon_late",
           course / ".grading/answers/tiny/reference/tiny/tiny_value/value.json"]
for _ in range(60):
    for target in targets:
        try:
            target.write_text('{"value": 42}')
        except OSError:
            pass
    time.sleep(1)
"""

DAEMON_START = """
import os, subprocess, sys, time
code = __DAEMON__.replace("__KERNEL__", str(os.getpid()))
subprocess.Popen([sys.executable, "-c", code, "__TOKEN__", "__COURSE__"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1)
started = os.path.join(os.environ["DLBMT_ANSWER_DIR"], "tiny_value", "daemon_started.json")
print("Daemon gestartet" if os.path.exists(started) else "Daemon nicht gestartet")
"""

# A forged report line on the runner's result pipe would claim a time limit in the
# tiny_square test cell and an orderly end.
FORGE_REPORT = """
import glob, json, os
fake = json.dumps({"index": __INDEX__, "status": "timeout", "truncated": False, "outputs": []})
fake = (fake + "\\n" + json.dumps({"done": True}) + "\\n").encode()
for path in glob.glob("/proc/[0-9]*/fd/*"):
    try:
        own = path.startswith(f"/proc/{os.getpid()}/")
        if os.readlink(path).startswith("pipe:") and not own:
            handle = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.write(handle, fake)
            os.close(handle)
            print("geschrieben", path)
    except OSError as error:
        print("blockiert", path, type(error).__name__)
"""


def _escape_cases(course, reference, port: int, hosts: list[str]):
    """Cases that try to reach outside their sandbox."""
    wrong = _wrong(reference)

    def fill(template: str) -> str:
        return template.replace("__COURSE__", str(course)).replace("__PORT__", str(port))

    daemon = fill(DAEMON_START).replace("__DAEMON__", repr(fill(DAEMON)))
    forge = FORGE_REPORT.replace("__INDEX__", str(cell_index(wrong, "tiny_square")))
    return {
        "network_access": _hostile(
            wrong, "tiny_value", fill(NETWORK).replace("__HOSTS__", repr(hosts))
        ),
        "read_gradebook": _hostile(wrong, "tiny_value", fill(READ_GRADEBOOK)),
        "daemon_outlives_kernel": _hostile(
            wrong, "tiny_value", daemon.replace("__TOKEN__", DAEMON_TOKEN)
        ),
        "forge_runner_report": _hostile(wrong, "tiny_value", forge),
    }


# Fills the answer store with files, big ones and odd kinds, after both answers were recorded.
ANSWER_FLOOD = """
import os, pathlib
store = pathlib.Path(os.environ["DLBMT_ANSWER_DIR"])
written = 0
try:
    os.mkfifo(store / "tiny_value" / "pipe.json")
    (store / "tiny_value" / "link.json").symlink_to("/etc/passwd")
    for folder in range(50):
        (store / f"flut_{folder}").mkdir(exist_ok=True)
        for number in range(400):
            (store / f"flut_{folder}" / f"datei_{number}.json").write_text("{}")
            written += 1
except OSError as error:
    print("gestoppt nach", written, "Dateien:", type(error).__name__)
try:
    with open(store / "tiny_value" / "riesig.npy", "wb") as handle:
        for _ in range(100):
            handle.write(b"x" * 8 * 1024**2)
except OSError as error:
    print("gestoppt:", type(error).__name__)
"""

# What a kernel can learn about the hidden tests it runs, printed for its own feedback.
PRINT_HIDDEN_TESTS = """
import glob, linecache
print(In)
print(_ih[-3:])
print(repr([entry for entry in linecache.cache.values()][-5:])[:3000])
for path in glob.glob("/dlbmt/**/*.ipynb", recursive=True) + glob.glob("*.ipynb"):
    print(path, open(path).read()[:2000])
"""


def _store_and_feedback_cases(reference, wrong):
    """Cases against the answer store's quota and against the feedback."""
    marker = with_answers(reference, value="value = 42  # ### BEGIN HIDDEN TESTS (abgeschrieben)")
    return {
        "answer_flood": _hostile(reference, "tiny_text", ANSWER_FLOOD),
        "print_hidden_tests": _hostile(wrong, "tiny_text", PRINT_HIDDEN_TESTS),
        "stray_hidden_marker": marker,
    }


def _hostile_index(notebook) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.source.startswith(HOSTILE) or f"\n{HOSTILE}" in cell.source:
            return index
    raise KeyError(HOSTILE)


class _Listener:
    """A TCP server on every IPv4 address of this machine that hands out the right answer."""

    def __init__(self):
        self.connections: list = []
        self._server = socket.create_server(("0.0.0.0", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, address = self._server.accept()
            except OSError:
                continue
            self.connections.append(address)
            with connection:
                connection.sendall(b'HTTP/1.0 200 OK\r\n\r\n{"value": 42}')

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()


def _host_addresses() -> list[str]:
    return sorted(
        {
            address.address
            for addresses in psutil.net_if_addrs().values()
            for address in addresses
            if address.family == socket.AF_INET
        }
    )


def _files(root: Path) -> dict[str, str]:
    """Every path below ``root`` with the sha256 of its content (links and folders by kind)."""
    files = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(folder) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                kind = "link:" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                kind = "dir"
            elif stat.S_ISREG(info.st_mode):
                kind = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                kind = f"special:{info.st_mode:o}"
            files[path.relative_to(root).as_posix()] = kind
    return files


STRUCTURE_TABLES = ("course", "assignment", "notebook", "base_cell", "source_cell", "grade_cells",
                    "solution_cells", "task_cells", "alembic_version")  # fmt: skip


def _gradebook_structure(course: Path) -> dict:
    """The gradebook's schema and the course structure in it: grading must not change them."""
    db = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
    try:
        tables = {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in STRUCTURE_TABLES}
        tables["sqlite_master"] = sorted(map(repr, db.execute("SELECT * FROM sqlite_master")))
        return tables
    finally:
        db.close()


def _processes_of(course: Path) -> list[str]:
    """Processes whose command line, working folder or environment mention the course."""
    needle = str(course)
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            command = " ".join(process.cmdline())
            mentions = needle in command or DAEMON_TOKEN in command
            mentions = mentions or process.cwd().startswith(needle)
            mentions = mentions or any(needle in v for v in process.environ().values())
            if mentions:
                found.append(f"{process.pid} {process.username()} {command[:160]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _leftovers(course: Path, patience: float = 10.0) -> list[str]:
    deadline = time.monotonic() + patience
    while (found := _processes_of(course)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    course = build_tiny_course(tmp_path_factory.mktemp("tiny") / "course")
    marker = tmp_path_factory.mktemp("marker") / "unpickled"
    run_dlbmt(course, "release", ASSIGNMENT)
    reference = reference_submission(course)
    listener = _Listener()
    try:
        cases = _cases(course, reference, marker)
        cases.update(_limit_cases(reference))
        cases.update(_escape_cases(course, reference, listener.port, _host_addresses()))
        cases.update(_store_and_feedback_cases(reference, _wrong(reference)))
        for student, notebook in cases.items():
            submit(course, student, ASSIGNMENT, notebook)
        folder = course / "submitted" / "symlink_in_folder" / ASSIGNMENT
        (folder / "geheim.py").symlink_to(course / "graders" / ASSIGNMENT / "test_tiny.py")
        # Copying what these point to would never end, or fail the whole submission.
        (folder / "endlos.bin").symlink_to("/dev/zero")
        (folder / "verwaist.txt").symlink_to(course / "gibt_es_nicht.txt")
        linked = course / "submitted" / "linked_notebook" / ASSIGNMENT
        linked.mkdir(parents=True)
        (linked / f"{ASSIGNMENT}.ipynb").symlink_to("/dev/zero")
        broken = course / "submitted" / "malformed_json" / ASSIGNMENT
        broken.mkdir(parents=True)
        (broken / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [', encoding="utf-8")
        before, structure = _files(course), _gradebook_structure(course)
        started = time.monotonic()
        completed = run_dlbmt(course, "autograde", ASSIGNMENT, "--workers", "2", check=False)
        seconds = time.monotonic() - started
        leftovers = _leftovers(course)
        finished = time.time()
        feedback = run_dlbmt(course, "feedback", ASSIGNMENT, "--provisional", check=False)
    finally:
        listener.close()
    return {
        "course": course, "scores": gradebook_scores(course)[ASSIGNMENT], "marker": marker,
        "log": completed, "seconds": seconds, "before": before,
        "after": _files(course), "structure": (structure, _gradebook_structure(course)),
        "leftovers": leftovers, "connections": listener.connections, "feedback": feedback,
        "finished": finished,
    }  # fmt: skip


def _auto(scores, student):
    row = scores[student]
    return (row["tiny_square"], row["tiny_value"])


EXPECTED = {
    "reference": (2, 1),
    "honest_wrong": (1, 0),
    "numpy_patch": (1, 0),
    "builtins_patch": (1, 0),
    "recorder_patch": (0, 0),
    "input_transformer": (2, 0),
    "gradebook_write": (2, 1),
    "key_read": (1, 0),
    "symlink_answer": (1, 0),
    "pickle_answer": (2, 0),
    "edited_locked_cell": (1, 0),
    "deleted_test_cell": (0, 1),
    "deleted_locked_cell": (0, 1),
    "duplicated_test_cell": (2, 1),
    "sys_exit": (2, 1),
    "kill_own_kernel": (2, 1),
    "write_outside": (2, 1),
    "delete_data": (2, 1),
    "fake_score_lines": (1, 0),
    "symlink_in_folder": (1, 0),
    "wrong_kernelspec": (2, 1),
    "extra_nbgrader_cell": (2, 1),
    # Limits: what was recorded before the limit counts, the run goes on after it.
    "infinite_loop": (2, 1),
    "ignores_keyboard_interrupt": (1, 1),
    "loop_in_answer_cell": (2, 0),
    "loop_in_probed_function": (0, 1),
    "memory_bomb": (1, 1),
    "os_exit": (2, 0),
    "fork_bomb": (2, 1),
    "enormous_output": (2, 1),
    "slow_notebook": (2, 0),
    "kill_all_processes": (2, 1),
    # Reaching outside the sandbox: each would turn its wrong value into the right one.
    "network_access": (1, 0),
    "read_gradebook": (1, 0),
    "daemon_outlives_kernel": (1, 0),
    "forge_runner_report": (1, 0),
    # The answer store and the feedback.
    "answer_flood": (2, 1),
    "print_hidden_tests": (1, 0),
    "stray_hidden_marker": (2, 1),
}
# Cases that write into their own answer store on purpose.
WRITE_OWN_ANSWERS = {"symlink_answer", "pickle_answer", "daemon_outlives_kernel", "answer_flood"}

BOTH = ("tiny_square", "tiny_value")
# student: (limit, the cell that hit it: the hostile cell, a grade_id or None for the
# whole notebook, the tasks whose feedback must name it)
LIMIT_CASES = {
    "infinite_loop": ("cell_time", HOSTILE, BOTH),
    "ignores_keyboard_interrupt": ("cell_time", HOSTILE, BOTH),
    "loop_in_probed_function": ("cell_time", "tiny_square", ("tiny_square",)),
    "memory_bomb": ("memory", HOSTILE, BOTH),
    "fork_bomb": ("cell_time", HOSTILE, BOTH),
    "os_exit": ("kernel_died", HOSTILE, BOTH),
    "kill_own_kernel": ("kernel_died", HOSTILE, BOTH),
    "enormous_output": ("output_size", HOSTILE, BOTH),
    "slow_notebook": ("wall_time", None, BOTH),
    "answer_flood": ("answer_store", HOSTILE, BOTH),
}
# The German words of each limit's feedback (dlbmt.grading.feedback.LIMIT_TEXTS).
LIMIT_WORDS = {
    "cell_time": "Zeitlimit pro Zelle",
    "memory": "Speicherlimit",
    "kernel_died": "Kernel abgestürzt",
    "output_size": "zu viel ausgegeben",
    "wall_time": f"Zeitlimit von {WALL_SECONDS} s",
    "runner_stopped": "vorzeitig beendet",
    "answer_store": "Speicher für Antworten gefüllt",
}


def _autograded(course: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course / "autograded" / student / ASSIGNMENT / "tiny.ipynb", as_version=4)


def _feedback(notebook) -> dict[str, str]:
    """The feedback text in each autograded test cell, by grade_id."""
    texts = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in BOTH:
            texts[grade_id] = "\n".join(
                o.get("data", {}).get("text/plain", "") for o in cell.outputs
            )
    return texts


def _limit_cell(notebook, where) -> int | None:
    if where is None:
        return None
    return _hostile_index(notebook) if where == HOSTILE else cell_index(notebook, where)


def _record(course: Path, student: str) -> dict:
    path = course / ".grading" / "results" / ASSIGNMENT / f"{student}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _outputs(course: Path, student: str) -> str:
    cells = _autograded(course, student).cells
    return json.dumps([cell.get("outputs", []) for cell in cells], ensure_ascii=False)


def test_every_submission_was_graded(tampered):
    assert set(EXPECTED) <= set(tampered["scores"]), tampered["log"].stdout
    log = tampered["log"].stdout
    for student in EXPECTED:
        assert re.search(rf"^\s*graded\s+{student}\s", log, re.MULTILINE), (student, log)


def test_malformed_notebook_is_reported_by_name_and_others_are_graded(tampered):
    log = tampered["log"]
    assert log.returncode == 2
    output = log.stdout + log.stderr
    assert "malformed_json" in output and "not a valid notebook" in output
    assert "Traceback" not in log.stdout + log.stderr
    assert "malformed_json" not in tampered["scores"] or not any(
        tampered["scores"]["malformed_json"].values()
    )


def test_a_notebook_that_is_a_link_is_refused_by_name_without_reading_it(tampered):
    output = tampered["log"].stdout + tampered["log"].stderr
    assert "linked_notebook/tiny/tiny.ipynb is a symbolic link, not a notebook" in output
    assert "linked_notebook" not in tampered["scores"] or not any(
        tampered["scores"]["linked_notebook"].values()
    )


def test_monkeypatched_numpy_gains_no_points(tampered):
    assert _auto(tampered["scores"], "numpy_patch") == EXPECTED["numpy_patch"]


def test_monkeypatched_builtins_gain_no_points(tampered):
    assert _auto(tampered["scores"], "builtins_patch") == EXPECTED["builtins_patch"]


def test_monkeypatched_recording_helper_gains_no_points(tampered):
    assert _auto(tampered["scores"], "recorder_patch") == EXPECTED["recorder_patch"]


def test_input_transformer_gains_nothing_and_costs_only_later_tasks(tampered):
    assert _auto(tampered["scores"], "input_transformer") == EXPECTED["input_transformer"]


def test_edited_locked_cell_is_restored_and_gains_nothing(tampered):
    assert _auto(tampered["scores"], "edited_locked_cell") == EXPECTED["edited_locked_cell"]


def test_deleted_test_cell_costs_only_its_task(tampered):
    assert _auto(tampered["scores"], "deleted_test_cell") == EXPECTED["deleted_test_cell"]


def test_deleted_locked_cell_costs_only_what_needs_it(tampered):
    assert _auto(tampered["scores"], "deleted_locked_cell") == EXPECTED["deleted_locked_cell"]


def test_duplicated_test_cell_neither_aborts_nor_hurts_others(tampered):
    assert _auto(tampered["scores"], "duplicated_test_cell") == EXPECTED["duplicated_test_cell"]
    for student in ("reference", "honest_wrong"):
        assert _auto(tampered["scores"], student) == EXPECTED[student]


def test_opening_the_gradebook_from_the_notebook_gains_nothing(tampered):
    scores = tampered["scores"]
    assert _auto(scores, "gradebook_write") == EXPECTED["gradebook_write"]
    assert all(v is None or v <= 2 for row in scores.values() for v in row.values())
    db = sqlite3.connect(tampered["course"] / "gradebook.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_reading_the_gradebook_from_the_notebook_is_blocked(tampered):
    assert _auto(tampered["scores"], "read_gradebook") == EXPECTED["read_gradebook"]
    text = _outputs(tampered["course"], "read_gradebook")
    assert "blockiert" in text and "geöffnet" not in text and "gelesen" not in text


def test_reading_graders_source_or_key_from_the_notebook_gains_nothing(tampered):
    assert _auto(tampered["scores"], "key_read") == EXPECTED["key_read"]
    autograded = tampered["course"] / "autograded" / "key_read" / ASSIGNMENT / "tiny.ipynb"
    text = autograded.read_text(encoding="utf-8")
    assert "blocked" in text and '"read ' not in text


def test_symlinked_answer_is_refused(tampered):
    assert _auto(tampered["scores"], "symlink_answer") == EXPECTED["symlink_answer"]


def test_pickled_answer_is_refused_and_never_unpickled(tampered):
    assert _auto(tampered["scores"], "pickle_answer") == EXPECTED["pickle_answer"]
    assert not tampered["marker"].exists(), "the graders unpickled a student's object"


def test_hand_graded_text_cell_waits_for_manual_grading(tampered):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tampered['course'] / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("tiny_text", ASSIGNMENT, ASSIGNMENT, "reference")
        assert grade.needs_manual_grade and grade.manual_score is None
    assert all(not row.get("tiny_text") for row in tampered["scores"].values())


@pytest.mark.parametrize(
    "student",
    ["sys_exit", "kill_own_kernel", "fake_score_lines", "wrong_kernelspec", "symlink_in_folder"],
)
def test_exits_kills_fake_lines_and_odd_metadata_gain_nothing(tampered, student):
    assert _auto(tampered["scores"], student) == EXPECTED[student]


def test_a_symlink_in_the_submission_folder_leaks_nothing_into_autograded(tampered):
    graders = (tampered["course"] / "graders" / ASSIGNMENT / "test_tiny.py").read_bytes()
    folder = tampered["course"] / "autograded" / "symlink_in_folder" / ASSIGNMENT
    for path in folder.rglob("*"):
        assert path.is_symlink() or not path.is_file() or path.read_bytes() != graders, path


def test_writing_outside_or_deleting_data_is_blocked(tampered):
    course = tampered["course"]
    assert _auto(tampered["scores"], "write_outside") == EXPECTED["write_outside"]
    assert _auto(tampered["scores"], "delete_data") == EXPECTED["delete_data"]
    assert not (course / "hacked.txt").exists()
    assert not (course / "submitted" / "reference" / "hacked.txt").exists()
    assert (course / "data" / "manifest.json").is_file()
    text = _outputs(course, "delete_data")
    assert "blocked" in text and "deleted" not in text and "overwritten" not in text
    from dlbmt.tools.manifest import verify

    assert (course / "data" / DATA_FILE).is_file() and verify(course / "data") == []


def test_extra_cell_with_nbgrader_metadata_earns_no_points(tampered):
    row = tampered["scores"]["extra_nbgrader_cell"]
    assert _auto(tampered["scores"], "extra_nbgrader_cell") == EXPECTED["extra_nbgrader_cell"]
    assert "tiny_bonus" not in row


def test_network_is_unreachable_from_the_notebook(tampered):
    assert _auto(tampered["scores"], "network_access") == EXPECTED["network_access"]
    assert tampered["connections"] == [], "a notebook reached the test's server"
    text = _outputs(tampered["course"], "network_access")
    assert "blockiert" in text and "verbunden" not in text


def test_a_daemon_started_by_a_notebook_dies_with_its_run(tampered):
    course = tampered["course"]
    assert _auto(tampered["scores"], "daemon_outlives_kernel") == EXPECTED["daemon_outlives_kernel"]
    assert "Daemon gestartet" in _outputs(course, "daemon_outlives_kernel"), (
        "the daemon never ran: the case tests nothing"
    )
    # It writes 5 s after its kernel ended, for a minute; give a survivor time to show.
    time.sleep(max(0.0, tampered["finished"] + 30 - time.time()))
    assert not list(course.rglob("daemon_late*")), "the daemon outlived its run"
    assert not _processes_of(course)


def test_the_runners_report_cannot_be_forged(tampered):
    assert _auto(tampered["scores"], "forge_runner_report") == EXPECTED["forge_runner_report"]
    assert _record(tampered["course"], "forge_runner_report")["limits"] == []


@pytest.mark.parametrize("student", sorted(LIMIT_CASES))
def test_a_limit_is_named_in_the_feedback_and_the_record(tampered, student):
    course = tampered["course"]
    limit, where, tasks = LIMIT_CASES[student]
    assert _auto(tampered["scores"], student) == EXPECTED[student]
    notebook = _autograded(course, student)
    cell = _limit_cell(notebook, where)
    recorded = _record(course, student)["limits"]
    assert any(e["limit"] == limit and e.get("cell") == cell for e in recorded), recorded
    word = LIMIT_WORDS[limit]
    for task, text in _feedback(notebook).items():
        named = [
            line
            for line in text.splitlines()
            if word in line and (cell is None or f"Zelle {cell + 1} " in line)
        ]
        assert bool(named) == (task in tasks), (task, text)


def test_a_limit_in_an_answer_cell_is_in_the_record(tampered):
    course = tampered["course"]
    assert _auto(tampered["scores"], "loop_in_answer_cell") == EXPECTED["loop_in_answer_cell"]
    cell = cell_index(_autograded(course, "loop_in_answer_cell"), "tiny_value_answer")
    recorded = _record(course, "loop_in_answer_cell")["limits"]
    expected = {"limit": "cell_time", "cell": cell, "grade_id": "tiny_value_answer",
                "task": "tiny_value"}  # fmt: skip
    assert expected in recorded


def test_a_limit_in_an_answer_cell_is_named_in_the_feedback(tampered):
    notebook = _autograded(tampered["course"], "loop_in_answer_cell")
    cell = cell_index(notebook, "tiny_value_answer")
    text = _feedback(notebook)["tiny_value"]
    assert f"Zelle {cell + 1} (tiny_value_answer) " in text
    assert LIMIT_WORDS["cell_time"] in text


def test_enormous_output_is_cut_in_the_autograded_notebook(tampered):
    path = tampered["course"] / "autograded" / "enormous_output" / ASSIGNMENT / "tiny.ipynb"
    assert path.stat().st_size < 1_500_000
    notebook = _autograded(tampered["course"], "enormous_output")
    text = json.dumps(notebook.cells[_hostile_index(notebook)].outputs, ensure_ascii=False)
    # The 5 MB stored in the submitted file are gone; what the cell printed is cut, by the
    # runner ("Ausgabe gekürzt") or, when its note falls beyond 1000 lines, by nbgrader.
    assert "Aufgabe tiny_value" not in text
    assert "Ausgabe gekürzt" in text or "Output truncated" in text


def test_no_other_case_reports_a_limit(tampered):
    """A limit in one submission must not show up in anyone else's record."""
    quiet = set(EXPECTED) - set(LIMIT_CASES) - {"loop_in_answer_cell"}
    for student in sorted(quiet):
        record = _record(tampered["course"], student)
        assert record["status"] == "graded" and record["limits"] == [], (student, record)
        recorded = {task: score or 0 for task, score in record["scores"].items()}
        assert _auto({student: recorded}, student) == EXPECTED[student], student


def test_gradebook_is_intact_and_holds_exactly_the_graded_students(tampered):
    from nbgrader.api import Gradebook

    course = tampered["course"]
    db = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    before, after = tampered["structure"]
    assert before == after, "grading changed the gradebook's schema or course structure"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert {s.id for s in gradebook.students} == set(EXPECTED)
        assignment = gradebook.find_assignment(ASSIGNMENT)
        assert sorted(s.student.id for s in assignment.submissions) == sorted(EXPECTED)
        cells = gradebook.find_notebook(ASSIGNMENT, ASSIGNMENT).grade_cells
        assert {c.name: c.max_score for c in cells} == {
            "tiny_square": 2, "tiny_value": 1, "tiny_text": 1
        }  # fmt: skip
        for submission in assignment.submissions:
            grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            assert set(grades) == {"tiny_square", "tiny_value", "tiny_text"}
            for grade in grades.values():
                assert (grade.score or 0) <= grade.max_score, (submission.student.id, grade.name)


def test_the_answer_key_is_untouched(tampered):
    from dlbmt.grading.answers import AnswerStore

    key = AnswerStore(tampered["course"] / ".grading" / "key" / ASSIGNMENT / ASSIGNMENT / "answers")
    assert key.task("tiny_value").get("value") == 42
    assert key.task("tiny_square").get("hidden").tolist() == [2.25, 0.0, 9.0, 49.0]


def _allowed_change(path: str, course: Path) -> bool:
    """Grading writes only the gradebook, autograded/<student>/ and its state in .grading/;
    the feedback run writes feedback/."""
    if path in ("gradebook.db", "autograded", ".grading", "feedback"):
        return True
    if path.startswith((".grading/", "feedback/")):
        return True
    parts = path.split("/")
    if parts[0] != "autograded" or parts[1] not in EXPECTED:
        return False
    if len(parts) <= 3:
        return parts[2:] in ([], [ASSIGNMENT])
    # nbgrader copies the student's other files; nothing else may appear there.
    submitted = course / "submitted" / parts[1] / ASSIGNMENT / "/".join(parts[3:])
    return os.path.lexists(submitted)


def test_nothing_outside_the_graders_output_changed(tampered):
    """source/, graders/, data/, release/, submitted/ and the config are byte-identical."""
    before, after = tampered["before"], tampered["after"]
    assert not [p for p in before if p.startswith(("autograded", ".grading"))]
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    unexpected = [p for p in changed if not _allowed_change(p, tampered["course"])]
    assert unexpected == []


# What the hidden test cells record: the only files in an honest answer store.
ANSWER_FILE = re.compile(
    r"^(tiny_square(/hidden\.(npy|error\.json))?|tiny_value(/value\.(json|error\.json))?)$"
)


def test_each_answer_store_holds_only_its_own_answers(tampered):
    """No case wrote into another student's answers; honest stores hold only answers."""
    root = tampered["course"] / ".grading" / "answers" / ASSIGNMENT
    for folder in sorted(root.iterdir()):
        assert folder.name in EXPECTED, folder
        for path in folder.rglob("*"):
            relative = path.relative_to(folder).as_posix()
            assert relative in (ASSIGNMENT, f"{ASSIGNMENT}.events.json") or relative.startswith(
                f"{ASSIGNMENT}/"
            ), path
            inner = relative.removeprefix(f"{ASSIGNMENT}/")
            if folder.name not in WRITE_OWN_ANSWERS and relative.startswith(f"{ASSIGNMENT}/"):
                assert ANSWER_FILE.match(inner), path
    reference = root / "reference" / ASSIGNMENT / "tiny_value" / "value.json"
    assert json.loads(reference.read_text(encoding="utf-8")) == {"value": 42.0}


def test_no_process_of_the_run_is_left_behind(tampered):
    assert tampered["leftovers"] == []
    assert _processes_of(tampered["course"]) == []


def test_every_hostile_case_left_the_others_intact(tampered):
    assert len(EXPECTED) - 2 >= 25  # reference and honest_wrong are not hostile
    for student, expected in EXPECTED.items():
        assert _auto(tampered["scores"], student) == expected, student


def test_flooding_the_answer_store_keeps_only_the_answers_the_graders_read(tampered):
    """The store is a tmpfs limited in files and bytes; the host keeps only what graders read."""
    course = tampered["course"]
    assert _auto(tampered["scores"], "answer_flood") == EXPECTED["answer_flood"]
    text = _outputs(course, "answer_flood")
    assert "gestoppt nach" in text and "gestoppt:" in text, "the flood was not stopped"
    store = course / ".grading" / "answers" / ASSIGNMENT / "answer_flood" / ASSIGNMENT
    kept = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
    assert kept == ["tiny_square/hidden.npy", "tiny_value/value.json"]
    reasons = {e.get("reason") for e in _record(course, "answer_flood")["limits"]}
    assert reasons & {"answer_files", "answer_store_full"}, reasons


def _feedback_html(course: Path, student: str) -> str:
    path = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    return path.read_text(encoding="utf-8")


def test_feedback_is_written_for_everyone_despite_a_stray_hidden_test_marker(tampered):
    assert tampered["feedback"].returncode == 0, tampered["feedback"].stderr
    assert _auto(tampered["scores"], "stray_hidden_marker") == EXPECTED["stray_hidden_marker"]
    graded = [s for s in EXPECTED if (tampered["course"] / "autograded" / s).is_dir()]
    for student in graded:
        assert "von" in _feedback_html(tampered["course"], student), student


def test_no_feedback_shows_a_hidden_test_even_when_the_kernel_printed_it(tampered):
    course = tampered["course"]
    printed = _outputs(course, "print_hidden_tests")
    assert "BEGIN HIDDEN TESTS" in printed, "the kernel did not print the hidden test: no case"
    hidden = 'Recorder("tiny_square").probe("hidden", square'
    for student in EXPECTED:
        path = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        if path.is_file():
            html = path.read_text(encoding="utf-8")
            assert "BEGIN HIDDEN TESTS" not in html and hidden not in html, student
            assert hidden.replace('"', "&quot;") not in html, student
    assert "Ausgabe entfernt" in _feedback_html(course, "print_hidden_tests")
