"""When to read a pushed run again: around the end its own history expects, and just after its
timeout, not only once per safety-net period. Pure: no I/O, no clock.

A pushed run is read again only in case its webhook is lost (the safety net). With a fixed period
(`SAFETY_NET_DELAY_SCHEDULE`, 900 s), a run whose webhook is lost is announced up to a period late.
But a run cannot outlive its `options.timeoutSecs`, and most runs of an Actor end close to where its
earlier runs ended. So:

* before the earliest end its history has seen (`ExpectedEnd.earliest`), one read every
  `PRE_WINDOW_READ_SECS` (an hour: a run that fails early, and whose webhook is lost too, is rare),
  and the read that would overshoot that moment is brought forward to it;
* from there to a little past the latest end seen (`latest`), one read every `step` seconds, or
  every period if that is shorter (`step` is at most `MAX_STEP_SECS`, so a lost webhook there costs
  at most that; at most `MAX_WINDOW_READS` reads across the window, at least `MIN_STEP_SECS` apart,
  so a short Actor does not spin);
* a read `TIMEOUT_GRACE_SECS` after the run's timeout, whatever the history (the run is over then);
* past the window, the period again (a run that outlived its history).

A gap longer than SQS's 900 s delay is slept through: the message carries `readAfter` and is
re-enqueued without a read until then (watcher.py). A read whose webhook did come costs nothing:
the safety-net message finds the run notified and is dropped before any Apify call
(policy.is_safety_net). Only reads of runs still going cost a call, which is what keeps the calls
per run-hour inside the budget `make bench` measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

#: Fewer earlier runs than this, and the history says nothing (the period applies).
MIN_HISTORY = 5
#: The window opens a little before the shortest run seen and closes a little after the longest.
EARLY_FRACTION = 0.98
LATE_FRACTION = 1.02
LATE_MARGIN_SECS = 5.0
#: Reads across the window: at most this far apart (the lost webhook's worst latency there) ...
MAX_STEP_SECS = 120.0
#: ... at least this far apart ...
MIN_STEP_SECS = 10.0
#: ... and no more of them than this, unless that would put them further apart than MAX_STEP_SECS.
MAX_WINDOW_READS = 30
#: The read after the run's own timeout: Apify has ended it by then.
TIMEOUT_GRACE_SECS = 10.0
#: Before the window: one read this often (the run's history says it will not end yet) ...
PRE_WINDOW_READ_SECS = 3600.0
#: ... and never a longer gap than this, whatever a message claims (`readAfter` is not believed beyond it).
MAX_READ_GAP_SECS = PRE_WINDOW_READ_SECS


class ExpectedEnd(NamedTuple):
    """Seconds after the run's start: where its history says it ends, and how often to read there."""

    earliest: float
    latest: float
    step: float


def expected_end(durations: Sequence[float]) -> ExpectedEnd | None:
    """The window of the history's durations (seconds of earlier SUCCEEDED runs); None with too few."""
    usable = sorted(d for d in durations if d > 0 and math.isfinite(d))
    if len(usable) < MIN_HISTORY:
        return None
    earliest = usable[0] * EARLY_FRACTION
    latest = usable[-1] * LATE_FRACTION + LATE_MARGIN_SECS
    step = min(MAX_STEP_SECS, max(MIN_STEP_SECS, (latest - earliest) / MAX_WINDOW_READS))
    return ExpectedEnd(earliest, latest, step)


def next_read_in(
    period_delay: int, running_secs: float | None, window: ExpectedEnd | None, timeout_secs: float | None
) -> float:
    """Seconds until the next read of a pushed run still going: the period's ``period_delay`` with no
    history, or what the run's expected end and its timeout say. ``running_secs``: how long the run has
    been going (None: its start is unknown, and so is everything here). Never more than
    `MAX_READ_GAP_SECS`, never less than a second."""
    if running_secs is None:
        return float(period_delay)
    marks = []
    if window is None or running_secs >= window.latest:
        marks.append(float(period_delay))
    elif running_secs < window.earliest:
        marks.append(min(window.earliest - running_secs, PRE_WINDOW_READ_SECS))
    else:
        marks.append(min(window.latest - running_secs, window.step, period_delay))
    if timeout_secs is not None and running_secs < timeout_secs + TIMEOUT_GRACE_SECS:
        marks.append(timeout_secs + TIMEOUT_GRACE_SECS - running_secs)
    return max(1.0, min(min(marks), MAX_READ_GAP_SECS))
