"""A run as the domain sees it: typed fields, whatever vendor they came from.

The Apify adapter builds it from a Run object (adapters/apify_runs.py: every field checked and
bounded); destinations turn it into links and payloads (destinations/run_payload.py). The
domain reads only these fields, never Apify's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from run_notifier.domain.isotime import human_duration, parse_iso

__all__ = ["RunSummary", "format_usd", "human_duration"]

if TYPE_CHECKING:
    from run_notifier.domain.health import Health


class RunSummary(NamedTuple):
    """A NamedTuple, not a dataclass: defining a frozen dataclass costs ~1-2 ms of every cold start."""

    run_id: str
    status: str
    act_id: str | None = None
    actor_task_id: str | None = None
    status_message: str | None = None
    exit_code: int | None = None
    usage_total_usd: float | None = None
    started_at: str | None = None
    finished_at: str | None = None
    default_dataset_id: str | None = None
    compute_units: float | None = None
    charged_event_counts: Mapping[str, int] = MappingProxyType({})
    actor_name: str | None = None
    #: The default dataset's item count, read when a route's `expect` asks for health checks.
    item_count: int | None = None
    #: The health verdict on a SUCCEEDED run (domain/health.py); None: not judged.
    health: Health | None = None
    #: The run's `options.timeoutSecs`: it cannot run longer (None: no limit, or not said).
    timeout_secs: float | None = None

    @classmethod
    def watcher_outcome(cls, run_id: str, outcome: str, message: str) -> RunSummary:
        """A summary for WATCH_EXPIRED / NOT_FOUND, when Apify gave no terminal run."""
        return cls(run_id=run_id, status=outcome, status_message=message)

    @property
    def generation(self) -> str:
        """One finish of the run: its `finishedAt`, or the watcher's own outcome when there is none.

        A resurrected run that finishes again is a new generation, and is recorded and notified again.
        """
        return self.finished_at or self.status

    @property
    def health_verdict(self) -> str | None:
        """OK, WARN or UNKNOWN when judged (routes match on it)."""
        return self.health.verdict if self.health is not None else None

    @property
    def finished_time(self) -> datetime | None:
        """When the run finished; None while it runs."""
        return parse_iso(self.finished_at)

    @property
    def duration_secs(self) -> float | None:
        """From start to finish; None while either is unknown."""
        start, end = parse_iso(self.started_at), parse_iso(self.finished_at)
        if start is None or end is None:
            return None
        return round((end - start).total_seconds(), 3)


def format_usd(value: float | None) -> str:
    """A cost as people read it: four decimals under $1, two above; "n/a" when hidden."""
    if value is None:
        return "n/a (no token or not visible)"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
