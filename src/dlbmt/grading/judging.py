"""What the graders use to judge the models students made, on data of their own.

A recorded model is loaded by :class:`dlbmt.grading.answers.TaskAnswers` in Keras'
safe mode. Nothing here believes a number the kernel computed: predictions,
accuracies and losses are computed again, in the graders' process.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from dlbmt.grading.answers import MissingAnswer

# Layers that only apply an activation to the layer before them.
ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax"}


def keras_model(value, what: str):
    """``value`` if it is a Keras model, else a German explanation for the student."""
    import keras

    if not isinstance(value, keras.Model):
        raise MissingAnswer(f"{what} ist kein Keras-Modell.")
    return value


def _activation_of(layer) -> str | None:
    name = type(layer).__name__
    if name == "ReLU":
        return "relu"
    if name == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


def dense_structure(model) -> list[tuple[int, str]]:
    """(units, activation) of each Dense layer, in order.

    An Activation, ReLU or Softmax layer right after a Dense layer counts as that
    layer's activation, so ``Dense(10)`` followed by ``Activation("softmax")``
    is the same as ``Dense(10, activation="softmax")``.
    """
    structure: list[tuple[int, str]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            structure.append((int(layer.units), _activation_of(layer) or "linear"))
        elif kind in ACTIVATION_LAYERS and structure and structure[-1][1] == "linear":
            structure[-1] = (structure[-1][0], _activation_of(layer) or "linear")
    return structure


def dense_kernels(model) -> list[np.ndarray]:
    """The kernel of each Dense layer, in order."""
    return [layer.get_weights()[0] for layer in model.layers if type(layer).__name__ == "Dense"]


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``x`` as float64; a model that cannot take ``x`` is wrong."""
    x = np.asarray(x, dtype=np.float32)
    with applied_to(x):
        # The model called batch by batch, not model.predict: predict builds a tf.data
        # pipeline and traces a function for every model it meets, 0.1 s per call, and
        # the graders of Notebook 1 alone make 16 calls. The outputs are the same.
        batches = [
            np.asarray(model(x[start : start + batch_size], training=False), dtype=np.float64)
            for start in range(0, max(len(x), 1), batch_size)
        ]
        return np.concatenate(batches)


@contextmanager
def applied_to(x):
    """Around a student model run on ``x``: any failure means it is not this task's model."""
    try:
        yield
    except MissingAnswer:
        raise
    except Exception as error:  # noqa: BLE001 - any failure means: not this task's model
        raise MissingAnswer(
            f"Das Modell lässt sich nicht auf Eingaben der Form {np.shape(x)[1:]} anwenden "
            f"({type(error).__name__})."
        ) from None


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose largest entry is at the label's index."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise MissingAnswer("Das Modell liefert nicht eine Zeile mit Klassenwerten je Bild.")
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels)))


def are_probabilities(output: np.ndarray, tolerance: float = 1e-4) -> bool:
    """True when every row is a probability distribution (as after softmax)."""
    output = np.asarray(output)
    return bool(
        output.ndim == 2
        and np.all(np.isfinite(output))
        and np.all(output >= -tolerance)
        and np.allclose(output.sum(axis=1), 1.0, atol=tolerance)
    )
