"""Notebook 3's network and its training helpers: build, generate training data, fit.

``build_model`` is the architecture of the shipped knee classifier
(``data/mri/mri_model.keras``); students retrain it on data of their choice in
Aufgabe 8 with ``training_set`` and ``fit``.
"""

from __future__ import annotations

import numpy as np

from dlbmt.mri import SIZE, _as_model_input, knee_slices, make_cases

SEED = 0
# The second input channel shows only the darkest grey levels, where menisci,
# tendons and cortex live; it also makes the stamp's few grey levels visible.
DARK_WINDOW = 8


def build_model():
    """The GAP CNN (Functional API): 256x256x1 in [0, 1] -> softmax over (gesund, auffällig).

    The input is averaged down to 128x128 inside the model, so students feed
    whole slices. The last convolution is called ``last_conv`` and is followed
    directly by GlobalAveragePooling2D and the Dense layer ``predictions``, so
    the classic CAM applies.
    """
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 1), name="mrt_schicht")
    x = layers.AveragePooling2D(2, name="downsample")(inputs)
    window = DARK_WINDOW / 255.0
    dark = layers.ReLU(max_value=window, name="dark_window")(x)
    dark = layers.Rescaling(1.0 / window, name="dark_window_scaled")(dark)
    x = layers.Concatenate(name="channels")([x, dark])
    for i, filters in enumerate((16, 32, 32), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mri_gap_cnn")


def training_set(
    n_per_class: int, seed: int, stamp_rate_normal: float, stamp_rate_abnormal: float
) -> tuple[np.ndarray, np.ndarray]:
    """Generated middle slices as model input (float32, N x 256 x 256 x 1) and labels."""
    cases = make_cases(n_per_class, n_per_class, seed, stamp_rate_normal, stamp_rate_abnormal)
    labels = np.array([int(c.abnormal) for c in cases], dtype=np.int64)
    return _as_model_input(knee_slices(cases)), labels


def fit(model, images: np.ndarray, labels: np.ndarray, epochs: int, seed: int = SEED):
    """Compile and fit with a fixed seed (Adam 1e-3, batch 32); returns the Keras history."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(images, labels, epochs=epochs, batch_size=32, verbose=0)
