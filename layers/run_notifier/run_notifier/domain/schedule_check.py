"""The sweep's look at Apify's schedules: each missed slot goes on the run queue once.

Zero lost: a missed slot is enqueued before the schedule's memory moves past it, so a crash
or a failed write in between enqueues it again on the next sweep; the watcher's claims on
the slot's own item (`MissedSlot.item`) make that second message say nothing twice. The
sweep holds no destination's permissions: the watcher, which does, announces the slot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple

from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import Events, ScheduleMissed, SchedulesChecked
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.missed_schedules import MissedSlot, ScheduleView, judge
from run_notifier.domain.ports import EnqueueBodies, ScheduleLister, ScheduleMemories

PAGE_LIMIT = 1000
#: Pages read per sweep at most (1,000 schedules each): a bound, not a limit anyone meets.
MAX_PAGES = 10
RESERVE_SECS = 3.0


class SchedulePolicy(NamedTuple):
    """Which schedules the sweep watches, and how late a slot may be before it counts as missed."""

    grace_secs: int
    #: Which schedules are judged: None for all, else these IDs or names.
    chosen: frozenset[str] | None
    #: The sweep's own filter (SWEEP_ACTOR_IDS / SWEEP_TASK_IDS): empty for every Actor.
    actor_ids: frozenset[str] = frozenset()
    task_ids: frozenset[str] = frozenset()

    def wants(self, schedule: ScheduleView) -> bool:
        """True when the sweep watches this schedule."""
        if self.chosen is not None and not ({schedule.schedule_id, schedule.name} & self.chosen):
            return False
        if not (self.actor_ids or self.task_ids):
            return True
        return any(a.act_id in self.actor_ids or a.actor_task_id in self.task_ids for a in schedule.actions)


class ScheduleCheck:
    """Finds the slots that passed without a run, and enqueues each once for the watcher to announce."""

    def __init__(
        self,
        schedules: ScheduleLister,
        memories: ScheduleMemories,
        queue: EnqueueBodies,
        policy: SchedulePolicy,
        events: Events,
        now: Callable[[], datetime],
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        self._schedules = schedules
        self._memories = memories
        self._queue = queue
        self._policy = policy
        self._events = events
        self._now = now
        self._page_limit = page_limit

    def check(self, started: Mapping[str, datetime], deadline: Deadline) -> SchedulesChecked:
        """Judge every chosen, enabled schedule against ``started`` (per schedule ID, the latest slot a
        run of it was started for, from the sweep's complete run list). Never raises: the report says
        why it stopped, and the next sweep judges again from what was remembered."""
        listed = judged = missed = 0
        reason = ""
        try:
            views = self._list(deadline)
            listed = len(views)
            chosen = [view for view in views if self._policy.wants(view)]
            memories = self._memories.recall([view.schedule_id for view in chosen]) if chosen else {}
            now = self._now()
            for view in chosen:
                if deadline.left() < RESERVE_SECS:
                    reason = "out of time; the next sweep goes on"
                    break
                memory = memories.get(view.schedule_id)
                remembered, slot = judge(view, memory, started.get(view.schedule_id), now, self._policy.grace_secs)
                judged += 1
                if slot is not None:
                    self._enqueue(slot)
                    missed += 1
                if remembered is None:
                    if memory is not None:
                        self._memories.forget(view.schedule_id)
                elif remembered != memory:
                    self._memories.remember(view.schedule_id, remembered, now)
        except Exception as error:  # Apify, the queue or the table: the next sweep judges again
            reason = f"{type(error).__name__}: {str(error)[:200]}"
        report = SchedulesChecked(listed, judged, missed, reason)
        self._events.emit(report)
        return report

    def _list(self, deadline: Deadline) -> list[ScheduleView]:
        views: list[ScheduleView] = []
        for page in range(MAX_PAGES):
            batch = self._schedules.list_schedules(page * self._page_limit, self._page_limit, deadline)
            views.extend(batch)
            if len(batch) < self._page_limit:
                break
        return views

    def _enqueue(self, slot: MissedSlot) -> None:
        self._queue.enqueue_bodies([slot.to_body()])
        self._events.emit(ScheduleMissed(slot.schedule_id, format_iso(slot.slot), slot.reason))
