"""Lambda entry point of the webhook intake, behind a Function URL: Apify webhooks and `POST /runs` in,
run IDs on the run queue out. `run_notifier.function_url_handler` does the work."""

from __future__ import annotations

from run_notifier.config import load_intake_settings
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.wiring import build_intake

lambda_handler = make_intake_handler(build_intake(load_intake_settings()))
