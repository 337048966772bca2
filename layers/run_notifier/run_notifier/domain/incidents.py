"""One alert per problem: the incident state machine (issue 20's first part; no I/O).

A route in incident mode (`"incident": {"after": N, "on": [...]}`) groups the failing runs of one
Actor task, or of one Actor when the run has no task, into an incident: it opens when N runs in
a row end in a counted status (FAILED and TIMED-OUT unless `on` says otherwise) and resolves at
the first SUCCEEDED run after that. The state is one item per route and key; `step` is the whole
of what a finished run does to it, and it is pure so that the store can apply it with a
conditional write (compare-and-set on `version`) and retry on a conflict: however many times and
in whatever order containers deliver the same runs, each transition happens once.

Rules that make that hold:

* a run is counted once: the last `SEEN_LIMIT` runs are kept with their status, finish time and
  what each did (`SeenRun`), and a run seen before changes nothing (its redelivery still learns
  its part, `part_of`);
* runs are judged by when they finished, not when they arrive (a batch's records run at once, so
  a burst of one Actor's failures arrives in any order): the streak is the counted runs in that
  window that finished after the latest SUCCEEDED run, so the incident opens when it reaches
  `after` whatever the order, and a success resolves only an incident whose failures it followed;
  a late failure of an open incident (after its last success) still counts in it;
* a status that is neither counted nor SUCCEEDED (ABORTED by default) leaves the streak as it is.

In finish order the transitions are exactly the plain reading of the rules (the reference model in
tests/unit/test_incidents.py); in any arrival order the incident ends open or resolved as it would
in finish order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

DEFAULT_ON = frozenset({"FAILED", "TIMED-OUT"})
#: Run IDs remembered per incident key: duplicates arrive within minutes, far fewer runs apart.
SEEN_LIMIT = 100
#: The most counted runs a route may wait for before opening (the streak is read from the window).
MAX_AFTER = 50
#: An event keeps this much of its run's status message (it waits in the incident's item).
STATUS_MESSAGE_CHARS = 1000


class IncidentRule(NamedTuple):
    """A route's incident mode: open after this many failures in a row, on these statuses; bursts grouped by this
    rule."""

    after: int = 1
    on: frozenset[str] = DEFAULT_ON
    #: More incidents than this opening on one channel within `burst_window_secs` are grouped (Slack).
    burst_after: int = 5
    burst_window_secs: int = 60


class Transition(StrEnum):
    """How a run moved its incident."""

    NONE = "none"  # a duplicate, an out-of-order run, or a run that moves nothing visible
    COUNTED = "counted"  # a failure towards opening, or a success that reset the streak
    OPENED = "opened"
    FAILED_AGAIN = "failed-again"  # one more failing run in an open incident
    RESOLVED = "resolved"


class SeenRun(NamedTuple):
    """A run taken, and what it did: a redelivery of it learns its part from this."""

    run_id: str
    transition: Transition
    #: The incident's failed runs after this one (0 outside an incident).
    failures: int = 0
    incident_id: str | None = None
    opened_at: str | None = None
    status: str = ""
    finished_at: str = ""


class RunInIncident(NamedTuple):
    """A run's part in its incident, as the destinations that announce incidents per run are told."""

    incident_id: str
    transition: Transition
    failures: int
    opened_at: str

    @property
    def first_run_id(self) -> str:
        """The run that opened the incident."""
        return self.incident_id.rsplit("#", 1)[1]


class IncidentState(NamedTuple):
    """One route's and key's state. `version` grows by one per change (the store's compare-and-set)."""

    version: int = 0
    open: bool = False
    #: Counted runs in a row (the streak towards opening, then the open incident's failures).
    failures: int = 0
    first_run_id: str | None = None
    first_failed_at: str | None = None
    last_run_id: str | None = None
    last_finished_at: str | None = None
    #: The open incident's ID (its key and its first run); kept after resolving for the last event.
    incident_id: str | None = None
    #: When the open (or last) incident's first counted run finished.
    opened_at: str | None = None
    #: How many runs failed in the incident that resolved last (for its resolved event).
    resolved_failures: int = 0
    seen: tuple[SeenRun, ...] = ()
    #: When the latest SUCCEEDED run finished (late ones included).
    last_success_at: str | None = None


def part_of(state: IncidentState, run_id: str) -> RunInIncident | None:
    """The run's part in an incident (opened it, failed again in it, resolved it); None: none or not seen."""
    for seen in state.seen:
        if seen.run_id == run_id:
            if seen.incident_id is None or seen.opened_at is None:
                return None
            return RunInIncident(seen.incident_id, seen.transition, seen.failures, seen.opened_at)
    return None


class FinishedRun(NamedTuple):
    """A finished run as its incident counts it: its ID, status (WARN for a SUCCEEDED run judged so) and finish."""

    run_id: str
    status: str
    #: ISO 8601 UTC with a fixed width (Apify's `finishedAt`), so that strings order as times.
    finished_at: str


def incident_key(route_index: int, act_id: str | None, actor_task_id: str | None) -> str:
    """The key no run ID can take (run IDs are [A-Za-z0-9]): one incident per route and task or Actor."""
    subject = f"task:{actor_task_id}" if actor_task_id else f"actor:{act_id or '-'}"
    return f"incident#{route_index}#{subject}"


def step(state: IncidentState, run: FinishedRun, rule: IncidentRule, key: str) -> tuple[IncidentState, Transition]:
    """What this finished run does to the incident: the next state, and the transition to announce."""
    if any(seen.run_id == run.run_id for seen in state.seen):
        return state, Transition.NONE
    window = (*state.seen, SeenRun(run.run_id, Transition.NONE, status=run.status, finished_at=run.finished_at))
    moved, transition = _move(state, window, run, rule, key)
    in_incident = transition in (Transition.OPENED, Transition.FAILED_AGAIN, Transition.RESOLVED)
    seen = SeenRun(
        run.run_id,
        transition,
        moved.resolved_failures if transition is Transition.RESOLVED else moved.failures if in_incident else 0,
        moved.incident_id if in_incident else None,
        moved.opened_at if in_incident else None,
        run.status,
        run.finished_at,
    )
    latest = state.last_finished_at is None or run.finished_at >= state.last_finished_at
    if latest:
        moved = moved._replace(last_finished_at=run.finished_at, last_run_id=run.run_id)
    return moved._replace(version=state.version + 1, seen=(*state.seen, seen)[-SEEN_LIMIT:]), transition


def _streak(window: tuple[SeenRun, ...], since: str | None, rule: IncidentRule) -> list[SeenRun]:
    """The counted runs that finished after `since` (the latest success), in finish order."""
    counted = [s for s in window if s.status in rule.on and (since is None or s.finished_at > since)]
    return sorted(counted, key=lambda s: (s.finished_at, s.run_id))


def _move(
    state: IncidentState, window: tuple[SeenRun, ...], run: FinishedRun, rule: IncidentRule, key: str
) -> tuple[IncidentState, Transition]:
    since = state.last_success_at
    if run.status == "SUCCEEDED":
        later = since is None or run.finished_at > since
        moved = state._replace(last_success_at=run.finished_at) if later else state
        if not later:
            return moved, Transition.NONE
        if state.open:
            if state.opened_at is not None and run.finished_at < state.opened_at:
                return moved, Transition.NONE  # it finished before the incident began
            if len(_streak(window, run.finished_at, rule)) >= rule.after:
                return moved, Transition.NONE  # a late success amid the failures: they go on
            resolved = moved._replace(open=False, failures=0, first_run_id=None, first_failed_at=None)
            return resolved._replace(resolved_failures=state.failures), Transition.RESOLVED
        streak = _streak(window, run.finished_at, rule)
        first = (streak[0].run_id, streak[0].finished_at) if streak else (None, None)
        moved = moved._replace(failures=len(streak), first_run_id=first[0], first_failed_at=first[1])
        return moved, Transition.COUNTED if state.failures else Transition.NONE
    if run.status not in rule.on or (since is not None and run.finished_at <= since):
        return state, Transition.NONE  # not counted, or it finished before the latest success
    if state.open:
        opened_at = min(state.opened_at or run.finished_at, run.finished_at)
        return state._replace(failures=state.failures + 1, opened_at=opened_at), Transition.FAILED_AGAIN
    streak = _streak(window, since, rule)
    moved = state._replace(failures=len(streak), first_run_id=streak[0].run_id, first_failed_at=streak[0].finished_at)
    if len(streak) >= rule.after:
        incident_id = f"{key}#{streak[0].run_id}"
        return moved._replace(open=True, incident_id=incident_id, opened_at=streak[0].finished_at), Transition.OPENED
    return moved, Transition.COUNTED


class IncidentEvent(NamedTuple):
    """An incident's opening or resolution, as destinations announce it (each exactly once)."""

    kind: Transition  # OPENED or RESOLVED
    key: str
    incident_id: str
    act_id: str | None
    actor_task_id: str | None
    route_index: int
    first_run_id: str
    last_run_id: str
    failures: int
    opened_at: str
    at: str
    #: The run that made the transition: its status, why it ended, its Actor's name (for messages).
    status: str | None = None
    status_message: str | None = None
    actor_name: str | None = None
    burst_after: int = 5
    burst_window_secs: int = 60

    @property
    def event_id(self) -> str:
        """Stable per incident and transition: the claim's generation, and receivers' de-duplication key."""
        return f"{self.incident_id}#{self.kind.value}"


def event_for(
    state: IncidentState,
    transition: Transition,
    run: FinishedRun,
    *,
    key: str,
    route_index: int,
    act_id: str | None,
    actor_task_id: str | None,
    status_message: str | None = None,
    actor_name: str | None = None,
    rule: IncidentRule | None = None,
) -> IncidentEvent | None:
    """The event a transition announces (opened, resolved); None for the rest."""
    rule = rule or IncidentRule()
    if transition not in (Transition.OPENED, Transition.RESOLVED) or state.incident_id is None:
        return None
    failures = state.failures if transition is Transition.OPENED else state.resolved_failures
    return IncidentEvent(
        kind=transition,
        key=key,
        incident_id=state.incident_id,
        act_id=act_id,
        actor_task_id=actor_task_id,
        route_index=route_index,
        first_run_id=state.incident_id.rsplit("#", 1)[1],
        last_run_id=run.run_id,
        failures=failures,
        opened_at=state.opened_at or run.finished_at,
        at=run.finished_at,
        status=run.status,
        status_message=status_message[:STATUS_MESSAGE_CHARS] if status_message else None,
        actor_name=actor_name,
        burst_after=rule.burst_after,
        burst_window_secs=rule.burst_window_secs,
    )
