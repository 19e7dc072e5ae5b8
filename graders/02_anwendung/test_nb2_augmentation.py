"""Task 2b: choosing OCT augmentations, applying them, and the retraining experiment."""

import numpy as np
import pytest
from scipy import ndimage

OFFERED = {"flipud", "fliplr", "rotation", "helligkeit", "rauschen"}
# Flipped images must equal the mirrored original; 0.5 gray levels absorb a float/uint8 round trip.
FLIP_TOLERANCE = 0.5
# A visible change: measured mean absolute differences are >= 2.4 for every offered operation
# with the default strengths (s&p noise is the smallest), so 1 gray level means "unchanged".
MIN_MEAN_CHANGE = 1.0
# Rotation: the image must match the original rotated by some angle. Measured correlations of
# the best-matching angle (0.5 degree steps): 1.0 for dlbmt.augment.rotate and the legacy
# apply_affine_transform, 0.99 for keras.layers.RandomRotation, 0.86 with a black border.
ROTATION_ANGLES = np.arange(-45.0, 45.01, 0.5)
MIN_ROTATION_MATCH = 0.8
# Anything below 2 degrees is not a visible rotation (the task asks for 10 to 20 degrees).
MIN_ROTATION_DEGREES = 2.0
# Brightness: the structure stays (measured correlation >= 0.985 for shifts up to 60 gray
# levels) and the typical pixel moves by the shift (median difference, task: 30 to 50).
MIN_BRIGHTNESS_CORRELATION = 0.95
MIN_BRIGHTNESS_SHIFT = 5.0
# Noise keeps the structure (measured correlations 0.93-0.98 for the four noise types at
# default strength) and keeps the mean brightness (measured shifts <= 1.5 gray levels).
MIN_NOISE_CORRELATION = 0.8
MAX_NOISE_MEAN_SHIFT = 15.0
# Shipped model: the recorded value and the key evaluate the same fixed model on the same 400
# images; 1.5 images of slack absorb float round-off on another CPU.
ACCURACY_AGREEMENT = 1.5 / 400
# Retrained with augmentation (12 epochs, seeds 0 and 1, measured on 2 cores): fliplr+rotation
# 0.83-0.84, fliplr+rotation+brightness 0.83-0.85, the reference (+ vertical shift) 0.93; the
# shipped model reaches 0.715 and vertical flips alone 0.76. 0.80 accepts every sensible
# choice of the offered operations with a margin for seed and CPU variation and rejects
# training without (useful) augmentation.
MIN_AUGMENTED_ACCURACY = 0.80
# An operation whose output correlates this well with the vertically mirrored scan (and better
# than with the scan itself) is a vertical flip; a flip gives 1.0, valid operations <= 0.4.
FLIPUD_CORRELATION = 0.9


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _gray(image: np.ndarray, original: np.ndarray) -> np.ndarray:
    image = np.squeeze(np.asarray(image, dtype=float))
    # Images scaled to 0..1 are compared in the original's 0..255 gray levels.
    if image.size and image.max() <= 1.0 < original.max():
        image = image * 255.0
    return image


def _chosen(answers) -> set[str]:
    chosen = answers.get("chosen")
    assert isinstance(chosen, list), "gewaehlt soll eine Menge von Namen sein."
    names = {str(name) for name in chosen}
    assert names <= OFFERED and len(names) == 3, (
        "gewaehlt soll genau drei Namen der angebotenen Operationen enthalten."
    )
    return names


@pytest.mark.task("nb2_aug_choice", points=1)
def test_three_offered_operations_are_chosen(answers, key):
    """Drei der fünf angebotenen Operationen gewählt."""
    _chosen(answers)


@pytest.mark.task("nb2_aug_choice", points=1)
def test_vertical_flip_is_not_chosen(answers, key):
    """Keine vertikale Spiegelung: die Tiefenachse eines OCT-Bildes ist physikalisch."""
    assert "flipud" not in _chosen(answers), (
        "Mindestens eine gewählte Operation erzeugt Bilder, die bei echten OCT-Aufnahmen nie "
        "vorkommen. Was liegt in einem B-Scan immer oben, was immer unten?"
    )


def _rotation_ok(image: np.ndarray, original: np.ndarray) -> bool:
    matches = {
        angle: _correlation(
            image,
            ndimage.rotate(original, angle, axes=(1, 0), reshape=False, order=1, mode="nearest"),
        )
        for angle in ROTATION_ANGLES
    }
    best = max(matches, key=matches.get)
    return abs(best) >= MIN_ROTATION_DEGREES and matches[best] >= MIN_ROTATION_MATCH


def _shows_operation(name: str, image: np.ndarray, original: np.ndarray) -> bool:
    difference = image - original
    if name == "flipud":
        return np.allclose(image, np.flipud(original), atol=FLIP_TOLERANCE)
    if name == "fliplr":
        return np.allclose(image, np.fliplr(original), atol=FLIP_TOLERANCE)
    if np.mean(np.abs(difference)) < MIN_MEAN_CHANGE:
        return False
    if name == "rotation":
        return _rotation_ok(image, original)
    if name == "helligkeit":
        return (
            _correlation(image, original) >= MIN_BRIGHTNESS_CORRELATION
            and abs(np.median(difference)) >= MIN_BRIGHTNESS_SHIFT
        )
    return (
        _correlation(image, original) >= MIN_NOISE_CORRELATION
        and abs(np.mean(difference)) <= MAX_NOISE_MEAN_SHIFT
    )


def _images(answers) -> dict[str, np.ndarray]:
    names = answers.get("names")
    assert isinstance(names, list) and len(names) == 3 and set(names) <= OFFERED, (
        "augmentiert soll drei Bilder enthalten, unter den Namen der angebotenen Operationen."
    )
    original = answers.get("original")
    images = {name: _gray(answers.get(f"image_{name}"), original) for name in names}
    for name, image in images.items():
        assert image.shape == original.shape, (
            f"Das Bild zu {name!r} hat nicht die Form des Beispielbildes (96, 96)."
        )
    return images


@pytest.mark.task("nb2_aug_images", points=1)
def test_three_transformed_images(answers, key):
    """Drei transformierte Bilder in der Form des Beispielbildes."""
    _images(answers)


@pytest.mark.task("nb2_aug_images", points=1)
def test_images_show_their_operation(answers, key):
    """Jedes Bild zeigt die genannte Operation (Spiegelung, Drehung, Helligkeit, Rauschen)."""
    original = answers.get("original")
    wrong = [
        name
        for name, image in _images(answers).items()
        if not _shows_operation(name, image, original)
    ]
    assert not wrong, (
        f"Die Bilder zu {', '.join(sorted(wrong))} zeigen nicht die genannte Operation oder keine "
        "sichtbare Veränderung des Beispielbildes drusen."
    )


def _retrained_accuracy(answers, key) -> float:
    probabilities = answers.get("test_probabilities")
    labels = key.get("y_test")
    assert probabilities.shape == (labels.size, 4), (
        "modell_augmentiert liefert für die Testbilder nicht eine Zeile mit vier "
        "Wahrscheinlichkeiten je Bild."
    )
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


@pytest.mark.task("nb2_experiment", points=1, depends_on=("nb2_oct_predict",))
def test_accuracy_of_the_pretrained_network(answers, key):
    """genauigkeit_original: Genauigkeit des vortrainierten Netzes auf dem Testdatensatz."""
    given = answers.get("accuracy_shipped")
    assert abs(given - key.get("accuracy_shipped")) <= ACCURACY_AGREEMENT, (
        "genauigkeit_original ist nicht die Genauigkeit des vortrainierten oct_model auf "
        "x_test, y_test. Messen Sie sie mit evaluate(oct_model, x_test, y_test)."
    )


@pytest.mark.task("nb2_experiment", points=1, depends_on=("nb2_oct_predict",))
def test_augmented_training_reaches_the_accuracy(answers, key):
    """Dasselbe Netz, mit Augmentation trainiert, erreicht mindestens 80 % auf dem Testdatensatz."""
    assert answers.get("parameters") == key.get("parameters"), (
        "modell_augmentiert hat eine andere Architektur als das vortrainierte Netz. Trainieren Sie "
        "es mit train_oct_model."
    )
    assert _retrained_accuracy(answers, key) >= MIN_AUGMENTED_ACCURACY, (
        "Das mit Augmentation trainierte Netz erreicht auf dem Testdatensatz weniger als 80 %. "
        "Bilden Ihre Operationen die Variationen des Testdatensatzes nach (Augenseite, Neigung, "
        "Helligkeit, Lage)?"
    )


@pytest.mark.task("nb2_experiment", points=1, depends_on=("nb2_oct_predict",))
def test_recorded_accuracy_is_the_models(answers, key):
    """genauigkeit_augmentiert ist die gemessene Genauigkeit von modell_augmentiert."""
    recomputed = _retrained_accuracy(answers, key)
    assert abs(answers.get("accuracy_augmented") - recomputed) <= ACCURACY_AGREEMENT, (
        "genauigkeit_augmentiert passt nicht zu den Vorhersagen von modell_augmentiert auf x_test. "
        "Messen Sie sie mit evaluate(modell_augmentiert, x_test, y_test)."
    )


@pytest.mark.task("nb2_experiment", points=1, depends_on=("nb2_oct_predict",))
def test_no_vertical_flip_among_the_operations(answers, key):
    """Keine Operation spiegelt die Bilder vertikal."""
    outputs = answers.get("operations_on_drusen")
    original = key.get("drusen")
    assert outputs.ndim == 3 and len(outputs) >= 1, (
        "operationen soll mindestens eine Operation enthalten."
    )
    for output in outputs:
        output = _gray(output, original)
        as_flipped = _correlation(output, np.flipud(original))
        assert not (
            as_flipped >= FLIPUD_CORRELATION and as_flipped > _correlation(output, original)
        ), (
            "Mindestens eine Operation spiegelt die Bilder vertikal. Sie erzeugt anatomisch "
            "unmögliche Bilder; eine kleine vertikale Verschiebung ist die bessere Wahl."
        )
