"""Hostile submissions gain nothing: each case asserts the exact points it gets.

All cases run in one autograde of the tiny course. A wrong answer alone scores
``tiny_square`` 1 of 2 (right shape, wrong values) and ``tiny_value`` 0 of 1.
"""

from __future__ import annotations

import sqlite3

import nbformat
import pytest
from course_tools import gradebook_scores, run_dlbmt, submit
from tiny_course import (
    ASSIGNMENT,
    build_tiny_course,
    cell_index,
    insert_student_cell,
    reference_submission,
    with_answers,
)

WRONG_SQUARE = "def square(x):\n    return np.asarray(x, dtype=float) * 2"
WRONG_VALUE = "value = 41"
KEY_VALUE_FILE = ".grading/key/tiny/tiny/answers/tiny_value/value.json"


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
            import dlbmt.recording, dlbmt.answers
            dlbmt.recording.Recorder.save = lambda self, name, get: None
            dlbmt.answers.write_answer = lambda *a, **k: None
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
            """
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
            for path in data.rglob("*"):
                try:
                    path.unlink()
                    print("deleted", path)
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


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    course = build_tiny_course(tmp_path_factory.mktemp("tiny") / "course")
    marker = tmp_path_factory.mktemp("marker") / "unpickled"
    run_dlbmt(course, "release", ASSIGNMENT)
    reference = reference_submission(course)
    for student, notebook in _cases(course, reference, marker).items():
        submit(course, student, ASSIGNMENT, notebook)
    folder = course / "submitted" / "symlink_in_folder" / ASSIGNMENT
    (folder / "geheim.py").symlink_to(course / "graders" / ASSIGNMENT / "test_tiny.py")
    broken = course / "submitted" / "malformed_json" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text('{"cells": [', encoding="utf-8")
    completed = run_dlbmt(course, "autograde", ASSIGNMENT, "--workers", "2", check=False)
    scores = gradebook_scores(course)[ASSIGNMENT]
    return {"course": course, "scores": scores, "marker": marker, "log": completed}


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
    "duplicated_test_cell": (2, 1),
    "sys_exit": (2, 1),
    "kill_own_kernel": (2, 1),
    "write_outside": (2, 1),
    "delete_data": (2, 1),
    "fake_score_lines": (1, 0),
    "symlink_in_folder": (1, 0),
    "wrong_kernelspec": (2, 1),
    "extra_nbgrader_cell": (2, 1),
}


def test_every_submission_was_graded(tampered):
    assert set(EXPECTED) <= set(tampered["scores"]), tampered["log"].stdout


def test_malformed_notebook_is_reported_by_name_and_others_are_graded(tampered):
    log = tampered["log"]
    assert log.returncode == 2
    output = log.stdout + log.stderr
    assert "malformed_json" in output and "not a valid notebook" in output
    assert "Traceback" not in log.stdout + log.stderr
    assert "malformed_json" not in tampered["scores"] or not any(
        tampered["scores"]["malformed_json"].values()
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


@pytest.mark.parametrize(
    "student",
    ["sys_exit", "kill_own_kernel", "fake_score_lines", "wrong_kernelspec", "symlink_in_folder"],
)
def test_exits_kills_fake_lines_and_odd_metadata_gain_nothing(tampered, student):
    assert _auto(tampered["scores"], student) == EXPECTED[student]


def test_writing_outside_or_deleting_data_is_blocked(tampered):
    course = tampered["course"]
    assert _auto(tampered["scores"], "write_outside") == EXPECTED["write_outside"]
    assert _auto(tampered["scores"], "delete_data") == EXPECTED["delete_data"]
    assert not (course / "hacked.txt").exists()
    assert not (course / "submitted" / "reference" / "hacked.txt").exists()
    assert (course / "data" / "manifest.json").is_file()


def test_extra_cell_with_nbgrader_metadata_earns_no_points(tampered):
    row = tampered["scores"]["extra_nbgrader_cell"]
    assert _auto(tampered["scores"], "extra_nbgrader_cell") == EXPECTED["extra_nbgrader_cell"]
    assert "tiny_bonus" not in row


def test_every_hostile_case_left_the_others_intact(tampered):
    assert len(EXPECTED) >= 21
    for student, expected in EXPECTED.items():
        assert _auto(tampered["scores"], student) == expected, student
