"""When to look at a run again: the long-poll budget and the re-enqueue delay per attempt.

This module is pure (no I/O, no clock) so that the benchmark's discrete-event simulation
(`scripts/bench.py`) drives exactly this code with a virtual clock.

Why these defaults (numbers from `make bench`, see docs/performance.md):

* A long poll (`waitForFinish`) costs Lambda time while it waits, and one Apify call; a
  delayed re-enqueue costs nothing while it waits but alerts late by up to the delay.
* Most runs in a typical mix are short, so the first attempt long-polls the full 60 s
  Apify allows: a run that ends then is seen the moment it ends.
* After that, every attempt is a plain read (wait 0 s): long polls of long runs are what
  make a blocking waiter cost ~450 GB-s per run-hour.
* The delay grows quickly (5, 20, 40 s) to a 65 s cap, not to SQS's 900 s. p95 latency is
  about the cap, and Apify calls per run-hour about 3600 / (cap + ~1 s of pickup): 65 s is
  the cheapest cap in the sweep that keeps both p95 <= settle + 60 s and <= 60 calls per
  run-hour with a margin (60 s sat at 59.8 calls). Raise `MaxRequeueDelaySeconds` to trade
  latency for calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Apify caps `waitForFinish` at 60 s.
APIFY_MAX_WAIT_SECS = 60
#: SQS caps `DelaySeconds` at 900 s.
SQS_MAX_DELAY_SECS = 900


@dataclass(frozen=True)
class Schedule:
    """Per-attempt long-poll budgets and re-enqueue delays; the last entry repeats."""

    long_poll_secs: tuple[int, ...] = (60, 0)
    requeue_delays_secs: tuple[int, ...] = (5, 20, 40, 65)
    max_requeue_delay_secs: int = 65
    settle_secs: int = 10
    #: Time kept back in each invocation for the DynamoDB write and the notifications.
    safety_margin_secs: float = 12.0

    def __post_init__(self) -> None:
        if not self.long_poll_secs or not self.requeue_delays_secs:
            raise ValueError("schedules need at least one entry")
        if any(s < 0 or s > APIFY_MAX_WAIT_SECS for s in self.long_poll_secs):
            raise ValueError(f"long-poll seconds must be 0..{APIFY_MAX_WAIT_SECS}")
        if any(d < 0 for d in self.requeue_delays_secs):
            raise ValueError("re-enqueue delays must be >= 0")
        if not 1 <= self.max_requeue_delay_secs <= SQS_MAX_DELAY_SECS:
            raise ValueError(f"max re-enqueue delay must be 1..{SQS_MAX_DELAY_SECS}")
        if not 0 <= self.settle_secs <= SQS_MAX_DELAY_SECS:
            raise ValueError(f"settle seconds must be 0..{SQS_MAX_DELAY_SECS}")

    def wait_for_finish(self, attempt: int, seconds_left: float) -> int:
        """`waitForFinish` for this attempt: its budget, never past the invocation's end."""
        budget = pick(self.long_poll_secs, attempt)
        usable = math.floor(seconds_left - self.safety_margin_secs)
        return max(0, min(APIFY_MAX_WAIT_SECS, budget, usable))

    def requeue_delay(self, attempt: int) -> int:
        """`DelaySeconds` for the message that carries attempt ``attempt + 1``; always >= 1."""
        delay = pick(self.requeue_delays_secs, attempt)
        return max(1, min(delay, self.max_requeue_delay_secs, SQS_MAX_DELAY_SECS))

    def settle_delay(self, finished_ago_secs: float) -> int:
        """How much longer to wait before costs are settled (0: read them now)."""
        if self.settle_secs <= 0:
            return 0
        return max(0, math.ceil(self.settle_secs - max(0.0, finished_ago_secs)))


def pick(values: tuple[int, ...], attempt: int) -> int:
    """The entry for this attempt (0-based); the last entry repeats."""
    return values[min(max(attempt, 0), len(values) - 1)]


def parse_int_list(text: str, name: str) -> tuple[int, ...]:
    """Parse "60,30,0" into (60, 30, 0), with an error that names the variable."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated whole seconds, got {text!r}") from None
    if not values:
        raise ValueError(f"{name} must list at least one value")
    return values
