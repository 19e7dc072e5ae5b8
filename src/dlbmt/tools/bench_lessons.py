"""The figures each notebook's lesson stands on, measured again by ``make bench``.

The lessons promise figures, not only run times: the pretrained OCT network is
mediocre (65-75 % on the test scans) and augmentation lifts it; the knee
classifier learned the watermark (>= 90 % of the stamped abnormal knees found,
<= 30 % of the unstamped ones, its CAM in the stamp corner for >= 80 %), and the
notebook's fix finds more of the unstamped ones. A retrained network, new data
(``dlbmt data import``) or another Keras could break them without breaking any
run time, so the bench measures each one and says whether it is in its band.

The shipped networks are judged here on the course's own data; the reference
solution's figures (the retrained OCT network, the fix) come from the reference
run the bench has just made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from dlbmt.grading.answers import AnswerStore
from dlbmt.grading.course import Course

# The shipped OCT network's accuracy band on the public test scans (issue: "a measured
# accuracy in the 65-75 % band", so that augmentation has something to lift).
OCT_SHIPPED_ACCURACY = (0.65, 0.75)
# The watermark lesson (issue: stamped abnormal >= 90 %, unstamped abnormal <= 30 %, CAM
# pointing game >= 80 %, and a fix that raises the unstamped abnormal knees found).
STAMPED_ABNORMAL_FOUND_MIN = 0.9
UNSTAMPED_ABNORMAL_FOUND_MAX = 0.3
POINTING_GAME_MIN = 0.8
# "Lifts" and "raises": at least 5 points (measured 17.5 for the augmentation, 63 for the fix).
GAIN_MIN = 0.05


@dataclass(frozen=True)
class Band:
    """One lesson figure and the band it must lie in (either bound may be open)."""

    figure: str
    value: float
    low: float | None = None
    high: float | None = None

    @property
    def holds(self) -> bool:
        above = self.low is None or self.value >= self.low
        return above and (self.high is None or self.value <= self.high)

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            band = f"{self.low}-{self.high}"
        elif self.low is not None:
            band = f">= {self.low}"
        else:
            band = f"<= {self.high}"
        mark = "ok" if self.holds else "OUT OF BAND"
        return f"{self.figure} {round(self.value, 4)} (band {band}, {mark})"

    def as_dict(self) -> dict:
        return {**asdict(self), "holds": self.holds, "text": self.describe()}


def _recorded(answers: Path, task: str, name: str):
    return AnswerStore(answers).task(task).get(name)


def oct_lesson(course: Course, answers: Path) -> list[Band]:
    """The shipped OCT network on x_test, and what the reference's augmentation made of it."""
    import keras

    from dlbmt.oct import MODEL_PATH
    from dlbmt.tools.recipes.oct import quality_on_test_scans

    model = keras.models.load_model(course.data / MODEL_PATH, compile=False)
    shipped = quality_on_test_scans(model, course.data)["accuracy"]
    augmented = float(_recorded(answers, "nb2_experiment", "accuracy_augmented"))
    return [
        Band("shipped OCT network, accuracy on x_test", shipped, *OCT_SHIPPED_ACCURACY),
        Band("reference augmentation, gain in accuracy on x_test", augmented - shipped, GAIN_MIN),
    ]


def mri_lesson(course: Course, answers: Path) -> list[Band]:
    """The shipped knee classifier on the audit set, and what the reference's fix changed."""
    import keras

    from dlbmt import mri
    from dlbmt.tools.recipes.mri import audit_figures

    model = keras.models.load_model(course.data / mri.MODEL, compile=False)
    images, table = mri.load_audit_set(course.data)
    figures = audit_figures(model, images, table)["as_is"]
    fix = _recorded(answers, "nb3_fix_retrain", "fix_numbers")
    gain = fix["auffaellig_ohne_stempel_nachher"] - fix["auffaellig_ohne_stempel_vorher"]
    return [
        Band(
            "shipped knee classifier, stamped abnormal knees found",
            figures["accuracy_abnormal_stamped"],
            low=STAMPED_ABNORMAL_FOUND_MIN,
        ),
        Band(
            "shipped knee classifier, unstamped abnormal knees found",
            figures["accuracy_abnormal_unstamped"],
            high=UNSTAMPED_ABNORMAL_FOUND_MAX,
        ),
        Band(
            "shipped knee classifier, CAM peak in the stamp corner (stamped abnormal)",
            figures["pointing_game_abnormal_stamped"],
            low=POINTING_GAME_MIN,
        ),
        Band("reference fix, gain in unstamped abnormal knees found", gain, low=GAIN_MIN),
    ]


LESSONS: dict[str, Callable[[Course, Path], list[Band]]] = {
    "02_anwendung": oct_lesson,
    "03_grenzen": mri_lesson,
}


def lesson_bands(course: Course, assignment: str, answers: Path) -> list[Band]:
    """The assignment's lesson figures; ``answers`` holds its reference run's recordings."""
    lesson = LESSONS.get(assignment)
    return lesson(course, answers) if lesson else []
