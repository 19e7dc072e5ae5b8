"""Part 0: the autograded exercises beside the control questions (Q2, Q4, Q6, Q7, Q10)."""

import math

import numpy as np
import pytest

# ReLU, sigmoid and tanh on inputs in [-30, 22]: every correct float64 formula agrees to ~1e-15;
# 1e-6 also accepts a float32 implementation (relative rounding ~6e-8 on values <= 22).
ACTIVATION_TOLERANCE = 1e-6
# Products and sums of a few standard-normal float64 numbers: rounding stays below 1e-12.
LINEAR_TOLERANCE = 1e-9
# The step function has no gradient at all: anything but (almost exactly) zero is wrong.
STEP_TOLERANCE = 1e-9
# The key's sigmoid gradient comes from float32 TensorFlow; an analytic float64 answer
# sigma * (1 - sigma) differs by ~1e-8.
SIGMOID_GRADIENT_TOLERANCE = 1e-5
# Learning-rate experiment, y = 3x + 0.5 on 32 points, 30 full-batch SGD epochs of Dense(1)
# from zero weights. The graders run it themselves (``_sgd_losses``, float32 like Keras):
# final losses 3e-6 (rate 0.3), 7e16 (1.5) and 3.29 (0.001). A student's losses must be these:
# within 1 % where the loss stalls, near zero where it converges, huge where it diverges.
LEARNING_RATES = (0.3, 1.5, 0.001)
EPOCHS_LR = 30
CONVERGED_MAX_LOSS = 1e-2
STALLED_RELATIVE_TOLERANCE = 0.01
DIVERGED_MIN_LOSS = 1e6
# Quality measures are ratios of small integer counts; 1e-9 only absorbs float formatting.
MEASURE_TOLERANCE = 1e-9


def _close(given, expected, tolerance) -> bool:
    given, expected = np.asarray(given, dtype=float), np.asarray(expected, dtype=float)
    return given.shape == expected.shape and np.allclose(given, expected, atol=tolerance)


@pytest.mark.task("nb1_activations", points=1)
def test_relu_on_unknown_inputs(answers, key):
    """relu auf Eingaben, die Sie nicht kannten."""
    assert _close(answers.get("relu_hidden"), key.get("relu_hidden"), ACTIVATION_TOLERANCE), (
        "relu liefert auf neuen Eingaben falsche Werte. ReLU ist max(0, x), elementweise."
    )


@pytest.mark.task("nb1_activations", points=1)
def test_sigmoid_on_unknown_inputs(answers, key):
    """sigmoid auf Eingaben, die Sie nicht kannten."""
    assert _close(answers.get("sigmoid_hidden"), key.get("sigmoid_hidden"), ACTIVATION_TOLERANCE), (
        "sigmoid liefert auf neuen Eingaben falsche Werte. Prüfen Sie das Vorzeichen im "
        "Exponenten: sigmoid(0) = 0,5 und für große x geht sigmoid gegen 1."
    )


@pytest.mark.task("nb1_activations", points=1)
def test_tanh_on_unknown_inputs(answers, key):
    """tanh auf Eingaben, die Sie nicht kannten."""
    assert _close(answers.get("tanh_hidden"), key.get("tanh_hidden"), ACTIVATION_TOLERANCE), (
        "tanh liefert auf neuen Eingaben falsche Werte. tanh ist ungerade und liegt zwischen "
        "-1 und 1."
    )


@pytest.mark.task("nb1_linear_layers", points=1)
def test_merged_weights(answers, key):
    """Gewichte W der zusammengefassten Schicht (gegebene und neue Matrizen)."""
    for name in ("given_w", "hidden_w"):
        assert _close(answers.get(name), key.get(name), LINEAR_TOLERANCE), (
            "Die Gewichtsmatrix W stimmt nicht. Setzen Sie h = x W1 + b1 in y = h W2 + b2 ein "
            "und sortieren Sie nach x. Achten Sie auf die Reihenfolge der Matrixprodukte."
        )


@pytest.mark.task("nb1_linear_layers", points=1)
def test_merged_bias(answers, key):
    """Bias b der zusammengefassten Schicht (gegebene und neue Matrizen)."""
    for name in ("given_b", "hidden_b"):
        assert _close(answers.get(name), key.get(name), LINEAR_TOLERANCE), (
            "Der Bias b stimmt nicht. Auch b1 läuft durch die zweite Schicht."
        )


@pytest.mark.task("nb1_step_gradient", points=1)
def test_step_function_has_no_gradient(answers, key):
    """Gradient der Stufenfunktion an vier Stellen."""
    given, expected = answers.get("step_gradient"), key.get("step_gradient")
    assert given.shape == expected.shape, "step_gradient soll einen Wert je Stelle enthalten."
    assert _close(given, expected, STEP_TOLERANCE), (
        "Der Gradient der Stufenfunktion stimmt nicht. Was liefert tape.gradient hier, und "
        "was bedeutet das für die Gewichtsanpassung?"
    )


@pytest.mark.task("nb1_step_gradient", points=1)
def test_sigmoid_gradient(answers, key):
    """Gradient der Sigmoid-Funktion an vier Stellen."""
    assert _close(
        answers.get("sigmoid_gradient"), key.get("sigmoid_gradient"), SIGMOID_GRADIENT_TOLERANCE
    ), "Der Gradient der Sigmoid-Funktion stimmt nicht. Wurde er an den Stellen x_points berechnet?"


@pytest.mark.task("nb1_learning_rate", points=1)
def test_learning_rate_labels(answers, key):
    """Einordnung der drei Läufe (stagniert, konvergiert, divergiert)."""
    given, expected = answers.get("lr_labels"), key.get("lr_labels")
    assert isinstance(given, list) and len(given) == len(expected), (
        "lr_labels soll ein Wort je Lernrate enthalten."
    )
    assert given == expected, (
        "Mindestens ein Lauf ist falsch eingeordnet. Vergleichen Sie die Verlustkurven: Sinkt der "
        "Verlust kaum, stark oder wächst er?"
    )


def _sgd_losses(rate: float) -> list[float]:
    """The loss of each epoch as Keras reports it: on the batch, before that epoch's update."""
    x = np.linspace(-1, 1, 32, dtype="float32")
    y = np.float32(3) * x + np.float32(0.5)
    w, b, losses = np.float32(0), np.float32(0), []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(EPOCHS_LR):
            error = w * x + b - y
            losses.append(float(np.mean(error**2)))
            w = np.float32(w - rate * np.mean(2 * error * x))
            b = np.float32(b - rate * np.mean(2 * error))
    return losses


def _final_loss_matches(given: float, expected: float) -> bool:
    if not math.isfinite(expected) or expected > DIVERGED_MIN_LOSS:
        return not math.isfinite(given) or given > DIVERGED_MIN_LOSS
    if expected <= CONVERGED_MAX_LOSS:
        return math.isfinite(given) and 0 <= given <= CONVERGED_MAX_LOSS
    return math.isfinite(given) and abs(given - expected) <= STALLED_RELATIVE_TOLERANCE * expected


@pytest.mark.task("nb1_learning_rate", points=1)
def test_learning_rate_losses(answers, key):
    """Verlust der letzten Epoche je Lernrate, wie das beschriebene Training ihn liefert."""
    losses = answers.get("final_losses")
    assert isinstance(losses, list) and len(losses) == len(LEARNING_RATES), (
        "final_losses soll einen Wert je Lernrate enthalten."
    )
    values = [float(v) if isinstance(v, int | float) else math.nan for v in losses]
    expected = [_sgd_losses(rate)[-1] for rate in LEARNING_RATES]
    assert all(map(_final_loss_matches, values, expected)), (
        "Mindestens ein Verlust passt nicht zu einem Training wie beschrieben (Dense(1) mit "
        "Startgewichten 0, SGD, volle Batch, 30 Epochen, in der Reihenfolge von learning_rates)."
    )


@pytest.mark.task("nb1_quality_measures", points=1)
def test_confusion_matrix(answers, key):
    """Konfusionsmatrix (gegebene und neue Daten)."""
    for name in ("given_cm", "hidden_cm"):
        assert _close(answers.get(name), key.get(name), MEASURE_TOLERANCE), (
            "Die Konfusionsmatrix stimmt nicht. Zeilen: wahre Klasse, Spalten: vorhergesagte "
            "Klasse, Klasse 0 zuerst (wie confusion_matrix(y_true, y_pred))."
        )


@pytest.mark.task("nb1_quality_measures", points=1)
def test_accuracy(answers, key):
    """Genauigkeit (gegebene und neue Daten)."""
    for name in ("given_measures", "hidden_measures"):
        given, expected = answers.get(name), key.get(name)
        assert given.shape == expected.shape, "quality_measures soll vier Werte zurückgeben."
        assert abs(given[0] - expected[0]) <= MEASURE_TOLERANCE, (
            "Die Genauigkeit stimmt nicht: Anteil aller richtigen Vorhersagen."
        )


@pytest.mark.task("nb1_quality_measures", points=1)
def test_sensitivity_and_specificity(answers, key):
    """Sensitivität und Spezifität (gegebene und neue Daten)."""
    for name in ("given_measures", "hidden_measures"):
        given, expected = answers.get(name), key.get(name)
        assert given.shape == expected.shape, "quality_measures soll vier Werte zurückgeben."
        assert np.allclose(given[1:], expected[1:], atol=MEASURE_TOLERANCE), (
            "Sensitivität oder Spezifität stimmt nicht. Sensitivität: erkannte Kranke unter allen "
            "Kranken; Spezifität: erkannte Gesunde unter allen Gesunden (nicht die Präzision)."
        )
