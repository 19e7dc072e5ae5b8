"""Helpers around class activation maps: where a map peaks, how much of it lies in a box,
drawing it over an image, and hiding a watermark corner.

Computing a CAM is Notebook 3's task (``meine_cam``); this module only works
with maps that are already computed. Boxes are ``(x0, y0, x1, y1)`` in pixels,
x = column, y = row, x1 and y1 exclusive.
"""

from __future__ import annotations

import numpy as np

from dlbmt.errors import CourseError

Box = tuple[int, int, int, int]


def cam_peak(cam: np.ndarray) -> tuple[int, int]:
    """``(row, col)`` of the map's maximum (the first one if several are equal)."""
    cam = np.asarray(cam)
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return int(row), int(col)


def _in_box(row: int, col: int, box: Box) -> bool:
    x0, y0, x1, y1 = box
    return x0 <= col < x1 and y0 <= row < y1


def pointing_game_hit(cam: np.ndarray, box: Box) -> bool:
    """True when the map's maximum lies inside ``box`` (the pointing game)."""
    return _in_box(*cam_peak(cam), box)


def energy_in_box(cam: np.ndarray, box: Box) -> float:
    """Share of the map's total (non-negative) mass that lies inside ``box``, between 0 and 1."""
    cam = np.maximum(np.asarray(cam, dtype=np.float64), 0.0)
    total = cam.sum()
    if total == 0:
        return 0.0
    x0, y0, x1, y1 = box
    return float(cam[y0:y1, x0:x1].sum() / total)


def overlay(image, cam: np.ndarray, ax, cmap: str = "jet", alpha: float = 0.4):
    """Draw ``image`` in grey with ``cam`` on top into the matplotlib axes ``ax``; return ``ax``."""
    picture = np.asarray(image)
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if picture.shape != np.shape(cam):
        raise CourseError(
            f"Bild {picture.shape} und Karte {np.shape(cam)} sind verschieden groß; "
            "berechnen Sie die Karte aus demselben Bild."
        )
    ax.imshow(picture, cmap="gray")
    ax.imshow(cam, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def mask_corner(images, box: Box, value: float | None = None) -> np.ndarray:
    """A copy of ``images`` with ``box`` filled, to hide a watermark at inference.

    Works on one image (H, W) or (H, W, 1) and on stacks (N, H, W) or (N, H, W, 1).
    Without ``value`` the box gets the median of the equally tall band just above
    it, so it looks like plain background rather than a black patch.
    """
    array = np.array(images, copy=True)
    spatial = array[..., 0] if array.shape[-1] == 1 and array.ndim >= 3 else array
    if spatial.ndim not in (2, 3):
        raise CourseError(
            f"mask_corner erwartet Bilder der Form (N, H, W[, 1]), nicht {array.shape}."
        )
    x0, y0, x1, y1 = box
    height, width = spatial.shape[-2:]
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise CourseError(f"Die Box {box} passt nicht in Bilder der Größe {height} × {width}.")
    if value is None:
        band = spatial[..., max(2 * y0 - y1, 0) : y0, x0:x1]
        if band.shape[-2] == 0:
            band = spatial[..., y1 : y1 + (y1 - y0), x0:x1]
        fill = np.median(band.reshape(*band.shape[:-2], -1), axis=-1)
        fill = np.asarray(fill, dtype=np.float64)[..., None, None]
    else:
        fill = value
    spatial[..., y0:y1, x0:x1] = fill
    return array
