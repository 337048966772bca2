"""Schedules that never fired: judge each Apify schedule's latest slot against the runs it started.

Pure: the sweep (domain/sweep.py) brings the schedules Apify lists, what it remembers of each,
and the latest run each schedule started that its run list showed; this module says which slot
was missed. Why these rules:

* A slot is missed in one of two ways. **Not fired**: Apify's `nextRunAt` passed by the grace
  and is still the same (its scheduler did not fire). **Fired, nothing started**: `lastRunAt`
  is more than the grace ago and no run with that `meta.scheduleId` started for it (credits,
  limits, a broken build, a deleted task). Either way the slot is the time it was due.
* A run "covers" a slot when its `meta.scheduledAt` (else `startedAt`) is at most
  `SLOT_TOLERANCE_SECS` before it: Apify cron has a one-minute grain, so the run of the slot
  before is always further back.
* One alert per slot: the latest slot judged is remembered (`settled_slot`) and nothing at or
  before it is judged again. A scheduler that stays down leaves `nextRunAt` where it is, so a
  dead schedule is one alert, not one per sweep.
* A schedule first seen (a new deployment, a schedule re-enabled) starts from its current
  slot: history is never alerted on. A disabled schedule is forgotten, never alerted on.
* Without cron arithmetic: Apify's own `lastRunAt`/`nextRunAt` say what was due. Slots that
  came and went between two sweeps without a trace in either are not seen; with the sweep's
  one-minute default, that needs a cron finer than the sweep period (documented).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.run_summary import RunSummary

#: A run scheduled this long before a slot still counts as that slot's run (clock skew, queueing).
SLOT_TOLERANCE_SECS = 30.0
NOT_FIRED = "not fired"
NO_RUN = "no run started"
#: The queue body's field that marks a missed slot (run messages carry `runId` instead).
BODY_FIELD = "missedSchedule"


class ScheduleAction(NamedTuple):
    """What a schedule starts: an Actor (`RUN_ACTOR`) or a task (`RUN_ACTOR_TASK`)."""

    act_id: str | None = None
    actor_task_id: str | None = None


class ScheduleView(NamedTuple):
    """One schedule as Apify lists it (`ScheduleShort`)."""

    schedule_id: str
    name: str
    enabled: bool
    cron: str
    timezone: str
    last_run_at: datetime | None
    next_run_at: datetime | None
    actions: tuple[ScheduleAction, ...] = ()


class ScheduleMemory(NamedTuple):
    """What the sweep keeps per schedule between sweeps (its own item in the runs table)."""

    #: The latest slot judged: announced, covered by a run, or the baseline when first seen.
    settled_slot: datetime | None
    #: The latest `scheduledAt` (else `startedAt`) of a run this schedule started, as run lists showed.
    last_started: datetime | None


class MissedSlot(NamedTuple):
    """A slot that passed without a run: announced once per destination (claimed on `item`)."""

    schedule_id: str
    name: str
    slot: datetime
    reason: str
    cron: str
    timezone: str
    actions: tuple[ScheduleAction, ...]
    last_started: datetime | None
    #: The first action's Actor as `username/name`, when the watcher could name it.
    actor_name: str | None = None

    @property
    def item(self) -> str:
        """The claims' item: one per schedule and slot, so the same slot is never announced twice."""
        return f"schedule-missed#{self.schedule_id}#{format_iso(self.slot)}"

    @property
    def first_action(self) -> ScheduleAction:
        """The schedule's first action (what a run of it would have started)."""
        return self.actions[0] if self.actions else ScheduleAction()

    def words(self) -> str:
        """For example: "did not fire at 2026-12-02T09:00:00.000Z (0 9 * * *, Europe/Prague)"."""
        what = "did not fire" if self.reason == NOT_FIRED else "fired but no run started"
        since = f"; its last run was scheduled {format_iso(self.last_started)}" if self.last_started else ""
        return f"{what} at {format_iso(self.slot)} ({self.cron}, {self.timezone}){since}"

    def to_body(self) -> dict[str, Any]:
        """The slot as a queue message body (`{"missedSchedule": {...}}`)."""
        return {
            BODY_FIELD: {
                "scheduleId": self.schedule_id,
                "name": self.name,
                "slot": format_iso(self.slot),
                "reason": self.reason,
                "cronExpression": self.cron,
                "timezone": self.timezone,
                "actions": [
                    {k: v for k, v in (("actId", a.act_id), ("actorTaskId", a.actor_task_id)) if v}
                    for a in self.actions
                ],
                "lastStarted": format_iso(self.last_started) if self.last_started else None,
            }
        }


class BadMissedSlot(ValueError):
    """A `missedSchedule` body that does not hold a slot; the message says which field."""


def missed_slot_from_body(raw: object) -> MissedSlot:
    """The queue body's `missedSchedule` object, checked field by field."""
    if not isinstance(raw, Mapping):
        raise BadMissedSlot("missedSchedule must be an object")
    schedule_id, slot = raw.get("scheduleId"), parse_iso(raw.get("slot"))
    if not (isinstance(schedule_id, str) and schedule_id.isalnum() and len(schedule_id) <= 64):
        raise BadMissedSlot("missedSchedule.scheduleId must be 1-64 letters and digits")
    if slot is None:
        raise BadMissedSlot("missedSchedule.slot must be an ISO 8601 time")
    reason = raw.get("reason")
    if reason not in (NOT_FIRED, NO_RUN):
        raise BadMissedSlot(f"missedSchedule.reason must be {NOT_FIRED!r} or {NO_RUN!r}")
    actions = raw.get("actions") or []
    if not isinstance(actions, list) or not all(isinstance(a, Mapping) for a in actions):
        raise BadMissedSlot("missedSchedule.actions must be a list of objects")
    return MissedSlot(
        schedule_id=schedule_id,
        name=_text(raw.get("name"), schedule_id),
        slot=slot,
        reason=reason,
        cron=_text(raw.get("cronExpression"), "?"),
        timezone=_text(raw.get("timezone"), "UTC"),
        actions=tuple(
            ScheduleAction(_id_or_none(a.get("actId")), _id_or_none(a.get("actorTaskId"))) for a in actions[:20]
        ),
        last_started=parse_iso(raw.get("lastStarted")),
    )


def judge(
    schedule: ScheduleView,
    memory: ScheduleMemory | None,
    started: datetime | None,
    now: datetime,
    grace_secs: float,
) -> tuple[ScheduleMemory | None, MissedSlot | None]:
    """What to remember of this schedule now, and the slot it missed (None: none new).

    ``started`` is the latest scheduled time of a run of this schedule in this sweep's run list.
    Memory None in the answer: forget the schedule (it is disabled).
    """
    if not schedule.enabled:
        return None, None
    last_started = _latest(memory.last_started if memory else None, started)
    grace = timedelta(seconds=grace_secs)
    due = [
        (slot, reason)
        for slot, reason in ((schedule.next_run_at, NOT_FIRED), (schedule.last_run_at, NO_RUN))
        if slot is not None and slot + grace <= now
    ]
    if memory is None:  # first seen: the past is settled, only later slots are judged
        baseline = max((slot for slot, _ in due), default=None)
        baseline = _latest(
            baseline, schedule.last_run_at if schedule.last_run_at and schedule.last_run_at <= now else None
        )
        return ScheduleMemory(baseline, last_started), None
    fresh = [(slot, reason) for slot, reason in due if memory.settled_slot is None or slot > memory.settled_slot]
    if not fresh:
        return ScheduleMemory(memory.settled_slot, last_started), None
    slot, reason = max(fresh)
    remembered = ScheduleMemory(slot, last_started)
    if _covered(slot, last_started):
        return remembered, None
    missed = MissedSlot(
        schedule.schedule_id,
        schedule.name,
        slot,
        reason,
        schedule.cron,
        schedule.timezone,
        schedule.actions,
        last_started,
    )
    return remembered, missed


def _covered(slot: datetime, last_started: datetime | None) -> bool:
    return last_started is not None and last_started >= slot - timedelta(seconds=SLOT_TOLERANCE_SECS)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _text(value: object, default: str) -> str:
    return value[:200] if isinstance(value, str) and value else default


def _id_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.isalnum() and len(value) <= 64 else None


#: How routes see a missed slot: as a failed run of the Actor or task it should have started.
ROUTED_AS = "FAILED"


def stand_in(missed: MissedSlot) -> RunSummary:
    """The run routes and mutes judge a missed slot as (it never existed: its ID is the schedule's).

    A slot that never ran is a problem of its schedule's first Actor or task, so it goes where a
    FAILED run of it would go: routes that keep quiet about successes still hear of it, and mutes
    hold its chat as they hold the Actor's runs'."""
    first = missed.first_action
    return RunSummary(
        run_id=missed.schedule_id,
        status=ROUTED_AS,
        act_id=first.act_id,
        actor_task_id=first.actor_task_id,
        actor_name=missed.actor_name,
    )
