"""The sweep's bookkeeping in the runs table (`ports.Enrollments`).

The watermark lives under a key no run ID can take (run IDs are `[A-Za-z0-9]{1,64}`); a
run's enrollment is an `enrolledAt` attribute on its own item (with the item's TTL, so the
marks of runs never recorded expire too).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.isotime import format_iso, parse_iso

WATERMARK_KEY = "#sweep-watermark"
_BATCH_GET = 100
_PARALLEL_WRITES = 8


class DynamoEnrollments:
    """`ports.Enrollments` on the runs table: the sweep's watermark and which runs it enrolled (items that expire)."""

    def __init__(self, client: Any, table: RunsTable, table_name: str, ttl_days: int) -> None:
        self._client = client
        self._table = table
        self._table_name = table_name
        self._ttl_days = ttl_days

    def watermark(self) -> datetime | None:
        """Where the last complete sweep read the run list up to; None before the first."""
        item = self._table.get(WATERMARK_KEY) or {}
        return parse_iso(item.get("startedAt"))

    def save_watermark(self, started_at: datetime) -> None:
        """Only forward: a slower sweep that read less can never move it back."""
        value = format_iso(started_at)
        self._table.conditional_update(
            WATERMARK_KEY,
            "SET #s = :s",
            "attribute_not_exists(#s) OR #s < :s",
            {"#s": "startedAt"},
            {":s": value},
        )

    def not_enrolled(self, run_ids: Sequence[str]) -> list[str]:
        """Those of these runs the sweep has not enrolled yet (one batched read)."""
        enrolled: set[str] = set()
        for start in range(0, len(run_ids), _BATCH_GET):
            keys = [{"runId": {"S": run_id}} for run_id in run_ids[start : start + _BATCH_GET]]
            request: dict[str, Any] = {
                self._table_name: {"Keys": keys, "ProjectionExpression": "runId, enrolledAt", "ConsistentRead": True}
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table_name, []):
                    if "enrolledAt" in item:
                        enrolled.add(item["runId"]["S"])
                request = response.get("UnprocessedKeys") or {}
        return [run_id for run_id in run_ids if run_id not in enrolled]

    def mark_enrolled(self, run_ids: Sequence[str], now: datetime) -> None:
        """A conditional write per run sets `enrolledAt` (and the TTL) once; a few at a time.

        Updates, never puts: a run already recorded by the watcher keeps its item.
        """
        names = {"#e": "enrolledAt"}
        values: dict[str, Any] = {":e": format_iso(now)}
        update = "SET #e = :e"
        if self._ttl_days:
            update += ", #x = if_not_exists(#x, :x)"
            names["#x"] = "expiresAt"
            values[":x"] = int((now + timedelta(days=self._ttl_days)).timestamp())

        def mark(run_id: str) -> None:
            self._table.conditional_update(run_id, update, "attribute_not_exists(#e)", names, values)

        with ThreadPoolExecutor(max_workers=_PARALLEL_WRITES) as pool:
            list(pool.map(mark, run_ids))  # list(): an error in any write raises here
