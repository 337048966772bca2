"""Push end to end over real HTTP: the watcher arms the run's ad-hoc webhook on the Apify simulator,
the simulator dispatches to the real intake behind a local Function URL, the intake enqueues on
moto's SQS, and the watcher announces the run to the local receiver. Polling is the safety net."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import boto3
import pytest
from conftest import SLACK_PATH, event_source, send
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.config import load_intake_settings
from run_notifier.domain.expected_end import TIMEOUT_GRACE_SECS
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.wiring import build_intake

from localdev.apify_simulator import SimRun
from localdev.event_source import EventSource
from localdev.function_url_front import FunctionUrlFront

INTAKE_TOKEN = "intake-token-7f3a9c0d2b"
RUN = "RunPush000000001"


@pytest.fixture
def intake_url(resources) -> Iterator[str]:
    # The watcher's settle time (base_env's), as the template gives both functions the same parameter.
    settings = load_intake_settings(
        {"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN": INTAKE_TOKEN, "SETTLE_SECONDS": "1"}
    )
    front = FunctionUrlFront(
        make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))
    )
    yield front.start() + "/"
    front.stop()


@pytest.fixture
def push_env(base_env, intake_url) -> dict[str, str]:
    return {**base_env, "INTAKE_URL": intake_url, "INTAKE_TOKEN": INTAKE_TOKEN, "SAFETY_NET_DELAY_SCHEDULE": "12"}


def ended_at(run: SimRun) -> float:
    """The run's end on the wall clock (what `Received.at` uses)."""
    return run.created_wall.timestamp() + (run.end_mono() - run.created_mono)


def posts(receiver, run_id: str = RUN) -> list:
    return [m for m in receiver.messages if m.path == SLACK_PATH and run_id in m.body.decode()]


def run_until(source: EventSource, done: Callable[[], bool], timeout_secs: float) -> None:
    assert source.run_until(done, timeout_secs=timeout_secs), "not done before the deadline"


def queue_is_empty(aws_session, resources) -> bool:
    attributes = aws_session.client("sqs").get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    keys = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    return all(attributes[k] == "0" for k in keys)


def item(aws_session, resources, run_id: str = RUN) -> dict:
    return RunsTable(aws_session.client("dynamodb"), resources.table_name).get(run_id) or {}


def test_a_run_enrolled_by_id_gets_exactly_one_ad_hoc_webhook_even_when_its_message_comes_three_times(
    load_app, push_env, sim, aws_session, resources, intake_url
):
    sim.add_run(RUN, 120)
    for _ in range(3):
        send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    source = event_source(load_app(push_env), aws_session, resources)
    while sum(i.records for i in source.invocations) < 3:
        source.poll_once()
    hooks = [w for w in sim.webhooks.webhooks.values() if w["condition"].get("actorRunId") == RUN]
    assert len(hooks) == 1
    [hook] = hooks
    assert hook["isAdHoc"] is True
    assert hook["requestUrl"] == intake_url + "apify/webhooks"
    assert set(hook["eventTypes"]) == {
        "ACTOR.RUN.SUCCEEDED",
        "ACTOR.RUN.FAILED",
        "ACTOR.RUN.TIMED_OUT",
        "ACTOR.RUN.ABORTED",
        "ACTOR.RUN.RESURRECTED",
    }
    assert json.loads(hook["headersTemplate"]) == {
        "Authorization": f"Bearer {INTAKE_TOKEN}",
        "X-Run-Notifier-Push": "adhoc",
    }
    assert sim.webhook_creates == [201, 201, 201]  # asked three times, made once: the idempotency key
    push = item(aws_session, resources)["push"]
    assert (push["mode"], push["webhookId"]) == ("adhoc", hook["id"])


def test_a_403_on_arming_falls_back_to_polling_and_the_run_is_still_notified(
    load_app, push_env, sim, receiver, aws_session, resources, log_output
):
    sim.inject_webhooks(403)
    sim.add_run(RUN, 3)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    run_until(event_source(load_app(push_env), aws_session, resources), lambda: len(posts(receiver)) == 1, 30)
    assert sim.webhooks.webhooks == {}
    push = item(aws_session, resources)["push"]
    assert push["mode"] == "off"
    assert "insufficient-permissions" in push["reason"]
    refused = [
        line
        for line in log_output()
        if line["message"] == "Apify refused to create webhooks; runs are watched by polling"
    ]
    assert len(refused) == 1


def test_the_terminal_webhook_brings_the_alert_at_once_and_the_later_safety_net_message_costs_no_apify_call(
    load_app, push_env, sim, receiver, aws_session, resources, log_output
):
    run = sim.add_run(RUN, 3)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    source = event_source(load_app(push_env), aws_session, resources)
    run_until(source, lambda: len(posts(receiver)) == 1, 30)
    latency = posts(receiver)[0].at - ended_at(run)
    assert latency < 8, f"alerted {latency:.1f} s after the end: that is the safety net (12 s), not the push"
    reads_at_alert = len(sim.requests_for(RUN))
    run_until(source, lambda: queue_is_empty(aws_session, resources), 30)  # the safety-net message comes and goes
    assert len(sim.requests_for(RUN)) == reads_at_alert
    assert len(posts(receiver)) == 1
    messages = [line["message"] for line in log_output()]
    assert "Safety-net message for a run already finished and notified; dropped without an Apify call" in messages
    assert item(aws_session, resources)["notifiedGeneration"] == item(aws_session, resources)["generation"]


def test_a_dropped_webhook_is_caught_by_the_safety_net(load_app, push_env, sim, receiver, aws_session, resources):
    sim.webhooks.drop_rate = 1.0
    run = sim.add_run(RUN, 2)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN, "attempt": 0}))
    env = {**push_env, "SAFETY_NET_DELAY_SCHEDULE": "5"}
    run_until(event_source(load_app(env), aws_session, resources), lambda: len(posts(receiver)) == 1, 40)
    assert sim.webhooks.dispatches == []  # nothing was pushed
    latency = posts(receiver)[0].at - ended_at(run)
    assert latency <= 5 + 1 + 4  # within one safety-net period plus the settle time (and pickups)


def test_a_run_whose_webhook_is_lost_is_read_just_after_its_own_timeout_not_a_safety_net_period_later(
    load_app, push_env, sim, receiver, aws_session, resources
):
    """Its `options.timeoutSecs` is 4 s and it times out; the webhook never comes. The safety net's period
    is 900 s, but Apify has ended the run by its timeout: the watcher reads it 10 s after that."""
    sim.webhooks.drop_rate = 1.0
    run = sim.add_run(RUN, 4, final_status="TIMED-OUT", exit_code=None, timeout_secs=4)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    env = {**push_env, "SAFETY_NET_DELAY_SCHEDULE": "900"}
    run_until(event_source(load_app(env), aws_session, resources), lambda: len(posts(receiver)) == 1, 60)
    assert sim.webhooks.dispatches == []  # nothing was pushed
    assert item(aws_session, resources)["push"]["mode"] == "adhoc"
    latency = posts(receiver)[0].at - ended_at(run)
    assert latency <= TIMEOUT_GRACE_SECS + 1 + 6  # the grace, the settle time and pickups; not 900 s


def test_a_duplicated_webhook_makes_one_notification(load_app, push_env, sim, receiver, aws_session, resources):
    sim.webhooks.duplicate_rate = 1.0
    sim.add_run(RUN, 2)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    source = event_source(load_app(push_env), aws_session, resources)
    run_until(source, lambda: len(posts(receiver)) == 1 and len(sim.webhooks.dispatches) == 2, 30)
    run_until(source, lambda: queue_is_empty(aws_session, resources), 30)
    assert [d["eventType"] for d in sim.webhooks.dispatches] == ["ACTOR.RUN.SUCCEEDED"] * 2
    assert len(posts(receiver)) == 1


def test_a_resurrected_run_after_a_push_notified_finish_is_watched_again_and_announced_for_its_new_finish(
    load_app, push_env, sim, receiver, aws_session, resources
):
    sim.add_run(RUN, 2)
    send(aws_session, resources.queue_url, json.dumps({"runId": RUN}))
    source = event_source(load_app(push_env), aws_session, resources)
    run_until(source, lambda: len(posts(receiver)) == 1, 30)
    first_generation = item(aws_session, resources)["generation"]
    sim.resurrect(RUN, extra_secs=3)
    run_until(source, lambda: len(posts(receiver)) == 2, 40)
    events = [d["eventType"] for d in sim.webhooks.dispatches]
    assert events == ["ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.RESURRECTED", "ACTOR.RUN.SUCCEEDED"]
    assert item(aws_session, resources)["generation"] != first_generation
    assert len([w for w in sim.webhooks.webhooks.values() if w["condition"].get("actorRunId") == RUN]) == 1


def test_a_burst_armed_from_three_containers_stays_inside_apifys_limit_and_every_run_is_announced(
    load_app, push_env, sim, receiver, aws_session, resources
):
    """Apify allows 60 webhook creates a second (one resource). 90 runs start at once and three
    containers watch them with a shared budget of 10 creates a second: no create is ever refused, no sliding
    second holds more than two budget seconds' worth, the budget is used, and every run is announced."""
    runs = [f"RunBurst{i:08d}" for i in range(90)]
    _burst(load_app, push_env, sim, aws_session, resources, runs, run_secs=6.0, per_second=10, containers=3)
    creates = sorted(r.at for r in sim.requests if r.method == "POST" and r.path.rstrip("/") == "/v2/webhooks")
    assert 429 not in sim.webhook_creates
    # a budget per calendar second: at most twice it in any sliding second, far inside Apify's 60
    busiest = max(sum(1 for t in creates if start <= t < start + 1.0) for start in creates)
    assert busiest <= 2 * 10
    # the budget was used, not bypassed by giving up on push: at least one full second of it. How many more
    # depends on how many runs are still going at their second look on this machine (a run refused twice
    # stops asking; a run that ended meanwhile needs no webhook), so no higher floor is a fact about the code.
    assert len(creates) >= 10


def test_a_burst_that_saturates_the_creates_gives_its_actor_one_webhook_and_every_run_is_pushed(
    load_app, push_env, sim, receiver, aws_session, resources
):
    """60 runs of one Actor at once on a budget of 2 creates a second: the runs refused on two looks give
    their Actor one Actor-level webhook (one create for all of them); the runs after it need none; every
    run is announced, and no create was refused by Apify."""
    runs = [f"RunSatur{i:08d}" for i in range(60)]
    table = _burst(load_app, push_env, sim, aws_session, resources, runs, run_secs=8.0, per_second=2, containers=2)
    actor_hooks = [w for w in sim.webhooks.webhooks.values() if w["condition"].get("actorId")]
    assert len(actor_hooks) == 1
    assert actor_hooks[0]["condition"] == {"actorId": "SimActor00000001"}
    assert 429 not in sim.webhook_creates
    modes = Counter((table.get(r) or {}).get("push", {}).get("mode") for r in runs)
    assert modes["actor"] > 0  # runs covered by the Actor's webhook
    assert len(sim.webhook_creates) < len(runs)  # fewer creates than runs


def _burst(load_app, push_env, sim, aws_session, resources, runs, *, run_secs, per_second, containers) -> RunsTable:
    """Runs started at once, watched by several containers with a budget of ``per_second`` creates, on a
    simulator that limits creates as Apify does (60 a second); returns the table once every run is announced."""
    sim.webhook_creates_per_second = 60
    for run_id in runs:
        sim.add_run(run_id, run_secs, settle_secs=0)
    env = {
        **push_env,
        "PUSH_ARMING_PER_SECOND": str(per_second),
        "LONG_POLL_SCHEDULE": "1,0",
        "REQUEUE_DELAY_SCHEDULE": "1",
        "SETTLE_SECONDS": "0",
    }
    sources = [event_source(load_app(env), aws_session, resources, timeout_secs=30) for _ in range(containers)]
    for run_id in runs:
        send(aws_session, resources.queue_url, json.dumps({"runId": run_id}))
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)

    def announced() -> bool:
        return all((table.get(r) or {}).get("slackNotification", {}).get("state") == "SENT" for r in runs)

    threads = [threading.Thread(target=source.run_until, args=(announced, 120)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(130)
    assert announced()
    return table
