"""`python -m scripts.bench`."""

import sys

from scripts.bench.main import main

sys.exit(main())
