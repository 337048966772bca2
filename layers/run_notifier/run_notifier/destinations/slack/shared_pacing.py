"""One Slack message a second per channel across every container: a shared budget in the runs table.

Slack's posting limit is per channel, not per container: a burst that scales the watcher out to
ten containers would post ten messages a second to one channel, and nine of them would come back
`ratelimited`. So each call first reserves the channel's next free second in one item per
channel (`slack-pace#<channel>`, a key no run ID can take) and sleeps until it:

* the channel is free (`next` is past): one conditional write takes it (`next` = now + 1 s);
* it is busy: an atomic `ADD next 1 s` (on condition that it is still in the future, and near
  enough to come within the caller's share) takes the slot after the last one taken; concurrent
  writers never conflict, each gets its own second;
* it is busy for longer than `MAX_WAIT_SECS` (or the share): nothing is reserved (a slot taken and
  left unused would be a second of the channel lost), the call joins the channel's `queued` count
  and comes back after the turns ahead of it (the channel's next free second plus one second per
  call queued before it): a container never sleeps through a backlog, and a backlog of a thousand
  replies comes back spread over its thousand seconds instead of all at once, every few seconds;
* Slack says `ratelimited` anyway (another app posting to the channel): `hold_off` pushes `next` to
  the answer's `Retry-After`, so every container waits it out, not only the one that was told.

A turn too far away for the destination's share raises `DeliveryNotYet`: the record comes back when
the turn is due instead of posting late. If the table cannot be reached, the call does not go
ahead uncoordinated (other containers may be posting to the channel: that is how a busy 2-core
benchmark drew 220 `ratelimited` answers): it fails transiently and its record comes back, as it
would for its claims, which need the same table.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.destinations.slack.pacing import RESERVE_SECS, SECONDS_PER_MESSAGE
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import DeliveryNotYet, TransientDeliveryError, log

#: Rounds of (free? take it : busy? take the next) before pacing in this container only.
MAX_TRIES = 8
#: The longest a call sleeps for its turn: longer, it comes back later (its container is freed).
MAX_WAIT_SECS = 5.0
#: A turn woken up later than this is given up (the next turn's holder posts on time) for a fresh one.
LATE_SECS = 0.3
MAX_LATE_TURNS = 3


def pace_key(channel: str) -> str:
    """The runs-table key of a channel's shared pace."""
    return f"slack-pace#{channel}"


class SharedChannelPacer:
    """One message a second per channel across every container, on one item per channel."""

    def __init__(
        self,
        table: RunsTable,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        interval: float = SECONDS_PER_MESSAGE,
    ) -> None:
        self._table = table
        self._clock = clock
        self._sleep = sleep
        self._interval_ms = int(interval * 1000)

    def wait_turn(self, channel: str, deadline: Deadline) -> float:
        """Reserve the channel's next free second across containers and sleep until it; returns the turn
        (epoch seconds). A turn woken up too late is not used: the holder of the next turn posts on time,
        and two posts would land together (how a saturated machine drew `ratelimited`); a fresh turn is
        taken instead, a few times at most, then the record comes back."""
        for _ in range(MAX_LATE_TURNS):
            reach = min(MAX_WAIT_SECS, max(0.0, deadline.left() - RESERVE_SECS))
            latest_ms = int((self._clock() + reach) * 1000)
            try:
                turn_ms = self._reserve(channel, latest_ms)
            except DeliveryNotYet:
                raise
            except Exception as error:  # not uncoordinated: the record comes back, as for a claim the table refused
                raise TransientDeliveryError(
                    f"Slack channel {channel}: its pace could not be read ({type(error).__name__}); back later"
                ) from None
            wait = turn_ms / 1000 - self._clock()
            if wait > 0:
                self._sleep(wait)
            if self._clock() - turn_ms / 1000 <= LATE_SECS:
                return turn_ms / 1000
        raise TransientDeliveryError(f"Slack channel {channel}: this container woke up late for its turns; back later")

    def _served(self, channel: str) -> None:
        """One call less queued (best effort: the count only spreads the comebacks)."""
        with contextlib.suppress(Exception):  # a count that is off spreads comebacks a little worse, no more
            self._table.increment(pace_key(channel), "queued", -1, "#a > :zero", {":zero": 0})

    def hold_off(self, channel: str, seconds: float) -> None:
        """Slack said `ratelimited`: no container posts to the channel before `seconds` from now."""
        until = int((self._clock() + seconds) * 1000)
        try:
            self._table.conditional_update(
                pace_key(channel),
                "SET #next = :until",
                "attribute_not_exists(#next) OR #next < :until",
                {"#next": "next"},
                {":until": until},
            )
        except Exception as error:  # the retry still honours Retry-After in this container
            log.warning("Could not share Slack's Retry-After", extra={"reason": f"{type(error).__name__}"})

    def _reserve(self, channel: str, latest_ms: int) -> int:
        """The start of this call's slot (epoch ms), no later than `latest_ms`; DeliveryNotYet when the
        channel is taken until after it (nothing reserved)."""
        for _ in range(MAX_TRIES):
            now = int(self._clock() * 1000)
            stood = self._table.conditional_update(
                pace_key(channel),
                "SET #next = :next",
                "attribute_not_exists(#next) OR #next <= :now",
                {"#next": "next"},
                {":next": now + self._interval_ms, ":now": now},
            )
            if stood is None:
                self._served(channel)
                return now  # free: ours now
            after, item = self._table.increment(
                pace_key(channel),
                "next",
                self._interval_ms,
                "#a > :now AND #a <= :latest",
                {":now": now, ":latest": latest_ms},
            )
            if after is not None:
                self._served(channel)
                return after - self._interval_ms  # busy: the second after the last one taken
            taken = int(item.get("next", 0))
            if taken > latest_ms:
                ahead, _ = self._table.increment(pace_key(channel), "queued", 1, "attribute_exists(runId)", {})
                wait = (taken - now) / 1000 + (ahead or 1) * self._interval_ms / 1000
                raise DeliveryNotYet(f"Slack channel {channel}: {ahead} calls queued, back in {wait:.0f} s", wait)
            # it fell free between the two writes: take it as free
        raise RuntimeError(f"the channel's pace changed {MAX_TRIES} times under us")
