"""Put run IDs on the run queue for the watcher, with no delay (the intake's one effect)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_BATCH = 10


class EnqueueFailed(Exception):
    """Some IDs were not enqueued; the caller answers 503 and the sender retries (duplicates are harmless)."""


class SqsEnqueue:
    """Puts runs (or other bodies) on the run queue in batches of ten; raises if any entry was not enqueued."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def enqueue_bodies(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        """Each body as its own message (a missed schedule's slot); raises EnqueueFailed if any was not."""
        for start in range(0, len(bodies), MAX_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body)}
                for i, body in enumerate(bodies[start : start + MAX_BATCH])
            ]
            self._send(entries)

    def enqueue(self, run_ids: Sequence[str], fields: Mapping[str, str] | None = None, delay_secs: int = 0) -> None:
        """Each ID as `{"runId": ...}` plus ``fields`` (the intake adds the Apify event and push mode),
        visible after ``delay_secs``."""
        for start in range(0, len(run_ids), MAX_BATCH):
            chunk = run_ids[start : start + MAX_BATCH]
            entries: list[dict[str, Any]] = [
                {"Id": str(i), "MessageBody": json.dumps({"runId": run_id, **(fields or {})})}
                for i, run_id in enumerate(chunk)
            ]
            if delay_secs > 0:
                for entry in entries:
                    entry["DelaySeconds"] = delay_secs
            self._send(entries)

    def _send(self, entries: list[dict[str, Any]]) -> None:
        try:
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except Exception as error:
            raise EnqueueFailed(f"SendMessageBatch failed: {type(error).__name__}") from None
        if response.get("Failed"):
            codes = sorted({str(f.get("Code")) for f in response["Failed"]})
            raise EnqueueFailed(f"{len(response['Failed'])} of {len(entries)} not enqueued: {', '.join(codes)}")
