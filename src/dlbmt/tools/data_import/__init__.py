"""``dlbmt data import kermany|mrnet DIR``: the course's data files from real downloads.

An instructor who has downloaded the public data sets by hand (nothing is
downloaded here) converts them into the course's ``data/`` layout, so that the
notebooks run on real scans. Each import writes the same files, with the same
names, shapes and dtypes, that the generators write; everything else in
``data/`` stays as it is. See docs/real-data.md for the layouts, the licences,
the next steps and what does not carry over to real data.
"""

from dlbmt.tools.data_import.kermany import import_kermany
from dlbmt.tools.data_import.mrnet import import_mrnet
from dlbmt.tools.data_import.staging import ImportReport

__all__ = ["ImportReport", "import_kermany", "import_mrnet"]
