"""`python -m localdev.demo`: the whole pipeline on 127.0.0.1 (see main.py)."""

import sys

from localdev.demo.main import main

sys.exit(main())
