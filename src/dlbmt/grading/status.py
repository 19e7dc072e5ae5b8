"""The names grading decides by: the limits a run can hit and what became of a submission.

Both are string enums, so records and events stay plain JSON and compare equal
to their names ("cell_time"), while the code cannot misspell them.
"""

from __future__ import annotations

from enum import StrEnum


class Limit(StrEnum):
    """A limit a notebook run hit; the feedback names it in German."""

    CELL_TIME = "cell_time"
    WALL_TIME = "wall_time"
    MEMORY = "memory"
    KERNEL_DIED = "kernel_died"
    OUTPUT_SIZE = "output_size"
    RUNNER_STOPPED = "runner_stopped"
    ANSWER_STORE = "answer_store"


class Status(StrEnum):
    """What ``dlbmt autograde`` did with a submission."""

    GRADED = "graded"
    UP_TO_DATE = "up to date"  # its record is current and in the gradebook
    MERGED = "merged"  # its record is current and was merged into the gradebook
    FAILED = "failed"  # grading failed; tried once more
    UNREADABLE = "unreadable"  # the submitted notebook cannot be read; not tried again

    @property
    def kept(self) -> bool:
        return self in (Status.UP_TO_DATE, Status.MERGED)
