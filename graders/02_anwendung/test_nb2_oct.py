"""Task 2b: diagnosis by eye, the pretrained OCT network and reading its softmax output."""

import numpy as np
import pytest

from dlbmt.oct import CLASSES

# Recorded outputs and the key come from the same shipped float32 model on the same images;
# other batch sizes or CPUs change softmax values by ~1e-6 at most.
SOFTMAX_TOLERANCE = 1e-4
# Half of the four images: a diagnosis that gets two of them right shows the classes were
# told apart at least roughly, as the task asks ("eine grobe Einschätzung").
MIN_CORRECT_DIAGNOSES = 2


def _class_names(values) -> list[str]:
    assert isinstance(values, list) and len(values) == 4, (
        "Es werden genau vier Klassennamen erwartet, einer je Bild."
    )
    return [str(v).strip().upper() for v in values]


def _hits(answers, key) -> int:
    given = _class_names(answers.get("diagnoses"))
    truth = key.get("true_classes")
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


@pytest.mark.task("nb2_oct_predict", points=1)
def test_model_is_the_pretrained_network(answers, key):
    """oct_model ist das vortrainierte Netz aus OCT_MODEL."""
    given = answers.get("model_on_test_images")
    expected = key.get("model_on_test_images")
    assert given.shape == expected.shape, (
        "oct_model liefert für Testbilder nicht eine Zeile mit vier Wahrscheinlichkeiten je Bild."
    )
    assert np.allclose(given, expected, atol=SOFTMAX_TOLERANCE), (
        "oct_model rechnet anders als das vortrainierte Netz. Laden Sie es mit "
        "keras.models.load_model(OCT_MODEL), ohne es danach zu trainieren."
    )


@pytest.mark.task("nb2_oct_predict", points=1)
def test_softmax_output_for_the_four_images(answers, key):
    """vorhersage ist die Softmax-Ausgabe des Netzes für Bild 1 bis 4."""
    given = answers.get("softmax")
    expected = key.get("softmax")
    assert given.shape == expected.shape, (
        "vorhersage soll die Form (4 Bilder, 4 Klassen) haben: ein predict-Aufruf für alle Bilder."
    )
    assert np.allclose(given, expected, atol=SOFTMAX_TOLERANCE), (
        "vorhersage stimmt nicht mit der Ausgabe des vortrainierten Netzes für die vier Bilder "
        "(in der Reihenfolge Bild 1 bis 4) überein."
    )


def _model_classes(key) -> list[str]:
    return [CLASSES[int(k)] for k in np.argmax(key.get("model_softmax"), axis=1)]


@pytest.mark.task("nb2_oct_correct", points=1, depends_on=("nb2_oct_predict",))
def test_predicted_class_names(answers, key):
    """vorhergesagt: die Klasse mit der größten Wahrscheinlichkeit je Bild."""
    given = _class_names(answers.get("predicted"))
    assert given == _model_classes(key), (
        "Mindestens ein vorhergesagter Klassenname passt nicht zur Ausgabe des Netzes. Nehmen Sie "
        "je Zeile den Index der größten Wahrscheinlichkeit und übersetzen Sie ihn mit CLASSES."
    )


@pytest.mark.task("nb2_oct_correct", points=1, depends_on=("nb2_oct_predict", "nb2_oct_diagnosis"))
def test_correctly_classified_images(answers, key):
    """richtig: ob das Netz Bild 1 bis 4 richtig klassifiziert hat."""
    given = answers.get("correct")
    assert isinstance(given, list) and len(given) == 4, (
        "richtig soll vier Wahrheitswerte enthalten."
    )
    expected = [m == t for m, t in zip(_model_classes(key), key.get("true_classes"), strict=True)]
    assert [bool(g) for g in given] == expected, (
        "Mindestens ein Eintrag von richtig stimmt nicht. Vergleichen Sie die Vorhersage des "
        "Netzes mit der tatsächlichen Diagnose jedes Bildes – stimmt Ihre eigene Diagnose?"
    )
