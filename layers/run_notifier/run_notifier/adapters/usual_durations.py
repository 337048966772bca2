"""How long an Actor task (else Actor) usually runs, for timing a pushed run's safety-net reads
(domain/expected_end.py): the durations of its recent SUCCEEDED runs, from the `RunHistory` index
that health checks keep (runs a route's `expect` judged).

One query per key per container per `TTL_SECS`: a fleet's thousands of runs of one Actor cost one
read of 1 RCU every few minutes, not one per run. A failed read is no history (the period and the
run's timeout still apply): timing is an optimisation and never fails a watch.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.health_flow import history_key
from run_notifier.domain.ports import RunHistory
from run_notifier.domain.run_summary import RunSummary

TTL_SECS = 600.0
MAX_KEYS = 2048


class CachedUsualDurations:
    """Implements `ports.UsualDurations` over a `RunHistory`."""

    def __init__(self, history: RunHistory, clock: Callable[[], float] = time.monotonic) -> None:
        self._history = history
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, tuple[float, ...]]] = OrderedDict()

    def durations(self, run: RunSummary, deadline: Deadline) -> Sequence[float]:
        """The durations of the run's Actor task's (else Actor's) recent SUCCEEDED runs, cached per key; empty when
        unknown."""
        key = history_key(run)
        if key is None:
            return ()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            past = self._history.past_runs(key, run.run_id, deadline)
        except (BotoCoreError, ClientError):
            return ()
        durations = tuple(
            p.measured.duration
            for p in past
            if p.measured.duration is not None and p.flags.get("duration") not in ("low", "high")
        )
        self._cache[key] = (now + TTL_SECS, durations)
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_KEYS:
            self._cache.popitem(last=False)
        return durations
