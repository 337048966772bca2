"""Load a function's handler module as Lambda does: its own folder and the layer first on the path.

The one `sys.path` edit in the project's tools. Every function's module is `app.py`, so only one
function can be loaded per process (as in Lambda); tests load handlers through pytest's
`pythonpath` instead (pyproject.toml).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "run_notifier"
FUNCTIONS = {
    "RunWatcherFunction": ROOT / "functions" / "run_watcher",
    "WebhookIntakeFunction": ROOT / "functions" / "webhook_intake",
    "RunSweeperFunction": ROOT / "functions" / "run_sweeper",
}


def as_in_lambda(function: str = "RunWatcherFunction") -> None:
    """The function's root and the layer (Lambda's /var/task and /opt/python) first on the path."""
    for path in (LAYER, FUNCTIONS[function]):
        if str(path) in sys.path:
            sys.path.remove(str(path))
        sys.path.insert(0, str(path))


def load_app(function: str = "RunWatcherFunction") -> ModuleType:
    """The function's `app` module, imported (its cold start run) as Lambda would."""
    as_in_lambda(function)
    return importlib.import_module("app")
