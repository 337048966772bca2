"""`python -m localdev.chaos` (and its workers, with --worker)."""

import sys

from localdev.chaos.orchestrator import main

sys.exit(main())
