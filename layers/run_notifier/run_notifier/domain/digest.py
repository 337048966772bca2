"""What the fleet did in a period, per Actor task (else Actor): the numbers a digest posts and
`make report` prints. Pure: the runs come in, the table goes out.

Costs are settled costs only: a run whose cost Apify hides (or that was never settled) counts as
"cost unavailable", never as $0, so a total is never smaller than the truth without saying so.
Lines are sorted by what needs attention: failures, then incidents still open, then health
warnings, then cost. Beside the runs, the ledger holds marks (adapters/ledger_marks.py): incidents
opened, chat alerts muted or held by quiet hours; a line counts those of its period.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

FAILING = frozenset({"FAILED", "TIMED-OUT", "ABORTED"})
SPARKS = "▁▂▃▄▅▆▇█"
#: The `status` of a mark (no run has these): an incident opened or resolved, a run's chat alert muted
#: by a mute or held by quiet hours.
INCIDENT_OPENED = "INCIDENT-OPENED"
INCIDENT_RESOLVED = "INCIDENT-RESOLVED"
MUTED = "MUTED"
HELD = "HELD-QUIET"
MARK_STATUSES = frozenset({INCIDENT_OPENED, INCIDENT_RESOLVED, MUTED, HELD})


class LedgerRun(NamedTuple):
    """One finished run as the ledger holds it."""

    run_id: str
    key: str  # "task:<id>" or "actor:<id>"
    name: str
    status: str
    finished_at: datetime
    duration_secs: float | None = None
    #: Settled cost; None: unavailable (hidden by Apify, or not settled).
    usd: float | None = None
    items: int | None = None
    #: The health verdict (OK / WARN / UNKNOWN) when a route judged it.
    health: str | None = None
    act_id: str | None = None
    task_id: str | None = None


class LedgerMark(NamedTuple):
    """Something that happened to a task's (else Actor's) alerts: one of MARK_STATUSES, and when."""

    status: str
    key: str
    at: datetime
    #: The run whose alert a MUTED or HELD mark is about (None for an incident's).
    run_id: str | None = None


class IncidentCount(NamedTuple):
    """Incidents of one line: opened in the period, and still open now."""

    opened: int = 0
    still_open: int = 0


class DigestLine(NamedTuple):
    """One Actor task's (or Actor's) line of a digest: runs by status, cost, durations, items, the change and the
    days."""

    key: str
    name: str
    runs: int
    by_status: Mapping[str, int]
    failures: int
    warns: int
    #: Settled USD over the runs whose cost is known, and how many runs' costs are not.
    usd: float
    cost_unavailable: int
    p50_secs: float | None
    p95_secs: float | None
    items: int | None
    #: Against the previous period of the same length: runs and settled USD (None: no runs then).
    runs_change: int | None
    usd_change: float | None
    runs_per_day: tuple[int, ...]
    failures_per_day: tuple[int, ...]
    incidents: IncidentCount
    #: Runs whose chat alerts a mute held, and that quiet hours held (posted in their summary after).
    muted: int = 0
    held: int = 0

    @property
    def success_rate(self) -> float:
        """The share of runs that SUCCEEDED (0 to 1)."""
        return self.by_status.get("SUCCEEDED", 0) / self.runs if self.runs else 0.0

    @property
    def sparkline(self) -> str:
        """Runs per day as a row of bars, one per day of the period."""
        return sparkline(self.runs_per_day)


class Digest(NamedTuple):
    """A period's digest: its lines, worst first."""

    start: datetime
    end: datetime
    lines: tuple[DigestLine, ...]

    @property
    def runs(self) -> int:
        """Runs in the period, every line."""
        return sum(line.runs for line in self.lines)

    @property
    def failures(self) -> int:
        """Failed runs in the period, every line."""
        return sum(line.failures for line in self.lines)

    @property
    def usd(self) -> float:
        """Settled USD in the period, every line."""
        return sum(line.usd for line in self.lines)

    @property
    def cost_unavailable(self) -> int:
        """Runs whose cost is unavailable (hidden or not settled), counted apart, never as $0."""
        return sum(line.cost_unavailable for line in self.lines)


def build_digest(
    runs: Sequence[LedgerRun],
    previous: Sequence[LedgerRun],
    start: datetime,
    end: datetime,
    marks: Sequence[LedgerMark] = (),
    still_open: Mapping[str, int] | None = None,
) -> Digest | None:
    """The digest of the runs that finished in [start, end); None when there were none (nothing is posted).
    ``marks``: the ledger's marks (those in [start, end) are counted); ``still_open``: incidents open now,
    per key."""
    inside = [run for run in runs if start <= run.finished_at < end]
    if not inside:
        return None
    counted = {run.run_id for run in inside}  # a digest's `match` (a status, say) leaves some runs out
    tally = Counter(
        (mark.key, mark.status)
        for mark in marks
        if start <= mark.at < end and (mark.run_id is None or mark.run_id in counted)
    )
    days = max(1, math.ceil((end - start) / timedelta(days=1)))
    by_key: dict[str, list[LedgerRun]] = {}
    for run in inside:
        by_key.setdefault(run.key, []).append(run)
    before: dict[str, list[LedgerRun]] = {}
    for run in previous:
        before.setdefault(run.key, []).append(run)
    lines = [
        _line(
            key,
            group,
            before.get(key, []),
            start,
            days,
            IncidentCount(tally[key, INCIDENT_OPENED], (still_open or {}).get(key, 0)),
        )._replace(muted=tally[key, MUTED], held=tally[key, HELD])
        for key, group in by_key.items()
    ]
    lines.sort(key=attention)
    return Digest(start, end, tuple(lines))


def attention(line: DigestLine) -> tuple[float, ...]:
    """Sort key: most failures first, then most incidents still open, then most health warnings, then the
    most spent."""
    return (-line.failures, -line.incidents.still_open, -line.warns, -line.usd, -line.runs)


def sparkline(values: Sequence[int]) -> str:
    """One character a value, ▁ for none up to █ for the most."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))] for v in values)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _line(
    key: str, runs: list[LedgerRun], previous: list[LedgerRun], start: datetime, days: int, incidents: IncidentCount
) -> DigestLine:
    statuses = Counter(run.status for run in runs)
    durations = [run.duration_secs for run in runs if run.duration_secs is not None]
    known = [run.usd for run in runs if run.usd is not None]
    items = [run.items for run in runs if run.items is not None]
    runs_per_day = [0] * days
    failures_per_day = [0] * days
    for run in runs:
        day = min(days - 1, int((run.finished_at - start) / timedelta(days=1)))
        runs_per_day[day] += 1
        failures_per_day[day] += run.status in FAILING
    usd = sum(known)
    previous_usd = sum(run.usd for run in previous if run.usd is not None)
    return DigestLine(
        key=key,
        name=runs[-1].name,
        runs=len(runs),
        by_status=dict(statuses),
        failures=sum(n for status, n in statuses.items() if status in FAILING),
        warns=sum(1 for run in runs if run.health == "WARN"),
        usd=usd,
        cost_unavailable=len(runs) - len(known),
        p50_secs=percentile(durations, 50),
        p95_secs=percentile(durations, 95),
        items=sum(items) if items else None,
        runs_change=len(runs) - len(previous) if previous else None,
        usd_change=usd - previous_usd if previous else None,
        runs_per_day=tuple(runs_per_day),
        failures_per_day=tuple(failures_per_day),
        incidents=incidents,
    )
