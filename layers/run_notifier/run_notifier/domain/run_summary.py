"""What a finished run looks like to the people and systems we notify.

`RunSummary.data()` is the contract's `data` object, shared by the webhook and EventBridge.
Links never carry a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from run_notifier.domain.isotime import parse_iso

CONSOLE = "https://console.apify.com"
API = "https://api.apify.com"


@dataclass(frozen=True)
class RunSummary:
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
    charged_event_counts: dict[str, int] = field(default_factory=dict)
    actor_name: str | None = None

    @classmethod
    def from_run(cls, run: dict[str, Any]) -> RunSummary:
        stats = run.get("stats") if isinstance(run.get("stats"), dict) else {}
        usd = run.get("usageTotalUsd")
        exit_code = run.get("exitCode")
        events = run.get("chargedEventCounts")
        return cls(
            run_id=str(run["id"]),
            status=str(run.get("status")),
            act_id=run.get("actId"),
            actor_task_id=run.get("actorTaskId"),
            status_message=run.get("statusMessage"),
            exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
            usage_total_usd=float(usd) if isinstance(usd, int | float) and not isinstance(usd, bool) else None,
            started_at=run.get("startedAt"),
            finished_at=run.get("finishedAt"),
            default_dataset_id=run.get("defaultDatasetId"),
            compute_units=_number(stats.get("computeUnits")),
            charged_event_counts={str(k): int(v) for k, v in events.items() if isinstance(v, int)}
            if isinstance(events, dict)
            else {},
        )

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
    def finished_time(self) -> datetime | None:
        return parse_iso(self.finished_at)

    @property
    def duration_secs(self) -> float | None:
        start, end = parse_iso(self.started_at), parse_iso(self.finished_at)
        if start is None or end is None:
            return None
        return round((end - start).total_seconds(), 3)

    @property
    def console_url(self) -> str:
        if self.act_id:
            return f"{CONSOLE}/actors/{self.act_id}/runs/{self.run_id}"
        return f"{CONSOLE}/actors/runs/{self.run_id}"

    @property
    def dataset_console_url(self) -> str | None:
        return f"{CONSOLE}/storage/datasets/{self.default_dataset_id}" if self.default_dataset_id else None

    @property
    def dataset_items_url(self) -> str | None:
        if not self.default_dataset_id:
            return None
        return f"{API}/v2/datasets/{self.default_dataset_id}/items?format=json"

    def data(self) -> dict[str, Any]:
        """The contract's `data` object for webhooks and EventBridge."""
        return {
            "runId": self.run_id,
            "actId": self.act_id,
            "actorTaskId": self.actor_task_id,
            "status": self.status,
            "statusMessage": self.status_message,
            "exitCode": self.exit_code,
            "usageTotalUsd": self.usage_total_usd,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "durationSecs": self.duration_secs,
            "defaultDatasetId": self.default_dataset_id,
            "datasetItemsUrl": self.dataset_items_url,
            "consoleUrl": self.console_url,
        }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])


def format_usd(value: float | None) -> str:
    if value is None:
        return "n/a (no token or not visible)"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
