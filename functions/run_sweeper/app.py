"""Lambda entry point of the discovery sweep, on a schedule: Apify's run list in, new runs on the
run queue out. `run_notifier.domain.sweep` decides; `run_notifier.schedule_handler` runs it."""

from __future__ import annotations

from run_notifier.config import load_sweeper_settings
from run_notifier.schedule_handler import make_sweep_handler
from run_notifier.wiring import build_sweeper

lambda_handler = make_sweep_handler(build_sweeper(load_sweeper_settings()))
