"""Apify's Run object -> the domain's RunSummary: Apify's field names stop here.

Every field is checked and bounded: a run's fields reach a DynamoDB item (400 KB), an
EventBridge entry (256 KB) and chat messages, so whatever Apify sends, the summary stays small
enough to be recorded and announced (texts cleaned of lone surrogates and control characters and
cut with a marker, `domain/text.py`; odd IDs and times dropped).
"""

from __future__ import annotations

import math
import re
from typing import Any

from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.ports import ListedRun
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.text import clean_text


def summary_from_run(run: dict[str, Any], run_id: str | None = None) -> RunSummary:
    """The summary of an Apify Run object. ``run_id``: the ID that was asked for, which wins over
    whatever the answer says."""
    raw_stats = run.get("stats")
    stats: dict[str, Any] = raw_stats if isinstance(raw_stats, dict) else {}
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
    raw_options = run.get("options")
    timeout = _number(raw_options.get("timeoutSecs")) if isinstance(raw_options, dict) else None
    return RunSummary(
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
        timeout_secs=timeout if timeout is not None and timeout > 0 else None,  # 0: Apify's "no limit"
    )


def listed_run(item: dict[str, Any]) -> ListedRun:
    """One `RunShort` of Apify's run list (its `id` is a string: the caller checked)."""
    meta = item.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    return ListedRun(
        str(item["id"]),
        _identifier(item.get("actId")),
        _identifier(item.get("actorTaskId")),
        parse_iso(item.get("startedAt")),
        _identifier(meta.get("scheduleId")),
        parse_iso(meta.get("scheduledAt")),
    )


#: Bounds that keep any run recordable and announceable (see `summary_from_run`).
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
    return clean_text(text, limit)


def _identifier(value: object) -> str | None:
    """Apify IDs (and `username~name`); anything else would end up in links, so it is dropped."""
    return value if isinstance(value, str) and _IDENTIFIER.fullmatch(value) else None


def _time(value: object) -> str | None:
    """An ISO 8601 time as Apify sent it, or None if it is not one."""
    return value if isinstance(value, str) and len(value) <= 40 and parse_iso(value) else None
