"""One queue message: look at the run, let the policy decide, carry the decision out.

The decision itself is pure (domain/policy.py); this module does the looking (Apify, with push
armed on first sight where an intake can receive the webhook) and the doing (re-enqueue, or
finish through domain/finisher.py). Every path ends in exactly one of: recorded and notified,
a re-enqueued message, an exception that fails the record (SQS redelivers it, and after
maxReceiveCount moves it to the DLQ), or dropped because the ledger proves the work done (a
safety-net message after its run was finished and notified through push). Nothing loops
without a bound: attempts are counted in the message and the watch ends at `max_watch_secs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from run_notifier.domain import expected_end, policy
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import (
    ApifyUnreachable,
    Events,
    RunArmingPaced,
    RunEnded,
    RunNotFoundRecorded,
    RunPushArmed,
    RunPushDeferred,
    RunPushRefused,
    RunRequeued,
    RunVanished,
    RunWatched,
    SafetyNetDropped,
    WatchExpired,
)
from run_notifier.domain.finisher import Action, FinishComponents, Finisher, Outcome
from run_notifier.domain.health_flow import STUCK_LOOK_AFTER_SECS
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import (
    ActorPushArming,
    ApifyUnavailable,
    ArmingPaced,
    PushArming,
    RunNotFound,
    RunReader,
    RunRequeue,
    UsualDurations,
    WatchLedger,
)
from run_notifier.domain.push import ARMED, PushArmed, PushMode
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS, Schedule
from run_notifier.domain.statuses import is_terminal
from run_notifier.domain.watch_request import WatchRequest

__all__ = ["Action", "FinishComponents", "Outcome", "RunWatcher"]


class RunWatcher:
    """One queue message of a run through to exactly one end: recorded and notified, re-enqueued,
    failed (SQS redelivers), or dropped because the ledger proves the work done."""

    def __init__(
        self,
        apify: RunReader,
        requeue: RunRequeue,
        finishing: Callable[[], FinishComponents],
        schedule: Schedule,
        max_watch_secs: int,
        events: Events,
        now: Callable[[], datetime],
        watch_ledger: WatchLedger,
        push: PushArming | None = None,
        announces_running: bool = False,
        usual_durations: UsualDurations | None = None,
    ) -> None:
        """``announces_running``: some destination could announce a run first seen running (its
        kind's settings allow it), so such a run builds the finishing side to ask; without it,
        that side stays unbuilt. ``usual_durations``: the run's history, which times the safety net's
        reads of a pushed run (domain/expected_end.py); without it, only its timeout does."""
        self._usual_durations = usual_durations
        self._apify = apify
        self._requeue = requeue
        self._schedule = schedule
        self._facts = policy.WatchFacts(schedule, max_watch_secs)
        self._events = events
        self._now = now
        self._watch_ledger = watch_ledger
        self._push = push
        self._announces_running = announces_running
        self._finisher = Finisher(finishing, requeue, watch_ledger, events, now)
        #: When this container learned that an Actor has the notifier's Actor-level webhook.
        self._actor_covered_at: dict[str, datetime] = {}

    def watch(self, request: WatchRequest, deadline: Deadline) -> Outcome:
        """Carry one message through to exactly one end (see the module docstring); raise to fail the record."""
        since = policy.first_seen(request, self._now())
        self._events.emit(RunWatched(request.run_id, request.attempt))
        if policy.is_safety_net(request) and self._watch_ledger.notified_since(request.run_id, since):
            self._events.emit(SafetyNetDropped(request.run_id))
            return Outcome(Action.ALREADY_NOTIFIED, detail="the ledger shows the finish notified")
        if policy.is_safety_net(request) and request.read_after is not None:
            waited = self._wait_for_read(request, since)
            if waited is not None:
                return waited
        request, observation = self._look(request, deadline)
        decision = policy.decide(request, observation, self._facts, self._now(), since=since)
        if isinstance(decision, policy.Requeue):
            return self._requeue_run(request, decision, observation, deadline)
        if isinstance(decision, policy.Settle):
            self._requeue.send(decision.request, decision.delay_secs)
            self._events.emit(
                RunEnded(
                    request.run_id,
                    decision.run.status,
                    decision.heard_by,
                    decision.finished_ago_secs,
                    decision.delay_secs,
                )
            )
            return Outcome(Action.SETTLING, decision.run.status, decision.delay_secs)
        if decision.why is policy.FinishReason.NOT_FOUND:
            self._events.emit(RunNotFoundRecorded(request.run_id, decision.run.status_message or ""))
        elif decision.why is policy.FinishReason.EXPIRED:
            self._events.emit(WatchExpired(request.run_id, decision.run.status_message or ""))
        elif decision.first_sight:
            self._events.emit(
                RunEnded(request.run_id, decision.run.status, decision.heard_by, decision.finished_ago_secs, 0)
            )
        return self._finisher.finish(decision.run, request, since, deadline, decision.costs_settled)

    def announce_missed_schedule(self, missed: MissedSlot, deadline: Deadline) -> str:
        """A schedule's slot that passed without a run (the sweep's message): announced once per destination."""
        return self._finisher.announce_missed_schedule(missed, deadline)

    def _look(self, request: WatchRequest, deadline: Deadline) -> tuple[WatchRequest, policy.Observation]:
        """Read the run (arming push first time it is seen going); Apify's answer as an observation."""
        # Keep part of the budget back for the write, the notifications or the re-enqueue.
        poll_deadline = deadline.sooner(self._schedule.safety_margin_secs / 2)
        push_available = self._push is not None
        try:
            wait = policy.wait_secs(request, self._schedule, push_available, deadline.left())
            read_at = self._now()
            run = self._apify.get_run(request.run_id, wait, poll_deadline)
            if policy.should_arm(request, run, push_available):
                request, run = self._arm_push(request, run, read_at, poll_deadline, deadline)
            elif request.push is PushMode.ACTOR and request.attempt == 0 and not is_terminal(run.status):
                self._watch_ledger.note_push(request.run_id, PushArmed(PushMode.ACTOR), self._now())
            elif self._actor_webhook_came(request, run):
                request = self._pushed_by_actor(request)
        except RunNotFound as error:
            return request, policy.RunMissing(str(error))
        except ApifyUnavailable as error:
            return request, policy.ApifyDown(str(error))
        return request, policy.RunSeen(run)

    def _pushed_by_actor(self, request: WatchRequest) -> WatchRequest:
        """The run is pushed by its Actor's webhook from now on: noted on its item, and in its messages."""
        self._watch_ledger.note_push(request.run_id, PushArmed(PushMode.ACTOR), self._now())
        self._events.emit(RunPushArmed(request.run_id, PushMode.ACTOR.value, None))
        return request._replace(push=PushMode.ACTOR)

    def _actor_webhook_came(self, request: WatchRequest, run: RunSummary) -> bool:
        """A polled run (push off) whose Actor has since been given its Actor-level webhook (by a later
        run, in a burst that saturated the creates): that webhook reaches this run's end too, so the run
        drops to the safety-net schedule. Known in this container only: no read on a polled run's look."""
        return (
            request.push is PushMode.OFF
            and bool(run.act_id)
            and not is_terminal(run.status)
            and str(run.act_id) in self._actor_covered_at
        )

    def _arm_push(
        self, request: WatchRequest, run: RunSummary, read_at: datetime, poll_deadline: Deadline, deadline: Deadline
    ) -> tuple[WatchRequest, RunSummary]:
        """Arm the run's ad-hoc webhook (or find its Actor's), then read the run again.

        The second read closes a race: a run that ended while its webhook was being created
        would never fire it. If Apify refuses the webhook, the read is today's long poll. There is
        no race, and no second read, when this container knew of the Actor's webhook before it read
        the run (``read_at``) running: the webhook already existed when the run was still going.
        Raises ApifyUnavailable / RunNotFound like any read.
        """
        assert self._push is not None
        act_id = run.act_id
        actor_push = self._push if isinstance(self._push, ActorPushArming) else None
        try:
            if actor_push is not None and act_id and actor_push.actor_covered(act_id):
                armed: PushArmed | None = PushArmed(PushMode.ACTOR)  # its Actor's webhook tells of its end
                if self._actor_covered_at.setdefault(act_id, self._now()) < read_at:
                    return self._pushed_by_actor(request), run
            else:
                armed = self._push.arm(request.run_id, poll_deadline)
        except ArmingPaced as paced:
            # This second's webhook creates are spent (a burst). On the first look: a plain read, and the
            # next look (a few seconds on) tries again; a long poll here would hold a container for a
            # minute per run. Spent again on that look, the per-run creates are saturated: the run's Actor
            # gets one webhook for all its runs (one create, not one per run); failing that, this run is
            # polled and stops asking (each ask is a write on the budget's one item).
            self._events.emit(RunArmingPaced(request.run_id, request.attempt > 0))
            if request.attempt == 0:
                return request, self._apify.get_run(request.run_id, 0, poll_deadline)
            armed = self._arm_actor(actor_push, act_id, str(paced), poll_deadline)
            if armed.mode is PushMode.ACTOR and act_id:
                self._actor_covered_at.setdefault(act_id, self._now())
            if armed.mode is PushMode.OFF:
                self._watch_ledger.note_push(request.run_id, armed, self._now())
                request = request._replace(push=PushMode.OFF)
                return request, self._apify.get_run(request.run_id, 0, poll_deadline)
        except ApifyUnavailable as error:
            # Not refused, just not reachable now: poll this time, try arming again on the next attempt.
            self._events.emit(RunPushDeferred(request.run_id, str(error)))
            armed = None
        if armed is not None:
            self._watch_ledger.note_push(request.run_id, armed, self._now())
            request = request._replace(push=armed.mode)
            if armed.mode is PushMode.OFF:
                self._events.emit(RunPushRefused(request.run_id, armed.reason))
            else:
                self._events.emit(RunPushArmed(request.run_id, armed.mode.value, armed.webhook_id))
        wait = policy.wait_secs(request, self._schedule, True, deadline.left())
        return request, self._apify.get_run(request.run_id, wait, poll_deadline)

    @staticmethod
    def _arm_actor(actor_push: ActorPushArming | None, act_id: str | None, paced: str, deadline: Deadline) -> PushArmed:
        """The Actor's webhook for a run whose own create was refused twice; OFF (polled) when that fails too."""
        if actor_push is None or not act_id:
            return PushArmed(PushMode.OFF, reason=f"{paced}; webhook creates saturated: polled")
        try:
            return actor_push.arm_actor(act_id, deadline)
        except ApifyUnavailable as error:  # ArmingPaced included: its create was spent too
            return PushArmed(PushMode.OFF, reason=f"{error}; webhook creates saturated: polled")

    def _requeue_run(
        self, request: WatchRequest, decision: policy.Requeue, observation: policy.Observation, deadline: Deadline
    ) -> Outcome:
        if isinstance(observation, policy.RunMissing):
            self._events.emit(RunVanished(request.run_id, observation.reason))
        elif isinstance(observation, policy.ApifyDown):
            self._events.emit(ApifyUnreachable(request.run_id, observation.reason))
        elif request.attempt == 0 and self._announces_running:
            self._finisher.announce_running(observation.run, deadline.sooner(self._schedule.safety_margin_secs))
        if isinstance(observation, policy.RunSeen) and decision.request.push in ARMED:
            decision = self._timed_safety_net(observation.run, decision, deadline)
        self._requeue.send(decision.request, decision.delay_secs)
        push = request.push.value if request.push else None
        self._events.emit(
            RunRequeued(request.run_id, decision.delay_secs, decision.request.attempt, decision.reason, push)
        )
        if isinstance(observation, policy.RunSeen) and self._running_for(observation.run) >= STUCK_LOOK_AFTER_SECS:
            # After the re-enqueue: the run keeps its message whatever the check does.
            self._finisher.check_stuck(observation.run, deadline.sooner(self._schedule.safety_margin_secs))
        return Outcome(Action.REQUEUED, delay_secs=decision.delay_secs, detail=decision.reason)

    def _timed_safety_net(self, run: RunSummary, decision: policy.Requeue, deadline: Deadline) -> policy.Requeue:
        """The next safety-net read of a pushed run: when its usual end or its timeout says, not only
        once a period (domain/expected_end.py); a read further off than SQS's longest delay is slept to."""
        window = None
        if self._usual_durations is not None:
            history = self._usual_durations.durations(run, deadline.sooner(self._schedule.safety_margin_secs))
            window = expected_end.expected_end(history)
        started = parse_iso(run.started_at)
        now = self._now()
        running = None if started is None else max(0.0, (now - started).total_seconds())
        read_in = expected_end.next_read_in(decision.delay_secs, running, window, run.timeout_secs)
        delay = min(math.ceil(read_in), SQS_MAX_DELAY_SECS)
        read_after = now + timedelta(seconds=read_in) if read_in > delay else None
        return decision._replace(request=decision.request._replace(read_after=read_after), delay_secs=delay)

    def _wait_for_read(self, request: WatchRequest, since: datetime) -> Outcome | None:
        """A safety-net message ahead of its read (`readAfter`): back on the queue without an Apify call.
        None when the read is due. A body may not put its read off by more than the longest gap."""
        assert request.read_after is not None
        now = self._now()
        wait = min((request.read_after - now).total_seconds(), expected_end.MAX_READ_GAP_SECS)
        if wait < 1:
            return None
        delay = min(math.ceil(wait), SQS_MAX_DELAY_SECS)
        read_after = now + timedelta(seconds=wait) if wait > delay else None
        later = WatchRequest(request.run_id, request.attempt + 1, since, push=request.push, read_after=read_after)
        self._requeue.send(later, delay)
        push = request.push.value if request.push else None
        why = "waiting for its next read (its usual end)"
        self._events.emit(RunRequeued(request.run_id, delay, later.attempt, why, push))
        return Outcome(Action.REQUEUED, delay_secs=delay, detail=why)

    def _running_for(self, run: RunSummary) -> float:
        started = parse_iso(run.started_at)
        return 0.0 if started is None else (self._now() - started).total_seconds()
