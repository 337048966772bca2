"""The run ledger: one item per run in the runs table, written only forward (`ports.RunLedger`).

A message about an older finish (a duplicate that arrives late, or the first finish of a run
that was resurrected since) can never overwrite a later `finishedAt`. "generation" names
one finish of a run (`RunSummary.generation`): a resurrected run that finishes again is a
new generation, and is recorded and notified again.

It also implements `ports.WatchLedger`: `push` (how the run's end will be heard of) and
`notifiedGeneration` (every destination of that finish is done), which lets a safety-net
message end without asking Apify.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from run_notifier.adapters.apify_links import console_url, dataset_items_url
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_marks import MUTED_PREFIX, mark_values, write_mark
from run_notifier.domain.digest import MUTED
from run_notifier.domain.health_flow import history_key
from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.mutes import Mute
from run_notifier.domain.ports import RecordResult
from run_notifier.domain.push import PushArmed
from run_notifier.domain.run_summary import RunSummary


class DynamoRunLedger:
    """The run ledger on the runs table: the run's finish, written so that an older finish never overwrites a newer
    one."""

    def __init__(self, table: RunsTable, ttl_days: int) -> None:
        self._table = table
        self._ttl_days = ttl_days

    def record(
        self,
        summary: RunSummary,
        *,
        now: datetime,
        attempts: int,
        first_seen_at: datetime | None,
        costs_settled: bool,
        muted_by: Mute | None = None,
    ) -> RecordResult:
        """Write the run's finish (conditional on no later finish stored); says whether it was written."""
        values: dict[str, Any] = {
            "status": summary.status,
            "generation": summary.generation,
            "actId": summary.act_id,
            "actorName": summary.actor_name,
            "actorTaskId": summary.actor_task_id,
            "statusMessage": summary.status_message,
            "exitCode": summary.exit_code,
            "usageTotalUsd": _decimal(summary.usage_total_usd),
            "computeUnits": _decimal(summary.compute_units),
            "chargedEventCounts": summary.charged_event_counts or None,
            "defaultDatasetId": summary.default_dataset_id,
            "startedAt": summary.started_at,
            "finishedAt": summary.finished_at,
            # the RunsByDay index (digests, `make report`): one partition per UTC day of the finish
            "finishDay": summary.finished_at[:10] if summary.finished_at else None,
            "durationSecs": _decimal(summary.duration_secs),
            "consoleUrl": console_url(summary),
            "datasetItemsUrl": dataset_items_url(summary),
            "watchAttempts": attempts,
            "firstSeenAt": format_iso(first_seen_at) if first_seen_at else None,
            "recordedAt": format_iso(now),
            "costsSettled": costs_settled,
            "mutedBy": {"subject": muted_by.subject, "until": muted_by.until, "reason": muted_by.reason}
            if muted_by
            else None,
        }
        if summary.health is not None:
            values["itemCount"] = summary.item_count
            values["health"] = _decimals(summary.health.as_item())
            values["healthFlags"] = summary.health.flags() or None
            values["historyKey"] = history_key(summary)
        if self._ttl_days:
            values["expiresAt"] = int((now + timedelta(days=self._ttl_days)).timestamp())
        present = {k: v for k, v in values.items() if v is not None}
        names = {f"#a{i}": k for i, k in enumerate(present)}
        expression_values = {f":v{i}": v for i, v in enumerate(present.values())}
        update = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(present)))
        names["#fin"] = "finishedAt"
        condition = "attribute_not_exists(runId) OR attribute_not_exists(#fin)"
        if summary.finished_at:
            expression_values[":fin"] = summary.finished_at
            condition += " OR #fin <= :fin"
        stood = self._table.conditional_update(summary.run_id, update, condition, names, expression_values)
        if stood is not None:
            return RecordResult(False, stood.get("generation"))
        if muted_by is not None and summary.finished_at:  # for digests: "n muted" (a redelivery writes it again)
            mark = mark_values(MUTED, summary.finished_at, summary.act_id, summary.actor_task_id, summary.actor_name)
            write_mark(self._table, MUTED_PREFIX + summary.run_id, mark)
        return RecordResult(True, summary.generation)

    def note_push(self, run_id: str, armed: PushArmed, now: datetime) -> None:
        """Record on the run's item how its end will be heard of (push armed, or why not)."""
        push: dict[str, Any] = {"mode": armed.mode.value, "at": format_iso(now)}
        if armed.webhook_id:
            push["webhookId"] = armed.webhook_id
        if armed.reason:
            push["reason"] = armed.reason[:500]
        self._table.update(run_id, "SET #push = :push", {"#push": "push"}, {":push": push})

    def notified_since(self, run_id: str, since: datetime) -> bool:
        """True when the item holds a finish at or after ``since`` whose every notification is done."""
        item = self._table.get(run_id) or {}
        finished = parse_iso(item.get("finishedAt"))
        return (
            finished is not None
            and finished >= since
            and item.get("generation") is not None
            and item.get("notifiedGeneration") == item.get("generation")
        )

    def mark_notified(self, run_id: str, generation: str, now: datetime) -> None:
        """Only for the generation still stored: a later finish recorded meanwhile is not marked."""
        self._table.conditional_update(
            run_id,
            "SET #ng = :g, #na = :now",
            "#gen = :g",
            {"#ng": "notifiedGeneration", "#na": "notifiedAt", "#gen": "generation"},
            {":g": generation, ":now": format_iso(now)},
        )


def _decimals(value: Any) -> Any:
    """Floats made DynamoDB numbers, all the way down (a health check's values and baselines)."""
    if isinstance(value, float):
        return _decimal(value)
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
