"""Make moto's DynamoDB conditional writes and SQS queue operations atomic, as the services' are.

DynamoDB applies each conditional write to an item atomically, and the exactly-once claims
(`run_notifier/adapters/notification_claims.py`) depend on that. moto's server answers
requests on many threads and its backend evaluates a condition and then writes without a
lock, so two concurrent `update_item` calls can both pass the same condition (seen in CI:
two EventBridge events for one run; reproduced at about 1 in 40 races of 8 threads). One
lock around the backend's write methods restores DynamoDB's guarantee; reads stay unlocked.

moto's SQS backend has the same kind of race: two concurrent `receive_message` calls can pick
the same message, and the second then fails with `list.remove(x): x not in list` (seen in
`make chaos` with four pollers). A second lock serialises the SQS backend's queue operations.
A long poll (`WaitTimeSeconds`) waits for messages outside that lock, as SQS's own does: held
for the whole poll, one idle poller would stall every other client's sends, deletes and
visibility changes for up to 20 s (it did: the watcher's batch hold lapsed under a long poll).

`tests/integration/test_claims.py` races 8 claimers to prove the lock works, and
`tests/unit/test_moto_atomic_writes.py` is the canary for a moto upgrade: it fails if the
methods patched here are gone or no longer the ones that write.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

#: DynamoDB backend methods that check a condition and then write.
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
#: SQS backend methods that pick, hide or remove messages.
SQS_QUEUE_OPERATIONS = (
    "send_message",
    "send_message_batch",
    "receive_message",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
)


def make_dynamodb_writes_atomic() -> None:
    """Wrap moto's DynamoDB write methods in one lock, and its SQS queue operations in another. Idempotent."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.sqs.models import SQSBackend

    _serialise(DynamoDBBackend, DYNAMODB_WRITES, threading.RLock())
    sqs_lock = threading.RLock()
    _serialise(SQSBackend, SQS_QUEUE_OPERATIONS, sqs_lock)
    _poll_outside_the_lock(SQSBackend, sqs_lock)


def _serialise(backend: type, names: tuple[str, ...], lock: threading.RLock) -> None:
    for name in names:
        method = getattr(backend, name)
        if is_serialised(method):
            continue

        @functools.wraps(method)
        def serialised(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            with lock:
                return __method(self, *args, **kwargs)

        serialised._serialised = True  # type: ignore[attr-defined]
        setattr(backend, name, serialised)


def _poll_outside_the_lock(backend: type, lock: threading.RLock) -> None:
    """receive_message: each look under the lock (wait 0), the waiting between looks without it."""
    method = backend.receive_message  # type: ignore[attr-defined]
    if getattr(method, "_polls_outside_the_lock", False):
        return
    look = method.__wrapped__ if is_serialised(method) else method

    @functools.wraps(look)
    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any
    ) -> Any:
        ends = time.monotonic() + int(wait_seconds_timeout or 0)
        while True:
            with lock:
                result = look(self, queue_name, count, 0, *args, **kwargs)
            left = ends - time.monotonic()
            if result or left <= 0:
                return result
            self.get_queue(queue_name).wait_for_messages(min(1.0, left))

    receive_message._serialised = True  # type: ignore[attr-defined]
    receive_message._polls_outside_the_lock = True  # type: ignore[attr-defined]
    backend.receive_message = receive_message  # type: ignore[attr-defined]


def is_serialised(method: Any) -> bool:
    return bool(getattr(method, "_serialised", False))
