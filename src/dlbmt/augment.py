"""Image augmentation tools for grayscale scans (Notebook 2).

Every random function takes ``rng``: a ``numpy.random.Generator`` or an int
seed, so results can be repeated. Integer images (uint8) come back as uint8,
clipped to 0..255; float images are taken to lie in 0..1 when their maximum is
at most 1, otherwise in 0..255, and are clipped to that range.

Rotation: Keras 3 dropped ``keras.preprocessing.image.apply_affine_transform``.
The same function is still reachable as
``tf.keras.preprocessing.image.apply_affine_transform`` (legacy, on an
``(H, W, 1)`` array with ``row_axis=0, col_axis=1, channel_axis=2``); the
Keras 3 ways are the layer ``keras.layers.RandomRotation`` and
``keras.ops.image.affine_transform``. :func:`rotate` here does the same with
``scipy.ndimage.rotate`` and keeps the image shape and dtype; :func:`shift`
moves an image like the ``tx``/``ty`` arguments of ``apply_affine_transform``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from dlbmt.errors import CourseError

NOISE_TYPES = ("gauss", "s&p", "poisson", "speckle")

Operation = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _peak(image: np.ndarray) -> float:
    if np.issubdtype(image.dtype, np.integer):
        return 255.0
    return 1.0 if image.size == 0 or float(np.max(image)) <= 1.0 else 255.0


def _as_input_type(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, 0.0, _peak(like))
    if np.issubdtype(like.dtype, np.integer):
        return np.rint(clipped).astype(like.dtype)
    return clipped.astype(like.dtype)


def _check_image(image: np.ndarray, function: str) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim not in (2, 3) or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise CourseError(
            f"{function} erwartet ein Graubild als Zahlen-Array der Form (H, W) oder (H, W, 1), "
            f"bekam aber die Form {array.shape} mit dem Typ {array.dtype}."
        )
    return array


def add_noise(
    noise_typ: str,
    image: np.ndarray,
    rng: np.random.Generator | int | None = None,
    strength: float | None = None,
) -> np.ndarray:
    """``image`` with noise of type ``"gauss"``, ``"s&p"``, ``"poisson"`` or ``"speckle"``.

    strength: gauss: standard deviation as a fraction of the full range (default
    0.05); s&p: fraction of pixels set to black or white (default 0.02);
    poisson: photons per full-range pixel, fewer means noisier (default 50);
    speckle: standard deviation of the multiplicative factor (default 0.2).
    """
    array = _check_image(image, "add_noise")
    generator = _generator(rng)
    peak = _peak(array)
    values = array.astype(np.float64)
    if noise_typ == "gauss":
        sigma = 0.05 if strength is None else strength
        noisy = values + generator.normal(0.0, sigma * peak, size=values.shape)
    elif noise_typ == "s&p":
        amount = 0.02 if strength is None else strength
        draw = generator.random(values.shape)
        noisy = values.copy()
        noisy[draw < amount / 2] = 0.0
        noisy[(draw >= amount / 2) & (draw < amount)] = peak
    elif noise_typ == "poisson":
        photons = 50.0 if strength is None else strength
        noisy = generator.poisson(values / peak * photons) / photons * peak
    elif noise_typ == "speckle":
        sigma = 0.2 if strength is None else strength
        noisy = values * (1.0 + generator.normal(0.0, sigma, size=values.shape))
    else:
        raise CourseError(
            f"add_noise: Die Rauschart {noise_typ!r} gibt es nicht; verwenden Sie "
            f"{', '.join(repr(t) for t in NOISE_TYPES)}."
        )
    return _as_input_type(noisy, array)


def brightness_shift(image: np.ndarray, delta: float) -> np.ndarray:
    """``image`` made brighter (``delta`` > 0) or darker, in the image's own units, clipped."""
    array = _check_image(image, "brightness_shift")
    return _as_input_type(array.astype(np.float64) + delta, array)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` rotated counter-clockwise about its centre; borders repeat the edge pixels."""
    array = _check_image(image, "rotate")
    turned = ndimage.rotate(
        array.astype(np.float64), degrees, axes=(1, 0), reshape=False, order=1, mode="nearest"
    )
    return _as_input_type(turned, array)


def shift(image: np.ndarray, rows: float, columns: float = 0.0) -> np.ndarray:
    """``image`` moved down by ``rows`` and right by ``columns`` pixels; borders repeat the edge."""
    array = _check_image(image, "shift")
    offset = (rows, columns) + (0.0,) * (array.ndim - 2)
    moved = ndimage.shift(array.astype(np.float64), offset, order=1, mode="nearest")
    return _as_input_type(moved, array)


def augment_dataset(
    x: np.ndarray, y: np.ndarray, operations: Sequence[Operation], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The images ``x`` followed by one transformed copy of all of them per operation.

    Each operation is called as ``operation(image, rng)`` with a
    ``numpy.random.Generator`` and must return an image of the same shape, for
    example ``lambda image, rng: add_noise("gauss", image, rng)``. The labels
    are repeated to match. The same seed gives the same result.
    """
    images, labels = np.asarray(x), np.asarray(y)
    if len(images) != len(labels):
        raise CourseError(
            f"augment_dataset: x enthält {len(images)} Bilder, y aber {len(labels)} labels; "
            "zu jedem Bild gehört genau ein Label."
        )
    if isinstance(operations, Callable):
        operations = [operations]
    rng = np.random.default_rng(seed)
    parts, part_labels = [images], [labels]
    for number, operation in enumerate(operations, start=1):
        if not callable(operation):
            raise CourseError(
                f"augment_dataset: operation {number} ist {operation!r} und keine Funktion. "
                "Jede Operation ist eine Funktion operation(bild, rng)."
            )
        copies = np.empty_like(images)
        for index, image in enumerate(images):
            result = np.asarray(operation(image, rng))
            if result.shape != image.shape:
                raise CourseError(
                    f"augment_dataset: operation {number} macht aus einem Bild der Form "
                    f"{image.shape} eines der Form {result.shape}; die Form muss gleich bleiben."
                )
            copies[index] = _as_input_type(result.astype(np.float64), image)
        parts.append(copies)
        part_labels.append(labels)
    return np.concatenate(parts), np.concatenate(part_labels)
