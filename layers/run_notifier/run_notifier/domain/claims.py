"""Exactly once: claim → send → close, the one implementation every flow uses.

A claim (`ports.NotificationClaims`) is a lease on one item, claim kind and generation: while a
delivery holds it nobody else sends; it is closed as SENT or FAILED (for good), or released so
that the next delivery may claim it at once. The notifier (runs, stuck runs, missed schedules,
incidents), the digest function and quiet hours' summary all go through `ExactlyOnce`.

Who delivers a run's alert when a claim is not closed here ("who will deliver it", for every path):

- a send that failed for now: the claim is released; the record fails and its redelivery sends;
- another delivery's live lease: that delivery closes it, or it crashed and its lease lapses; the
  record comes back no earlier than the lease's end (``Outcome.held_until``) and finds it closed or free;
- our own close (or claim) whose answer was lost: the same, with our own lease's end.

The one window left is a crash between a successful send and its close: the lease lapses and the
next delivery sends again. Webhooks and EventBridge carry a stable ID per announcement so that
receivers can drop that repeat.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import (
    ClaimClosed,
    ClaimTaken,
    Events,
    NotificationAlreadyDone,
    NotificationDeferred,
    NotificationFailedPermanently,
    NotificationSent,
)
from run_notifier.domain.ports import (
    ClaimResult,
    DeliveryNotYet,
    NotificationClaims,
    PermanentDeliveryError,
    TransientDeliveryError,
)

#: No send starts with less time than this: a receiver that answers slowly but within it is never
#: cut off mid-answer (which would make the retry a second post). The destination waits for the
#: redelivery, which starts with a whole invocation's time.
MIN_SEND_SECS = 5.0


class Delivery(NamedTuple):
    """One send of one announcement to one destination: claimed on ``item`` under ``kind`` and
    ``generation``, sent by ``send`` within its share of the time."""

    item: str
    kind: str
    generation: str
    send: Callable[[Deadline], str]


class Ended(StrEnum):
    """What became of one delivery."""

    SENT = "sent"
    FAILED = "failed"  # refused for good: recorded, never retried
    ALREADY = "already"  # done by an earlier delivery (or the item moved on): nothing sent
    NOT_DONE = "not-done"  # comes back: released, or a lease still held (``held_until``)


class Outcome(NamedTuple):
    """One delivery's end; ``held_until``: a lease it leaves held, before which nobody may retry."""

    ended: Ended
    held_until: datetime | None = None
    detail: str = ""


class Taken:
    """A claim this delivery holds: close it exactly once with `sent`, `failed` or `release`.

    Each close returns whether it was recorded; one that was not leaves the claim held until
    ``lease_until`` (the next delivery waits for that, then finds it lapsed)."""

    __slots__ = ("_claims", "_events", "_now", "generation", "item", "kind", "lease_until", "owner")

    def __init__(
        self,
        claims: NotificationClaims,
        events: Events,
        now: Callable[[], datetime],
        item: str,
        kind: str,
        generation: str,
        owner: str,
        lease_until: datetime,
    ) -> None:
        self._claims = claims
        self._events = events
        self._now = now
        self.item = item
        self.kind = kind
        self.generation = generation
        self.owner = owner
        self.lease_until = lease_until

    def sent(self, detail: str) -> bool:
        """Record the send; True when recorded."""
        return self._close(self._claims.mark_sent, "sent", detail=detail)

    def failed(self, error: str) -> bool:
        """Record a refusal for good (never retried); True when recorded."""
        return self._close(self._claims.mark_failed, "failed", error=error)

    def release(self, error: str) -> bool:
        """Give the claim back so that the next delivery may take it at once; True when recorded."""
        return self._close(self._claims.release, "released", error=error)

    def _close(self, mark: Callable[..., None], outcome: str, **text: str) -> bool:
        try:
            mark(self.item, self.kind, self.generation, owner=self.owner, now=self._now(), **text)
        except Exception:  # the claim stays held until its lease ends; the caller says so
            return False
        self._events.emit(ClaimClosed(self.item, self.kind, outcome))
        return True


class Refused(NamedTuple):
    """The claim was not ours: ``result`` BUSY (``lease_until`` set), DONE or STALE; or the claim
    write itself failed (``error``), so it may be ours until ``lease_until``."""

    result: ClaimResult | None
    lease_until: datetime | None
    error: str = ""


class ExactlyOnce:
    """Claims, sends and closes; one delivery per item, kind and generation at a time in this container."""

    def __init__(
        self,
        claims: NotificationClaims,
        events: Events,
        now: Callable[[], datetime],
        *,
        lease_margin_secs: float,
    ) -> None:
        """``lease_margin_secs``: how long a delivery may still need after its time share ends (its
        closing write), so that a claim lapses only when its holder is surely done or dead."""
        self._claims = claims
        self._events = events
        self._now = now
        self._lease_margin_secs = lease_margin_secs
        # Deliveries this container is sending now: a duplicate record of the same batch waits for
        # the one that holds the claim instead of failing as BUSY. Across containers the claim decides.
        self._sending: dict[tuple[str, str, str], _Sender] = {}
        self._sending_lock = threading.Lock()

    def take(self, item: str, kind: str, generation: str, lease_secs: float) -> Taken | Refused:
        """Claim it for ``lease_secs``: a `Taken` to close, or why not (`Refused`)."""
        owner = uuid.uuid4().hex  # this delivery's name on the claim
        asked_at = self._now()
        try:
            claim = self._claims.claim(item, kind, generation, owner=owner, now=asked_at, lease_secs=lease_secs)
        except Exception as error:  # the write may have landed: assume we hold it until the lease ends
            return Refused(None, asked_at + timedelta(seconds=lease_secs), f"claim failed: {_kind(error)}")
        if claim.result is not ClaimResult.CLAIMED:
            return Refused(claim.result, claim.lease_until)
        self._events.emit(ClaimTaken(item, kind))
        until = claim.lease_until or asked_at + timedelta(seconds=lease_secs)
        return Taken(self._claims, self._events, self._now, item, kind, generation, owner, until)

    def deliver(self, delivery: Delivery, share: Deadline) -> Outcome:
        """Claim, send within ``share``, close; never raises (an unexpected error releases the claim)."""
        key = (delivery.item, delivery.kind, delivery.generation)
        with self._one_sender_here(key, share.left()) as waited:
            if waited and share.left() < MIN_SEND_SECS:  # the local holder released it too late for us
                return self._not_done(delivery, None, "waited for this container's other delivery")
            taken = self.take(delivery.item, delivery.kind, delivery.generation, share.left() + self._lease_margin_secs)
            if isinstance(taken, Refused):
                return self._refused(delivery, taken)
            return self.send(taken, delivery.send, share)

    def send(self, taken: Taken, send: Callable[[Deadline], str], share: Deadline) -> Outcome:
        """Send under a claim already taken and close it by what came of the send."""
        delivery = Delivery(taken.item, taken.kind, taken.generation, send)
        lost_close = f"could not record the outcome of {taken.kind}"
        try:
            detail = send(share)
        except PermanentDeliveryError as error:
            if not taken.failed(str(error)):
                return self._not_done(delivery, taken.lease_until, lost_close, failed=True)
            self._events.emit(NotificationFailedPermanently(taken.item, taken.kind, str(error)))
            return Outcome(Ended.FAILED, detail=str(error))
        except DeliveryNotYet as error:  # surely later (a coalesced update, quiet hours): come back then
            if not taken.release(str(error)):
                return self._not_done(delivery, taken.lease_until, lost_close)
            later = self._now() + timedelta(seconds=error.retry_after_secs)
            return self._not_done(delivery, later, str(error))
        except TransientDeliveryError as error:
            reason = str(error)
        except Exception as error:  # an unexpected bug must not leave the claim held
            reason = f"unexpected {_kind(error)}"
        else:
            if not taken.sent(detail):
                return self._not_done(delivery, taken.lease_until, lost_close)
            self._events.emit(NotificationSent(taken.item, taken.kind, detail))
            return Outcome(Ended.SENT, detail=detail)
        if not taken.release(reason):
            return self._not_done(delivery, taken.lease_until, lost_close, failed=True)
        return self._not_done(delivery, None, reason, failed=True)  # released: the next one may claim it at once

    def skipped(self, delivery: Delivery, reason: str) -> Outcome:
        """Not tried in this delivery (too little time left): it comes back with the record."""
        return self._not_done(delivery, None, reason)

    def _refused(self, delivery: Delivery, refused: Refused) -> Outcome:
        if refused.result is None:
            return self._not_done(delivery, refused.lease_until, refused.error)
        if refused.result is ClaimResult.BUSY:
            # Another delivery holds a live lease. It may finish, or crash: this record comes back after
            # the lease, and then finds the destination done or claimable.
            return self._not_done(delivery, refused.lease_until, "another delivery holds the claim")
        self._events.emit(NotificationAlreadyDone(delivery.item, delivery.kind, refused.result.value))
        return Outcome(Ended.ALREADY)

    def _not_done(
        self, delivery: Delivery, held_until: datetime | None, reason: str, *, failed: bool = False
    ) -> Outcome:
        self._events.emit(NotificationDeferred(delivery.item, delivery.kind, reason, failed))
        return Outcome(Ended.NOT_DONE, held_until, reason)

    @contextmanager
    def _one_sender_here(self, key: tuple[str, str, str], wait_secs: float) -> Iterator[bool]:
        """Within this container, one delivery per item, kind and generation at a time; yields whether it waited."""
        with self._sending_lock:
            entry = self._sending.setdefault(key, _Sender())
            entry.waiters += 1
            waited = entry.waiters > 1
        acquired = entry.lock.acquire(timeout=max(0.0, wait_secs))
        try:
            yield waited
        finally:
            if acquired:
                entry.lock.release()
            with self._sending_lock:
                entry.waiters -= 1
                if entry.waiters == 0:
                    del self._sending[key]


class _Sender:
    __slots__ = ("lock", "waiters")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiters = 0


def _kind(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
