"""The scheduled functions' entry points: the discovery sweep, and the hourly digests and budgets.

A sweep that stops early (Apify 429/5xx, a queue error, out of time) returns normally with
its report: the watermark stayed at the last page read completely, and the next scheduled
sweep goes on from there. The digest function decides what is due from the scheduled event's
own `time` (so a retry or a replay of an event decides as the first delivery did); a delivery
that fails raises, and the scheduler's retry of the same event finds the claims of what went out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.fleet_reporter import FleetReporter
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.sweep import Sweeper
from run_notifier.observability import logger, metrics

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def make_sweep_handler(sweeper: Sweeper) -> Handler:
    """The sweep's Lambda handler: one sweep within the invocation's time; returns its report."""

    @logger.inject_lambda_context(clear_state=True, log_event=False)  # events carry tokens: never logged
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        deadline = Deadline.after(context.get_remaining_time_in_millis() / 1000)
        return sweeper.sweep(deadline)._asdict()

    return lambda_handler


def make_digest_handler(reporter: FleetReporter) -> Handler:
    """The digest function's handler: what is due at the event's `time`, posted once."""

    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        scheduled_for = parse_iso(event.get("time") if isinstance(event, dict) else None)
        if scheduled_for is None:
            raise ValueError('a scheduled event has a "time" (ISO 8601): nothing to decide what is due from')
        deadline = Deadline.after(context.get_remaining_time_in_millis() / 1000)
        outcome = reporter.run(scheduled_for, deadline)
        logger.info("Digests and budgets done", extra={"scheduled_for": event["time"], **outcome._asdict()})
        return outcome._asdict()

    return lambda_handler
