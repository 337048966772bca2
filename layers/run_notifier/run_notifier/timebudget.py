"""A deadline on the monotonic clock, shared by everything one invocation does."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple


class Deadline(NamedTuple):
    ends_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def left(self) -> float:
        return max(0.0, self.ends_at - self.clock())

    def expired(self) -> bool:
        return self.left() <= 0.0

    def sooner(self, seconds: float) -> Deadline:
        """This deadline brought forward by ``seconds`` (a reserve for later work)."""
        return Deadline(self.ends_at - seconds, self.clock)


def jittered_backoff(start: float = 0.5, rng: random.Random | None = None) -> Iterator[float]:
    """Apify's documented backoff: wait random(d, 2d), then double d; starts at 500 ms."""
    pick = (rng or random).uniform
    delay = start
    while True:
        yield pick(delay, 2 * delay)
        delay *= 2
