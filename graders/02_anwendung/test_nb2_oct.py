"""Task 2b: diagnosis by eye, the pretrained OCT network and reading its softmax output.

The truth of Bild 1-4 is the answer key (the source notebook's diagnoses); the
shipped network's outputs come from the model in data/, computed once per grading
run by the coordinator (nb2_heldout), never from the kernel.
"""

import numpy as np
import pytest
from nb2_heldout import (
    COMPARE_PER_CLASS,
    as_batch,
    heldout_scans,
    shipped_on_course_scans,
    shipped_on_new_scans,
)

from dlbmt.grading.judging import keras_model, predict
from dlbmt.oct import CLASSES

# Recorded outputs and the graders' own come from the same shipped float32 model on the same
# images; other batch sizes or CPUs change softmax values by ~1e-6 at most.
SOFTMAX_TOLERANCE = 1e-4
# Half of the four images: a diagnosis that gets two of them right shows the classes were
# told apart at least roughly, as the task asks ("eine grobe Einschätzung").
MIN_CORRECT_DIAGNOSES = 2


def _class_names(values, what: str) -> list[str]:
    assert isinstance(values, list) and len(values) == 4, (
        f"{what} soll genau vier Klassennamen enthalten, einen je Bild."
    )
    return [str(v).strip().upper() for v in values]


def _hits(answers, key) -> int:
    given = _class_names(answers.get("diagnoses"), "diagnosen")
    truth = _class_names(key.get("diagnoses"), "diagnosen")
    return sum(g == t for g, t in zip(given, truth, strict=True))


@pytest.mark.task("nb2_oct_diagnosis", points=1)
def test_most_diagnoses_are_right(answers, key):
    """Mindestens zwei der vier Diagnosen richtig."""
    assert _hits(answers, key) >= MIN_CORRECT_DIAGNOSES, (
        "Weniger als zwei Diagnosen stimmen. Vergleichen Sie jedes Bild mit den Beispielbildern: "
        "Erhebungen des hellen RPE-Bandes, dunkle Hohlräume in der Netzhaut, eine helle Läsion "
        "unter der Netzhaut mit Flüssigkeit?"
    )


@pytest.mark.task("nb2_oct_diagnosis", points=1)
def test_all_diagnoses_are_right(answers, key):
    """Alle vier Diagnosen richtig."""
    assert _hits(answers, key) == 4, (
        "Nicht alle vier Diagnosen stimmen. Achten Sie darauf, dass die Bilder gespiegelt, gekippt "
        "oder anders hell sein können als die Beispielbilder."
    )


def _shipped_on_samples() -> np.ndarray:
    return shipped_on_course_scans()["samples"]


def _shipped_classes() -> list[str]:
    return [CLASSES[int(k)] for k in np.argmax(_shipped_on_samples(), axis=1)]


@pytest.mark.task("nb2_oct_predict", points=1)
def test_model_is_the_pretrained_network(answers, key, heldout_seed):
    """oct_model rechnet wie das vortrainierte Netz aus OCT_MODEL, auch auf neuen Scans."""
    model = keras_model(answers.get("model"), "oct_model")
    images, _ = heldout_scans(heldout_seed, per_class=COMPARE_PER_CLASS)
    given = predict(model, as_batch(images))
    expected = shipped_on_new_scans(heldout_seed)
    assert given.shape == expected.shape, (
        "oct_model liefert für OCT-Scans nicht eine Zeile mit vier Wahrscheinlichkeiten je Bild."
    )
    assert np.allclose(given, expected, atol=SOFTMAX_TOLERANCE), (
        "oct_model rechnet anders als das vortrainierte Netz. Laden Sie es mit "
        "keras.models.load_model(OCT_MODEL), ohne es danach zu trainieren."
    )


@pytest.mark.task("nb2_oct_predict", points=1)
def test_softmax_output_for_the_four_images(answers, key):
    """vorhersage ist die Softmax-Ausgabe des vortrainierten Netzes für Bild 1 bis 4."""
    given = np.asarray(answers.get("softmax"), dtype=float)
    expected = _shipped_on_samples()
    assert given.shape == expected.shape, (
        "vorhersage soll die Form (4 Bilder, 4 Klassen) haben: ein predict-Aufruf für alle Bilder."
    )
    assert np.allclose(given, expected, atol=SOFTMAX_TOLERANCE), (
        "vorhersage stimmt nicht mit der Ausgabe des vortrainierten Netzes für die vier Bilder "
        "(in der Reihenfolge Bild 1 bis 4, Grauwerte 0 bis 255 wie in bilder) überein."
    )


@pytest.mark.task("nb2_oct_correct", points=1, depends_on=("nb2_oct_predict",))
def test_predicted_class_names(answers, key):
    """vorhergesagt: die Klasse mit der größten Wahrscheinlichkeit je Bild."""
    given = _class_names(answers.get("predicted"), "vorhergesagt")
    assert given == _shipped_classes(), (
        "Mindestens ein vorhergesagter Klassenname passt nicht zur Ausgabe des Netzes. Nehmen Sie "
        "je Zeile den Index der größten Wahrscheinlichkeit und übersetzen Sie ihn mit CLASSES."
    )


@pytest.mark.task("nb2_oct_correct", points=1, depends_on=("nb2_oct_predict", "nb2_oct_diagnosis"))
def test_correctly_classified_images(answers, key):
    """richtig: ob das Netz Bild 1 bis 4 so klassifiziert wie Ihre Diagnose."""
    given = answers.get("correct")
    assert isinstance(given, list) and len(given) == 4, (
        "richtig soll vier Wahrheitswerte enthalten."
    )
    # The student's own diagnoses are the truth here: a wrong eye diagnosis costs its
    # points once, in nb2_oct_diagnosis.
    own = _class_names(answers.get("diagnoses"), "diagnosen")
    expected = [m == d for m, d in zip(_shipped_classes(), own, strict=True)]
    assert [bool(g) for g in given] == expected, (
        "Mindestens ein Eintrag von richtig stimmt nicht. Vergleichen Sie je Bild die Vorhersage "
        "des Netzes mit Ihrer Diagnose aus der Aufgabe oben."
    )
