"""One alert per problem: the incident state machine (issue 20's first part; no I/O).

A route in incident mode (`"incident": {"after": N, "on": [...]}`) groups the failing runs of one
Actor task, or of one Actor when the run has no task, into an incident: it opens when N runs in
a row end in a counted status (FAILED and TIMED-OUT unless `on` says otherwise) and resolves at
the first SUCCEEDED run after that. The state is one item per route and key; `step` is the whole
of what a finished run does to it, and it is pure so that the store can apply it with a
conditional write (compare-and-set on `version`) and retry on a conflict: however many times and
in whatever order containers deliver the same runs, each transition happens once.

Rules that make that hold:

* a run is counted once: the last `SEEN_LIMIT` run IDs are kept, and a run seen before changes
  nothing;
* runs are taken in the order they finished, not the order they arrive: a run that finished
  before the last one taken is recorded as seen and changes nothing else (a late failure cannot
  reopen an incident that a later success resolved, a late success cannot resolve one that later
  failures opened);
* a status that is neither counted nor SUCCEEDED (ABORTED by default) leaves the streak as it is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

DEFAULT_ON = frozenset({"FAILED", "TIMED-OUT"})
#: Run IDs remembered per incident key: duplicates arrive within minutes, far fewer runs apart.
SEEN_LIMIT = 100


class IncidentRule(NamedTuple):
    after: int = 1
    on: frozenset[str] = DEFAULT_ON


class Transition(StrEnum):
    NONE = "none"  # a duplicate, an out-of-order run, or a run that moves nothing visible
    COUNTED = "counted"  # a failure towards opening, or a success that reset the streak
    OPENED = "opened"
    FAILED_AGAIN = "failed-again"  # one more failing run in an open incident
    RESOLVED = "resolved"


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
    seen: tuple[str, ...] = ()


class FinishedRun(NamedTuple):
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
    if run.run_id in state.seen:
        return state, Transition.NONE
    seen = (*state.seen, run.run_id)[-SEEN_LIMIT:]
    if state.last_finished_at is not None and run.finished_at < state.last_finished_at:
        return state._replace(version=state.version + 1, seen=seen), Transition.NONE
    moved = state._replace(version=state.version + 1, seen=seen, last_finished_at=run.finished_at)
    if run.status in rule.on:
        if state.open:
            return moved._replace(failures=state.failures + 1, last_run_id=run.run_id), Transition.FAILED_AGAIN
        failures = state.failures + 1
        first = (state.first_run_id, state.first_failed_at) if state.failures else (run.run_id, run.finished_at)
        moved = moved._replace(
            failures=failures, first_run_id=first[0], first_failed_at=first[1], last_run_id=run.run_id
        )
        if failures >= rule.after:
            opened = moved._replace(open=True, incident_id=f"{key}#{first[0]}", opened_at=first[1])
            return opened, Transition.OPENED
        return moved, Transition.COUNTED
    if run.status == "SUCCEEDED":
        if state.open:
            # The next failure starts a new streak; the resolved event reads resolved_failures.
            resolved = moved._replace(open=False, failures=0, first_run_id=None, first_failed_at=None)
            return resolved._replace(resolved_failures=state.failures, last_run_id=run.run_id), Transition.RESOLVED
        if state.failures:
            return moved._replace(failures=0, first_run_id=None, first_failed_at=None), Transition.COUNTED
        return moved, Transition.NONE
    return moved, Transition.NONE


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
) -> IncidentEvent | None:
    """The event a transition announces (opened, resolved); None for the rest."""
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
    )
