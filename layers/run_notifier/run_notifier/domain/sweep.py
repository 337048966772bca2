"""The discovery sweep: enroll every run Apify lists since the watermark that nothing enqueued.

It catches runs started from the Console, by Apify schedules or by anyone without a
webhook, including a run that started and ended between two sweeps. Rules:

* it reads from the watermark minus an overlap (a run's `startedAt` can land a little
  after a page was read), or from a lookback on a fresh deployment, never from the start
  of history;
* pages come ascending by `startedAt`, so new runs append at the end and offsets stay put;
* a run is enqueued, then marked enrolled: a crash in between enqueues it again on the next
  sweep (harmless), never loses it;
* the watermark advances only past pages read and enrolled completely: a 429 or 5xx in the
  middle leaves no gap, and the next sweep goes on from there;
* with schedules checked (domain/schedule_check.py), only a sweep that read the run list to its
  end judges them: a run it did not read could be the one a schedule started.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import Events, SweepDone
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.ports import Enqueue, Enrollments, ListedRun, RunLister
from run_notifier.domain.schedule_check import ScheduleCheck
from run_notifier.domain.watch_request import RUN_ID_PATTERN

PAGE_LIMIT = 1000  # Apify's maximum
#: Time kept back for the last page's writes and the watermark.
RESERVE_SECS = 5.0


class SweepPolicy(NamedTuple):
    """How far back the sweep reads Apify's run list, with what overlap, and which Actors and tasks it enrolls."""

    lookback_secs: int
    overlap_secs: int
    actor_ids: frozenset[str]
    task_ids: frozenset[str]

    def started_after(self, watermark: datetime | None, now: datetime) -> datetime:
        """Where to read the list from: the watermark less the overlap, never before the lookback."""
        start = watermark if watermark is not None else now - timedelta(seconds=self.lookback_secs)
        return start - timedelta(seconds=self.overlap_secs)

    def wants(self, run: ListedRun) -> bool:
        """True when the sweep enrolls this run (its Actor or task is chosen, or none is)."""
        if not (self.actor_ids or self.task_ids):
            return True
        return run.act_id in self.actor_ids or run.actor_task_id in self.task_ids


class SweepReport(NamedTuple):
    """What one sweep did."""

    pages: int
    listed: int
    enrolled: int
    complete: bool
    watermark: str | None
    reason: str = ""


class Sweeper:
    """The discovery sweep: enrolls every listed run nothing enqueued, without gaps or unbounded work."""

    def __init__(
        self,
        runs: RunLister,
        enrollments: Enrollments,
        queue: Enqueue,
        policy: SweepPolicy,
        events: Events,
        now: Callable[[], datetime],
        page_limit: int = PAGE_LIMIT,
        schedules: ScheduleCheck | None = None,
    ) -> None:
        self._schedules = schedules
        self._runs = runs
        self._enrollments = enrollments
        self._queue = queue
        self._policy = policy
        self._events = events
        self._now = now
        self._page_limit = page_limit

    def sweep(self, deadline: Deadline) -> SweepReport:
        """Page Apify's run list from the watermark within the deadline; enqueue, then mark, each new run.

        Never raises for Apify, queue or ledger errors: the report says how far it got, and the
        watermark stays at the last page read completely, so the next sweep leaves no gap.
        """
        watermark = self._enrollments.watermark()
        started_after = format_iso(self._policy.started_after(watermark, self._now()))
        pages = listed = enrolled = 0
        read_up_to: datetime | None = None  # the latest startedAt of the pages done completely
        reason = ""
        complete = False
        offset = 0
        scheduled: dict[str, datetime] = {}  # per schedule, the latest slot a listed run was started for
        while deadline.left() > RESERVE_SECS:
            try:
                page = self._runs.list_runs(started_after, offset, self._page_limit, deadline.sooner(RESERVE_SECS))
                fresh = self._fresh_runs(page)
                if fresh:
                    self._queue.enqueue(fresh)
                    self._enrollments.mark_enrolled(fresh, self._now())
            except Exception as error:  # Apify, the queue or the ledger: the next sweep reads this page again
                reason = f"{type(error).__name__}: {str(error)[:200]}"
                break
            pages, listed, enrolled = pages + 1, listed + len(page), enrolled + len(fresh)
            _note_scheduled(page, scheduled)
            latest = max((run.started_at for run in page if run.started_at), default=None)
            if latest is not None and (read_up_to is None or latest > read_up_to):
                read_up_to = latest
            if len(page) < self._page_limit:
                complete = True
                break
            offset += len(page)
        else:
            reason = "out of time; the next sweep goes on"
        if read_up_to is not None and (watermark is None or read_up_to > watermark):
            self._enrollments.save_watermark(read_up_to)
            watermark = read_up_to
        report = SweepReport(pages, listed, enrolled, complete, format_iso(watermark) if watermark else None, reason)
        self._events.emit(SweepDone(*report))
        if self._schedules is not None and complete:
            self._schedules.check(scheduled, deadline)
        return report

    def _fresh_runs(self, page: list[ListedRun]) -> list[str]:
        ids = [run.run_id for run in page if self._policy.wants(run) and RUN_ID_PATTERN.fullmatch(run.run_id)]
        return self._enrollments.not_enrolled(list(dict.fromkeys(ids))) if ids else []


def _note_scheduled(page: list[ListedRun], scheduled: dict[str, datetime]) -> None:
    for run in page:
        slot = run.scheduled_at or run.started_at
        if (
            run.schedule_id
            and slot is not None
            and (run.schedule_id not in scheduled or slot > scheduled[run.schedule_id])
        ):
            scheduled[run.schedule_id] = slot
