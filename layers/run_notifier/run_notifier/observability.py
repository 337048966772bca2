"""The one place for Logger, Metrics and the optional Tracer, and the `ports.Telemetry` they back.

The domain logs through the standard logger named `ports.SERVICE`; Powertools' Logger is
that same logger with its JSON formatter, so every line is structured and carries the keys
appended per record (`thread_safe_append_keys`: records are processed in worker threads).
Metric writes go through a lock for the same reason.
"""

from __future__ import annotations

import logging
import os
import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from run_notifier.adapters.secret_store import known_secret_values
from run_notifier.domain.ports import SERVICE

NAMESPACE = "ApifyRunNotifier"

logger = Logger(service=SERVICE)
# SDK loggers print what they send and receive at DEBUG: urllib3 the request line (a Slack
# webhook URL's path is the secret itself), botocore whole GetSecretValue responses. Keep them
# at INFO even when the function's log level (or the root logger's) is DEBUG.
for _name in ("urllib3", "botocore", "boto3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.INFO)


class ScrubSecrets(logging.Filter):
    """Replaces every known secret value in a record (message, arguments, extra keys) with ***.

    The second line of defence, after the quiet SDK loggers: no code path should log a secret,
    and if one ever does, at any level, this keeps the value out of CloudWatch.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secret_values()
        if not secrets:
            return True
        message = record.getMessage()
        if any(value in message for value in secrets):
            record.msg, record.args = _scrub(message, secrets), None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "message") and any(v in value for v in secrets):
                record.__dict__[key] = _scrub(value, secrets)
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if any(value in text for value in secrets):
                record.exc_info = None
                record.exc_text = f"(exception text withheld: it held a secret) {_scrub(text, secrets)}"
        return True


def _scrub(text: str, secrets: frozenset[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def install_secret_scrubbing() -> None:
    """Put the filter on every handler of the service's logger and of the root logger (Lambda's own)."""
    scrub = ScrubSecrets()
    for handler in (*logging.getLogger(SERVICE).handlers, *logging.getLogger().handlers):
        if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
            handler.addFilter(scrub)


install_secret_scrubbing()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_metrics_lock = threading.Lock()


class PowertoolsTelemetry:
    """`ports.Telemetry` on Powertools Metrics (CloudWatch EMF)."""

    def count(self, name: str, value: float = 1) -> None:
        with _metrics_lock:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def count_by(self, name: str, dimension: str, value: str) -> None:
        """A count with its own dimension, flushed at once (single_metric ignores the disabled flag)."""
        if os.getenv("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":
            return
        with _metrics_lock, single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
            metric.add_dimension(name=dimension, value=value)


telemetry = PowertoolsTelemetry()
