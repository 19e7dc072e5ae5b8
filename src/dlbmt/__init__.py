"""Helper package of the lab course "Deep Learning in der Biomedizintechnik".

This top level is what students install and what notebooks import by name, for
example ``from dlbmt.ecg import load_qrs_complexes``:

``dlbmt.ecg``        QRS complexes (simulated ECG or WFDB), plots, the training callback
``dlbmt.network121`` the 1-2-1 ReLU network of Notebook 1 as a NumPy function
``dlbmt.widgets``    the widget for fitting that network by hand
``dlbmt.mnist``      MNIST digits and ``show_digits``
``dlbmt.glyphs``     letters and symbols drawn like MNIST digits
``dlbmt.labsheet``   the lab sheet's files and ``parse_reference_range``
``dlbmt.oct``        OCT B-scans, the pretrained network's loaders and training
``dlbmt.augment``    image augmentations for the OCT experiment
``dlbmt.mri``        knee-MRI volumes in MRNet's format, the audit set, the watermark
``dlbmt.mri_model``  Notebook 3's network, training data and ``fit``
``dlbmt.cam``        working with class activation maps (peak, box, overlay, masking)
``dlbmt.settings``   where the data is (``data_path``) and the smoke switch (``pick``)
``dlbmt.recording``  what the hidden test cells use to record answers
``dlbmt.errors``     ``CourseError``, the package's one error for its users

It holds no solutions and no grading logic, because students can read it. The
instructor-only subpackages ``dlbmt.grading`` (the grading engine) and
``dlbmt.tools`` (the ``dlbmt`` command and everything that holds answers) are not
part of the student package (``dlbmt bundle``) and are hidden from the kernel of
a graded submission.
"""

import sys

__version__ = "0.1.0"

# jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed, and
# that module compiles Lark grammars for the "iri" formats at import time: about
# one second in every process that reads a notebook, i.e. twice per graded
# submission. No schema we validate (nbformat's, nbgrader's, Jupyter's events) uses
# those formats; marked as absent, jsonschema simply leaves them unchecked. A
# process that imported it before us keeps it.
sys.modules.setdefault("rfc3987_syntax", None)
