"""After a follow-up run is started: watch it, and record on both items who started whom."""

from __future__ import annotations

from collections.abc import Callable

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.sqs_enqueue import SqsEnqueue


class FollowUps:
    """Records which run started which (`startedBy`) and puts the started run on the queue to be watched in turn."""

    def __init__(self, table: RunsTable, queue: Callable[[], SqsEnqueue]) -> None:
        self._table = table
        self._queue = queue

    def started(self, source_run_id: str, started_run_id: str) -> None:
        """Enqueue the started run for watching (a chain is announced step by step), then mark both items."""
        self._queue().enqueue([started_run_id])
        self._table.update(started_run_id, "SET #by = :source", {"#by": "startedBy"}, {":source": source_run_id})
        self._table.update(source_run_id, "SET #f = :run", {"#f": "followUpRunId"}, {":run": started_run_id})
