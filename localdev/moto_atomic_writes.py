"""Make moto's DynamoDB conditional writes atomic, as DynamoDB's are.

DynamoDB applies each conditional write to an item atomically, and the exactly-once claims
(`run_notifier/adapters/notification_claims.py`) depend on that. moto's server answers
requests on many threads and its backend evaluates a condition and then writes without a
lock, so two concurrent `update_item` calls can both pass the same condition (seen in CI:
two EventBridge events for one run; reproduced at about 1 in 40 races of 8 threads). One
lock around the backend's write methods restores DynamoDB's guarantee; reads stay unlocked.

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
_WRITE_LOCK = threading.RLock()


def make_dynamodb_writes_atomic() -> None:
    """Wrap moto's DynamoDB write methods in one lock. Idempotent."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in DYNAMODB_WRITES:
        method = getattr(DynamoDBBackend, name)
        if is_serialised(method):
            continue

        @functools.wraps(method)
        def serialised(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __method(self, *args, **kwargs)

        serialised._serialised = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialised)


def is_serialised(method: Any) -> bool:
    return bool(getattr(method, "_serialised", False))
