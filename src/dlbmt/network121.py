"""The 1-2-1 ReLU network of notebook 1 in plain NumPy.

Dense(1, relu) -> Dense(2, relu) -> Dense(1, relu), nine parameters ordered as
in the lab: layer 1 weight w1, bias b1; layer 2 weights w2, w3, biases b2, b3;
layer 3 weights w4, w5, bias b4.

Kept free of Keras and plotting so that the graders can import it without
paying TensorFlow's start-up for every submission.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WEIGHT_NAMES = ("w1", "w2", "w3", "w4", "w5")
BIAS_NAMES = ("b1", "b2", "b3", "b4")


def _relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, 0.0)


def relu_network(x: np.ndarray, w: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Output of the 1-2-1 ReLU network, computed like Keras' Dense layers with ReLU."""
    w1, w2, w3, w4, w5 = w
    b1, b2, b3, b4 = b
    x = np.asarray(x, dtype=float)
    hidden1 = _relu(w1 * x + b1)
    hidden2a = _relu(w2 * hidden1 + b2)
    hidden2b = _relu(w3 * hidden1 + b3)
    return _relu(w4 * hidden2a + w5 * hidden2b + b4)
