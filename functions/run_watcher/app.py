"""Lambda entry point of the run watcher: an SQS batch in, a partial batch response out.

Thin on purpose: the environment is read once (a bad value stops the cold start with the
variable's name), the components are built once, and `run_notifier.sqs_handler` does the rest.
"""

from __future__ import annotations

from run_notifier.config import load_settings
from run_notifier.sqs_handler import make_handler
from run_notifier.wiring import build_components

lambda_handler = make_handler(build_components(load_settings()))
