"""The one place for Logger, Metrics and the optional Tracer.

Records are processed in worker threads: per-record keys go through Powertools'
`thread_safe_append_keys`, and metric writes go through a lock.
"""

from __future__ import annotations

import logging
import os
import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = "apify-run-notifier"
NAMESPACE = "ApifyRunNotifier"

logger = Logger(service=SERVICE)
# urllib3 logs every request line at DEBUG, and a Slack webhook URL's path is the secret itself:
# keep it quiet even when the function's log level is DEBUG.
logging.getLogger("urllib3").setLevel(logging.INFO)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_metrics_lock = threading.Lock()


def count(name: str, value: float = 1) -> None:
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_with_dimension(name: str, dimension: str, value: str) -> None:
    """A count with its own dimension (e.g. runs finished by status), flushed at once."""
    if os.getenv("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":  # single_metric ignores the flag
        return
    with _metrics_lock, single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name=dimension, value=value)
