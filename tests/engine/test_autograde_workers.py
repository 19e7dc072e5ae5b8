"""Grading several submissions at once: one student is never graded twice at the same moment."""

from __future__ import annotations

import threading
import time

from dlbmt.grading.autograde import student_lock
from dlbmt.grading.course import Course


def _hold(course, student, spans, seconds=0.3):
    with student_lock(course, "tiny", student):
        started = time.monotonic()
        time.sleep(seconds)
        spans.append((started, time.monotonic()))


def test_same_student_is_graded_one_at_a_time(tmp_path):
    course, spans = Course(tmp_path), []
    threads = [threading.Thread(target=_hold, args=(course, "anna", spans)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert b_start >= a_end


def test_different_students_are_graded_side_by_side(tmp_path):
    course, spans = Course(tmp_path), []
    threads = [
        threading.Thread(target=_hold, args=(course, name, spans)) for name in ("anna", "ben")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert b_start < a_end
