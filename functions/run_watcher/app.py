"""Lambda entry point: an SQS batch in, a partial batch response out.

Thin on purpose: parse each record (intake), hand it to the RunWatcher (domain), report
failures per record. All records of a batch are watched at once: Powertools'
AsyncBatchProcessor gathers one coroutine per record, and each runs the blocking watcher
in a worker thread, so ten runs that end 3 s in are done in about 3 s, not 30.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from run_notifier.config import load_settings
from run_notifier.intake import InvalidMessage, parse_body
from run_notifier.observability import count, logger, metrics
from run_notifier.timebudget import Deadline
from run_notifier.wiring import MAX_CONCURRENT_RECORDS, build_components

settings = load_settings()  # fails the cold start with a message naming the bad variable
watcher, redelivery = build_components(settings)
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_RECORDS, thread_name_prefix="watch")


def _receive_count(record: SQSRecord) -> int:
    raw = record.attributes.get("ApproximateReceiveCount")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else 1


def watch_record(record: SQSRecord, deadline: Deadline) -> str:
    """Watch one record; runs in a worker thread. Raising fails only this record."""
    logger.thread_safe_append_keys(message_id=record.message_id)
    receive_count = _receive_count(record)
    try:
        try:
            request = parse_body(record.body)
        except InvalidMessage as error:
            count("InvalidMessages")
            logger.error(
                "Rejected message; it fails alone and goes to the DLQ after maxReceiveCount",
                extra={"reason": str(error), "receive_count": receive_count},
            )
            redelivery.after_failure(record.event_source_arn, record.receipt_handle, receive_count, retryable=False)
            raise
        logger.thread_safe_append_keys(run_id=request.run_id, attempt=request.attempt, body_shape=request.source)
        try:
            outcome = watcher.watch(request, deadline)
        except Exception as error:
            logger.exception(
                "Watching failed; SQS will redeliver the message", extra={"reason": f"{type(error).__name__}: {error}"}
            )
            redelivery.after_failure(record.event_source_arn, record.receipt_handle, receive_count, retryable=True)
            raise
        return outcome.action
    finally:
        logger.thread_safe_clear_keys()


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    deadline = Deadline.after(lambda_context.get_remaining_time_in_millis() / 1000)
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(executor, context.run, watch_record, record, deadline)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


if settings.enable_tracer:  # off by default: X-Ray costs ~400 ms of cold start
    from aws_lambda_powertools import Tracer

    _handle = Tracer().capture_lambda_handler(_handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _handle(event, context)
