"""Announce a finished run exactly once per destination: claim → send → mark.

Why claims on the run's own item, not Powertools idempotency: idempotency caches one
function result per payload, so a run with three destinations where one failed would either
re-post to all three or to none. Here each destination kind has its own lease-based claim
(`ports.NotificationClaims`): a destination that worked is never called again, a failed one
is retried alone, and the ledger shows per destination when it was notified or why it failed.

Zero lost alerts: a record is only reported done when every destination is SENT or FAILED
for good. Any claim this delivery cannot close (another delivery's live lease, our own
release that failed, a claim write whose answer was lost) makes the record fail with
`NotificationsIncomplete.retry_after_secs` no earlier than that lease's end, so the
redelivery finds the claim lapsed or closed, never silently "busy".

The one window left is a crash between a successful send and its mark: the lease then
expires and the next delivery sends again. Webhooks carry a stable `webhook-id` and
EventBridge events a stable `eventId` per run and finish, so receivers can drop that duplicate.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
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
    NotifyFiltered,
)
from run_notifier.domain.health import StuckAlert
from run_notifier.domain.incidents import IncidentEvent, RunInIncident
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import (
    ClaimResult,
    DeliveryNotYet,
    DestinationDirectory,
    IncidentAnnouncer,
    NotificationClaims,
    NotificationsIncomplete,
    PermanentDeliveryError,
    ScheduleAnnouncer,
    StuckAnnouncer,
    TransientDeliveryError,
)
from run_notifier.domain.run_summary import RunSummary

#: A claim outlives the sender's time share by this much unless the composition root says how
#: long its mark can really take (wiring.LEASE_MARGIN_SECS, from the AWS clients' timeouts).
DEFAULT_LEASE_MARGIN_SECS = 60.0
#: No send starts with less time than this: a receiver that answers slowly but within it is never
#: cut off mid-answer (which would make the retry a second post). The destination waits for the
#: redelivery, which starts with a whole invocation's time.
MIN_SEND_SECS = 5.0


class NotifyReport:
    """What became of each destination kind in one delivery."""

    __slots__ = ("already", "failed_permanently", "held_until", "retrying", "sent")

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.already: list[str] = []
        self.failed_permanently: list[str] = []
        self.retrying: list[str] = []
        #: Leases this delivery leaves held (its own or another's): the redelivery waits for them.
        self.held_until: list[datetime] = []


class Notifier:
    """Announces a finished run to every routed destination, exactly once each (claims on the run's item)."""

    def __init__(
        self,
        claims: NotificationClaims,
        directory: DestinationDirectory,
        notify_on: frozenset[str],
        events: Events,
        now: Callable[[], datetime],
        *,
        lease_margin_secs: float = DEFAULT_LEASE_MARGIN_SECS,
    ) -> None:
        """`lease_margin_secs`: how long a delivery may still need after its time share ends (its
        closing mark), so that a claim lapses only when its holder is surely done or dead. Every
        send is bounded by its share (HTTP by the deadline, AWS calls by their client timeouts)."""
        self._claims = claims
        self._lease_margin_secs = lease_margin_secs
        self._directory = directory
        self._notify_on = notify_on
        self._events = events
        self._now = now
        # Deliveries this container is sending now, by (run, kind, generation): a duplicate record of
        # the same batch waits for the one that holds the claim instead of failing as BUSY.
        self._sending: dict[tuple[str, str, str], _Sender] = {}
        self._sending_lock = threading.Lock()

    def notify(self, summary: RunSummary, deadline: Deadline) -> NotifyReport:
        """Every routed destination of this run, once each; returns what each came to.

        Raises NotificationsIncomplete when any destination is not SENT or FAILED for good, with
        the time before which the record must not come back (a lease it leaves held).
        """
        report = NotifyReport()
        if summary.status not in self._notify_on:
            self._events.emit(NotifyFiltered(summary.run_id, summary.status))
            return report
        deliveries = [
            _Delivery(summary.run_id, d.kind, summary.generation, partial(d.send, summary))
            for d in self._directory.destinations_for(summary)
        ]
        return self._deliver_all(f"run {summary.run_id}", deliveries, deadline, report)

    def notify_incident(
        self, event: IncidentEvent, destinations: list[IncidentAnnouncer], deadline: Deadline
    ) -> NotifyReport:
        """An incident's transition to each destination that announces incidents, once each: claimed
        on the event's own item (`IncidentStore.prepare`), exactly as a run's alerts are on the run's."""
        deliveries = [
            _Delivery(event.event_id, d.kind, event.event_id, partial(d.send_incident, event)) for d in destinations
        ]
        return self._deliver_all(f"incident {event.event_id}", deliveries, deadline, NotifyReport())

    def notify_stuck(
        self, summary: RunSummary, alert: StuckAlert, destinations: list[StuckAnnouncer], deadline: Deadline
    ) -> NotifyReport:
        """A run still going past its limit, to each destination that says so, once each: claimed on the
        alert's own item (`stuck_item`, prepared by the caller), never on the run's, whose generation
        its finish may be writing at the same moment."""
        item = stuck_item(summary.run_id)
        deliveries = [_Delivery(item, d.kind, item, partial(d.send_stuck, summary, alert)) for d in destinations]
        return self._deliver_all(f"run {summary.run_id} still running", deliveries, deadline, NotifyReport())

    def notify_missed_schedule(
        self, missed: MissedSlot, destinations: list[ScheduleAnnouncer], deadline: Deadline
    ) -> NotifyReport:
        """A schedule's missed slot, to each destination that says so, once each: claimed on the slot's
        own item (`MissedSlot.item`, prepared by the caller), so the sweep's repeats say nothing twice."""
        item = missed.item
        deliveries = [_Delivery(item, d.kind, item, partial(d.send_missed_schedule, missed)) for d in destinations]
        return self._deliver_all(f"schedule {missed.schedule_id} missed", deliveries, deadline, NotifyReport())

    def notify_in_incident(
        self, summary: RunSummary, part: RunInIncident, destinations: list[IncidentAnnouncer], deadline: Deadline
    ) -> NotifyReport:
        """A run's own part in its incident (a thread reply, an update of the top message), claimed on
        the run's item under each send's own kind, exactly as the run's alerts are."""
        deliveries = [
            _Delivery(summary.run_id, kind, summary.generation, send)
            for d in destinations
            for kind, send in d.in_incident(summary, part)
        ]
        return self._deliver_all(f"run {summary.run_id} in {part.incident_id}", deliveries, deadline, NotifyReport())

    def _deliver_all(
        self, what: str, deliveries: list[_Delivery], deadline: Deadline, report: NotifyReport
    ) -> NotifyReport:
        for index, delivery in enumerate(deliveries):
            # A fair share of the time left, so a destination that keeps failing cannot starve the others,
            # but never less than MIN_SEND_SECS: a destination that cannot have that waits for the redelivery.
            left = deadline.left()
            if left < MIN_SEND_SECS:
                self._not_done(report, delivery, None, f"only {left:.1f} s left; sent on redelivery")
                continue
            share = deadline.within(max(left / (len(deliveries) - index), MIN_SEND_SECS))
            self._notify_one(delivery, share, report)
        if report.retrying:
            now = self._now()
            wait = max([(until - now).total_seconds() for until in report.held_until] + [0.0])
            raise NotificationsIncomplete(
                f"{what}: {', '.join(report.retrying)} not delivered yet; "
                f"sent {report.sent or 'none'}, already done {report.already or 'none'}",
                retry_after_secs=wait,
            )
        return report

    def _notify_one(self, delivery: _Delivery, share: Deadline, report: NotifyReport) -> None:
        key = (delivery.item, delivery.kind, delivery.generation)
        with self._one_sender_here(key, share.left()) as waited:
            if waited and share.left() < MIN_SEND_SECS:  # the local holder released it too late for us
                self._not_done(report, delivery, None, "waited for this container's other delivery")
                return
            self._claim_and_send(delivery, share, report)

    @contextmanager
    def _one_sender_here(self, key: tuple[str, str, str], wait_secs: float) -> Iterator[bool]:
        """Within this container, one delivery per run, kind and generation at a time.

        A duplicate record of the same batch waits (within its share) for the delivery that
        holds the claim, then finds it done, instead of failing as BUSY. Across containers the
        claim alone decides. Yields whether it had to wait.
        """
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

    def _claim_and_send(self, delivery: _Delivery, share: Deadline, report: NotifyReport) -> None:
        kind, run_id, generation = delivery.kind, delivery.item, delivery.generation
        owner = uuid.uuid4().hex  # this delivery's name on the claim
        lease_secs = share.left() + self._lease_margin_secs
        asked_at = self._now()
        try:
            claim = self._claims.claim(run_id, kind, generation, owner=owner, now=asked_at, lease_secs=lease_secs)
        except Exception as error:  # the write may have landed: assume we hold it until the lease ends
            held = asked_at + timedelta(seconds=lease_secs)
            self._not_done(report, delivery, held, f"claim failed: {_kind(error)}")
            return
        if claim.result is ClaimResult.BUSY:
            # Another delivery holds a live lease. It may finish, or crash: this record comes back after
            # the lease, and then finds the destination done or claimable.
            self._not_done(report, delivery, claim.lease_until, "another delivery holds the claim")
            return
        if claim.result is not ClaimResult.CLAIMED:
            report.already.append(kind)
            self._events.emit(NotificationAlreadyDone(run_id, kind, claim.result.value))
            return
        held_until = claim.lease_until or asked_at + timedelta(seconds=lease_secs)
        self._events.emit(ClaimTaken(run_id, kind))

        def close(mark: Callable[..., None], outcome: str, **text: str) -> bool:
            """Record the outcome on our claim; if that fails, the claim stays held until its lease ends."""
            try:
                mark(run_id, kind, generation, owner=owner, now=self._now(), **text)
            except Exception as error:
                self._not_done(report, delivery, held_until, f"could not record the outcome: {_kind(error)}")
                return False
            self._events.emit(ClaimClosed(run_id, kind, outcome))
            return True

        try:
            detail = delivery.send(share)
        except PermanentDeliveryError as error:
            if close(self._claims.mark_failed, "failed", error=str(error)):
                report.failed_permanently.append(kind)
                self._events.emit(NotificationFailedPermanently(run_id, kind, str(error)))
            return
        except DeliveryNotYet as error:  # surely later (a coalesced update): come back then, as a fresh message
            if close(self._claims.release, "released", error=str(error)):
                later = self._now() + timedelta(seconds=error.retry_after_secs)
                self._not_done(report, delivery, later, str(error))
            return
        except TransientDeliveryError as error:
            reason = str(error)
        except Exception as error:  # an unexpected bug must not leave the claim held
            reason = f"unexpected {_kind(error)}"
        else:
            if close(self._claims.mark_sent, "sent", detail=detail):
                report.sent.append(kind)
                self._events.emit(NotificationSent(run_id, kind, detail))
            return
        if close(self._claims.release, "released", error=reason):  # released: the next delivery may claim it at once
            self._not_done(report, delivery, None, reason)

    def _not_done(self, report: NotifyReport, delivery: _Delivery, held_until: datetime | None, reason: str) -> None:
        report.retrying.append(delivery.kind)
        if held_until is not None:
            report.held_until.append(held_until)
        self._events.emit(NotificationDeferred(delivery.item, delivery.kind, reason))


class _Sender:
    __slots__ = ("lock", "waiters")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiters = 0


def stuck_item(run_id: str) -> str:
    """The item a run's "still running" alert is claimed on (a key no run ID can take)."""
    return f"stuck#{run_id}"


class _Delivery(NamedTuple):
    """One destination's announcement of one thing: claimed on `item` (a run's, or an incident's)
    under `generation`, sent by `send` within its share."""

    item: str
    kind: str
    generation: str
    send: Callable[[Deadline], str]


def _kind(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
