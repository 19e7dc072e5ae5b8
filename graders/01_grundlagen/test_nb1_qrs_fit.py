"""Task 1b: the function of the 1a network, the R wave fitted by hand and by training.

The graders compute every MSE themselves, against the mean QRS complex read from
the course data: nothing the kernel computed counts as a reference.
"""

import numpy as np
import pytest

from dlbmt.ecg import qrs_reference
from dlbmt.grading.judging import dense_structure, keras_model, predict
from dlbmt.network121 import relu_network

# Keras computes in float32: outputs of the 1a network on [-5, 5] stay below ~10, so rounding
# errors are near 1e-6; 1e-4 leaves room for a different but equivalent predict call.
FUNCTION_TOLERANCE = 1e-4
# MSE against the mean QRS complex (101 points). Reference points, measured:
#   all-zero output 0.138; the coarse start triangle of the training task 0.075;
#   the notebook's hand fit 0.0115; the best any 9-parameter fit reaches 0.0100.
# Half of the loose limit is what any triangle roughly at the right place and height achieves.
HAND_FIT_LOOSE_MSE = 0.05
# Twice the optimum: needs a triangle of the right width and height, reachable by hand.
HAND_FIT_GOOD_MSE = 0.02
# Training from the given start with Adam(0.01), batch 128, 100 epochs reaches 0.0100 (10
# seeds, see `make bench`); the notebook's careful hand fit stays at 0.0115 and an untrained
# start at 0.075. 0.0108 lies between training and the hand fit.
TRAINED_MSE_MAX = 0.0108
EPOCHS = 100


@pytest.mark.task("nb1_function_plot", points=1, depends_on=("nb1_keras_model",))
def test_network_function_on_50_points(answers, key):
    """Ausgabe des Netzes aus 1a auf 50 Punkten von -5 bis 5."""
    x_given, x_expected = answers.get("x_plot"), key.get("x_plot")
    assert x_given.shape == x_expected.shape and np.allclose(x_given, x_expected), (
        "x_plot soll 50 gleichmäßig verteilte Werte von -5 bis 5 enthalten."
    )
    y_given, y_expected = answers.get("y_plot"), key.get("y_plot")
    assert y_given.shape == y_expected.shape, (
        "y_plot soll eine Ausgabe je Wert in x_plot enthalten."
    )
    assert np.allclose(y_given, y_expected, atol=FUNCTION_TOLERANCE), (
        "y_plot ist nicht die Funktion des Netzes aus 1a. Stimmen die Gewichte in `model`?"
    )


def _hand_mse(answers) -> float:
    w, b = answers.get("w_hand"), answers.get("b_hand")
    assert w.shape == (5,) and b.shape == (4,), (
        "w_hand braucht fünf Gewichte und b_hand vier Bias-Werte."
    )
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(b)), "Alle Werte müssen Zahlen sein."
    x, y = qrs_reference()
    return float(np.mean((relu_network(x, w, b) - y) ** 2))


@pytest.mark.task("nb1_widget_fit", points=1)
def test_hand_fit_is_roughly_right(answers, key):
    """Handanpassung: die Kurve liegt grob auf der R-Zacke (MSE höchstens 0,05)."""
    assert _hand_mse(answers) <= HAND_FIT_LOOSE_MSE, (
        "Mit Ihren Werten liegt die Kurve noch weit neben der R-Zacke. Die Spitze sollte bei "
        "x = 0 liegen, Höhe und Breite zur roten Kurve passen."
    )


@pytest.mark.task("nb1_widget_fit", points=1)
def test_hand_fit_is_good(answers, key):
    """Handanpassung: MSE höchstens 0,02."""
    assert _hand_mse(answers) <= HAND_FIT_GOOD_MSE, (
        "Der MSE Ihrer Werte ist größer als 0,02. Verfeinern Sie Breite und Höhe des Dreiecks "
        "mit den Zahlenfeldern und zoomen Sie in die Spitze."
    )


def _qrs_model(answers):
    model = keras_model(answers.get("model"), "qrs_model")
    structure = dense_structure(model)
    assert [units for units, _ in structure] == [1, 2, 1], (
        "qrs_model soll wie in 1a Dense-Schichten mit 1, 2 und 1 Neuron(en) haben."
    )
    assert all(activation == "relu" for _, activation in structure), (
        "Alle Schichten von qrs_model sollen ReLU verwenden."
    )
    return model


@pytest.mark.task("nb1_qrs_training", points=1)
def test_trained_network_has_the_1a_structure(answers, key):
    """Struktur 1-2-1 mit ReLU, trainiert über die vorgegebenen 100 Epochen."""
    _qrs_model(answers)
    losses = answers.get("losses")
    assert isinstance(losses, list) and len(losses) == EPOCHS, (
        "Das Training lief nicht über die vorgegebene Anzahl an Epochen."
    )


@pytest.mark.task("nb1_qrs_training", points=1)
def test_trained_network_fits_the_qrs_complex(answers, key):
    """MSE des trainierten Netzes zum mittleren QRS-Komplex höchstens 0,0108."""
    model = _qrs_model(answers)
    x, y = qrs_reference()
    mse = float(np.mean((predict(model, x.reshape(-1, 1)).reshape(-1) - y) ** 2))
    assert np.isfinite(mse) and mse <= TRAINED_MSE_MAX, (
        "Das trainierte Netz passt noch nicht gut genug zur R-Zacke. Prüfen Sie Startwerte, "
        "Optimierer (Adam, Lernrate 0,01) und Verlust (mse)."
    )
