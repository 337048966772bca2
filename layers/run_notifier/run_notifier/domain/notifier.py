"""Deliver one announcement to its destinations, exactly once each: the one delivery path.

Every kind of alert (a run's end, a stuck run, a missed schedule, an incident's transition, a
run's part in its incident, and whatever comes next) is one `Announcement` value; the directory
says where it goes (`destinations_for`, its route read once), each destination says which sends
it needs (`Destination.deliveries`), and each send is claimed, sent and closed by `ExactlyOnce`
(domain/claims.py).

Why claims on the announcement's item, not Powertools idempotency: idempotency caches one
function result per payload, so an announcement with three destinations where one failed would
either re-post to all three or to none. Here each claim kind has its own lease: a destination
that worked is never called again, a failed one is retried alone, and the ledger shows per
destination when it was notified or why it failed.

Zero lost alerts: a delivery is only reported done when every send is SENT or FAILED for good.
Any claim this delivery cannot close (another delivery's live lease, our own release that failed,
a claim write whose answer was lost) raises `NotificationsIncomplete` with `retry_after_secs` no
earlier than that lease's end, so the redelivery finds the claim lapsed or closed, never "busy".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from run_notifier.domain.announcements import Announcement
from run_notifier.domain.claims import MIN_SEND_SECS, Delivery, Ended, ExactlyOnce
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Destination, DestinationDirectory, NotificationsIncomplete

__all__ = ["MIN_SEND_SECS", "Announcer", "Notifier", "NotifyReport"]


class NotifyReport:
    """What became of each claim kind in one delivery."""

    __slots__ = ("already", "failed_permanently", "held_until", "retrying", "sent")

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.already: list[str] = []
        self.failed_permanently: list[str] = []
        self.retrying: list[str] = []
        #: Leases this delivery leaves held (its own or another's): the redelivery waits for them.
        self.held_until: list[datetime] = []


class Notifier:
    """Delivers an announcement to given destinations, each send claimed once (`ExactlyOnce`)."""

    def __init__(self, exactly_once: ExactlyOnce, now: Callable[[], datetime]) -> None:
        self._exactly_once = exactly_once
        self._now = now

    def deliver(self, announcement: Announcement, destinations: list[Destination], deadline: Deadline) -> NotifyReport:
        """Every send of every destination, once each; returns what each came to.

        Raises NotificationsIncomplete when any send is not SENT or FAILED for good, with the time
        before which the record must not come back (a lease it leaves held).
        """
        deliveries = [
            Delivery(announcement.item, kind, announcement.generation, send)
            for destination in destinations
            for kind, send in destination.deliveries(announcement)
        ]
        report = NotifyReport()
        for index, delivery in enumerate(deliveries):
            # A fair share of the time left, so a destination that keeps failing cannot starve the others,
            # but never less than MIN_SEND_SECS: a destination that cannot have that waits for the redelivery.
            left = deadline.left()
            if left < MIN_SEND_SECS:
                outcome = self._exactly_once.skipped(delivery, f"only {left:.1f} s left; sent on redelivery")
            else:
                share = deadline.within(max(left / (len(deliveries) - index), MIN_SEND_SECS))
                outcome = self._exactly_once.deliver(delivery, share)
            _count(report, delivery.kind, outcome.ended, outcome.held_until)
        if report.retrying:
            now = self._now()
            wait = max([(until - now).total_seconds() for until in report.held_until] + [0.0])
            raise NotificationsIncomplete(
                f"{announcement.label}: {', '.join(report.retrying)} not delivered yet; "
                f"sent {report.sent or 'none'}, already done {report.already or 'none'}",
                retry_after_secs=wait,
            )
        return report


class Announcer:
    """Where an announcement goes and its delivery, in one call: what every flow announces through."""

    def __init__(
        self, directory: DestinationDirectory, notifier: Notifier, prepare: Callable[[Announcement], None]
    ) -> None:
        """``prepare``: make the announcement's own item, where it has one, a claim can be taken on."""
        self._directory = directory
        self._notifier = notifier
        self._prepare = prepare

    def announce(self, announcement: Announcement, deadline: Deadline) -> NotifyReport:
        """To every destination its route names that renders it, once each (raises NotificationsIncomplete)."""
        destinations = self._directory.destinations_for(announcement)
        if destinations:
            self._prepare(announcement)
        return self._notifier.deliver(announcement, destinations, deadline)


def _count(report: NotifyReport, kind: str, ended: Ended, held_until: datetime | None) -> None:
    if ended is Ended.SENT:
        report.sent.append(kind)
    elif ended is Ended.FAILED:
        report.failed_permanently.append(kind)
    elif ended is Ended.ALREADY:
        report.already.append(kind)
    else:
        report.retrying.append(kind)
        if held_until is not None:
            report.held_until.append(held_until)
