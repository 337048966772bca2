"""The domain logic for one queue message: look at the run, then finish, settle or re-enqueue.

Every path ends in exactly one of: notified/recorded, a re-enqueued message, or an
exception that fails the record (so SQS redelivers it, and after maxReceiveCount moves it
to the DLQ). Nothing loops without a bound: attempts are counted in the message and the
watch ends at `max_watch_secs` with a WATCH_EXPIRED outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from run_notifier.apify_client import ApifyClient, ApifyNotFound, ApifyUnavailable
from run_notifier.intake import WatchRequest
from run_notifier.observability import count, count_with_dimension, logger
from run_notifier.requeue import Requeuer
from run_notifier.schedule import Schedule
from run_notifier.statuses import NOT_FOUND, WATCH_EXPIRED, is_terminal
from run_notifier.timebudget import Deadline

if TYPE_CHECKING:  # the finishing side is imported on first use (see wiring.py)
    from run_notifier.actor_names import ActorNames
    from run_notifier.notifier import Notifier
    from run_notifier.run_store import RunStore
    from run_notifier.run_summary import RunSummary


class Outcome(NamedTuple):
    action: str  # "finished", "requeued", "settling", "stale"
    status: str | None = None
    delay_secs: int | None = None
    detail: str = ""


class RunWatcher:
    def __init__(
        self,
        apify: ApifyClient,
        store: RunStore,
        requeuer: Requeuer,
        notifier: Notifier,
        actor_names: ActorNames,
        schedule: Schedule,
        max_watch_secs: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._apify = apify
        self._store = store
        self._requeuer = requeuer
        self._notifier = notifier
        self._actor_names = actor_names
        self._schedule = schedule
        self._max_watch_secs = max_watch_secs
        self._now = now

    def watch(self, request: WatchRequest, deadline: Deadline) -> Outcome:
        from run_notifier.run_summary import RunSummary, parse_time

        now = self._now()
        first_seen = request.first_seen_at or now
        count("RunsWatched")
        wait = 0 if request.settle else self._schedule.wait_for_finish(request.attempt, deadline.left())
        # Keep part of the budget back for the write, the notifications or the re-enqueue.
        poll_deadline = deadline.sooner(self._schedule.safety_margin_secs / 2)
        try:
            run = self._apify.get_run(request.run_id, wait, poll_deadline)
        except ApifyNotFound as error:
            logger.warning("Run not found; recording NOT_FOUND", extra={"reason": str(error)})
            summary = RunSummary.watcher_outcome(request.run_id, NOT_FOUND, str(error))
            return self._finish(summary, request, first_seen, deadline, costs_settled=False)
        except ApifyUnavailable as error:
            logger.warning("Apify unavailable; re-enqueueing", extra={"reason": str(error)})
            return self._requeue(request, first_seen, deadline, reason=str(error), last_run=None)
        status = str(run.get("status"))
        if is_terminal(status):
            finished = parse_time(run.get("finishedAt"))
            finished_ago = (self._now() - finished).total_seconds() if finished else float("inf")
            settle_delay = 0 if request.settle else self._schedule.settle_delay(finished_ago)
            if settle_delay > 0:
                self._requeuer.send(
                    WatchRequest(request.run_id, request.attempt + 1, first_seen, settle=True), settle_delay
                )
                count("RunsSettling")
                logger.info(
                    "Run ended; re-reading after the costs settle", extra={"status": status, "delay_secs": settle_delay}
                )
                return Outcome("settling", status, settle_delay)
            return self._finish(
                RunSummary.from_run(run),
                request,
                first_seen,
                deadline,
                costs_settled=request.settle or finished_ago >= self._schedule.settle_secs,
            )
        return self._requeue(request, first_seen, deadline, reason=f"run is {status}", last_run=run)

    def _requeue(
        self, request: WatchRequest, first_seen: datetime, deadline: Deadline, reason: str, last_run: dict | None
    ) -> Outcome:
        """Put the run back on the queue, unless it has been watched for too long already."""
        from run_notifier.run_summary import RunSummary

        watched_for = (self._now() - first_seen).total_seconds()
        if watched_for >= self._max_watch_secs:
            message = f"{reason} after {int(watched_for)} s of watching (limit {self._max_watch_secs} s)"
            logger.warning("Giving up on the run", extra={"reason": message})
            base = RunSummary.from_run(last_run) if last_run else RunSummary(request.run_id, WATCH_EXPIRED)
            summary = replace(base, status=WATCH_EXPIRED, status_message=message)
            return self._finish(summary, request, first_seen, deadline, costs_settled=False)
        delay = self._schedule.requeue_delay(request.attempt)
        self._requeuer.send(WatchRequest(request.run_id, request.attempt + 1, first_seen), delay)
        count("RunsRequeued")
        logger.info("Re-enqueued", extra={"delay_secs": delay, "next_attempt": request.attempt + 1, "reason": reason})
        return Outcome("requeued", delay_secs=delay, detail=reason)

    def _finish(
        self, summary: RunSummary, request: WatchRequest, first_seen: datetime, deadline: Deadline, costs_settled: bool
    ) -> Outcome:
        if summary.act_id:
            name = self._actor_names.name_of(summary.act_id, deadline)
            summary = replace(summary, actor_name=name)
        result = self._store.record(
            summary,
            now=self._now(),
            attempts=request.attempt + 1,
            first_seen_at=first_seen,
            costs_settled=costs_settled,
        )
        if not result.written:
            logger.info(
                "Stale message: a later finish is already recorded",
                extra={"status": summary.status, "stored_generation": result.stored_generation},
            )
            return Outcome("stale", summary.status)
        count_with_dimension("RunsFinished", "status", summary.status)
        report = self._notifier.notify(summary, deadline)
        logger.info(
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
        return Outcome("finished", summary.status, detail=",".join(report.sent))
