"""``python -m benchmarks``: the loss comparison of the paper's Tables 3 and 4 (:mod:`.run`)."""
import sys

from .run import main

sys.exit(main())
