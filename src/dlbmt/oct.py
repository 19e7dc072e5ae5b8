"""Synthetic retinal OCT B-scans for Notebook 2, a loader for the real Kermany data and the CNN.

The classes follow Kermany et al. (2018), in the order the lab uses:
index 0 = CNV (choroidal neovascularisation), 1 = DME (diabetic macular
oedema), 2 = DRUSEN, 3 = NORMAL.

The generator draws a layered retina (nerve fibre layer, plexiform and nuclear
layers, photoreceptor bands, a bright RPE band, choroid) with a foveal pit and
multiplicative speckle. A right eye has its optic-nerve side, where the nerve
fibre layer is thick, on the right of the image; a left eye is the mirror image.
Pathologies: DRUSEN lift the RPE in small domes; DME thickens the retina and
opens dark cystoid spaces inside it; CNV puts a bright irregular lesion above an
elevated RPE with dark subretinal fluid next to it.

The acquisition settings (eye, tilt, device brightness and contrast, vertical
position) come from a :class:`Variation`. The shipped training set uses the
narrow one (right eyes, no tilt, one device, fixed position); the test set uses
the wide one, so a model trained on the training set alone meets variation it
has never seen.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from dlbmt.datafiles import DataFile
from dlbmt.errors import CourseError
from dlbmt.settings import data_path

CLASSES: tuple[str, ...] = ("CNV", "DME", "DRUSEN", "NORMAL")
CLASS_TITLES_DE: dict[str, str] = {
    "CNV": "CNV – choroidale Neovaskularisation",
    "DME": "DME – diabetisches Makulaödem",
    "DRUSEN": "DRUSEN – Drusen (frühe AMD)",
    "NORMAL": "NORMAL – gesunde Netzhaut",
}
IMAGE_SIZE = 128

TRAIN_PATH = "oct/oct_train.npz"
TEST_PATH = "oct/oct_test.npz"
DRUSEN_PATH = "oct/oct_drusen.png"
MODEL_PATH = "oct/oct_model.keras"
QUALITY_PATH = "oct/oct_model_quality.json"
EXPERIMENT_PATH = "oct/oct_experiment.json"
SAMPLE_PNG_PATHS = tuple(f"oct/bild_{i}.png" for i in range(1, 5))

TRAIN_SEED = 11
TEST_SEED = 12
DRUSEN_SEED = 1
TRAIN_PER_CLASS = 60
TEST_PER_CLASS = 100


@dataclass(frozen=True)
class Variation:
    """Acquisition settings that vary between scans.

    eyes: "right" (all scans of right eyes) or "both" (half of them mirrored).
    max_tilt_deg: the retina is tilted by a uniform angle in +-max_tilt_deg.
    devices: (contrast gain, brightness offset) pairs; each scan uses one at random.
    max_shift: the retina moves up or down by up to this fraction of the height.
    """

    eyes: str
    max_tilt_deg: float
    devices: tuple[tuple[float, float], ...]
    max_shift: float


# The wide variation's tilt and position make most of the shipped network's gap: measured
# on 128 x 128 scans, a network trained on the narrow set reads mirrored eyes and the other
# devices almost as well as its own scans, but tilted and shifted ones far worse (trained on
# single augmentations: shift 0.885-0.905, rotation 0.81, fliplr or brightness 0.71-0.73 on the
# test set). The shift of up to 4 % (5 rows) follows the patient's head in the chin rest.
VARIATIONS: dict[str, Variation] = {
    "narrow": Variation(eyes="right", max_tilt_deg=0.0, devices=((1.0, 0.0),), max_shift=0.0),
    "wide": Variation(
        eyes="both",
        max_tilt_deg=12.0,
        devices=((1.0, 0.0), (0.7, 0.02), (1.3, -0.03), (0.9, 0.12), (1.15, 0.08)),
        max_shift=0.04,
    ),
}


def _variation(variation: str | Variation) -> Variation:
    if isinstance(variation, Variation):
        return variation
    if variation not in VARIATIONS:
        raise CourseError(
            f"Die variation {variation!r} gibt es nicht; verwenden Sie eine von "
            f"{sorted(VARIATIONS)} oder eine Variation(...)."
        )
    return VARIATIONS[variation]


def _dome(x: np.ndarray, centre: float, half_width: float, height: float) -> np.ndarray:
    return height * np.sqrt(np.clip(1.0 - ((x - centre) / half_width) ** 2, 0.0, 1.0))


def _paint_ellipses(
    refl: np.ndarray,
    yy: np.ndarray,
    xx: np.ndarray,
    ellipses: Sequence[tuple[float, float, float, float]],
    value: float,
) -> None:
    for cy, cx, ry, rx in ellipses:
        inside = 1.0 - ((yy - cy) / ry) ** 2 - ((xx - cx) / rx) ** 2
        weight = np.clip(inside * 3.0, 0.0, 1.0)
        refl *= 1.0 - weight
        refl += value * weight


def _render_reflectivity(
    label: int, size: int, rng: np.random.Generator, landmarks: dict | None = None
) -> np.ndarray:
    """Reflectivity (0..1) of one right-eye scan without tilt, shift or device effects.

    If ``landmarks`` is a dict, it receives the (x, y) pixel of each structure that
    :func:`landmarks_of` names; the random draws, and so the scan, stay the same.
    """
    # Feature sizes below are in pixels of a 96 x 96 scan, the size the generator was
    # designed at; s scales them to the size asked for.
    s = size / 96.0
    x = np.arange(size, dtype=np.float64)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    fovea = size * (0.5 + rng.uniform(-0.05, 0.05))
    u = (x - size / 2) / (size / 2)
    pit_strength = rng.uniform(0.85, 1.0)
    pit = pit_strength * np.exp(-(((x - fovea) / (0.085 * size)) ** 2))
    nasal = np.clip((x - fovea) / (0.5 * size), 0.0, 1.0)
    bruch = size * 0.68 - size * rng.uniform(0.02, 0.05) * u**2

    thick = {
        "rnfl": (1.0 + 6.0 * nasal) * (1 - pit) + 0.3,
        "gcl": 3.8 * (1 - 0.95 * pit),
        "ipl": 4.2 * (1 - 0.9 * pit),
        "inl": 4.0 * (1 - 0.85 * pit),
        "opl": 2.6 * (1 - 0.7 * pit),
        "onl": 8.5 + 4.5 * pit,
        "elm": np.full(size, 0.8),
        "myoid": np.full(size, 1.0),
        "ez": np.full(size, 1.5),
        "iz": np.full(size, 1.2),
        "srf": np.zeros(size),
        "shrm": np.zeros(size),
        "rpe": np.full(size, 2.4),
        "sub": np.zeros(size),
    }
    thick = {k: v * rng.uniform(0.92, 1.08) for k, v in thick.items()}
    sub_reflectivity = 0.5
    cysts: list[tuple[str, float, float, float]] = []
    lesion = np.zeros(size)

    name = CLASSES[label]
    if name == "DRUSEN":
        # Drusen are deposits between the RPE and Bruch's membrane: the bright RPE band
        # rises in domes over medium-grey material, and the photoreceptor layers above
        # them thin out, so the inner retina stays flatter than the RPE.
        elevation = np.zeros(size)
        for _ in range(rng.integers(3, 7)):
            centre = fovea + rng.uniform(-0.28, 0.28) * size
            dome = _dome(x, centre, rng.uniform(4.5, 9.0) * s, rng.uniform(5.0, 10.0))
            elevation = np.maximum(elevation, dome)
        thick["sub"] = elevation
        thick["onl"] = np.maximum(thick["onl"] - 0.6 * elevation, 2.0)
        sub_reflectivity = rng.uniform(0.22, 0.32)
    elif name == "DME":
        swelling = rng.uniform(0.5, 1.1) * np.exp(-(((x - fovea) / (0.22 * size)) ** 2))
        flattening = rng.uniform(0.5, 1.0)
        for layer in ("inl", "onl", "opl"):
            thick[layer] = thick[layer] * (1 + swelling)
        thick["inl"] += 3.0 * pit * flattening
        thick["onl"] += 2.0 * pit * flattening
        for _ in range(rng.integers(4, 10)):
            cysts.append(
                (
                    str(rng.choice(["inl", "onl"])),
                    fovea + rng.uniform(-0.22, 0.22) * size,
                    rng.uniform(1.5, 4.5) * s,
                    rng.uniform(2.0, 5.5) * s,
                )
            )
    elif name == "CNV":
        centre = fovea + rng.normal(0, 0.05) * size
        half_width = rng.uniform(0.09, 0.17) * size
        irregular = 1 + 0.35 * ndimage.gaussian_filter1d(rng.normal(size=size), 2.5 * s) * 3
        lesion = _dome(x, centre, half_width, rng.uniform(3.0, 6.5)) * np.clip(irregular, 0.4, 1.6)
        thick["shrm"] = lesion
        thick["sub"] = _dome(
            x, centre + rng.uniform(-0.3, 0.3) * half_width, half_width * 0.8, rng.uniform(1.5, 4.0)
        )
        sub_reflectivity = rng.uniform(0.45, 0.6)
        side = rng.choice([-1.0, 1.0])
        fluid_centre = centre + side * rng.uniform(0.4, 0.9) * half_width
        thick["srf"] = _dome(
            x, fluid_centre, rng.uniform(0.7, 1.2) * half_width, rng.uniform(3.0, 7.0)
        )
        for _ in range(rng.integers(0, 3)):
            cysts.append(
                (
                    "onl",
                    centre + rng.uniform(-1, 1) * half_width,
                    rng.uniform(1.5, 3.0) * s,
                    rng.uniform(1.5, 3.5) * s,
                )
            )

    # Layers from the vitreous down to the choroid: (name, reflectivity).
    order = [
        ("rnfl", 0.78),
        ("gcl", 0.40),
        ("ipl", 0.52),
        ("inl", 0.20),
        ("opl", 0.55),
        ("onl", 0.13),
        ("elm", 0.40),
        ("myoid", 0.17),
        ("ez", 0.82),
        ("iz", 0.45),
        ("srf", 0.04),
        ("shrm", 0.85),
        ("rpe", 0.95),
        ("sub", sub_reflectivity),
    ]
    tops = {}
    bottom = bruch.copy()
    for layer, _ in reversed(order):
        bottom = bottom - thick[layer] * s
        tops[layer] = bottom
    refl = np.full((size, size), 0.03)
    previous = 0.03
    for layer, value in order:
        refl += (value - previous) * np.clip(yy - tops[layer] + 0.5, 0.0, 1.0)
        previous = value
    # Bruch's membrane, choroid and sclera below the RPE.
    for top, value in ((bruch, 0.75), (bruch + 0.8 * s, 0.36), (bruch + 11.0 * s, 0.15)):
        refl += (value - previous) * np.clip(yy - top + 0.5, 0.0, 1.0)
        previous = value
    depth_below_choroid = np.clip(yy - (bruch + 11.0 * s), 0.0, None)
    refl *= np.exp(-depth_below_choroid / (6.0 * s))

    vessels = []
    for _ in range(rng.integers(5, 10)):
        cx = rng.uniform(0, size)
        depth = bruch[int(np.clip(cx, 0, size - 1))] + rng.uniform(4.0, 9.0) * s
        vessels.append((depth, cx, rng.uniform(1.2, 2.5) * s, rng.uniform(2.0, 5.0) * s))
    _paint_ellipses(refl, yy, xx, vessels, 0.1)

    painted_cysts = []
    for layer, cx, ry, rx in cysts:
        column = int(np.clip(cx, 0, size - 1))
        top = tops[layer][column]
        height = thick[layer][column] * s
        cy = top + height * rng.uniform(0.35, 0.65)
        ry = min(ry, height * 0.6 + 1.0)  # a cyst stays inside its layer
        painted_cysts.append((cx, cy, rx * ry))
        _paint_ellipses(refl, yy, xx, [(cy, cx, ry, rx)], 0.03)
    if name == "DME":
        for _ in range(rng.integers(2, 6)):
            cx = fovea + rng.uniform(-0.25, 0.25) * size
            column = int(np.clip(cx, 0, size - 1))
            cy = rng.uniform(tops["ipl"][column], tops["elm"][column])
            _paint_ellipses(refl, yy, xx, [(cy, cx, 0.9 * s, 0.9 * s)], 0.9)

    # Retinal vessels cast vertical shadows; a thick lesion shadows the choroid.
    ilm = tops["rnfl"]
    for _ in range(rng.integers(1, 3)):
        cx = rng.uniform(0.1, 0.9) * size
        shade = 0.5 * np.exp(-(((xx - cx) / (1.5 * s)) ** 2))
        refl *= 1.0 - shade * (yy > ilm[None, :] + 2.0 * s)
    if lesion.max() > 0:
        refl *= 1.0 - 0.5 * (lesion / lesion.max())[None, :] * (yy > bruch[None, :])

    if landmarks is not None:
        landmarks.update(_landmarks(name, size, fovea, tops, thick, bruch, painted_cysts))

    texture = ndimage.gaussian_filter(rng.normal(size=(size, size)), 1.5 * s)
    refl *= 1.0 + 0.6 * texture / (texture.std() + 1e-9) * 0.25
    return ndimage.gaussian_filter(refl, 0.5 * s)


def _landmarks(
    name: str,
    size: int,
    fovea: float,
    tops: dict[str, np.ndarray],
    thick: dict[str, np.ndarray],
    bruch: np.ndarray,
    cysts: list[tuple[float, float, float]],
) -> dict[str, tuple[float, float]]:
    """Where the structures of one scan lie, as (x, y) pixels of the untilted right eye."""
    s = size / 96.0

    def middle_of(layer: str, column: float) -> tuple[float, float]:
        x = int(np.clip(column, 0, size - 1))
        return float(x), float(tops[layer][x] + 0.5 * thick[layer][x] * s)

    temporal = 0.2 * size  # left of the pit, away from the thick nerve fibres
    points = {
        "vitreous": (temporal, float(tops["rnfl"][int(temporal)] - 12 * s)),
        "fovea": (float(fovea), float(tops["rnfl"][int(fovea)])),
        "nerve fibre layer": middle_of("rnfl", 0.9 * size),
        "RPE": middle_of("rpe", temporal),
        "choroid": (temporal, float(bruch[int(temporal)] + 5 * s)),
    }
    if name == "DRUSEN":
        points["druse"] = middle_of("sub", int(np.argmax(thick["sub"])))
    elif name == "DME":
        cx, cy, _ = max(cysts, key=lambda cyst: cyst[2])  # the largest cyst
        points["cyst"] = (float(cx), float(cy))
    elif name == "CNV":
        points["CNV lesion"] = middle_of("shrm", int(np.argmax(thick["shrm"])))
        points["subretinal fluid"] = middle_of("srf", int(np.argmax(thick["srf"])))
    return points


def landmarks_of(
    label: int, rng: np.random.Generator, size: int = IMAGE_SIZE
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """The scan :func:`generate_oct_image` draws next from ``rng`` with the narrow variation,
    and where its structures lie: ``(image, {name: (x, y)})``.

    Names: vitreous, fovea, nerve fibre layer, RPE, choroid, and the finding of the class
    (druse, cyst, CNV lesion and subretinal fluid). For the montage of the documentation.
    """
    points: dict[str, tuple[float, float]] = {}
    refl = _render_reflectivity(label, size, rng, points)
    return _acquire(refl, VARIATIONS["narrow"], rng), points


def _acquire(refl: np.ndarray, variation: Variation, rng: np.random.Generator) -> np.ndarray:
    """Tilt, shift, mirror, speckle and device response turn reflectivity into a uint8 scan."""
    size = refl.shape[0]
    tilt = np.tan(np.deg2rad(rng.uniform(-1, 1) * variation.max_tilt_deg))
    shift = rng.uniform(-1, 1) * variation.max_shift * size
    if tilt or shift:
        # Tilt shears each column vertically, as when the scan beam meets the eye obliquely.
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
        source_y = yy - shift - tilt * (xx - size / 2)
        refl = ndimage.map_coordinates(refl, [source_y, xx], order=1, mode="nearest")
    if variation.eyes == "both" and rng.random() < 0.5:
        refl = refl[:, ::-1]
    speckle = rng.gamma(shape=2.5, scale=1 / 2.5, size=refl.shape)
    speckle = ndimage.gaussian_filter(speckle, 0.6)
    speckle /= speckle.mean()
    signal = refl * speckle + 0.035 * rng.rayleigh(size=refl.shape)
    gain, offset = variation.devices[rng.integers(len(variation.devices))]
    display = gain * signal + offset
    return np.clip(np.rint(display * 235.0), 0, 255).astype(np.uint8)


def generate_oct_image(
    label: int,
    rng: np.random.Generator,
    variation: str | Variation = "narrow",
    size: int = IMAGE_SIZE,
) -> np.ndarray:
    """One synthetic B-scan of class ``label`` (0=CNV, 1=DME, 2=DRUSEN, 3=NORMAL), uint8 (H, W)."""
    if label not in range(len(CLASSES)):
        raise CourseError(f"generate_oct_image: label muss 0 bis 3 sein, nicht {label!r}.")
    return _acquire(_render_reflectivity(label, size, rng), _variation(variation), rng)


def generate_oct_dataset(
    n_per_class: int, seed: int, variation: str | Variation = "narrow", size: int = IMAGE_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` scans of each class in shuffled order: images uint8 (N, H, W), labels int64.

    The same arguments always give the same arrays.
    """
    if n_per_class < 1:
        raise CourseError(
            f"generate_oct_dataset: n_per_class muss mindestens 1 sein, nicht {n_per_class}."
        )
    chosen = _variation(variation)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES), dtype=np.int64), n_per_class)
    labels = labels[rng.permutation(len(labels))]
    images = np.stack([generate_oct_image(int(k), rng, chosen, size) for k in labels])
    return images, labels


def save_npz(target: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed``, but with fixed zip dates so the bytes never change."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def _load_npz(relative: str) -> tuple[np.ndarray, np.ndarray]:
    path = data_path(relative)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["x"], archive["y"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise CourseError(
            f"{relative} ließ sich nicht lesen ({error}). Bitten Sie die Betreuung um die Datei "
            "(oder stellen Sie sie mit `dlbmt data build` wieder her)."
        ) from None


def load_oct_train() -> tuple[np.ndarray, np.ndarray]:
    """The shipped small training set: images uint8 (N, 128, 128), labels 0..3."""
    return _load_npz(TRAIN_PATH)


def load_oct_test() -> tuple[np.ndarray, np.ndarray]:
    """The shipped held-out test set with the wide acquisition variation."""
    return _load_npz(TEST_PATH)


def load_oct_samples() -> np.ndarray:
    """Bild 1-4 for the notebook's diagnosis task: uint8 (4, 128, 128), no labels.

    The four scans are not part of the test set; their diagnoses are for the
    students to make.
    """
    images = []
    for relative in SAMPLE_PNG_PATHS:
        try:
            with Image.open(data_path(relative)) as image:
                images.append(np.asarray(image.convert("L")))
        except OSError as error:
            raise CourseError(
                f"{relative} ließ sich nicht lesen ({error}). Bitten Sie die Betreuung um die "
                "Datei (oder erzeugen Sie sie mit `dlbmt train oct` neu)."
            ) from None
    return np.stack(images)


def load_drusen_image() -> np.ndarray:
    """The drusen scan for the augmentation task, uint8 (128, 128)."""
    with Image.open(data_path(DRUSEN_PATH)) as image:
        return np.asarray(image.convert("L"))


def read_kermany_scan(path: str | Path, size: int = IMAGE_SIZE) -> np.ndarray:
    """One Kermany scan as the course uses it: greyscale, ``size`` x ``size``, uint8.

    Pillow converts the JPEG to greyscale and resizes it bilinearly. Pillow's own
    errors (``OSError`` for a file that is not an image) pass through, so that each
    caller can name the file in words its readers understand.
    """
    with Image.open(path) as image:
        grey = image.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.uint8)


def load_kermany_folder(
    root: str | Path, split: str = "train", size: int = IMAGE_SIZE, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from the real Kermany layout ``root/{train,test}/{CNV,...}/*.jpeg``.

    ``root`` is the ``OCT2017`` folder. Images are converted to grayscale and
    resized to ``size`` x ``size``; ``limit`` caps the number per class. Files
    are read in sorted order, class by class.
    """
    folder = Path(root) / split
    if not folder.is_dir():
        raise CourseError(
            f"load_kermany_folder: {folder} gibt es nicht. Geben Sie den Ordner OCT2017 an, der "
            "train/ und test/ enthält, und split='train' oder 'test'."
        )
    images, labels = [], []
    for index, name in enumerate(CLASSES):
        class_folder = folder / name
        if not class_folder.is_dir():
            raise CourseError(
                f"load_kermany_folder: Der Klassenordner {class_folder} fehlt. Jeder Teil "
                f"braucht die Ordner {', '.join(CLASSES)}."
            )
        files = sorted(
            p for p in class_folder.iterdir() if p.suffix.lower() in {".jpeg", ".jpg", ".png"}
        )
        if not files:
            raise CourseError(f"load_kermany_folder: {class_folder} enthält keine JPEG-Bilder.")
        for path in files[:limit]:
            try:
                images.append(read_kermany_scan(path, size))
            except OSError as error:
                raise CourseError(
                    f"load_kermany_folder: {path} ist kein lesbares Bild ({error})."
                ) from None
            labels.append(index)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


REFERENCE_SEED = 2


def reference_examples(seed: int = REFERENCE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """One clear training-style example per class, in class order."""
    rng = np.random.default_rng(seed)
    images = np.stack([generate_oct_image(k, rng, "narrow") for k in range(len(CLASSES))])
    return images, np.arange(len(CLASSES))


def plot_reference_examples(images: np.ndarray | None = None, labels: np.ndarray | None = None):
    """A figure with one labelled scan per class (German titles); returns the figure."""
    import matplotlib.pyplot as plt

    if images is None or labels is None:
        images, labels = reference_examples()
    figure, axes = plt.subplots(
        1, len(images), figsize=(3.2 * len(images), 3.9), layout="constrained"
    )
    for axis, image, label in zip(np.atleast_1d(axes), images, labels, strict=True):
        axis.imshow(image, cmap="gray", vmin=0, vmax=255)
        axis.set_title(CLASS_TITLES_DE[CLASSES[int(label)]].replace(" – ", "\n"), fontsize=10)
        axis.axis("off")
    figure.suptitle("OCT-Beispielbilder, je Klasse eines (rechtes Auge)")
    return figure


def _save_png(image: np.ndarray, target: Path) -> None:
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L").save(target, format="PNG")


def build_train(target: Path) -> None:
    x, y = generate_oct_dataset(TRAIN_PER_CLASS, TRAIN_SEED, "narrow")
    save_npz(target, x=x, y=y)


def build_test(target: Path) -> None:
    x, y = generate_oct_dataset(TEST_PER_CLASS, TEST_SEED, "wide")
    save_npz(target, x=x, y=y)


def build_drusen_image(target: Path) -> None:
    rng = np.random.default_rng(DRUSEN_SEED)
    _save_png(generate_oct_image(CLASSES.index("DRUSEN"), rng, "narrow"), target)


def write_samples(images: np.ndarray, folder: Path) -> None:
    """Store Bild 1-4 as PNGs, without anything that tells their class."""
    for image, relative in zip(images, SAMPLE_PNG_PATHS, strict=True):
        _save_png(image, folder / Path(relative).name)


def build_oct_model(size: int = IMAGE_SIZE):
    """The small CNN of the lab: three convolution blocks, then a dense classifier."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(size, size, 1), name="oct_scan")
    h = layers.Rescaling(1.0 / 255.0)(inputs)
    for filters in (16, 32, 32):
        h = layers.Conv2D(filters, 3, activation="relu")(h)
        h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    h = layers.Dropout(0.3)(h)
    h = layers.Dense(32, activation="relu")(h)
    outputs = layers.Dense(len(CLASSES), activation="softmax", name="class")(h)
    model = keras.Model(inputs, outputs, name="oct_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _as_batch(x: np.ndarray) -> np.ndarray:
    array = np.asarray(x)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] != 1:
        raise CourseError(
            f"Erwartet werden Graubilder der Form (N, H, W) oder (N, H, W, 1), nicht {np.shape(x)}."
        )
    return array.astype("float32")


def train_oct_model(
    x_train: np.ndarray,
    y_train: np.ndarray,
    epochs: int = 20,
    seed: int = 0,
    batch_size: int = 32,
    verbose: int = 0,
):
    """Train the course CNN (:func:`build_oct_model`) on uint8 scans and return it.

    The same data and seed give the same model on the same machine.
    """
    import keras

    images = _as_batch(x_train)
    labels = np.asarray(y_train, dtype=np.int64)
    if len(images) != len(labels):
        raise CourseError(
            f"train_oct_model: x_train enthält {len(images)} Bilder, y_train aber {len(labels)} "
            "Labels; zu jedem Bild gehört genau ein Label."
        )
    keras.utils.set_random_seed(seed)
    model = build_oct_model(images.shape[1])
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return model


def predict_classes(model, x: np.ndarray) -> np.ndarray:
    """Predicted class indices (0=CNV, 1=DME, 2=DRUSEN, 3=NORMAL) for scans ``x``."""
    return np.argmax(model.predict(_as_batch(x), batch_size=128, verbose=0), axis=1)


def evaluate(model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy (0..1) of ``model`` on scans ``x`` with true labels ``y``."""
    return float(np.mean(predict_classes(model, x) == np.asarray(y)))


_GENERATED = "CC0-1.0 (generated by this course)"
_RECIPE = "recipe `dlbmt train oct`, seed 0"
_SAMPLES_RECIPE = (
    "recipe `dlbmt train oct`: fresh wide-variation scans (not from the test set) chosen with "
    "the shipped model"
)
DATA_FILES = [
    DataFile(
        TRAIN_PATH, f"generator dlbmt.oct.build_train, seed {TRAIN_SEED}", _GENERATED, build_train
    ),
    DataFile(
        TEST_PATH, f"generator dlbmt.oct.build_test, seed {TEST_SEED}", _GENERATED, build_test
    ),
    DataFile(
        DRUSEN_PATH,
        f"generator dlbmt.oct.build_drusen_image, seed {DRUSEN_SEED}",
        _GENERATED,
        build_drusen_image,
    ),
    DataFile(MODEL_PATH, _RECIPE, _GENERATED),
    DataFile(QUALITY_PATH, _RECIPE, _GENERATED),
    *(DataFile(p, _SAMPLES_RECIPE, _GENERATED) for p in SAMPLE_PNG_PATHS),
    DataFile(
        EXPERIMENT_PATH,
        "`dlbmt margins --record`: the retraining experiment measured over 10 seeds",
        _GENERATED,
    ),
]
