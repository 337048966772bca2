"""The history health checks judge a run against: the last SUCCEEDED runs of its Actor task (else
Actor), one query on the runs table's `RunHistory` index.

The index is sparse: only a SUCCEEDED run whose health was judged carries `historyKey`
(`task:<id>` or `actor:<id>`), so the query reads exactly the runs a baseline is made of, newest
first, `READ` at most, with only the attributes a baseline needs projected (about 150 bytes a
run: 40 runs are one 8 KB eventually consistent read, 1 RCU).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.health import Health, Measured, PastRun, health_of_item

INDEX = "RunHistory"
#: Runs read per judgement: the baseline's 20, and room for the runs left out of it.
READ = 40


class DynamoRunHistory:
    """Implements `ports.RunHistory`."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def past_runs(self, key: str, exclude_run_id: str, deadline: Deadline) -> list[PastRun]:
        """The key's last SUCCEEDED runs with their own judgements, oldest first (the deadline bounds
        the table client's own timeouts, shorter than any share)."""
        runs = self._table.query_newest(INDEX, "historyKey", key, READ + 1)
        past = [_past_run(run) for run in runs if run.get("runId") != exclude_run_id][:READ]
        return list(reversed(past))

    def stored(self, run_id: str, generation: str) -> tuple[int | None, Health] | None:
        """The judgement an earlier delivery of this finish recorded (reused, so every delivery agrees)."""
        item = self._table.get(run_id) or {}
        if item.get("generation") != generation or not item.get("health"):
            return None
        count = item.get("itemCount")
        return (None if count is None else int(count)), health_of_item(item["health"])


def prepare_alert_item(table: RunsTable, item: str, expires_at: int) -> None:
    """An alert's own item (a stuck run's, a missed schedule slot's), its `generation` its key (as an
    incident event's): the notification claims' condition then holds for it; the table's TTL removes it
    after `expires_at`. Idempotent."""
    table.update(item, "SET #g = :g, #x = :x", {"#g": "generation", "#x": "expiresAt"}, {":g": item, ":x": expires_at})


def _past_run(item: dict[str, Any]) -> PastRun:
    usd = item.get("usageTotalUsd") if item.get("costsSettled") else None
    measured = Measured(_int(item.get("itemCount")), _float(item.get("durationSecs")), _float(usd))
    flags = {str(k): str(v) for k, v in (item.get("healthFlags") or {}).items()}
    return PastRun(measured, flags)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(Decimal(value))
