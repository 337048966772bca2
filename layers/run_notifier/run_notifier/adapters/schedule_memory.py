"""What the sweep remembers per Apify schedule (`ports.ScheduleMemories`), in the runs table.

One item per schedule under `schedule#<id>`, a key no run ID can take. Forgetting removes the
memory's attributes rather than the item (the sweep's role may update, never delete). The
TTL is refreshed on every write, and a write comes at least every slot of a live schedule, so
only memories of deleted schedules expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable, from_item
from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.missed_schedules import ScheduleMemory

KEY_PREFIX = "schedule#"
_BATCH_GET = 100
#: How long a schedule's memory outlives its last write (a yearly cron still writes once a year).
KEEP_DAYS = 400


def memory_key(schedule_id: str) -> str:
    """The runs-table key of a schedule's memory (a key no run ID can take)."""
    return f"{KEY_PREFIX}{schedule_id}"


class DynamoScheduleMemories:
    """`ports.ScheduleMemories` on the runs table: one item per schedule."""

    def __init__(self, client: Any, table: RunsTable, table_name: str) -> None:
        self._client = client
        self._table = table
        self._table_name = table_name

    def recall(self, schedule_ids: Sequence[str]) -> dict[str, ScheduleMemory]:
        """What the sweep remembers of these schedules (one batched read)."""
        found: dict[str, ScheduleMemory] = {}
        unique = list(dict.fromkeys(schedule_ids))
        for start in range(0, len(unique), _BATCH_GET):
            keys = [{"runId": {"S": memory_key(i)}} for i in unique[start : start + _BATCH_GET]]
            request: dict[str, Any] = {self._table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self._table_name, []):
                    item = from_item(raw)
                    if "watchedSince" in item:
                        found[str(item["runId"]).removeprefix(KEY_PREFIX)] = ScheduleMemory(
                            parse_iso(item.get("settledSlot")), parse_iso(item.get("lastStarted"))
                        )
                request = response.get("UnprocessedKeys") or {}
        return found

    def remember(self, schedule_id: str, memory: ScheduleMemory, now: datetime) -> None:
        """Remember a schedule's state until the next sweep (the item expires if it is never read again)."""
        names = {"#w": "watchedSince", "#s": "settledSlot", "#l": "lastStarted", "#x": "expiresAt"}
        values: dict[str, Any] = {
            ":w": format_iso(now),
            ":s": format_iso(memory.settled_slot) if memory.settled_slot else None,
            ":l": format_iso(memory.last_started) if memory.last_started else None,
            ":x": int((now + timedelta(days=KEEP_DAYS)).timestamp()),
        }
        update = "SET #w = if_not_exists(#w, :w), #s = :s, #l = :l, #x = :x"
        self._table.update(memory_key(schedule_id), update, names, values)

    def forget(self, schedule_id: str) -> None:
        """Forget a schedule that is gone or no longer watched."""
        names = {"#w": "watchedSince", "#s": "settledSlot", "#l": "lastStarted"}
        self._table.update(memory_key(schedule_id), "REMOVE #w, #s, #l", names, {})
