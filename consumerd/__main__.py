"""``python -m pylttng.consumerd``: same as ``pylttng-consumerd``."""

import sys

from .main import main

sys.exit(main())
