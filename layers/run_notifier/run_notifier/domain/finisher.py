"""FinishComponents a run: record it, announce it once per destination, and say what came of it.

Every path ends in exactly one of: FINISHED (recorded, every destination done), STALE (a later
finish is already recorded), REQUEUED (a claim another delivery holds: a fresh message comes
back after its lease, sent before this one is acknowledged), or an exception that fails the
record (SQS redelivers it; `NotificationsIncomplete.retry_after_secs` keeps it away until any
claim it leaves held has lapsed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from run_notifier.domain.announcements import MissedScheduleAnnouncement, RunEndAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import (
    CourtesySkipped,
    Events,
    MissedScheduleAnnounced,
    NotifyFiltered,
    RunFinished,
    RunMuted,
    RunRecorded,
    RunStale,
    WaitingForClaims,
)
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.missed_schedules import MissedSlot, stand_in
from run_notifier.domain.notifier import Announcer, NotifyReport
from run_notifier.domain.ports import (
    ActorNames,
    LiveAnnouncer,
    Mutes,
    NotificationsIncomplete,
    RunLedger,
    RunRequeue,
    WatchLedger,
)
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS
from run_notifier.domain.watch_request import WatchRequest

if TYPE_CHECKING:
    from run_notifier.domain.health_flow import HealthCheck, StuckCheck
    from run_notifier.domain.incident_flow import IncidentFlow


class Action(StrEnum):
    """How a message ended."""

    FINISHED = "finished"  # recorded and notified
    REQUEUED = "requeued"  # still running: back on the queue with a delay
    SETTLING = "settling"  # ended: re-read after the costs settle
    STALE = "stale"  # a later finish is already recorded
    ALREADY_NOTIFIED = "already-notified"  # safety-net message; the ledger shows the finish notified


class Outcome(NamedTuple):
    """What the watcher did with one message (the handler's return value and the tools' view)."""

    action: Action
    status: str | None = None
    delay_secs: int | None = None
    detail: str = ""


class FinishComponents(NamedTuple):
    """What only a run that ends needs: the ledger, the announcer and Actor names.

    The watcher asks for it when a run finishes (`RunWatcher(finishing=...)`), so a container
    that only re-enqueues never builds it; `wiring.py` builds it once, on first use.
    """

    ledger: RunLedger
    #: Every announcement goes through it: where it goes (the route read once), then each send once.
    announcer: Announcer
    actor_names: ActorNames
    #: The statuses whose end is announced (NOTIFY_ON); the rest are recorded only.
    notify_on: frozenset[str]
    #: Announcements of runs first seen running (a destination capability, opt-in per route); None: none.
    live: LiveAnnouncer | None = None
    #: Incidents of routes in incident mode, moved and announced after the run's own alerts; None: none.
    incidents: IncidentFlow | None = None
    #: One-off mutes: the one holding a run's chat alerts is written on its item (`mutedBy`); None: none.
    mutes: Mutes | None = None
    #: Health checks of routes with `expect` (domain/health_flow.py), judged before the run is recorded; None: none.
    health: HealthCheck | None = None
    #: "Still running" alerts for runs past their route's limit (domain/health_flow.py); None: none.
    stuck: StuckCheck | None = None


def named(summary: RunSummary, actor_names: ActorNames, deadline: Deadline) -> RunSummary:
    """The summary with its Actor's `username/name` (when the run has an Actor)."""
    if not summary.act_id:
        return summary
    return summary._replace(actor_name=actor_names.name_of(summary.act_id, deadline))


class Finisher:
    """Records a finished run and notifies it; see the module docstring for every end a message can have."""

    def __init__(
        self,
        finishing: Callable[[], FinishComponents],
        requeue: RunRequeue,
        watch_ledger: WatchLedger,
        events: Events,
        now: Callable[[], datetime],
    ) -> None:
        self._finishing = finishing
        self._requeue = requeue
        self._watch_ledger = watch_ledger
        self._events = events
        self._now = now

    def finish(
        self, summary: RunSummary, request: WatchRequest, first_seen: datetime, deadline: Deadline, costs_settled: bool
    ) -> Outcome:
        """Record the run unless a later finish is stored, then notify every destination once.

        Raises NotificationsIncomplete (the record fails and comes back) when a destination is not
        done and no fresh message could stand in for this one.
        """
        finishing = self._finishing()
        summary = named(summary, finishing.actor_names, deadline)
        if finishing.health is not None:
            summary = finishing.health.assess(summary, costs_settled, deadline)
        mute = finishing.mutes.muted(summary) if finishing.mutes is not None else None
        result = finishing.ledger.record(
            summary,
            now=self._now(),
            attempts=request.attempt + 1,
            first_seen_at=first_seen,
            costs_settled=costs_settled,
            muted_by=mute,
        )
        if not result.written:
            self._events.emit(RunStale(summary.run_id, summary.status, result.stored_generation))
            return Outcome(Action.STALE, summary.status)
        self._events.emit(RunRecorded(summary.run_id, summary.status))
        if mute is not None:
            self._events.emit(RunMuted(summary.run_id, mute.subject, mute.until))
        try:
            if summary.status in finishing.notify_on:
                report = finishing.announcer.announce(RunEndAnnouncement(summary), deadline)
            else:
                self._events.emit(NotifyFiltered(summary.run_id, summary.status))
                report = NotifyReport()
            if finishing.incidents is not None:
                finishing.incidents.after_announced(summary, deadline)
        except NotificationsIncomplete as incomplete:
            if incomplete.retry_after_secs <= 0:
                raise  # released: the record fails and comes back after the redelivery backoff
            return self._come_back_after_held_claims(request, first_seen, summary, incomplete)
        self._mark_notified(summary)
        self._events.emit(
            RunFinished(
                summary.run_id,
                summary.status,
                summary.exit_code,
                summary.usage_total_usd,
                tuple(report.sent),
                tuple(report.already),
                tuple(report.failed_permanently),
            )
        )
        return Outcome(Action.FINISHED, summary.status, detail=",".join(report.sent))

    def announce_running(self, run: RunSummary, deadline: Deadline) -> None:
        """Announce a run first seen running where routes ask; never fails the watch (the alert does not need it)."""
        try:
            finishing = self._finishing()
            if finishing.live is not None:
                finishing.live.announce_running(named(run, finishing.actor_names, deadline), deadline)
        except Exception as error:  # a courtesy
            self._events.emit(
                CourtesySkipped(run.run_id, "running announcement", f"{type(error).__name__}: {error}"[:300])
            )

    def announce_missed_schedule(self, missed: MissedSlot, deadline: Deadline) -> str:
        """A schedule's missed slot, to every destination that says so, once each. Raises
        NotificationsIncomplete while any is not done: the record fails and comes back after the lease."""
        finishing = self._finishing()
        first = missed.first_action
        if first.act_id and missed.actor_name is None:  # name_of falls back to the ID itself
            missed = missed._replace(actor_name=finishing.actor_names.name_of(first.act_id, deadline))
        report = finishing.announcer.announce(MissedScheduleAnnouncement(missed, stand_in(missed)), deadline)
        slot = format_iso(missed.slot)
        self._events.emit(MissedScheduleAnnounced(missed.schedule_id, slot, tuple(report.sent), tuple(report.already)))
        return "announced"

    def check_stuck(self, run: RunSummary, deadline: Deadline) -> None:
        """A run still going past its limit is announced once; never fails the watch: its message is already
        back on the queue, and the next look tries again while anything is not done."""
        try:
            finishing = self._finishing()
            if finishing.stuck is not None:
                finishing.stuck.check(named(run, finishing.actor_names, deadline), self._now(), deadline)
        except NotificationsIncomplete as incomplete:
            what = "still-running alert, for now"
            self._events.emit(CourtesySkipped(run.run_id, what, str(incomplete)[:300], expected=True))
        except Exception as error:  # the next look (the run is still watched) tries again
            self._events.emit(
                CourtesySkipped(run.run_id, "still-running alert, for now", f"{type(error).__name__}: {error}"[:300])
            )

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
        self._events.emit(WaitingForClaims(summary.run_id, delay, str(incomplete)))
        return Outcome(Action.REQUEUED, summary.status, delay, detail=str(incomplete))

    def _mark_notified(self, summary: RunSummary) -> None:
        """Let later safety-net messages end from the ledger alone. Best effort: without the mark
        they read Apify and find every claim done, which costs a call, not an alert."""
        try:
            self._watch_ledger.mark_notified(summary.run_id, summary.generation, self._now())
        except Exception as error:  # the alerts are out; only the cheap path is lost
            self._events.emit(
                CourtesySkipped(summary.run_id, "notified mark", f"{type(error).__name__}: {error}"[:300])
            )
