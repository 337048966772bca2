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

`tests/integration/test_claims.py` races 8 claimers to prove the lock works, and
`tests/unit/test_moto_atomic_writes.py` is the canary for a moto upgrade: it fails if the
methods patched here are gone or no longer the ones that write.
"""

from __future__ import annotations

import functools
import threading
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
    _serialise(SQSBackend, SQS_QUEUE_OPERATIONS, threading.RLock())


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


def is_serialised(method: Any) -> bool:
    return bool(getattr(method, "_serialised", False))
