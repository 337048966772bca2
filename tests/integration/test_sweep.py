"""The discovery sweep against the Apify simulator's run list and moto: every run once, no gaps."""

from __future__ import annotations

import json
import time

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.enrollments import WATERMARK_KEY
from run_notifier.domain.deadline import Deadline
from run_notifier.schedule_handler import make_sweep_handler

from localdev.lambda_context import FakeLambdaContext


def enqueued(aws_session, resources) -> list[str]:
    sqs = aws_session.client("sqs")
    run_ids = []
    while True:
        messages = sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return run_ids
        for message in messages:
            run_ids.append(json.loads(message["Body"])["runId"])
        sqs.delete_message_batch(
            QueueUrl=resources.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_a_run_that_started_and_ended_between_two_sweeps_is_enrolled(sweeper_for, sim, aws_session, resources):
    handler = make_sweep_handler(sweeper_for())
    first = handler({}, FakeLambdaContext(timeout_secs=30, function_name="RunSweeperFunction"))
    assert (first["enrolled"], first["complete"]) == (0, True)
    sim.add_run("RunSwept00000001", 0.2, final_status="FAILED")
    time.sleep(0.3)  # it ends before the next sweep
    second = handler({}, FakeLambdaContext(timeout_secs=30, function_name="RunSweeperFunction"))
    assert (second["enrolled"], second["complete"]) == (1, True)
    assert enqueued(aws_session, resources) == ["RunSwept00000001"]
    assert RunsTable(aws_session.client("dynamodb"), resources.table_name).get(WATERMARK_KEY)["startedAt"]


def test_two_sweeps_over_the_same_window_enqueue_each_run_once(sweeper_for, sim, aws_session, resources):
    ids = [f"RunTwice{i:08d}" for i in range(7)]
    for run_id in ids:
        sim.add_run(run_id, 30.0)
    sweeper = sweeper_for()
    assert sweeper.sweep(Deadline.after(30)).enrolled == 7
    assert sweeper.sweep(Deadline.after(30)).enrolled == 0
    assert sorted(enqueued(aws_session, resources)) == ids


def test_the_filter_keeps_only_the_named_actors(sweeper_for, sim, aws_session, resources):
    sim.add_run("RunMine000000001", 5.0, act_id="MineActor0000001")
    sim.add_run("RunOther00000001", 5.0, act_id="OtherActor000001")
    assert sweeper_for(SWEEP_ACTOR_IDS="MineActor0000001").sweep(Deadline.after(30)).enrolled == 1
    assert enqueued(aws_session, resources) == ["RunMine000000001"]


def test_runs_across_three_pages_are_paged_completely(sweeper_for, sim, aws_session, resources):
    """Pages of 100 (Apify's are up to 1,000: the same offsets and the same end-of-list test, at a
    volume moto writes in seconds rather than minutes)."""
    ids = [f"RunMany{i:09d}" for i in range(250)]
    for run_id in ids:
        sim.add_run(run_id, 60.0)
    report = sweeper_for(page_limit=100).sweep(Deadline.after(60))
    assert (report.pages, report.listed, report.enrolled, report.complete) == (3, 250, 250, True)
    assert sorted(enqueued(aws_session, resources)) == ids


def test_a_429_on_page_two_leaves_no_gap_and_the_next_sweep_completes_the_window(
    sweeper_for, sim, aws_session, resources
):
    ids = [f"RunGap{i:010d}" for i in range(25)]
    for run_id in ids:
        sim.add_run(run_id, 60.0)
        time.sleep(0.002)  # distinct startedAt values
    sim.inject_list(10, *([429] * 50))
    sweeper = sweeper_for(page_limit=10)
    stopped = sweeper.sweep(Deadline.after(8))
    assert (stopped.pages, stopped.enrolled, stopped.complete) == (1, 10, False)
    assert "ApifyUnavailable" in stopped.reason
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    page_one_latest = sorted(sim.runs[r].created_wall for r in ids[:10])[-1]
    assert table.get(WATERMARK_KEY)["startedAt"] == page_one_latest.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    sim.inject_list(10)  # nothing more to inject; drop what is left
    sim._list_faults.clear()
    finished = sweeper.sweep(Deadline.after(30))
    assert finished.complete
    assert sorted(enqueued(aws_session, resources)) == ids  # each once: page one's runs were marked enrolled


def test_the_shipped_scheduled_event_runs_a_sweep(sweeper_for):
    from conftest import load_event

    report = make_sweep_handler(sweeper_for())(load_event("schedule_sweep.json"), FakeLambdaContext(timeout_secs=20))
    assert report["complete"]
