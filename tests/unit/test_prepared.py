"""Held-out data made once by the coordinator and read by every grader process."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from dlbmt.grading import prepared
from dlbmt.grading.course import Course
from dlbmt.grading.graders import _prepared_for_graders


def _never(*parameters):
    raise AssertionError("drawn although a prepared file was there")


@pytest.fixture
def source(tmp_path):
    maker = tmp_path / "maker.py"
    maker.write_text("# the generator\n", encoding="utf-8")
    return maker


def _drawn(seed, size):
    return {"x": np.arange(size) + seed, "y": np.eye(2)}


def test_a_grader_reads_what_the_coordinator_stored(tmp_path, source, monkeypatch):
    prepared.HeldOut("knees", _drawn, (source,)).store(tmp_path, 7, 100)
    monkeypatch.setenv(prepared.PREPARED_VARIABLE, str(tmp_path))
    arrays = prepared.HeldOut("knees", _never, (source,)).get(7, 100)
    assert set(arrays) == {"x", "y"}
    assert np.array_equal(arrays["x"], np.arange(100) + 7) and np.array_equal(
        arrays["y"], np.eye(2)
    )


@pytest.mark.parametrize("change", ["seed", "parameter", "source", "no folder"])
def test_anything_else_is_drawn_afresh(tmp_path, source, monkeypatch, change):
    prepared.HeldOut("knees", lambda seed, size: {"x": np.zeros(3)}, (source,)).store(
        tmp_path, 7, 3
    )
    monkeypatch.setenv(prepared.PREPARED_VARIABLE, str(tmp_path))
    parameters = {"seed": (8, 3), "parameter": (7, 2)}.get(change, (7, 3))
    if change == "source":
        source.write_text("# the generator, changed\n", encoding="utf-8")
    if change == "no folder":
        monkeypatch.delenv(prepared.PREPARED_VARIABLE)
    arrays = prepared.HeldOut("knees", lambda seed, size: {"x": np.ones(3)}, (source,)).get(
        *parameters
    )
    assert np.array_equal(arrays["x"], np.ones(3))


def test_store_makes_each_file_once(tmp_path, source):
    folder = tmp_path / "prepared"
    folder.mkdir()
    first = prepared.HeldOut("knees", _drawn, (source,)).store(folder, 1, 2)
    again = prepared.HeldOut("knees", _never, (source,)).store(folder, 1, 2)
    assert first == again and [p.name for p in folder.iterdir()] == [first.name]


def _course_with_hook(root, body: str) -> Course:
    """A course whose assignment "a" has a held-out module with ``body`` as its hook."""
    course = Course(root)
    (course.graders / "a").mkdir(parents=True)
    (course.graders / "a" / "a_heldout.py").write_text(
        f"def prepare_heldout(seed, folder):\n    {body}\n", encoding="utf-8"
    )
    (course.graders / "a" / "test_a.py").write_text("raise RuntimeError('not imported')\n")
    return course


def test_prepare_runs_the_graders_heldout_hooks_with_the_secret(tmp_path):
    course = _course_with_hook(tmp_path, "(folder / 'seen.json').write_text(str(seed))")
    seed = json.loads(course.secret_file().read_text(encoding="utf-8"))["heldout_seed"]
    folder = prepared.prepare(course, "a")
    assert (folder / "seen.json").read_text() == str(seed)


def test_prepare_hooks_see_the_course_data_as_the_graders_do(tmp_path, monkeypatch):
    from dlbmt.settings import DATA_DIR_VARIABLE

    monkeypatch.setenv(DATA_DIR_VARIABLE, "/elsewhere")
    course = _course_with_hook(
        tmp_path,
        "from dlbmt.settings import data_dir; (folder / 'data.txt').write_text(str(data_dir()))",
    )
    course.data.mkdir()
    folder = prepared.prepare(course, "a")
    assert (folder / "data.txt").read_text() == str(course.data)
    assert os.environ[DATA_DIR_VARIABLE] == "/elsewhere"


def test_prepare_removes_the_stored_files_that_no_hook_asked_for(tmp_path):
    hook = (
        "import numpy as np; from dlbmt.grading.prepared import HeldOut; "
        "(folder / 'notes.txt').write_text('kept'); "
        "[HeldOut(name, lambda s: {{'x': np.zeros(2)}}, ()).store(folder, seed) "
        "for name in {names}]"
    )
    course = _course_with_hook(tmp_path, hook.format(names=["knees", "figures"]))
    folder = prepared.prepare(course, "a")
    first = sorted(p.name for p in folder.glob("*.npz"))
    assert len(first) == 2
    figures = next(folder.glob("figures-*.npz"))
    made = figures.stat().st_mtime_ns
    # Another generator: the hook no longer stores "knees"; "figures" stays as it was.
    (course.graders / "a" / "a_heldout.py").write_text(
        "def prepare_heldout(seed, folder):\n    " + hook.format(names=["figures"]) + "\n",
        encoding="utf-8",
    )
    (folder / ".knees-partial.npz").write_bytes(b"")  # another run's file being written
    prepared.prepare(course, "a")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [figures.name, ".knees-partial.npz", "notes.txt"]
    )
    assert figures.stat().st_mtime_ns == made


def test_graders_get_a_read_only_copy_of_the_prepared_files_only(tmp_path):
    course = Course(tmp_path / "course")
    folder = prepared.folder_of(course, "a")
    folder.mkdir(parents=True)
    np.save(folder / "ignored.npy", np.zeros(1))
    (folder / ".half-written.npz").write_bytes(b"")
    np.savez(folder / "knees-1.npz", x=np.zeros(1))
    copy = _prepared_for_graders(course, "a", tmp_path / "prepared", uid=None)
    assert [p.name for p in copy.iterdir()] == ["knees-1.npz"]
    assert stat.S_IMODE((copy / "knees-1.npz").stat().st_mode) == 0o400
    assert stat.S_IMODE(copy.stat().st_mode) == 0o500


def test_without_prepared_data_the_graders_get_an_empty_folder(tmp_path):
    copy = _prepared_for_graders(Course(tmp_path / "course"), "a", tmp_path / "prepared", None)
    assert list(copy.iterdir()) == []


_STORE_A_KERAS_FIGURE = """
import sys
from pathlib import Path

import numpy as np

from dlbmt.grading.prepared import HeldOut


def draw():
    import tensorflow as tf

    return {"x": np.asarray(tf.zeros(2) + 1)}


HeldOut("figures", draw, (), tensorflow=sys.argv[2] == "True").store(Path(sys.argv[1]))
"""


def _stderr_of_storing(folder, tensorflow: bool) -> str:
    """What a fresh coordinator process writes to its error stream while it stores the figure."""
    import subprocess
    import sys

    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    completed = subprocess.run(
        [sys.executable, "-c", _STORE_A_KERAS_FIGURE, str(folder), str(tensorflow)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len(list(folder.glob("figures-*.npz"))) == 1
    return completed.stderr


def test_held_out_data_made_with_tensorflow_keep_the_coordinators_error_stream_clean(tmp_path):
    """TensorFlow's start-up lines ("oneDNN custom operations are on") read like a failure."""
    assert _stderr_of_storing(tmp_path / "flagged", tensorflow=True) == ""
    # The control: without the flag, this machine's TensorFlow does print them.
    unflagged = _stderr_of_storing(tmp_path / "unflagged", tensorflow=False)
    if not unflagged:
        pytest.skip("TensorFlow prints no start-up lines on this machine; nothing to hide")
