"""The discovery sweep's entry point, invoked on a schedule: sweep within the invocation's time.

A sweep that stops early (Apify 429/5xx, a queue error, out of time) returns normally with
its report: the watermark stayed at the last page read completely, and the next scheduled
sweep goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from run_notifier.domain.deadline import Deadline
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
