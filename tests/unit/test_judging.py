"""The graders' model helpers: outputs as Keras computes them, German words for a wrong model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dlbmt.grading.answers import MissingAnswer
from dlbmt.grading.judging import accuracy, predict


def _digit_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_outputs_are_those_of_model_predict_across_batches():
    model = _digit_model()
    # 600 rows: two full batches of 256 and a short one.
    x = np.random.default_rng(1).random((600, 28, 28))
    given = predict(model, x)
    assert given.dtype == np.float64 and given.shape == (600, 10)
    np.testing.assert_allclose(given, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_model_that_cannot_take_the_input_is_a_wrong_answer_in_german():
    with pytest.raises(MissingAnswer, match="Eingaben der Form \\(5,\\)"):
        predict(_digit_model(), np.zeros((3, 5)))


def test_accuracy_counts_the_rows_whose_largest_entry_is_the_label():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert accuracy(probabilities, np.array([0, 1, 1])) == pytest.approx(2 / 3)
