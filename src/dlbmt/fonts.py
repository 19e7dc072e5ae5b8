"""The one font the course draws with: DejaVu Sans from matplotlib's own data folder.

matplotlib ships the font files with every installation, so glyphs, the lab
sheet and the MRI watermark render to the same pixels on every machine without a
system font.
"""

from __future__ import annotations

from pathlib import Path

from dlbmt.errors import CourseError


def dejavu_sans(bold: bool = False) -> Path:
    """Path of DejaVuSans.ttf (or DejaVuSans-Bold.ttf); a German CourseError if it is missing."""
    # Imported here: graders import modules that draw, and they should start without matplotlib.
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.is_file():
        raise CourseError(
            f"Die Schrift {path} fehlt; installieren Sie matplotlib neu (pip install "
            "--force-reinstall matplotlib)."
        )
    return path
