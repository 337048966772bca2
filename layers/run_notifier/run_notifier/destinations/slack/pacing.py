"""At most one Slack message a second per channel from this container (Slack's posting limit).

When a burst of runs ends together, the records of a batch post to one channel a second
apart instead of all at once (and then half of them being answered `ratelimited`). A turn
that would not come before the destination's share of the invocation runs out fails
transiently, so that record comes back later instead of posting late. Bot mode paces
across containers with the shared budget (`shared_pacing.SharedChannelPacer`); this in-container
pace is the Web API's default, for a client built without a table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import TransientDeliveryError

#: Slack allows about one message a second per channel; a tenth of a second more leaves room for the
#: network's jitter (two posts a second apart can arrive 0.8 s apart), so bunching never trips it.
SECONDS_PER_MESSAGE = 1.1
#: A turn must leave this much of the share for the post itself (http_post.MIN_ATTEMPT_SECS).
RESERVE_SECS = 4.0


class Pacer(Protocol):
    """Keeps posts to one channel at Slack's one message a second."""

    def wait_turn(self, channel: str, deadline: Deadline) -> float | None:
        """Sleep until this call's turn on the channel (returned, epoch seconds, where the pacer knows it);
        raise a DeliveryError when it is too far away."""
        ...

    def hold_off(self, channel: str, seconds: float) -> None:
        """Slack answered `ratelimited`: nothing is posted to the channel for `seconds`."""
        ...


class ChannelPacer:
    """One message a second per channel within this container (`SharedChannelPacer` does it across containers)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        interval: float = SECONDS_PER_MESSAGE,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._interval = interval
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait_turn(self, channel: str, deadline: Deadline) -> None:
        """Reserve the channel's next free second and sleep until it; raise if it is too late."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next.get(channel, now))
            if turn - now > deadline.left() - RESERVE_SECS:
                raise TransientDeliveryError(f"Slack channel {channel} is busy for {turn - now:.0f} s more")
            self._next[channel] = turn + self._interval
        if turn > now:
            self._sleep(turn - now)

    def hold_off(self, channel: str, seconds: float) -> None:
        """Post nothing more to the channel for ``seconds`` (Slack said `Retry-After`)."""
        with self._lock:
            until = self._clock() + seconds
            self._next[channel] = max(self._next.get(channel, until), until)


CHANNEL_PACER = ChannelPacer()
