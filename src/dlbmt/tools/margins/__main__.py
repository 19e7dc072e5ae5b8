"""``python -m dlbmt.tools.margins``: the threshold margins on their own."""

import sys

from dlbmt.tools.margins import main

sys.exit(main())
