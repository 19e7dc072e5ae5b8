"""Helper package of the lab course "Deep Learning in der Biomedizintechnik".

Notebooks import what they need by name, for example
``from dlbmt.ecg import load_qrs_complexes``. The package holds loaders,
generators, plotting, widgets, CAM utilities and training recipes. It never
holds solutions or grading logic, because students can read it.
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
