"""Tasks 1 and 2: the lab's two images, the shipped model's outputs and the student's class rule."""

import numpy as np
import pytest

# Both images are uint8 grey levels / 255 in float32; any correct loading gives identical values,
# a wrong slice, a missing /255 or swapped images differ by at least 1/255 ~ 4e-3 somewhere.
IMAGE_TOLERANCE = 1e-6
# Softmax outputs of the same float32 model on the same two images; batch size and thread
# count change them by ~1e-7, a different image by far more than 1e-4.
PROBABILITY_TOLERANCE = 1e-4


@pytest.mark.task("nb3_load_images", points=1)
def test_images_are_the_middle_slices(answers, key):
    """im_array enthält die mittleren Schichten von Bild 1 und Bild 2 in [0, 1]."""
    given, expected = answers.get("im_array"), key.get("im_array")
    assert given.shape == expected.shape, "im_array soll die Form (2, 256, 256, 1) haben."
    assert given.dtype == np.float32, "im_array soll den Datentyp float32 haben."
    assert np.allclose(given, expected, atol=IMAGE_TOLERANCE), (
        "im_array enthält nicht die erwarteten Bilder. Nehmen Sie die mittlere Schicht jedes "
        "Volumens (Bild 1 zuerst) und teilen Sie die Grauwerte durch 255."
    )


@pytest.mark.task("nb3_classify", points=1, depends_on=("nb3_load_images",))
def test_predictions_are_the_models(answers, key):
    """vorhersage sind die Softmax-Ausgaben des Netzes für beide Bilder."""
    given, expected = answers.get("vorhersage"), key.get("vorhersage")
    assert given.shape == expected.shape, "vorhersage soll eine Zeile mit 2 Werten je Bild haben."
    assert np.allclose(given, expected, atol=PROBABILITY_TOLERANCE), (
        "vorhersage stimmt nicht mit den Ausgaben von model für im_array überein. Verwenden Sie "
        "model.predict(im_array) mit den Bildern aus Aufgabe 1."
    )


@pytest.mark.task("nb3_classify", points=1, depends_on=("nb3_load_images",))
def test_classes_are_the_largest_probability_per_row(answers, key):
    """klassen_aus liefert je Zeile den Index der größten Wahrscheinlichkeit, auch für N != 2."""
    for name in ("klassen_5", "klassen_3"):
        given, expected = answers.get(name), key.get(name)
        assert given.shape == expected.shape and np.array_equal(given, expected), (
            "klassen_aus liefert für Ausgaben anderer Bilder (mehr oder weniger als zwei Zeilen) "
            "nicht je Zeile die Klasse mit der größten Wahrscheinlichkeit. Über welche Achse "
            "suchen Sie das Maximum?"
        )
    probabilities, classes = answers.get("vorhersage"), answers.get("klassen")
    assert probabilities.ndim == 2 and np.array_equal(classes, np.argmax(probabilities, axis=1)), (
        "klassen ist nicht klassen_aus(vorhersage): je Bild der Index der größten "
        "Wahrscheinlichkeit."
    )
