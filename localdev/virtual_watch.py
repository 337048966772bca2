"""The real watcher on a virtual clock: how the benchmark (and capacity planning) sees the policy.

`VirtualWatch` runs the product's own `RunWatcher` — its policy, its push arming, its settle and
safety-net rules — against in-memory stand-ins whose every call advances a virtual clock by a
measured cost: an Apify read (`poll`), a finish (`finish`: the final read, the write and the
posts), an intake call (`intake`), an SQS pickup (`pickup`). A long poll returns when the run
ends or its wait passes; a re-enqueued message comes back after its delay plus a pickup; a run's
terminal webhook (when push is armed) arrives after its dispatch delay, unless it is lost. What
it reports per run (latency after the run's end, Apify calls, SQS messages, invocations, billed
seconds, how the end was heard of) is what the watcher did, not a model of it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from run_notifier.domain.announcements import RunEndAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import RunEnded
from run_notifier.domain.finisher import FinishComponents
from run_notifier.domain.intake_request import IntakeDecision
from run_notifier.domain.ports import ArmingPaced, RecordResult
from run_notifier.domain.push import PushArmed, PushMode
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.schedules import Schedule
from run_notifier.domain.statuses import NOTIFIABLE
from run_notifier.domain.watch_request import WatchRequest
from run_notifier.domain.watcher import RunWatcher

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TERMINAL_EVENT = "ACTOR.RUN.SUCCEEDED"
#: A duplicated dispatch arrives this long after the first.
DUPLICATE_GAP_SECS = 0.5


class Costs(NamedTuple):
    """Measured seconds per step (`make bench` measures them on the real local pipeline)."""

    poll: float
    finish: float
    intake: float
    pickup: float


class Dispatch(NamedTuple):
    """What happens to one run's terminal webhook."""

    delay: float
    lost: bool
    duplicated: bool


NO_DISPATCH = Dispatch(0.0, True, False)


@dataclass
class RunResult:
    latency: float  # seconds from the run's end to its first alert (inf: never announced)
    api_calls: int
    sqs_messages: int
    invocations: int
    billed_secs: float
    heard_by: str
    ended_during_long_poll: bool


@dataclass
class _Run:
    duration: float
    dispatch: Dispatch
    calls: int = 0
    messages: int = 0
    invocations: int = 0
    billed: float = 0.0
    alert: float = math.inf
    heard_by: str = ""
    during_long_poll: bool = False
    notified: set[str] = field(default_factory=set)
    recorded: str | None = None
    dispatched: bool = False
    #: Its Actor's recent durations (`ports.UsualDurations`), which time the safety net's reads.
    usual: tuple[float, ...] = ()


class VirtualWatch:
    """One run at a time through the real watcher; state is per run, the clock is shared."""

    def __init__(
        self,
        schedule: Schedule,
        costs: Costs,
        *,
        timeout_secs: float,
        max_watch_secs: int,
        push: bool,
        arming_budget: Callable[[float, bool], bool] | None = None,
    ) -> None:
        """``arming_budget(at, for_actor)``: whether a webhook create at fleet time ``at`` finds this second's
        budget (adapters/arming_budget.py, shared by every run of a fleet); None: always."""
        self._arming_budget = arming_budget
        #: Actors with an Actor-level webhook (`ports.ActorPushArming`), across the fleet's runs.
        self.covered: set[str] = set()
        self._act_id: str | None = None
        #: With a fleet: (what, fleet time) of every Apify call, message sent, invocation and alert.
        self.trace: list[tuple[str, float]] | None = None
        self._offset = 0.0
        #: The run's own time zero on the fleet's clock (EPOCH + its offset): every datetime the watcher
        #: sees is on that one clock, so what one run's watch learns (an Actor's webhook) dates right for the next.
        self._epoch = EPOCH
        self._costs = costs
        self._settle_secs = schedule.settle_secs
        self._timeout = timeout_secs
        self._now = 0.0
        self._queue: list[tuple[float, int, WatchRequest]] = []
        self._seq = 0
        self._run = _Run(0.0, NO_DISPATCH)
        finishing = FinishComponents(ledger=self, announcer=self, actor_names=self, notify_on=NOTIFIABLE)  # type: ignore[arg-type]
        self._watcher = RunWatcher(
            apify=self,
            requeue=self,
            finishing=lambda: finishing,
            schedule=schedule,
            max_watch_secs=max_watch_secs,
            events=self,
            now=self.clock,
            watch_ledger=self,
            push=self if push else None,
            usual_durations=self if push else None,
        )

    # --- driving ---------------------------------------------------------------------------

    def run(
        self,
        duration: float,
        dispatch: Dispatch = NO_DISPATCH,
        *,
        first_wait: int | None = None,
        offset: float = 0.0,
        act_id: str | None = None,
        usual: tuple[float, ...] = (),
    ) -> RunResult:
        """Watch one run that ends ``duration`` seconds after it is first enqueued (``offset``: when, on the
        fleet's clock, it was enqueued; the trace is on that clock)."""
        self._offset = offset
        self._epoch = EPOCH + timedelta(seconds=offset)
        self._act_id = act_id
        self._run = _Run(duration, dispatch, usual=usual)
        self._now = 0.0
        self._queue.clear()
        self._send(WatchRequest("VirtualRun000001"), self._costs.pickup)
        while self._queue:
            at, _, request = heapq.heappop(self._queue)
            self._now = max(self._now, at)
            started = self._now
            self._run.invocations += 1
            self._watcher.watch(request, Deadline.after(self._timeout))
            self._run.billed += self._now - started
            self._note("invocation", started)
            self._note("busy", self._now - started, absolute=False)
        run = self._run
        return RunResult(
            run.alert - duration,
            run.calls,
            run.messages,
            run.invocations,
            run.billed,
            run.heard_by,
            run.during_long_poll,
        )

    def clock(self) -> datetime:
        return self._epoch + timedelta(seconds=self._now)

    def _note(self, what: str, at: float, *, absolute: bool = True) -> None:
        if self.trace is not None:
            self.trace.append((what, self._offset + at if absolute else at))

    def _send(self, request: WatchRequest, after: float) -> None:
        self._note("message", self._now)
        self._seq += 1
        self._run.messages += 1
        heapq.heappush(self._queue, (self._now + after, self._seq, request))

    def _summary(self, status: str) -> RunSummary:
        ended = (self._epoch + timedelta(seconds=self._run.duration)).isoformat() if status != "RUNNING" else None
        return RunSummary(
            "VirtualRun000001", status, act_id=self._act_id, started_at=self._epoch.isoformat(), finished_at=ended
        )

    # --- ports.UsualDurations: the ledger's history of the run's Actor ------------------------

    def durations(self, run: RunSummary, deadline: Deadline) -> tuple[float, ...]:
        return self._run.usual

    # --- ports.RunReader: Apify -------------------------------------------------------------

    def get_run(self, run_id: str, wait_secs: int, deadline: Deadline) -> RunSummary:
        run = self._run
        run.calls += 1
        self._note("apify-read", self._now)
        if self._now < run.duration <= self._now + wait_secs:
            run.during_long_poll = True
            self._now = run.duration + self._costs.poll
        elif self._now < run.duration:
            self._now += wait_secs + self._costs.poll
            return self._summary("RUNNING")
        else:
            self._now += self._costs.poll
        return self._summary("SUCCEEDED")

    # --- ports.PushArming -------------------------------------------------------------------

    def actor_covered(self, act_id: str) -> bool:
        """Covered: the Actor's webhook will reach this run's end, so its dispatch is on its way (once)."""
        if act_id not in self.covered:
            return False
        if not self._run.dispatched:
            self._dispatch(self._run, "VirtualRun000001")
        return True

    def arm_actor(self, act_id: str, deadline: Deadline) -> PushArmed:
        """The Actor's webhook: one create; from then on every run of the Actor is pushed (the webhook
        reaches this run's end as an ad-hoc one would: `_dispatch`)."""
        if self._arming_budget is not None and not self._arming_budget(self._offset + self._now, True):
            raise ArmingPaced("this second's webhook creates are spent")
        self._run.calls += 1
        self._note("apify-arm", self._now)
        self._now += self._costs.poll
        self.covered.add(act_id)
        self._dispatch(self._run, "VirtualRun000001")
        return PushArmed(PushMode.ACTOR, "VirtualActorHook")

    def arm(self, run_id: str, deadline: Deadline) -> PushArmed:
        run = self._run
        if self._arming_budget is not None and not self._arming_budget(self._offset + self._now, False):
            raise ArmingPaced("this second's webhook creates are spent")
        run.calls += 1
        self._note("apify-arm", self._now)
        self._now += self._costs.poll
        self._dispatch(run, run_id)
        return PushArmed(PushMode.ADHOC, "VirtualHook00001")

    def _dispatch(self, run: _Run, run_id: str) -> None:
        """The run's terminal webhook, on its way to the intake unless it is lost."""
        run.dispatched = True
        if not run.dispatch.lost:
            for copy in range(2 if run.dispatch.duplicated else 1):
                arrives = run.duration + run.dispatch.delay + copy * DUPLICATE_GAP_SECS
                run.invocations += 1  # the intake's
                run.billed += self._costs.intake
                self._note("intake", arrives)
                self._seq += 1
                run.messages += 1
                # The intake's own rule: a run that just ended waits out its settle time on the queue.
                decision = IntakeDecision((run_id,), TERMINAL_EVENT, self._epoch + timedelta(seconds=run.duration))
                delay = decision.delay_secs(self._epoch + timedelta(seconds=arrives), self._settle_secs)
                at = arrives + self._costs.intake + delay + self._costs.pickup
                heapq.heappush(self._queue, (at, self._seq, WatchRequest(run_id, event=TERMINAL_EVENT)))

    # --- ports.Requeue ----------------------------------------------------------------------

    def send(self, request: WatchRequest, delay_secs: int) -> str:
        self._send(request, delay_secs + self._costs.pickup)
        return "m"

    # --- ports.WatchLedger and RunLedger ----------------------------------------------------

    def note_push(self, run_id: str, armed: PushArmed, now: datetime) -> None:
        return None

    def notified_since(self, run_id: str, since: datetime) -> bool:
        return bool(self._run.notified)

    def mark_notified(self, run_id: str, generation: str, now: datetime) -> None:
        self._run.notified.add(generation)

    def record(self, summary: RunSummary, **_: Any) -> RecordResult:
        self._run.recorded = summary.generation
        return RecordResult(True, summary.generation)

    # --- the notifier (claims are the notifier's business; here one alert per run) ---------

    def announce(self, announcement: RunEndAnnouncement, deadline: Deadline) -> Any:
        from run_notifier.domain.notifier import NotifyReport

        summary = announcement.run
        report = NotifyReport()
        self._now += self._costs.finish
        if summary.generation in self._run.notified or math.isfinite(self._run.alert):
            report.already.append("alert")
        else:
            self._run.alert = self._now
            self._note("alert", self._now)
            report.sent.append("alert")
        return report

    # --- ports.ActorNames, events.Events ----------------------------------------------------

    def name_of(self, actor_id: str, deadline: Deadline) -> str:
        return actor_id

    def emit(self, event: Any) -> None:
        if isinstance(event, RunEnded) and not self._run.heard_by:
            self._run.heard_by = (
                "long-poll" if self._run.during_long_poll and event.heard_by == "first-read" else event.heard_by
            )


def simulate(
    durations: list[float],
    schedule: Schedule,
    costs: Costs,
    *,
    timeout_secs: float,
    max_watch_secs: int,
    push: bool = False,
    dispatches: list[Dispatch] | None = None,
    on_run: Callable[[RunResult], None] | None = None,
    usual: list[tuple[float, ...]] | None = None,
) -> list[RunResult]:
    """Every run of the mix through the real watcher (with push, each with its dispatch; ``usual``: each
    run's Actor's recent durations)."""
    world = VirtualWatch(schedule, costs, timeout_secs=timeout_secs, max_watch_secs=max_watch_secs, push=push)
    results = []
    for index, duration in enumerate(durations):
        dispatch = dispatches[index] if dispatches else NO_DISPATCH
        result = world.run(duration, dispatch, usual=usual[index] if usual else ())
        results.append(result)
        if on_run:
            on_run(result)
    return results
