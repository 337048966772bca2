"""Schedules that never fired, end to end: the Apify simulator's schedules (one that fires and
starts its run, one whose scheduler does not fire, one that fires but starts nothing, a disabled
one), the real sweep on moto, and the real watcher handler announcing what the sweep enqueued."""

from __future__ import annotations

import json
import time

import pytest
from conftest import HOOK_PATH, SLACK_PATH, context, events_on, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.deadline import Deadline

SCRAPER = "ShopScraper00001"


@pytest.fixture
def sweeper(sweeper_for):
    return sweeper_for(SWEEP_SCHEDULES_ENABLED="true", SCHEDULE_GRACE_SECONDS="1")


def drain(aws_session, queue_url) -> list[dict]:
    sqs = aws_session.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies


def missed_in(bodies: list[dict]) -> list[dict]:
    return [b["missedSchedule"] for b in bodies if "missedSchedule" in b]


def test_each_missed_slot_is_enqueued_once_and_announced_once_everywhere(
    sweeper, sim, aws_session, resources, load_app, all_destinations_env, receiver, event_bus
):
    sim.add_actor(SCRAPER, "janedoe", "shop-scraper")
    hour = 3600
    sim.add_schedule("SchedHealthy0001", "healthy", hour, 2.0, act_id=SCRAPER, cron="0 * * * *")
    sim.add_schedule("SchedNotFired001", "scheduler-down", hour, 2.0, act_id=SCRAPER, fires=False)
    sim.add_schedule("SchedNoRun000001", "out-of-credits", hour, 2.0, act_id=SCRAPER, starts_runs=False)
    sim.add_schedule("SchedDisabled001", "disabled", hour, 2.0, act_id=SCRAPER, enabled=False, fires=False)
    first = sweeper.sweep(Deadline.after(20))  # first sight: every slot still ahead
    assert first.complete
    assert missed_in(drain(aws_session, resources.queue_url)) == []

    enqueued: list[dict] = []
    give_up = time.monotonic() + 20
    while len(missed_in(enqueued)) < 2 and time.monotonic() < give_up:  # slots at +2 s, grace 1 s
        sweeper.sweep(Deadline.after(20))
        enqueued += drain(aws_session, resources.queue_url)
    for _ in range(3):  # later sweeps find nothing new
        sweeper.sweep(Deadline.after(20))
        enqueued += drain(aws_session, resources.queue_url)
    missed = missed_in(enqueued)
    assert sorted((m["scheduleId"], m["reason"]) for m in missed) == [
        ("SchedNoRun000001", "no run started"),
        ("SchedNotFired001", "not fired"),
    ]
    assert any(b.get("runId", "").startswith("SchedSchedH") for b in enqueued)  # the healthy slot's run, swept
    memory = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("schedule#SchedHealthy0001")
    assert memory is not None
    assert memory["settledSlot"] == memory["lastStarted"]

    app = load_app(all_destinations_env)
    bodies = [json.dumps({"missedSchedule": m}) for m in missed]
    for _ in range(2):  # and a duplicate delivery of both
        assert app.lambda_handler(sqs_event(bodies), context(30)) == {"batchItemFailures": []}
    hooks = [json.loads(m.body) for m in receiver.received(HOOK_PATH)]
    assert sorted((h["type"], h["data"]["scheduleId"]) for h in hooks) == [
        ("apify.schedule.missed", "SchedNoRun000001"),
        ("apify.schedule.missed", "SchedNotFired001"),
    ]
    assert all(h["data"]["actorName"] == "janedoe/shop-scraper" for h in hooks)
    slack = [json.loads(m.body)["text"] for m in receiver.received(SLACK_PATH)]
    assert sorted(t.splitlines()[0] for t in slack) == [
        "*⏰ Schedule did not run: out-of-credits*",
        "*⏰ Schedule did not run: scheduler-down*",
    ]
    _, target = event_bus
    events = events_on(aws_session, target, 2)
    assert sorted(e["detail-type"] for e in events) == ["Apify Schedule Missed"] * 2
    assert {e["detail"]["notificationId"] for e in events} == {h["data"]["notificationId"] for h in hooks}


def test_a_schedule_list_apify_refuses_leaves_the_slot_to_the_next_sweep(sweeper, sim, aws_session, resources):
    sim.add_schedule("SchedNotFired001", "scheduler-down", 3600, 1.0, act_id=SCRAPER, fires=False)
    sweeper.sweep(Deadline.after(20))
    give_up = time.monotonic() + 10
    while sim.schedules["SchedNotFired001"].next_run_at.timestamp() + 1.2 > time.time() and time.monotonic() < give_up:
        time.sleep(0.1)  # the slot and its grace pass (simulated wall time, not a sync point)
    sim.inject("schedules", 400)  # refused (a 5xx is retried within the sweep, to the same end)
    sweeper.sweep(Deadline.after(20))
    assert missed_in(drain(aws_session, resources.queue_url)) == []
    sweeper.sweep(Deadline.after(20))
    assert [m["scheduleId"] for m in missed_in(drain(aws_session, resources.queue_url))] == ["SchedNotFired001"]
