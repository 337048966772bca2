"""Follow-up runs: a finished run starts the next Actor or task, exactly once, and the started run is watched."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import SLACK_PATH, context, event_source, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.config import load_settings
from run_notifier.domain.routing import RoutesError

SCRAPER = "ScraperActor0001"
LOADER = "LoaderActor00001"
FOLLOW_UP = {
    "actorId": "janedoe~sheet-loader",
    "input": {"datasetId": "{{defaultDatasetId}}", "sourceRunId": "{{runId}}", "limit": 100},
    "memoryMbytes": "512",
}
PIPELINE = {"routes": [{"match": {"status": ["SUCCEEDED"], "actId": [SCRAPER]}, "followUp": FOLLOW_UP}]}


@pytest.fixture
def pipeline_env(base_env, sim) -> dict[str, str]:
    sim.add_actor(SCRAPER, "janedoe", "shop-scraper")
    sim.add_actor(LOADER, "janedoe", "sheet-loader")
    return {**base_env, "SETTLE_SECONDS": "0", "ROUTES_JSON": json.dumps(PIPELINE)}


def item(aws_session, resources, run_id: str) -> dict:
    return RunsTable(aws_session.client("dynamodb"), resources.table_name).get(run_id) or {}


def test_a_succeeded_run_starts_exactly_one_follow_up_even_delivered_three_times_by_two_racing_invocations(
    load_app, pipeline_env, sim
):
    sim.add_run("RunScraped000001", 0.0, settle_secs=0, act_id=SCRAPER)
    app = load_app(pipeline_env)
    results = []

    def invoke() -> None:
        results.append(app.lambda_handler(sqs_event(["RunScraped000001"] * 3), context(30)))

    racers = [threading.Thread(target=invoke) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert len(sim.started) == 1
    [(run_input, options)] = sim.started.values()
    assert run_input == {"datasetId": "dsRunScraped00000", "sourceRunId": "RunScraped000001", "limit": 100}
    assert options == {"memory": "512"}


def test_a_failed_run_starts_nothing_unless_its_route_asks(load_app, pipeline_env, sim):
    sim.add_run("RunScrapeFail001", 0.0, settle_secs=0, act_id=SCRAPER, final_status="FAILED", exit_code=1)
    load_app(pipeline_env).lambda_handler(sqs_event(["RunScrapeFail001"]), context(30))
    assert sim.started == {}
    on_failure = {"routes": [{"match": {"status": ["FAILED"]}, "followUp": {"actorId": LOADER}}]}
    sim.add_run("RunScrapeFail002", 0.0, settle_secs=0, act_id=SCRAPER, final_status="FAILED", exit_code=1)
    load_app({**pipeline_env, "ROUTES_JSON": json.dumps(on_failure)}).lambda_handler(
        sqs_event(["RunScrapeFail002"]), context(30)
    )
    assert len(sim.started) == 1


def test_the_started_run_is_watched_and_announced_and_both_items_say_who_started_whom(
    load_app, pipeline_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunChainStep0001", 0.0, settle_secs=0, act_id=SCRAPER)
    sim.started_run_secs = 1.0
    source = event_source(load_app(pipeline_env), aws_session, resources)
    from conftest import send

    send(aws_session, resources.queue_url, json.dumps({"runId": "RunChainStep0001"}))
    assert source.run_until(lambda: len(receiver.received(SLACK_PATH)) >= 2, 40)
    [started] = sim.started
    assert item(aws_session, resources, "RunChainStep0001")["followUpRunId"] == started
    started_item = item(aws_session, resources, started)
    assert started_item["startedBy"] == "RunChainStep0001"
    assert started_item["status"] == "SUCCEEDED"
    first, second = receiver.received(SLACK_PATH)
    assert "RunChainStep0001" in first.body.decode()
    assert started in second.body.decode()  # announced in order, step by step
    assert (
        item(aws_session, resources, "RunChainStep0001")["followUpNotification"]["detail"] == f"started run {started}"
    )


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (404, "record-not-found"),
        (402, "not-enough-usage-to-run-paid-actor"),
        (403, "403"),
        (400, "invalid"),
    ],
)
def test_a_start_apify_refuses_is_a_permanent_failure_and_other_destinations_are_unaffected(
    load_app, pipeline_env, sim, receiver, aws_session, resources, status, says
):
    sim.add_run("RunRefused000001", 0.0, settle_secs=0, act_id=SCRAPER)
    sim.inject_starts(status)
    app = load_app(pipeline_env)
    assert app.lambda_handler(sqs_event(["RunRefused000001"]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event(["RunRefused000001"]), context(30)) == {"batchItemFailures": []}
    starts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/runs")]
    assert len(starts) == 1  # no retry loop
    notification = item(aws_session, resources, "RunRefused000001")["followUpNotification"]
    assert notification["state"] == "FAILED"
    assert says in notification["error"]
    assert len(receiver.received(SLACK_PATH)) == 1  # Slack still got its message


def test_an_unknown_actor_is_recorded_with_apifys_message(load_app, pipeline_env, sim, aws_session, resources):
    routes = {"routes": [{"followUp": {"actorId": "nobody~nothing"}}]}
    sim.add_run("RunNoSuchActor01", 0.0, settle_secs=0, act_id=SCRAPER)
    load_app({**pipeline_env, "ROUTES_JSON": json.dumps(routes)}).lambda_handler(
        sqs_event(["RunNoSuchActor01"]), context(30)
    )
    error = item(aws_session, resources, "RunNoSuchActor01")["followUpNotification"]["error"]
    assert "record-not-found" in error
    assert "Actor was not found" in error


def test_an_input_with_an_unknown_placeholder_stops_the_cold_start_naming_the_route(pipeline_env):
    from run_notifier.wiring import build_components

    routes = {"routes": [{"followUp": {"actorId": LOADER, "input": {"datasetId": "{{datasetID}}"}}}]}
    settings = load_settings({**pipeline_env, "ROUTES_JSON": json.dumps(routes)})
    with pytest.raises(RoutesError, match=r"routes\[0\]\.followUp: input has unknown placeholders \['datasetID'\]"):
        build_components(settings)
