"""Task 1c: the MNIST network, the planted training bug, two configurations and glyphs."""

import numpy as np
import pytest

# The acceptance bar. Measured with the fixed cell (128 hidden units, adam, batch 32,
# 10 epochs, 5 seeds): 0.932-0.938; with the planted bug (labels shuffled separately) 0.10-0.13.
MNIST_MIN_ACCURACY = 0.92
# The recorded accuracy comes from model.evaluate on the same 1,000 images as the recomputation
# from the recorded probabilities; both count argmax hits, so they agree up to ties (<= 1 image).
ACCURACY_AGREEMENT = 0.005
# A trained configuration must be clearly better than guessing among 10 classes (0.1); twice
# chance also rejects a network trained on the shuffled labels (measured <= 0.13).
PLAUSIBLE_MIN_ACCURACY = 0.2
# Recorded probabilities and the recomputation use the same float32 model on the same images;
# different batch sizes change results by ~1e-7 at most.
PROBABILITY_TOLERANCE = 1e-4


def _layers(config: dict) -> list[dict]:
    return config.get("config", {}).get("layers", [])


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    assert probabilities.shape == (labels.size, 10), (
        "Die Vorhersagen des Modells haben nicht eine Zeile mit 10 Werten je Testbild."
    )
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


@pytest.mark.task("nb1_mnist_model", points=1)
def test_mnist_model_architecture(answers, key):
    """Aufbau: Flatten, verdeckte Dense-Schicht (hidden_units Neuronen), 10 Ausgaben mit Softmax."""
    layers = _layers(answers.model_config("model_64"))
    names = [layer.get("class_name") for layer in layers]
    assert "Flatten" in names, "Es fehlt die Flatten-Schicht, die das Bild in einen Vektor umformt."
    after_flatten = layers[names.index("Flatten") + 1 :]
    dense = [layer["config"] for layer in after_flatten if layer.get("class_name") == "Dense"]
    assert len(dense) >= 2, (
        "Nach der Flatten-Schicht braucht das Netz eine verdeckte Dense-Schicht und die "
        "Ausgabeschicht."
    )
    assert any(d.get("units") == 64 for d in dense[:-1]), (
        "Die verdeckte Schicht soll so viele Neuronen haben, wie hidden_units angibt."
    )
    assert dense[-1].get("units") == 10 and dense[-1].get("activation") == "softmax", (
        "Die Ausgabeschicht soll 10 Neuronen mit Softmax haben."
    )


@pytest.mark.task("nb1_mnist_model", points=1)
def test_mnist_model_is_compiled_with_crossentropy(answers, key):
    """Kompiliert mit einer Kreuzentropie als Verlust."""
    loss = answers.get("loss_name")
    assert isinstance(loss, str) and "crossentropy" in loss.lower().replace("_", ""), (
        "Das Modell soll mit einer Kreuzentropie als Verlustfunktion kompiliert sein."
    )


@pytest.mark.task("nb1_mnist_training", points=1, depends_on=("nb1_mnist_model",))
def test_fixed_training_reaches_the_accuracy(answers, key):
    """Genauigkeit des korrigiert trainierten Netzes auf den Testdaten mindestens 0,92."""
    accuracy = _accuracy(answers.get("test_probabilities"), key.get("y_test"))
    assert accuracy >= MNIST_MIN_ACCURACY, (
        "Das Netz erreicht auf den Testdaten weniger als 92 % Genauigkeit. Liegt sie nahe 10 %, "
        "ist der Fehler im Training noch da: Gehören Bild und Label nach dem Mischen noch zusammen?"
    )


@pytest.mark.task("nb1_mnist_training", points=1, depends_on=("nb1_mnist_model",))
def test_recorded_accuracy_is_the_models(answers, key):
    """test_accuracy ist die gemessene Genauigkeit des korrigierten Netzes."""
    recomputed = _accuracy(answers.get("test_probabilities"), key.get("y_test"))
    recorded = answers.get("test_accuracy")
    assert abs(recorded - recomputed) <= ACCURACY_AGREEMENT, (
        "test_accuracy passt nicht zu den Vorhersagen von mnist_model auf x_test. Messen Sie sie "
        "mit mnist_model.evaluate(x_test, y_test) nach dem Training."
    )
    assert recorded >= MNIST_MIN_ACCURACY, (
        "Die gemessene Genauigkeit liegt unter 92 %: Der Fehler im Training ist noch nicht behoben."
    )


@pytest.mark.task("nb1_mnist_training", points=1, depends_on=("nb1_mnist_model",))
def test_predictions_for_four_test_images(answers, key):
    """Vorhergesagte Klassen der ersten vier Testbilder."""
    given, expected = answers.get("first_predictions"), key.get("first_predictions")
    assert given.shape == expected.shape, "first_predictions soll vier Klassen enthalten."
    assert np.array_equal(given, expected), (
        "Mindestens eine der vier Vorhersagen ist falsch. Schauen Sie sich die Bilder an: Welche "
        "Ziffern sind es, und was sagt Ihr korrigiertes Netz?"
    )


@pytest.mark.task("nb1_mnist_hyperparameters", points=1, depends_on=("nb1_mnist_training",))
def test_two_different_accuracies(answers, key):
    """Zwei Genauigkeiten zwischen 0 und 1, die sich unterscheiden."""
    a, b = answers.get("accuracy_a"), answers.get("accuracy_b")
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in (a, b)), (
        "accuracy_a und accuracy_b sollen Anteile zwischen 0 und 1 sein."
    )
    assert a != b, (
        "Beide Genauigkeiten sind gleich. Wurde wirklich eine zweite Konfiguration trainiert?"
    )


@pytest.mark.task(
    "nb1_mnist_hyperparameters", points=1, depends_on=("nb1_mnist_model", "nb1_mnist_training")
)
def test_second_configuration_is_trained(answers, key):
    """accuracy_b ist die gemessene Genauigkeit eines trainierten zweiten Netzes."""
    recomputed = _accuracy(answers.get("probabilities_b"), key.get("y_test"))
    assert abs(answers.get("accuracy_b") - recomputed) <= ACCURACY_AGREEMENT, (
        "accuracy_b passt nicht zu den Vorhersagen von mnist_model_b auf x_test."
    )
    assert recomputed >= PLAUSIBLE_MIN_ACCURACY, (
        "mnist_model_b ist kaum besser als Raten. Wurde es mit den richtigen Labels trainiert?"
    )


@pytest.mark.task("nb1_glyphs", points=1, depends_on=("nb1_mnist_model",))
def test_glyph_probabilities_come_from_the_model(answers, key):
    """glyph_probabilities sind die Ausgaben von mnist_model für die Zeichenbilder."""
    given, model_output = answers.get("glyph_probabilities"), answers.get("model_on_glyphs")
    assert given.shape == key.get("glyph_probabilities").shape, (
        "glyph_probabilities soll eine Zeile mit 10 Wahrscheinlichkeiten je Zeichenbild enthalten."
    )
    assert np.allclose(given, model_output, atol=PROBABILITY_TOLERANCE), (
        "glyph_probabilities stimmen nicht mit den Ausgaben von mnist_model für glyph_images "
        "überein."
    )


@pytest.mark.task("nb1_glyphs", points=1, depends_on=("nb1_mnist_model",))
def test_glyph_classes_and_confidence(answers, key):
    """Vorhergesagte Klasse und Konfidenz je Zeichenbild."""
    probabilities = answers.get("glyph_probabilities")
    classes, confidence = answers.get("glyph_classes"), answers.get("glyph_confidence")
    n = key.get("glyph_classes").shape
    assert classes.shape == n and confidence.shape == n, (
        "glyph_classes und glyph_confidence sollen einen Wert je Zeichenbild enthalten."
    )
    assert probabilities.ndim == 2 and probabilities.shape[0] == n[0], (
        "glyph_probabilities hat nicht eine Zeile je Zeichenbild."
    )
    assert np.array_equal(classes, np.argmax(probabilities, axis=1)), (
        "glyph_classes ist nicht die Klasse mit der größten Wahrscheinlichkeit."
    )
    assert np.allclose(confidence, np.max(probabilities, axis=1), atol=PROBABILITY_TOLERANCE), (
        "glyph_confidence ist nicht die größte Wahrscheinlichkeit je Bild."
    )
