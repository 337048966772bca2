"""What a finished run looks like to the people and systems we notify.

`RunSummary.data()` is the contract's `data` object, shared by the webhook and EventBridge.
Links never carry a token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from run_notifier.domain.isotime import parse_iso

CONSOLE = "https://console.apify.com"
API = "https://api.apify.com"


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

    @classmethod
    def from_run(cls, run: dict[str, Any], run_id: str | None = None) -> RunSummary:
        """The summary of an Apify Run object, every field checked and bounded.

        A run's fields reach a DynamoDB item (400 KB), an EventBridge entry (256 KB) and Slack
        blocks: whatever Apify sends, the summary stays small enough to be recorded and
        announced (long texts are cut with a marker, odd IDs and times dropped). ``run_id``: the
        ID that was asked for, which wins over whatever the answer says.
        """
        stats = run.get("stats") if isinstance(run.get("stats"), dict) else {}
        events = run.get("chargedEventCounts")
        counts = (
            {
                _cut(str(k), MAX_EVENT_NAME): v
                for k, v in list(events.items())[:MAX_EVENT_KINDS]
                if isinstance(v, int) and not isinstance(v, bool)
            }
            if isinstance(events, dict)
            else {}
        )
        exit_code = run.get("exitCode")
        message = run.get("statusMessage")
        return cls(
            run_id=run_id or str(run.get("id")),
            status=_cut(str(run.get("status")), 40),
            act_id=_identifier(run.get("actId")),
            actor_task_id=_identifier(run.get("actorTaskId")),
            status_message=_cut(message, MAX_STATUS_MESSAGE) if isinstance(message, str) else None,
            exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
            usage_total_usd=_number(run.get("usageTotalUsd")),
            started_at=_time(run.get("startedAt")),
            finished_at=_time(run.get("finishedAt")),
            default_dataset_id=_identifier(run.get("defaultDatasetId")),
            compute_units=_number(stats.get("computeUnits")),
            charged_event_counts=counts,
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

    @property
    def notification_id(self) -> str:
        """Stable per run and finish: the webhook's `webhook-id` and the EventBridge detail's
        `notificationId`, so a receiver can drop the one duplicate a crash between a send and its
        record can cause."""
        generation = self.generation.replace(":", "").replace(".", "")
        return f"msg_{self.run_id}_{generation}"

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


#: Bounds that keep any run recordable and announceable (see `RunSummary.from_run`).
MAX_STATUS_MESSAGE = 2000
MAX_EVENT_KINDS = 50
MAX_EVENT_NAME = 100
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9~._-]{0,99}")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f" … [cut {len(text) - limit + 40} characters]"
    return text[: limit - 40] + marker


def _identifier(value: object) -> str | None:
    """Apify IDs (and `username~name`); anything else would end up in links, so it is dropped."""
    return value if isinstance(value, str) and _IDENTIFIER.fullmatch(value) else None


def _time(value: object) -> str | None:
    """An ISO 8601 time as Apify sent it, or None if it is not one."""
    return value if isinstance(value, str) and len(value) <= 40 and parse_iso(value) else None


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
