"""When to look at a run again: the long-poll budget, the re-enqueue delay per attempt, and
when a failed record comes back.

This module is pure (no I/O, no clock), as is the policy that uses it (domain/policy.py): the
benchmark runs the real watcher on a virtual clock (localdev/virtual_watch.py).

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
* With push armed (domain/push.py) a webhook tells us when the run ends, and polling is only
  the safety net: a plain read (no long poll) every `SAFETY_NET_DELAY_SCHEDULE` seconds, 900 s
  (SQS's cap) by default. A lost webhook then costs at most one safety-net period of latency;
  `make bench` shows what each setting costs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

#: Apify caps `waitForFinish` at 60 s.
APIFY_MAX_WAIT_SECS = 60
#: SQS caps `DelaySeconds` at 900 s.
SQS_MAX_DELAY_SECS = 900
#: SQS caps a message's visibility timeout at 12 hours.
SQS_MAX_VISIBILITY_SECS = 12 * 3600


class Schedule(NamedTuple):
    """Per-attempt long-poll budgets and re-enqueue delays; the last entry repeats.

    No defaults here: the one table of defaults and bounds is `run_notifier.config`.
    """

    long_poll_secs: tuple[int, ...]
    requeue_delays_secs: tuple[int, ...]
    max_requeue_delay_secs: int
    settle_secs: int
    #: Seconds until a failed record is redelivered, by receive count (see `redeliver_after`).
    retry_visibility_secs: tuple[int, ...]
    #: Re-enqueue delays per attempt while push is armed: the safety net for a lost webhook.
    safety_net_delays_secs: tuple[int, ...]
    #: Time kept back in each invocation for the DynamoDB write and the notifications.
    safety_margin_secs: float = 12.0

    def wait_for_finish(self, attempt: int, seconds_left: float) -> int:
        """`waitForFinish` for this attempt: its budget, never past the invocation's end."""
        budget = pick(self.long_poll_secs, attempt)
        usable = math.floor(seconds_left - self.safety_margin_secs)
        return max(0, min(APIFY_MAX_WAIT_SECS, budget, usable))

    def requeue_delay(self, attempt: int) -> int:
        """`DelaySeconds` for the message that carries attempt ``attempt + 1``; always >= 1."""
        delay = pick(self.requeue_delays_secs, attempt)
        return max(1, min(delay, self.max_requeue_delay_secs, SQS_MAX_DELAY_SECS))

    def safety_net_delay(self, attempt: int) -> int:
        """`DelaySeconds` for the next message while push is armed; always 1..900."""
        return max(1, min(pick(self.safety_net_delays_secs, attempt), SQS_MAX_DELAY_SECS))

    def settle_delay(self, finished_ago_secs: float) -> int:
        """How much longer to wait before costs are settled (0: read them now)."""
        if self.settle_secs <= 0:
            return 0
        return max(0, math.ceil(self.settle_secs - max(0.0, finished_ago_secs)))

    def redeliver_after(self, receive_count: int, *, retryable: bool, not_before_secs: float = 0.0) -> int:
        """Seconds until a record that failed on its ``receive_count``-th receive is seen again.

        A record that can never succeed (malformed) comes back at once, so it reaches the DLQ
        in seconds. ``not_before_secs`` is a floor: a claim this record leaves held must have
        lapsed before the record comes back, or the redelivery would find it BUSY.
        """
        backoff = pick(self.retry_visibility_secs, receive_count - 1) if retryable else 0
        return min(SQS_MAX_VISIBILITY_SECS, max(backoff, math.ceil(not_before_secs)))


def pick(values: tuple[int, ...], attempt: int) -> int:
    """The entry for this attempt (0-based); the last entry repeats."""
    return values[min(max(attempt, 0), len(values) - 1)]
