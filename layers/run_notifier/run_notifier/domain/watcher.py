"""The decision for one queue message: look at the run, then finish, settle or re-enqueue.

Every path ends in exactly one of: recorded and notified, a re-enqueued message, an
exception that fails the record (so SQS redelivers it, and after maxReceiveCount moves it
to the DLQ), or dropped because the ledger proves the work is done (a safety-net message
that comes after its run was finished and notified through push). Nothing loops without a
bound: attempts are counted in the message and the watch ends at `max_watch_secs` with a
WATCH_EXPIRED outcome.

Push (domain/push.py): when the watcher first sees a run still going and push can be armed,
it creates the run's ad-hoc webhook, reads the run once more (a run that ended while the
webhook was being made would never fire it), and from then on re-enqueues on the long
safety-net schedule with plain reads. Arming that Apify refuses leaves the run on today's
poll schedule: never worse than without push.
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
    LiveAnnouncer,
    NotificationsIncomplete,
    PushArming,
    Requeue,
    RunLedger,
    RunNotFound,
    RunReader,
    Telemetry,
    WatchLedger,
    log,
)
from run_notifier.domain.push import ARMED, TERMINAL_EVENTS, PushArmed, PushMode
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
    ALREADY_NOTIFIED = "already-notified"  # safety-net message; the ledger shows the finish notified


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
    #: Announcements of runs first seen running (a destination capability, opt-in per route); None: none.
    live: LiveAnnouncer | None = None


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
        watch_ledger: WatchLedger,
        push: PushArming | None = None,
        announces_running: bool = False,
    ) -> None:
        """``announces_running``: some destination could announce a run first seen running (its
        kind's settings allow it), so such a run builds the finishing side to ask; without it,
        that side stays unbuilt."""
        self._apify = apify
        self._requeue = requeue
        self._finishing = finishing
        self._schedule = schedule
        self._max_watch_secs = max_watch_secs
        self._telemetry = telemetry
        self._now = now
        self._watch_ledger = watch_ledger
        self._push = push
        self._announces_running = announces_running

    def watch(self, request: WatchRequest, deadline: Deadline) -> Outcome:
        now = self._now()
        first_seen = self._first_seen(request, now)
        self._telemetry.count("RunsWatched")
        if self._is_safety_net(request) and self._watch_ledger.notified_since(request.run_id, first_seen):
            self._telemetry.count("SafetyNetMessagesDropped")
            log.info("Safety-net message for a run already finished and notified; dropped without an Apify call")
            return Outcome(Action.ALREADY_NOTIFIED, detail="the ledger shows the finish notified")
        # Keep part of the budget back for the write, the notifications or the re-enqueue.
        poll_deadline = deadline.sooner(self._schedule.safety_margin_secs / 2)
        try:
            run = self._apify.get_run(request.run_id, self._wait_secs(request, deadline), poll_deadline)
            if not is_terminal(str(run.get("status"))):
                if request.push is None and self._push is not None:
                    request, run = self._arm_push(request, poll_deadline, deadline)
                elif request.push is PushMode.ACTOR and request.attempt == 0:
                    self._watch_ledger.note_push(request.run_id, PushArmed(PushMode.ACTOR), self._now())
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
            if request.attempt == 0 and self._announces_running:
                self._announce_running(run, request, deadline)
            return self._requeue_or_expire(request, first_seen, deadline, reason=f"run is {status}", last_run=run)
        summary = RunSummary.from_run(run, request.run_id)
        finished = summary.finished_time
        finished_ago = (self._now() - finished).total_seconds() if finished else float("inf")
        settle_delay = 0 if request.settle else self._schedule.settle_delay(finished_ago)
        if settle_delay > 0:
            self._requeue.send(
                WatchRequest(request.run_id, request.attempt + 1, first_seen, settle=True, push=request.push),
                settle_delay,
            )
            self._telemetry.count("RunsSettling")
            log.info(
                "Run ended; re-reading after the costs settle",
                extra={
                    "status": summary.status,
                    "delay_secs": settle_delay,
                    "heard_by": _heard_by(request),
                    "finished_ago_secs": round(finished_ago, 3) if finished else None,
                },
            )
            return Outcome(Action.SETTLING, summary.status, settle_delay)
        costs_settled = request.settle or finished_ago >= self._schedule.settle_secs
        if not request.settle:
            log.info(
                "Run ended; costs already settled",
                extra={
                    "status": summary.status,
                    "heard_by": _heard_by(request),
                    "finished_ago_secs": round(finished_ago, 3) if finished else None,
                },
            )
        return self._finish(summary, request, first_seen, deadline, costs_settled=costs_settled)

    def _announce_running(self, run: dict[str, Any], request: WatchRequest, deadline: Deadline) -> None:
        """Announce a run first seen running where routes ask; never fails the watch (the alert does not need it)."""
        try:
            finishing = self._finishing()
            if finishing.live is None:
                return
            summary = _named(RunSummary.from_run(run, request.run_id), finishing.actor_names, deadline)
            finishing.live.announce_running(summary, deadline.sooner(self._schedule.safety_margin_secs))
        except Exception as error:  # a live message is a courtesy
            log.warning(
                "No running announcement for the run", extra={"reason": f"{type(error).__name__}: {error}"[:300]}
            )

    def _is_safety_net(self, request: WatchRequest) -> bool:
        """A re-enqueued check of a run whose end a webhook will announce (never the push message itself)."""
        return request.push in ARMED and request.attempt > 0 and not request.settle

    def _wait_secs(self, request: WatchRequest, deadline: Deadline) -> int:
        """`waitForFinish`: none where push tells us of the end (or will, once armed), else the poll schedule's."""
        pushed = request.push in ARMED or (request.push is None and self._push is not None)
        if request.settle or pushed:
            return 0
        return self._schedule.wait_for_finish(request.attempt, deadline.left())

    def _arm_push(
        self, request: WatchRequest, poll_deadline: Deadline, deadline: Deadline
    ) -> tuple[WatchRequest, dict[str, Any]]:
        """Arm the run's ad-hoc webhook, then read the run again.

        The second read closes a race: a run that ended while its webhook was being created
        would never fire it. If Apify refuses the webhook, the read is today's long poll.
        Raises ApifyUnavailable / RunNotFound like any read.
        """
        assert self._push is not None
        try:
            armed = self._push.arm(request.run_id, poll_deadline)
        except ApifyUnavailable as error:
            # Not refused, just not reachable now: poll this time, try arming again on the next attempt.
            log.warning("Could not arm push now; polling this attempt", extra={"reason": str(error)})
            armed = None
        if armed is not None:
            self._watch_ledger.note_push(request.run_id, armed, self._now())
            request = request._replace(push=armed.mode)
            if armed.mode is PushMode.OFF:
                self._telemetry.count("PushArmingRefused")
                # INFO: the adapter warns once per container about a refusal that applies to every run.
                log.info("Push not armed; watching by polling", extra={"reason": armed.reason})
            else:
                self._telemetry.count("PushArmed")
                log.info("Push armed", extra={"push": armed.mode.value, "webhook_id": armed.webhook_id})
        return request, self._apify.get_run(request.run_id, self._wait_secs(request, deadline), poll_deadline)

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
        schedule = self._schedule
        delay = (
            schedule.safety_net_delay(request.attempt)
            if request.push in ARMED
            else schedule.requeue_delay(request.attempt)
        )
        self._requeue.send(WatchRequest(request.run_id, request.attempt + 1, first_seen, push=request.push), delay)
        self._telemetry.count("RunsRequeued")
        log.info(
            "Re-enqueued",
            extra={
                "delay_secs": delay,
                "next_attempt": request.attempt + 1,
                "reason": reason,
                "push": request.push.value if request.push else None,
            },
        )
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
            self._requeue.send(
                WatchRequest(request.run_id, request.attempt + 1, first_seen, settle=True, push=request.push), delay
            )
        except Exception:
            raise incomplete from None  # the record fails; its redelivery still waits for the lease
        self._telemetry.count("RunsWaitingForClaims")
        log.warning(
            "A destination's claim is held; re-enqueued to come back after its lease",
            extra={"delay_secs": delay, "reason": str(incomplete)},
        )
        return Outcome(Action.REQUEUED, summary.status, delay, detail=str(incomplete))

    def _mark_notified(self, summary: RunSummary) -> None:
        """Let later safety-net messages end from the ledger alone. Best effort: without the mark
        they read Apify and find every claim done, which costs a call, not an alert."""
        try:
            self._watch_ledger.mark_notified(summary.run_id, summary.generation, self._now())
        except Exception as error:  # the alerts are out; only the cheap path is lost
            log.warning("Could not mark the run notified", extra={"reason": f"{type(error).__name__}: {error}"[:300]})

    def _finish(
        self, summary: RunSummary, request: WatchRequest, first_seen: datetime, deadline: Deadline, costs_settled: bool
    ) -> Outcome:
        finishing = self._finishing()
        ledger, notifier = finishing.ledger, finishing.notifier
        summary = _named(summary, finishing.actor_names, deadline)
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
        self._mark_notified(summary)
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


def _named(summary: RunSummary, actor_names: ActorNames, deadline: Deadline) -> RunSummary:
    """The summary with its Actor's `username/name` (when the run has an Actor)."""
    if not summary.act_id:
        return summary
    return summary._replace(actor_name=actor_names.name_of(summary.act_id, deadline))


def _heard_by(request: WatchRequest) -> str:
    """How the watcher learned that the run ended (for logs and the demo): the run's own terminal
    webhook, a safety-net read while push was armed, a poll, or the first read of a run already over."""
    if request.event in TERMINAL_EVENTS:
        return "push"
    if request.attempt == 0:
        return "first-read"
    return "safety-net" if request.push in ARMED else "poll"
