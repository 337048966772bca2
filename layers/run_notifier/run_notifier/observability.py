"""The one place for Logger and Metrics, and the `events.Events` adapter they back.

The domain logs through the standard logger named `ports.SERVICE`; Powertools' Logger is
that same logger with its JSON formatter, so every line is structured and carries the keys
appended per record (`thread_safe_append_keys`: records are processed in worker threads).
Metric writes go through a lock for the same reason.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from run_notifier.adapters.secret_store import holds_known, known_secret_values, scrub_known
from run_notifier.domain.credentials import holds_credential, mask_credentials
from run_notifier.domain.ports import SERVICE, log
from run_notifier.observability_table import RENDERINGS

if TYPE_CHECKING:
    from run_notifier.domain.events import Event

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
        """Mask every known secret and everything shaped like a credential in the record's message,
        arguments and fields; never drops a record."""
        secrets = known_secret_values()

        def clean(text: str) -> str | None:
            """The text masked, or None when it holds nothing to mask."""
            if holds_known(text, secrets) or holds_credential(text):
                return mask_credentials(scrub_known(text, secrets))
            return None

        message = record.getMessage()
        if (masked := clean(message)) is not None:
            record.msg, record.args = masked, None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "message") and (masked := clean(value)) is not None:
                record.__dict__[key] = masked
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if (masked := clean(text)) is not None:
                record.exc_info = None
                record.exc_text = f"(exception text withheld: it held a secret) {masked}"
        return True


def install_secret_scrubbing() -> None:
    """Put the filter on every handler of the service's logger and of the root logger (Lambda's own)."""
    scrub = ScrubSecrets()
    for handler in (*logging.getLogger(SERVICE).handlers, *logging.getLogger().handlers):
        if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
            handler.addFilter(scrub)


install_secret_scrubbing()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_metrics_lock = threading.Lock()


def _count(name: str, value: float, dimension: tuple[str, str] | None) -> None:
    """One EMF count; with a dimension of its own it is flushed at once (single_metric)."""
    if dimension is None:
        with _metrics_lock:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return
    if os.getenv("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":
        return  # single_metric ignores the disabled flag
    with _metrics_lock, single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name=dimension[0], value=dimension[1])


class EventLog:
    """`events.Events` on Powertools: each event as one structured log line and its metrics
    (observability_table.RENDERINGS), then to every subscriber (the demo, chaos, the benchmark).

    A subscriber that raises is logged and kept out of the product's path: an event never fails a run.
    """

    def __init__(self) -> None:
        self._subscribers: tuple[Callable[[Event], None], ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` with every event from now on (in the emitting thread); returns the unsubscribe."""
        with self._lock:
            self._subscribers = (*self._subscribers, listener)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Log the event at its level (observability_table.py), count its metrics, and tell the subscribers."""
        rendering = RENDERINGS[type(event)]
        level = rendering.level(event) if callable(rendering.level) else rendering.level
        if level is not None and log.isEnabledFor(level):
            message = rendering.message if isinstance(rendering.message, str) else rendering.message(event)
            fields = {"event": type(event).__name__, **{k: _printable(v) for k, v in event._asdict().items()}}
            log.log(level, message, extra=fields, exc_info=rendering.exc_info)
        dimension = (rendering.dimension, str(getattr(event, rendering.dimension))) if rendering.dimension else None
        for name, value in rendering.metrics(event):
            if value:
                _count(name, value, dimension)
        for listener in self._subscribers:
            try:
                listener(event)
            except Exception as error:  # a tool's bug must not fail a run
                log.warning("An event subscriber failed", extra={"reason": f"{type(error).__name__}: {error}"[:300]})


def _printable(value: object) -> object:
    """Text a log stream can write: a lone surrogate (from a hostile body) becomes its escape, instead
    of a logging error that loses the line."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="backslashreplace").decode("utf-8")
    if isinstance(value, tuple):
        return tuple(_printable(item) for item in value)
    return value


events = EventLog()
