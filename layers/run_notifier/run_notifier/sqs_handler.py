"""The SQS batch entry point: parse each record, watch it, report failures per record.

All records of a batch are watched at once: Powertools' AsyncBatchProcessor gathers one
coroutine per record, and each runs the blocking watcher in a worker thread, so ten runs
that end 3 s in are done in about 3 s, not 30. Every record ends handled, or failed with a
redelivery time (`SqsRedelivery`) and a log line saying why.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from run_notifier.adapters.batch_hold import BatchHold
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import MessageRejected, WatchFailed
from run_notifier.domain.missed_schedules import MissedSlot
from run_notifier.domain.ports import NotificationsIncomplete
from run_notifier.domain.watch_request import InvalidMessage, WatchRequest, parse_message
from run_notifier.domain.watcher import RunWatcher
from run_notifier.observability import events, logger, metrics
from run_notifier.wiring import MAX_CONCURRENT_RECORDS, Components

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _receive_count(record: SQSRecord) -> int:
    raw = record.attributes.get("ApproximateReceiveCount")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else 1


def _watched(watcher: RunWatcher, request: WatchRequest, deadline: Deadline) -> str:
    return watcher.watch(request, deadline).action.value


def make_handler(components: Components) -> Handler:
    """A Lambda handler over these components (tests build one per environment, no re-import)."""
    watcher, redelivery = components.watcher, components.redelivery
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    # This invocation's hold on its records (invocations of one container never overlap).
    held: BatchHold | None = None

    def ended(record: SQSRecord) -> None:
        """No more renewals for this record (before a failure sets its own backoff)."""
        if held is not None:
            held.release(record.receipt_handle)

    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_RECORDS, thread_name_prefix="watch")

    def watch_record(record: SQSRecord, deadline: Deadline) -> str:
        """Watch one record; runs in a worker thread. Raising fails only this record."""
        logger.thread_safe_append_keys(message_id=record.message_id)
        receive_count = _receive_count(record)
        try:
            try:
                request = parse_message(record.body)
            except InvalidMessage as error:
                events.emit(MessageRejected(record.message_id, str(error), receive_count))
                ended(record)
                redelivery.after_failure(record.event_source_arn, record.receipt_handle, receive_count, retryable=False)
                raise
            work: Callable[[], str]
            if isinstance(request, MissedSlot):
                logger.thread_safe_append_keys(schedule_id=request.schedule_id, body_shape="missed-schedule")
                subject, work = request.item, partial(watcher.announce_missed_schedule, request, deadline)
            else:
                logger.thread_safe_append_keys(
                    run_id=request.run_id, attempt=request.attempt, body_shape=request.source
                )
                subject, work = request.run_id, partial(_watched, watcher, request, deadline)
            try:
                return work()
            except Exception as error:
                incomplete = isinstance(error, NotificationsIncomplete)
                not_before = error.retry_after_secs if isinstance(error, NotificationsIncomplete) else 0.0
                reason = f"{type(error).__name__}: {str(error)[:500]}"
                events.emit(WatchFailed(subject, reason, not_before, incomplete))
                ended(record)
                redelivery.after_failure(
                    record.event_source_arn,
                    record.receipt_handle,
                    receive_count,
                    retryable=True,
                    not_before_secs=not_before,
                )
                raise
        finally:
            ended(record)
            logger.thread_safe_clear_keys()

    async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
        deadline = Deadline.after(lambda_context.get_remaining_time_in_millis() / 1000)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(executor, context.run, watch_record, record, deadline)

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        nonlocal held
        # If this invocation dies, its records come back within one hold step, not after the queue's 600 s.
        records = [(r.get("eventSourceARN", ""), r.get("receiptHandle", "")) for r in event.get("Records", [])]
        held = redelivery.hold(records, context.get_remaining_time_in_millis() / 1000)
        try:
            response = async_process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        finally:
            if held is not None:
                held.close()
            held = None
        return {"batchItemFailures": response.get("batchItemFailures", [])}

    if components.settings.enable_tracer:  # off by default: X-Ray costs ~400 ms of cold start
        from aws_lambda_powertools import Tracer

        handle = Tracer().capture_lambda_handler(handle)

    @logger.inject_lambda_context(clear_state=True, log_event=False)  # events carry tokens: never logged
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return handle(event, context)

    return lambda_handler
