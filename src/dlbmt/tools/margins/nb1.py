"""Threshold margins of Notebook 1: the MNIST network on held-out digits, the trained QRS fit.

Each approach trains the way the notebook's cells do, with the seed as the
Keras seed, and is judged by the graders' own rule and data. The MNIST
held-out digits use the seed as the secret, so every run sees other digits.
"""

from __future__ import annotations

import numpy as np

from dlbmt.grading.course import Course
from dlbmt.tools.margins import MarginCase, grader_module

ASSIGNMENT = "01_grundlagen"
START_W = [1.0, 1.0, 1.0, 1 / 3, -2 / 3]
START_B = [3.0, 0.0, -3.0, 0.0]


def _mnist_network(hidden_units: int = 128):
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _mnist_case(course: Course) -> MarginCase:
    graders = grader_module(course, ASSIGNMENT, "test_nb1_mnist")
    heldout = grader_module(course, ASSIGNMENT, "nb1_heldout")

    def run(seed: int, approach: str) -> dict:
        import keras

        from dlbmt.grading.judging import accuracy, predict
        from dlbmt.mnist import load_mnist

        x_train, y_train, _, _ = load_mnist()
        x_train = x_train.astype("float32") / 255.0
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(1)  # the notebook's cell
        order = rng.permutation(len(x_train))
        labels = y_train[order] if approach != "planted_bug" else y_train[rng.permutation(4000)]
        model = _mnist_network(16 if approach == "small_network" else 128)
        model.fit(x_train[order], labels, batch_size=32, epochs=10, verbose=0)
        images, truth = heldout.heldout_digits(seed)
        public, public_truth = heldout.public_test_digits()
        held = accuracy(predict(model, images), truth)
        return {
            "passed": held >= graders.HELDOUT_MIN_ACCURACY,
            "figures": {
                "heldout_accuracy": held,
                "public_test_accuracy": accuracy(predict(model, public), public_truth),
            },
        }

    return MarginCase(
        name="nb1_mnist_training",
        threshold=f"accuracy on held-out moved digits >= {graders.HELDOUT_MIN_ACCURACY}",
        approaches={
            "reference": "the fixed cell: images and labels shuffled together, 128 units",
            "small_network": "a valid variant: 16 hidden units",
            "planted_bug": "the cell as given: labels shuffled on their own",
        },
        run=run,
        must_pass=("reference", "small_network"),
    )


def _qrs_case(course: Course) -> MarginCase:
    graders = grader_module(course, ASSIGNMENT, "test_nb1_qrs_fit")

    def run(seed: int, approach: str) -> dict:
        import keras

        from dlbmt.ecg import qrs_reference, training_arrays
        from dlbmt.grading.judging import predict

        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input(shape=(1,))]
            + [keras.layers.Dense(units, activation="relu") for units in (1, 2, 1)]
        )
        if approach != "random_start":
            w, b = START_W, START_B
            model.set_weights(
                [np.array([[w[0]]]), np.array([b[0]]), np.array([[w[1], w[2]]]),
                 np.array([b[1], b[2]]), np.array([[w[3]], [w[4]]]), np.array([b[3]])]
            )  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
        if approach != "not_trained":
            x, y = training_arrays()
            model.fit(x, y, batch_size=128, epochs=graders.EPOCHS, verbose=0)
        x, y = qrs_reference()
        mse = float(np.mean((predict(model, x.reshape(-1, 1)).reshape(-1) - y) ** 2))
        return {"passed": mse <= graders.TRAINED_MSE_MAX, "figures": {"mse": mse}}

    return MarginCase(
        name="nb1_qrs_training",
        threshold=f"MSE to the mean QRS complex <= {graders.TRAINED_MSE_MAX}",
        approaches={
            "reference": "the given start values, Adam(0.01), batch 128, 100 epochs",
            "random_start": "start values not set (Keras' random start)",
            "not_trained": "the start values without training",
        },
        run=run,
    )


def cases(course: Course) -> list[MarginCase]:
    return [_mnist_case(course), _qrs_case(course)]
