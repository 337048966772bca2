"""Lambda entry point of the digests and budgets, every hour: what the routes document's `digests`
and `budgets` say is due at the scheduled event's `time` is posted once (Slack, EventBridge).
`run_notifier.domain.fleet_reporter` decides; `run_notifier.schedule_handler` runs it."""

from __future__ import annotations

from run_notifier.config import load_digest_settings
from run_notifier.schedule_handler import make_digest_handler
from run_notifier.wiring import build_fleet_reporter

lambda_handler = make_digest_handler(build_fleet_reporter(load_digest_settings()))
