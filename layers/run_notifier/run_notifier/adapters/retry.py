"""The bounded retry loop every outbound call shares: Apify reads and destination POSTs.

Each try either returns a result or says why it should be retried and, optionally, how long
to wait (a `Retry-After`, a replica-lag pause); otherwise Apify's documented jittered backoff
applies (random(d, 2d), d doubling from 500 ms). The loop never sleeps past the deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple, TypeVar

from run_notifier.domain.deadline import Deadline

T = TypeVar("T")


class Retry(NamedTuple):
    """Try again: why, and after how long (None: the jittered backoff)."""

    problem: str
    #: Seconds to wait before the next try; None = the next step of the jittered backoff.
    pause: float | None = None


class RetriesExhausted(Exception):
    """No try succeeded within the attempts or the time; the message is the last problem."""


def jittered_backoff(start: float = 0.5, rng: random.Random | None = None) -> Iterator[float]:
    """Apify's documented backoff: wait random(d, 2d), then double d; starts at 500 ms."""
    pick = (rng or random).uniform
    delay = start
    while True:
        yield pick(delay, 2 * delay)
        delay *= 2


def retry_within(
    attempt: Callable[[], T | Retry],
    deadline: Deadline,
    *,
    max_attempts: int,
    min_time_left: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``attempt`` until it returns a result; raise RetriesExhausted naming the last problem."""
    backoff = jittered_backoff()
    problem = "no attempt made"
    for _ in range(max_attempts):
        if deadline.left() <= min_time_left:
            break
        outcome = attempt()
        if not isinstance(outcome, Retry):
            return outcome
        problem = outcome.problem
        pause = next(backoff) if outcome.pause is None else outcome.pause
        if pause >= deadline.left():
            break
        sleep(pause)
    raise RetriesExhausted(problem)
