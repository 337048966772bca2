"""The decision for one queue message: look at the run, then finish, settle or re-enqueue.

Every path ends in exactly one of: recorded and notified, a re-enqueued message, or an
exception that fails the record (so SQS redelivers it, and after maxReceiveCount moves it
to the DLQ). Nothing loops without a bound: attempts are counted in the message and the
watch ends at `max_watch_secs` with a WATCH_EXPIRED outcome.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import (
    ActorNames,
    ApifyUnavailable,
    NotificationsIncomplete,
    Requeue,
    RunLedger,
    RunNotFound,
    RunReader,
    Telemetry,
    log,
)
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS, Schedule
from run_notifier.domain.statuses import NOT_FOUND, WATCH_EXPIRED, is_terminal
from run_notifier.domain.watch_request import WatchRequest

if TYPE_CHECKING:
    from run_notifier.domain.notifier import Notifier

#: How far back a message's `firstSeenAt` may reach per attempt: one maximal re-enqueue delay plus
#: one failed invocation's redelivery. A body that claims more is not believed (it would end the watch at once).
MAX_SECS_PER_ATTEMPT = 2 * SQS_MAX_DELAY_SECS


class Action(StrEnum):
    FINISHED = "finished"  # recorded and notified
    REQUEUED = "requeued"  # still running: back on the queue with a delay
    SETTLING = "settling"  # ended: re-read after the costs settle
    STALE = "stale"  # a later finish is already recorded


class Outcome(NamedTuple):
    action: Action
    status: str | None = None
    delay_secs: int | None = None
    detail: str = ""


class Finishing(NamedTuple):
    """What only a run that ends needs: the ledger, the notifier and Actor names.

    The watcher asks for it when a run finishes (`RunWatcher(finishing=...)`), so a container
    that only re-enqueues never builds it; `wiring.py` builds it once, on first use.
    """

    ledger: RunLedger
    notifier: Notifier
    actor_names: ActorNames


class RunWatcher:
    def __init__(
        self,
        apify: RunReader,
        requeue: Requeue,
        finishing: Callable[[], Finishing],
        schedule: Schedule,
        max_watch_secs: int,
        telemetry: Telemetry,
        now: Callable[[], datetime],
    ) -> None:
        self._apify = apify
        self._requeue = requeue
        self._finishing = finishing
        self._schedule = schedule
        self._max_watch_secs = max_watch_secs
        self._telemetry = telemetry
        self._now = now

    def watch(self, request: WatchRequest, deadline: Deadline) -> Outcome:
        now = self._now()
        first_seen = self._first_seen(request, now)
        self._telemetry.count("RunsWatched")
        wait = 0 if request.settle else self._schedule.wait_for_finish(request.attempt, deadline.left())
        # Keep part of the budget back for the write, the notifications or the re-enqueue.
        poll_deadline = deadline.sooner(self._schedule.safety_margin_secs / 2)
        try:
            run = self._apify.get_run(request.run_id, wait, poll_deadline)
        except RunNotFound as error:
            if request.attempt > 0:
                # The run existed when we last looked: a 404 now is an Apify incident or a deleted run.
                # Keep watching (bounded by max_watch_secs, ending in a notified WATCH_EXPIRED).
                log.warning("Run seen before is now not found; watching on", extra={"reason": str(error)})
                return self._requeue_or_expire(request, first_seen, deadline, reason=str(error), last_run=None)
            log.warning("Run not found; recording NOT_FOUND", extra={"reason": str(error)})
            summary = RunSummary.watcher_outcome(request.run_id, NOT_FOUND, str(error))
            return self._finish(summary, request, first_seen, deadline, costs_settled=False)
        except ApifyUnavailable as error:
            log.warning("Apify unavailable; re-enqueueing", extra={"reason": str(error)})
            return self._requeue_or_expire(request, first_seen, deadline, reason=str(error), last_run=None)
        status = str(run.get("status"))
        if not is_terminal(status):
            return self._requeue_or_expire(request, first_seen, deadline, reason=f"run is {status}", last_run=run)
        summary = RunSummary.from_run(run, request.run_id)
        finished = summary.finished_time
        finished_ago = (self._now() - finished).total_seconds() if finished else float("inf")
        settle_delay = 0 if request.settle else self._schedule.settle_delay(finished_ago)
        if settle_delay > 0:
            self._requeue.send(WatchRequest(request.run_id, request.attempt + 1, first_seen, settle=True), settle_delay)
            self._telemetry.count("RunsSettling")
            log.info(
                "Run ended; re-reading after the costs settle",
                extra={"status": summary.status, "delay_secs": settle_delay},
            )
            return Outcome(Action.SETTLING, summary.status, settle_delay)
        costs_settled = request.settle or finished_ago >= self._schedule.settle_secs
        return self._finish(summary, request, first_seen, deadline, costs_settled=costs_settled)

    def _first_seen(self, request: WatchRequest, now: datetime) -> datetime:
        """The body's `firstSeenAt`, but never in the future and never further back than its attempts allow."""
        claimed = request.first_seen_at or now
        earliest = now - timedelta(seconds=request.attempt * MAX_SECS_PER_ATTEMPT)
        return min(now, max(claimed, earliest))

    def _requeue_or_expire(
        self,
        request: WatchRequest,
        first_seen: datetime,
        deadline: Deadline,
        reason: str,
        last_run: dict[str, Any] | None,
    ) -> Outcome:
        """Put the run back on the queue, unless it has been watched for too long already."""
        watched_for = (self._now() - first_seen).total_seconds()
        if watched_for >= self._max_watch_secs:
            message = f"{reason} after {int(watched_for)} s of watching (limit {self._max_watch_secs} s)"
            log.warning("Giving up on the run", extra={"reason": message})
            base = (
                RunSummary.from_run(last_run, request.run_id) if last_run else RunSummary(request.run_id, WATCH_EXPIRED)
            )
            summary = base._replace(status=WATCH_EXPIRED, status_message=message)
            return self._finish(summary, request, first_seen, deadline, costs_settled=False)
        delay = self._schedule.requeue_delay(request.attempt)
        self._requeue.send(WatchRequest(request.run_id, request.attempt + 1, first_seen), delay)
        self._telemetry.count("RunsRequeued")
        log.info("Re-enqueued", extra={"delay_secs": delay, "next_attempt": request.attempt + 1, "reason": reason})
        return Outcome(Action.REQUEUED, delay_secs=delay, detail=reason)

    def _come_back_after_held_claims(
        self, request: WatchRequest, first_seen: datetime, summary: RunSummary, incomplete: NotificationsIncomplete
    ) -> Outcome:
        """A claim is held until its lease ends: come back after it as a fresh message.

        Failing the record would do too, but each wait would use up one of the message's
        receives, and a few waits (a crashed holder, a lost release) would send a valid run to
        the DLQ. A fresh message starts a fresh receive count; it is sent before this one is
        acknowledged, so the run is never without a message.
        """
        delay = min(SQS_MAX_DELAY_SECS, math.ceil(incomplete.retry_after_secs) + 1)
        try:
            self._requeue.send(WatchRequest(request.run_id, request.attempt + 1, first_seen, settle=True), delay)
        except Exception:
            raise incomplete from None  # the record fails; its redelivery still waits for the lease
        self._telemetry.count("RunsWaitingForClaims")
        log.warning(
            "A destination's claim is held; re-enqueued to come back after its lease",
            extra={"delay_secs": delay, "reason": str(incomplete)},
        )
        return Outcome(Action.REQUEUED, summary.status, delay, detail=str(incomplete))

    def _finish(
        self, summary: RunSummary, request: WatchRequest, first_seen: datetime, deadline: Deadline, costs_settled: bool
    ) -> Outcome:
        ledger, notifier, actor_names = self._finishing()
        if summary.act_id:
            summary = summary._replace(actor_name=actor_names.name_of(summary.act_id, deadline))
        result = ledger.record(
            summary,
            now=self._now(),
            attempts=request.attempt + 1,
            first_seen_at=first_seen,
            costs_settled=costs_settled,
        )
        if not result.written:
            log.info(
                "Stale message: a later finish is already recorded",
                extra={"status": summary.status, "stored_generation": result.stored_generation},
            )
            return Outcome(Action.STALE, summary.status)
        self._telemetry.count_by("RunsFinished", "status", summary.status)
        try:
            report = notifier.notify(summary, deadline)
        except NotificationsIncomplete as incomplete:
            if incomplete.retry_after_secs <= 0:
                raise  # released: the record fails and comes back after the redelivery backoff
            return self._come_back_after_held_claims(request, first_seen, summary, incomplete)
        log.info(
            "Run finished",
            extra={
                "status": summary.status,
                "exit_code": summary.exit_code,
                "usage_total_usd": summary.usage_total_usd,
                "sent": report.sent,
                "already": report.already,
                "failed_permanently": report.failed_permanently,
            },
        )
        return Outcome(Action.FINISHED, summary.status, detail=",".join(report.sent))
