"""Judging a finished run's health before it is recorded and announced (domain/health.py).

Only a SUCCEEDED run on a route with `expect` is judged: its dataset's item count (one Apify
call), its duration, and its settled cost against the last SUCCEEDED runs of its Actor task (else
Actor) in the ledger (one query). A redelivery of the same finish reuses the judgement recorded
by the first (one read), so every destination and the item say the same. A count Apify cannot
give, or a history the table cannot read, leaves that part unknown (UNKNOWN unless another check
fails): a read for a check never holds the alert back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from run_notifier.domain.announcements import StuckRunAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import CourtesySkipped, Events, HealthJudged, RunStuck
from run_notifier.domain.health import (
    STUCK_FLOOR_SECS,
    Expectation,
    Health,
    Measured,
    PastRun,
    StuckAlert,
    judge,
    stuck_limit,
)
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.ports import DatasetCounts, RunHistory
from run_notifier.domain.run_summary import RunSummary

if TYPE_CHECKING:
    from run_notifier.domain.notifier import Announcer

#: A dataset's count is worth at most this much of the budget.
COUNT_READ_SECS = 5.0
#: Judgements kept per container, for duplicates of a finish in one batch (a few batches' worth).
JUDGED_KEPT = 1000


def history_key(summary: RunSummary) -> str | None:
    """Whose history a run is judged against: its Actor task's, else its Actor's."""
    if summary.actor_task_id:
        return f"task:{summary.actor_task_id}"
    if summary.act_id:
        return f"actor:{summary.act_id}"
    return None


class HealthCheck:
    """Judges a SUCCEEDED run on a route with `expect` before it is recorded (a read for a check never holds the alert
    back)."""

    def __init__(
        self,
        expectation_for: Callable[[RunSummary, frozenset[str]], Expectation | None],
        history: RunHistory,
        datasets: DatasetCounts,
        events: Events,
    ) -> None:
        self._expectation_for = expectation_for
        self._history = history
        self._datasets = datasets
        self._events = events
        #: Judgements made in this container, by run and finish (the newest JUDGED_KEPT): a duplicate of the
        #: same batch waits for the first (one lock per finish) and takes its judgement, with no second read.
        self._judged: OrderedDict[tuple[str, str], tuple[int | None, Health]] = OrderedDict()
        self._judging: dict[tuple[str, str], tuple[threading.Lock, int]] = {}
        self._lock = threading.Lock()

    def assess(self, summary: RunSummary, costs_settled: bool, deadline: Deadline) -> RunSummary:
        """The summary with `item_count` and `health` when its route expects something of it.

        Judged once per finish: a duplicate in the same batch waits for the first delivery's judgement
        (this container), a later redelivery reads the one recorded on the item (any container)."""
        if summary.status != "SUCCEEDED":
            return summary
        expect = self._expectation_for(summary, frozenset({"health"}))  # the verdict is being decided
        key = history_key(summary)
        if expect is None or key is None:
            return summary
        finish = (summary.run_id, summary.generation)
        with self._one_judge(finish):
            known = self._judged.get(finish) or self._history.stored(summary.run_id, summary.generation)
            if known is not None:
                return summary._replace(item_count=known[0], health=known[1])
            items, health = self._judge(summary, expect, key, costs_settled, deadline)
            with self._lock:
                self._judged[finish] = (items, health)
                while len(self._judged) > JUDGED_KEPT:
                    self._judged.popitem(last=False)
            return summary._replace(item_count=items, health=health)

    @contextmanager
    def _one_judge(self, finish: tuple[str, str]) -> Iterator[None]:
        """One judgement of a finish at a time in this container."""
        with self._lock:
            lock, users = self._judging.get(finish, (threading.Lock(), 0))
            self._judging[finish] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._judging[finish]
                if users == 1:
                    del self._judging[finish]
                else:
                    self._judging[finish] = (lock, users - 1)

    def _judge(
        self, summary: RunSummary, expect: Expectation, key: str, costs_settled: bool, deadline: Deadline
    ) -> tuple[int | None, Health]:
        """The dataset's count and the verdict: one count read, one history query."""
        items = self._count(summary, deadline)
        past = self._past(summary, key, deadline) if expect.anomalies else []
        cost = summary.usage_total_usd if costs_settled else None
        health = judge(Measured(items, summary.duration_secs, cost), expect, past)
        failed = tuple(c.name for c in health.checks if c.failed)
        self._events.emit(HealthJudged(summary.run_id, health.verdict, failed, len(past)))
        return items, health

    def _past(self, summary: RunSummary, key: str, deadline: Deadline) -> list[PastRun]:
        try:
            return self._history.past_runs(key, summary.run_id, deadline)
        except Exception as error:  # judged without history (UNKNOWN), never held back by it
            self._events.emit(CourtesySkipped(summary.run_id, "run history", f"{type(error).__name__}: {error}"[:300]))
            return []

    def _count(self, summary: RunSummary, deadline: Deadline) -> int | None:
        if not summary.default_dataset_id:
            return None
        try:
            return self._datasets.item_count(summary.default_dataset_id, deadline.within(COUNT_READ_SECS))
        except Exception as error:  # the alert goes out without the count
            reason = f"{type(error).__name__}: {error}"[:300]
            self._events.emit(CourtesySkipped(summary.run_id, "dataset item count", reason))
            return None


#: A run younger than this is not looked at for being stuck (no route read, no history queried).
STUCK_LOOK_AFTER_SECS = 60.0
#: Match keys a running run is matched without when its expectation is looked up (it has no final
#: status or verdict yet; a route's `expect` is about the Actor or task).
RUNNING_IGNORES = frozenset({"status", "health"})


class StuckCheck:
    """A run still going past `expect.maxDurationSecs`, or past twice its history's p95 duration (at
    least 10 minutes), gets one "still running" alert per destination, from the reads the watcher
    already makes (so within one look of the limit: the polling delay, or push's safety-net period)."""

    def __init__(
        self,
        expectation_for: Callable[[RunSummary, frozenset[str]], Expectation | None],
        history: RunHistory,
        announcer: Announcer,
        events: Events,
    ) -> None:
        self._expectation_for = expectation_for
        self._history = history
        self._announcer = announcer
        self._events = events

    def check(self, run: RunSummary, now: datetime, deadline: Deadline) -> None:
        """Raises NotificationsIncomplete while a destination is not done (the next look tries again)."""
        started = parse_iso(run.started_at)
        key = history_key(run)
        if started is None or key is None:
            return
        running = (now - started).total_seconds()
        expect = self._expectation_for(run, RUNNING_IGNORES)
        if expect is None or running < min(expect.max_duration_secs or STUCK_FLOOR_SECS, STUCK_FLOOR_SECS):
            return  # before any limit could be passed: nothing read
        durations: list[float] = []
        if expect.anomalies:
            past = self._history.past_runs(key, run.run_id, deadline)
            durations = [p.measured.duration for p in past if p.measured.duration is not None]
        limit = stuck_limit(expect, durations)
        if limit is None or running <= limit[0]:
            return
        report = self._announcer.announce(StuckRunAnnouncement(run, StuckAlert(running, limit[0], limit[1])), deadline)
        self._events.emit(RunStuck(run.run_id, round(running, 1), limit[0], tuple(report.sent)))
