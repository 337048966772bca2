"""Canary for the moto patch in localdev/moto_atomic_writes.py: a moto upgrade that renames or
moves the backend's write methods must fail here, not silently un-patch the claim races."""

from __future__ import annotations

import inspect

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.models import SQSBackend
from moto.sqs.responses import SQSResponse

from localdev.moto_atomic_writes import (
    DYNAMODB_WRITES,
    SQS_QUEUE_OPERATIONS,
    is_serialised,
    make_dynamodb_writes_atomic,
)


def test_every_patched_method_exists_and_is_what_the_handler_calls_to_write():
    handler_source = inspect.getsource(DynamoHandler)
    for name in DYNAMODB_WRITES:
        assert callable(getattr(DynamoDBBackend, name, None)), f"moto's DynamoDBBackend has no {name} any more"
        assert f"dynamodb_backend.{name}(" in handler_source, f"moto's handler no longer writes through {name}"


def test_conditional_writes_evaluate_their_condition_inside_the_patched_methods():
    # update_item checks the condition and writes in one backend call: the lock around it makes both atomic.
    source = inspect.getsource(
        DynamoDBBackend.update_item.__wrapped__
        if is_serialised(DynamoDBBackend.update_item)
        else DynamoDBBackend.update_item
    )
    assert "ConditionalCheckFailed" in source


def test_every_patched_sqs_operation_exists_and_is_what_the_handler_calls():
    handler_source = inspect.getsource(SQSResponse)
    for name in SQS_QUEUE_OPERATIONS:
        assert callable(getattr(SQSBackend, name, None)), f"moto's SQSBackend has no {name} any more"
        assert f"sqs_backend.{name}(" in handler_source, f"moto's SQS handler no longer calls {name}"


def test_the_patch_wraps_each_method_once():
    make_dynamodb_writes_atomic()
    make_dynamodb_writes_atomic()
    for backend, name in [(DynamoDBBackend, n) for n in DYNAMODB_WRITES] + [
        (SQSBackend, n) for n in SQS_QUEUE_OPERATIONS
    ]:
        method = getattr(backend, name)
        assert is_serialised(method)
        assert not is_serialised(method.__wrapped__)
