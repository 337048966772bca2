"""The run ledger: one item per run in the runs table, written only forward (`ports.RunLedger`).

A message about an older finish (a duplicate that arrives late, or the first finish of a run
that was resurrected since) can never overwrite a later `finishedAt`. "generation" names
one finish of a run (`RunSummary.generation`): a resurrected run that finishes again is a
new generation, and is recorded and notified again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.ports import RecordResult
from run_notifier.domain.run_summary import RunSummary


class DynamoRunLedger:
    def __init__(self, table: RunsTable, ttl_days: int) -> None:
        self._table = table
        self._ttl_days = ttl_days

    def record(
        self, summary: RunSummary, *, now: datetime, attempts: int, first_seen_at: datetime | None, costs_settled: bool
    ) -> RecordResult:
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
            "durationSecs": _decimal(summary.duration_secs),
            "consoleUrl": summary.console_url,
            "datasetItemsUrl": summary.dataset_items_url,
            "watchAttempts": attempts,
            "firstSeenAt": format_iso(first_seen_at) if first_seen_at else None,
            "recordedAt": format_iso(now),
            "costsSettled": costs_settled,
        }
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
        return RecordResult(True, summary.generation)


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
