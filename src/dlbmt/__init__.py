"""Helper package of the lab course "Deep Learning in der Biomedizintechnik".

Notebooks import what they need by name, for example
``from dlbmt.ecg import load_qrs_complexes``. The package holds loaders,
generators, plotting, widgets, CAM utilities and training recipes. It never
holds solutions or grading logic, because students can read it.
"""

__version__ = "0.1.0"
