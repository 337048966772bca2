import sys

from localdev.soak.main import main

sys.exit(main())
