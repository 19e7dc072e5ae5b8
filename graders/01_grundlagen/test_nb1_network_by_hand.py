"""Task 1a: the 1-2-1 ReLU network computed by hand and in Keras."""

import numpy as np
import pytest

from dlbmt.grading.judging import dense_structure, keras_model, predict

# Hand-computed activations are integers; 1e-6 only absorbs float formatting.
HAND_TOLERANCE = 1e-6
# Keras computes in float32: outputs up to ~30 carry rounding errors near 1e-5.
KERAS_TOLERANCE = 1e-4


@pytest.mark.task("nb1_hand_values", points=1)
def test_every_neuron_by_hand(answers, key):
    """Handrechnung: h1, h2, h3 und y für x = -1, 1, 2."""
    given = answers.get("hand_values")
    expected = key.get("hand_values")
    assert given.shape == expected.shape, (
        "hand_values soll eine Zeile [h1, h2, h3, y] je Eingabe haben, also die Form (3, 4)."
    )
    assert np.allclose(given, expected, atol=HAND_TOLERANCE), (
        "Mindestens ein Wert stimmt nicht. Rechnen Sie Neuron für Neuron: erst die "
        "gewichtete Summe plus Bias (Propagierungsfunktion), dann ReLU (Aktivierungsfunktion)."
    )


def _model(answers):
    return keras_model(answers.get("model"), "`model`")


@pytest.mark.task("nb1_keras_model", points=1)
def test_model_has_dense_layers_of_1_2_and_1_neurons(answers, key):
    """Architektur: Dense-Schichten mit 1, 2 und 1 Neuron(en), ReLU."""
    structure = dense_structure(_model(answers))
    assert [units for units, _ in structure] == [1, 2, 1], (
        "`model` soll drei Dense-Schichten mit 1, 2 und 1 Neuron(en) haben."
    )
    assert all(activation == "relu" for _, activation in structure), (
        "Alle Schichten sollen ReLU verwenden."
    )


@pytest.mark.task("nb1_keras_model", points=1)
def test_model_computes_the_given_network(answers, key, heldout_seed):
    """Gesetzte Gewichte: das Modell rechnet auch auf neuen Eingaben wie das gegebene Netz."""
    x = np.random.default_rng(heldout_seed).uniform(-6.0, 6.0, (40, 1))
    reference = keras_model(key.get("model"), "the key's model")
    given = predict(_model(answers), x)
    assert given.shape == (len(x), 1), "`model` liefert nicht eine Ausgabe je Eingabe."
    assert np.allclose(given, predict(reference, x), atol=KERAS_TOLERANCE), (
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
