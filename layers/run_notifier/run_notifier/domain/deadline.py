"""A deadline on the monotonic clock, shared by everything one invocation does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple


class Deadline(NamedTuple):
    """The one time budget an invocation passes through every I/O call."""

    ends_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline ``seconds`` from now on ``clock`` (monotonic by default)."""
        return cls(clock() + seconds, clock)

    def left(self) -> float:
        """Seconds left (never below 0)."""
        return max(0.0, self.ends_at - self.clock())

    def sooner(self, seconds: float) -> Deadline:
        """This deadline brought forward by ``seconds`` (a reserve for later work)."""
        return Deadline(self.ends_at - seconds, self.clock)

    def within(self, seconds: float) -> Deadline:
        """The earlier of this deadline and ``seconds`` from now (a share of the time left)."""
        return Deadline(min(self.ends_at, self.clock() + seconds), self.clock)
