"""The watch policy: what to do with one look at a run. Pure: no I/O, no clock of its own.

`decide(request, observation, facts, now)` turns a queue message and what Apify said into a
`Decision`; the watcher (domain/watcher.py) carries it out, and the benchmark
(`python -m localdev.bench`) drives this same function on a virtual clock. The helpers say how
to look (`wait_secs`, `should_arm`) and when a message is only a safety net.

Every decision is one of: re-enqueue after a delay (`Requeue`, bounded by `max_watch_secs`),
re-read after the costs settle (`Settle`), or record and announce (`Finish`: ended, not found,
or watched too long). A safety-net message whose finish the ledger already shows notified is
dropped before any of this (`is_safety_net`).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from run_notifier.domain.push import ARMED, TERMINAL_EVENTS
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS, Schedule
from run_notifier.domain.statuses import NOT_FOUND, WATCH_EXPIRED, is_terminal
from run_notifier.domain.watch_request import WatchRequest

#: How far back a message's `firstSeenAt` may reach per attempt: one maximal re-enqueue delay plus
#: one failed invocation's redelivery. A body that claims more is not believed (it would end the watch at once).
MAX_SECS_PER_ATTEMPT = 2 * SQS_MAX_DELAY_SECS


# --- what a look at Apify gave -------------------------------------------------------------


class RunSeen(NamedTuple):
    """Apify answered: the run as it stands."""

    run: RunSummary


class RunMissing(NamedTuple):
    """404 after the replica-lag grace."""

    reason: str


class ApifyDown(NamedTuple):
    """429, 5xx or network errors until the time ran out."""

    reason: str


Observation = RunSeen | RunMissing | ApifyDown


class WatchFacts(NamedTuple):
    """What the policy knows besides the message and the observation."""

    schedule: Schedule
    max_watch_secs: int


# --- decisions -----------------------------------------------------------------------------


class Requeue(NamedTuple):
    """Back on the queue: ``request`` after ``delay_secs``."""

    request: WatchRequest
    delay_secs: int
    reason: str
    #: A vanished run (404 after it was seen) or Apify unreachable, as opposed to a run still going.
    trouble: bool = False


class Settle(NamedTuple):
    """The run ended moments ago: read it again after ``delay_secs`` for settled costs."""

    request: WatchRequest
    delay_secs: int
    run: RunSummary
    finished_ago_secs: float | None
    heard_by: str


class FinishReason(StrEnum):
    """Why a run is finished: it ended, Apify does not know it, or it was watched too long."""

    ENDED = "ended"
    NOT_FOUND = "not-found"
    EXPIRED = "expired"


class Finish(NamedTuple):
    """Record and announce ``run``, for ``why``."""

    run: RunSummary
    costs_settled: bool
    why: FinishReason
    heard_by: str
    finished_ago_secs: float | None = None
    #: True when this is the first look at the end (not the settle re-read): the end is news.
    first_sight: bool = True


Decision = Requeue | Settle | Finish


# --- how to look ---------------------------------------------------------------------------


def first_seen(request: WatchRequest, now: datetime) -> datetime:
    """The body's `firstSeenAt`, but never in the future and never further back than its attempts allow."""
    claimed = request.first_seen_at or now
    earliest = now - timedelta(seconds=request.attempt * MAX_SECS_PER_ATTEMPT)
    return min(now, max(claimed, earliest))


def is_safety_net(request: WatchRequest) -> bool:
    """A re-enqueued check of a run whose end a webhook will announce (never the push message itself)."""
    return request.push in ARMED and request.attempt > 0 and not request.settle


def pushed(request: WatchRequest, push_available: bool) -> bool:
    """A webhook tells us of the end, or will once armed."""
    return request.push in ARMED or (request.push is None and push_available)


def wait_secs(request: WatchRequest, schedule: Schedule, push_available: bool, seconds_left: float) -> int:
    """`waitForFinish`: none where push tells us of the end (or will, once armed), else the poll schedule's."""
    if request.settle or pushed(request, push_available):
        return 0
    return schedule.wait_for_finish(request.attempt, seconds_left)


def should_arm(request: WatchRequest, run: RunSummary, push_available: bool) -> bool:
    """Arm push the first time a run is seen still going, where an intake can receive its webhook."""
    return push_available and request.push is None and not is_terminal(run.status)


def heard_by(request: WatchRequest) -> str:
    """How the watcher learned that the run ended: the run's own terminal webhook, a safety-net
    read while push was armed, a poll, or the first read of a run already over."""
    if request.event in TERMINAL_EVENTS:
        return "push"
    if request.attempt == 0:
        return "first-read"
    return "safety-net" if request.push in ARMED else "poll"


# --- the decision --------------------------------------------------------------------------


def decide(
    request: WatchRequest, observation: Observation, facts: WatchFacts, now: datetime, *, since: datetime | None = None
) -> Decision:
    """What to do with this look at the run (see the module docstring). ``since``: when the watch
    began (`first_seen` as of the message's arrival; by default as of ``now``)."""
    since = since or first_seen(request, now)
    if isinstance(observation, RunMissing):
        if request.attempt > 0:
            # The run existed when we last looked: a 404 now is an Apify incident or a deleted run.
            return _requeue_or_expire(request, since, now, facts, observation.reason, None, trouble=True)
        missing = RunSummary(request.run_id, NOT_FOUND, status_message=observation.reason)
        return Finish(missing, costs_settled=False, why=FinishReason.NOT_FOUND, heard_by=heard_by(request))
    if isinstance(observation, ApifyDown):
        return _requeue_or_expire(request, since, now, facts, observation.reason, None, trouble=True)
    run = observation.run
    if not is_terminal(run.status):
        return _requeue_or_expire(request, since, now, facts, f"run is {run.status}", run)
    finished = run.finished_time
    finished_ago = (now - finished).total_seconds() if finished else None
    settle_delay = (
        0 if request.settle else facts.schedule.settle_delay(math.inf if finished_ago is None else finished_ago)
    )
    how = heard_by(request)
    if settle_delay > 0:
        again = WatchRequest(request.run_id, request.attempt + 1, since, settle=True, push=request.push)
        return Settle(again, settle_delay, run, _rounded(finished_ago), how)
    settled = request.settle or (finished_ago is None or finished_ago >= facts.schedule.settle_secs)
    return Finish(run, settled, FinishReason.ENDED, how, _rounded(finished_ago), first_sight=not request.settle)


def _requeue_or_expire(
    request: WatchRequest,
    since: datetime,
    now: datetime,
    facts: WatchFacts,
    reason: str,
    last_seen: RunSummary | None,
    *,
    trouble: bool = False,
) -> Decision:
    """Back on the queue, unless the run has been watched for too long already."""
    watched_for = (now - since).total_seconds()
    if watched_for >= facts.max_watch_secs:
        message = f"{reason} after {int(watched_for)} s of watching (limit {facts.max_watch_secs} s)"
        base = last_seen or RunSummary(request.run_id, WATCH_EXPIRED)
        expired = base._replace(status=WATCH_EXPIRED, status_message=message)
        return Finish(expired, costs_settled=False, why=FinishReason.EXPIRED, heard_by=heard_by(request))
    schedule = facts.schedule
    delay = (
        schedule.safety_net_delay(request.attempt) if request.push in ARMED else schedule.requeue_delay(request.attempt)
    )
    return Requeue(WatchRequest(request.run_id, request.attempt + 1, since, push=request.push), delay, reason, trouble)


def _rounded(seconds: float | None) -> float | None:
    return round(seconds, 3) if seconds is not None else None
