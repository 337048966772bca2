"""Hold an invocation's records in short steps while it lives, so that a dead one's come back in seconds.

Lambda's SQS source leaves a dead invocation's records (a timeout, an out-of-memory kill, a
crashed runtime) to the queue's visibility timeout, which AWS asks to be six times the
function's (600 s here). One hold to the invocation's own deadline brings that down to the
function timeout (90 s); a heartbeat brings it down to one step: the records are made
invisible for `step_secs` at a time and renewed every `step_secs / 3` while the invocation is
alive, never past its deadline plus `margin_secs`. A record that ends (handled or failed) is
released first, so a failed record keeps the backoff `SqsRedelivery.after_failure` gives it.

Best effort, as every visibility call here: a renewal that fails or comes late lets a record
reappear while its invocation still works on it; the next delivery then finds the run's
claims held or closed (it reads, it never posts twice). A renewal in flight when its record
is released can still land after that record's own backoff and shorten it to one step, which
costs the same one read.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable

#: Extends these receipt handles' visibility to this many seconds (chunking and errors are its own).
Extend = Callable[[list[str], int], None]


class BatchHold:
    """The renewal thread for one invocation's records; `close()` before the handler returns."""

    def __init__(
        self,
        extend: Extend,
        handles: Iterable[str],
        *,
        remaining_secs: float,
        step_secs: float,
        margin_secs: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._extend = extend
        self._outstanding = dict.fromkeys(handles)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clock = clock
        self._ends_at = clock() + remaining_secs + margin_secs
        self._step_secs = step_secs
        self._thread: threading.Thread | None = None

    def _visibility(self) -> int:
        """One step, never past the invocation's deadline plus the margin (at least 1 s)."""
        return max(1, math.ceil(min(self._step_secs, self._ends_at - self._clock())))

    def _renew(self) -> None:
        with self._lock:
            handles = list(self._outstanding)
        if handles:
            self._extend(handles, self._visibility())

    def start(self) -> BatchHold:
        """Hold every record now (in the caller's thread), then renew in the background."""
        self._renew()
        self._thread = threading.Thread(target=self._run, name="batch-hold", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._step_secs / 3):
            if self._ends_at - self._clock() <= 0:
                return  # past the deadline: the last renewal already ends at deadline + margin
            self._renew()

    def release(self, handle: str) -> None:
        """This record has ended: no more renewals for it."""
        with self._lock:
            self._outstanding.pop(handle, None)

    def outstanding(self) -> list[str]:
        """The receipt handles still held (not yet ended by their records)."""
        with self._lock:
            return list(self._outstanding)

    def close(self, wait_secs: float = 1.0) -> None:
        """Stop renewing. A renewal in flight is not waited for longer than `wait_secs` (daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait_secs)
