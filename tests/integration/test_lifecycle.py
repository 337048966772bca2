"""Resurrection, watch expiry, stale duplicates and concurrent invocations."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

from conftest import SLACK_PATH, context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.run_ledger import DynamoRunLedger


def _store(aws_session, resources):
    return RunsTable(aws_session.client("dynamodb"), resources.table_name)


def test_resurrected_run_is_watched_again_and_notified_for_its_new_finish(
    load_app, base_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunPhoenix000001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    app = load_app({**base_env, "SETTLE_SECONDS": "0"})
    assert app.lambda_handler(sqs_event(["RunPhoenix000001"]), context(30)) == {"batchItemFailures": []}
    first = _store(aws_session, resources).get("RunPhoenix000001")
    assert first["status"] == "FAILED"
    sim.resurrect("RunPhoenix000001", extra_secs=1.0)
    sim.runs["RunPhoenix000001"].final_status = "SUCCEEDED"
    sim.runs["RunPhoenix000001"].exit_code = 0
    assert app.lambda_handler(sqs_event(["RunPhoenix000001"]), context(30)) == {"batchItemFailures": []}
    second = _store(aws_session, resources).get("RunPhoenix000001")
    assert second["status"] == "SUCCEEDED"
    assert second["finishedAt"] > first["finishedAt"]
    statuses = [m.json()["text"].split(":")[0] for m in receiver.received(SLACK_PATH)]
    assert statuses == ["FAILED", "SUCCEEDED"]


def test_stale_message_cannot_overwrite_a_later_finish(aws_session, resources):
    from run_notifier.domain.run_summary import RunSummary

    table = _store(aws_session, resources)
    store = DynamoRunLedger(table, ttl_days=90)
    now = datetime.now(UTC)
    later = RunSummary(run_id="RunStale00000001", status="SUCCEEDED", finished_at="2026-11-28T10:05:00.000Z")
    earlier = RunSummary(run_id="RunStale00000001", status="FAILED", finished_at="2026-11-28T10:00:00.000Z")
    assert store.record(later, now=now, attempts=1, first_seen_at=None, costs_settled=True).written
    result = store.record(earlier, now=now, attempts=1, first_seen_at=None, costs_settled=True)
    assert not result.written
    assert result.stored_generation == "2026-11-28T10:05:00.000Z"
    assert table.get("RunStale00000001")["status"] == "SUCCEEDED"
    # a NOT_FOUND outcome cannot overwrite a finished run either
    gone = RunSummary("RunStale00000001", "NOT_FOUND", status_message="gone")
    assert not store.record(gone, now=now, attempts=1, first_seen_at=None, costs_settled=False).written


def _watch_past_the_limit(app, aws_session, resources, run_id: str, attempt: int, watched_secs: int, timeout: float):
    """Deliver a message first seen ``watched_secs`` ago (limit 60 s); return the run's item."""
    first_seen = (datetime.now(UTC) - timedelta(seconds=watched_secs)).isoformat()
    body = json.dumps({"runId": run_id, "attempt": attempt, "firstSeenAt": first_seen})
    assert app.lambda_handler(sqs_event([body]), context(timeout)) == {"batchItemFailures": []}
    attrs = aws_session.client("sqs").get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "0"  # no further re-enqueue
    return _store(aws_session, resources).get(run_id)


def test_apify_down_for_longer_than_the_watch_limit_ends_the_watch(load_app, base_env, sim, aws_session, resources):
    sim.add_run("RunDownLong00001", 3600.0)
    sim.inject("RunDownLong00001", *([503] * 40))
    app = load_app({**base_env, "MAX_WATCH_SECONDS": "60"})
    item = _watch_past_the_limit(app, aws_session, resources, "RunDownLong00001", 90, watched_secs=120, timeout=14)
    assert item["status"] == "WATCH_EXPIRED"
    assert "Apify unavailable" in item["statusMessage"]


def test_watch_expires_with_a_recorded_and_notified_outcome(load_app, base_env, sim, receiver, aws_session, resources):
    sim.add_run("RunForever000001", 3600.0)
    app = load_app({**base_env, "MAX_WATCH_SECONDS": "60"})
    item = _watch_past_the_limit(app, aws_session, resources, "RunForever000001", 40, watched_secs=61, timeout=13)
    assert item["status"] == "WATCH_EXPIRED"
    assert re.search(r"run is (READY|RUNNING) after 6\d s of watching \(limit 60 s\)", item["statusMessage"])
    [post] = receiver.received(SLACK_PATH)
    assert "WATCH_EXPIRED" in post.json()["text"]


def test_concurrent_invocations_in_separate_containers_post_once(load_app, base_env, sim, receiver):
    """Three containers, each with the run three times in its batch, all at once: one post.

    A container that finds another container's claim live cannot prove the alert was sent, so
    its record fails with a redelivery after that lease; the redelivery then finds it done.
    """
    sim.add_run("RunRace000000001", 0.0, settle_secs=0)
    containers = [load_app({**base_env, "SETTLE_SECONDS": "0"}) for _ in range(3)]
    results = []

    def invoke(app) -> None:
        results.append(app.lambda_handler(sqs_event(["RunRace000000001"] * 3), context(30)))

    threads = [threading.Thread(target=invoke, args=(app,)) for app in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3
    assert len(receiver.received(SLACK_PATH)) == 1
    for result in results:
        if result["batchItemFailures"]:  # the redelivery, after the winner has marked the claim SENT
            assert containers[0].lambda_handler(sqs_event(["RunRace000000001"]), context(30)) == {
                "batchItemFailures": []
            }
    assert len(receiver.received(SLACK_PATH)) == 1
