"""Task 1a: the 1-2-1 ReLU network computed by hand and in Keras."""

import numpy as np
import pytest

from dlbmt.grading.answers import dense_layers

# Hand-computed outputs are integers; 1e-6 only absorbs float formatting.
HAND_TOLERANCE = 1e-6
# Keras computes in float32: outputs up to ~20 carry rounding errors near 1e-5.
KERAS_TOLERANCE = 1e-4


@pytest.mark.task("nb1_hand_values", points=1)
def test_hand_values_match_the_network(answers, key):
    """Handrechnung für x = -1, 1, 2."""
    given = answers.get("hand_values")
    expected = key.get("hand_values")
    assert given.shape == expected.shape, "Es werden genau drei Werte erwartet."
    assert np.allclose(given, expected, atol=HAND_TOLERANCE), (
        "Mindestens ein Wert stimmt nicht. Rechnen Sie Neuron für Neuron: erst die "
        "gewichtete Summe plus Bias, dann ReLU."
    )


@pytest.mark.task("nb1_keras_model", points=1)
def test_model_architecture_is_1_2_1_relu(answers, key):
    """Architektur: Dense-Schichten mit 1, 2 und 1 Neuron(en), ReLU."""
    given = dense_layers(answers.model_config("model"))
    expected = dense_layers(key.model_config("model"))
    assert len(given) == len(expected), "Die Anzahl der Dense-Schichten stimmt nicht."
    assert [u for u, _ in given] == [u for u, _ in expected], (
        "Die Anzahl der Neuronen je Schicht stimmt nicht."
    )
    assert all(a == "relu" for _, a in given), "Alle Schichten sollen ReLU verwenden."


@pytest.mark.task("nb1_keras_model", points=1)
def test_model_weights_reproduce_the_network(answers, key):
    """Gesetzte Gewichte: das Modell rechnet auch auf neuen Eingaben wie das gegebene Netz."""
    given = answers.get("probe_outputs")
    expected = key.get("probe_outputs")
    assert given.shape == expected.shape, "Das Modell liefert nicht eine Ausgabe je Eingabe."
    assert np.allclose(given, expected, atol=KERAS_TOLERANCE), (
        "Auf Eingaben, die Sie nicht kennen, rechnet das Modell anders als das gegebene Netz. "
        "Prüfen Sie die Reihenfolge und Form der Gewichte in set_weights."
    )


@pytest.mark.task("nb1_keras_predict", points=1, depends_on=("nb1_keras_model",))
def test_keras_prediction(answers, key):
    """Vorhersage mit Keras für x = -1, 1, 2."""
    given = answers.get("keras_values")
    expected = key.get("keras_values")
    assert given.shape == expected.shape, "Es werden genau drei Vorhersagen erwartet."
    assert np.allclose(given, expected, atol=KERAS_TOLERANCE), (
        "Die Vorhersagen stimmen nicht mit dem gegebenen Netz überein."
    )
