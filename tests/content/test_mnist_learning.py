"""The course's MNIST split is learnable: real labels are learnt, shuffled ones are not."""

from __future__ import annotations

import numpy as np
from course_tools import REPO

from dlbmt import mnist


def test_dense_network_learns_real_labels_but_not_shuffled_ones(monkeypatch):
    monkeypatch.setenv("DLBMT_DATA_DIR", str(REPO / "data"))
    monkeypatch.delenv("DLBMT_SMOKE", raising=False)
    import keras

    x_train, y_train, x_test, y_test = mnist.load_mnist()
    x_train, x_test = x_train / 255.0, x_test / 255.0

    def test_accuracy(labels) -> float:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, labels, epochs=10, batch_size=32, verbose=0)
        return model.evaluate(x_test, y_test, verbose=0)[1]

    assert test_accuracy(y_train) >= 0.92
    assert test_accuracy(np.random.default_rng(0).permutation(y_train)) <= 0.2
