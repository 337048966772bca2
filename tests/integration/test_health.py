"""Health checks through the real handler, moto (the table and its RunHistory index), the Apify
simulator (datasets with item counts) and the receiver: a SUCCEEDED run that is wrong says so."""

from __future__ import annotations

import json
import time

import pytest
from conftest import HOOK_PATH, SLACK_PATH, context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable

SCRAPER = "HealthScraper001"
LOADER = "janedoe~sheet-loader"


@pytest.fixture
def health_env(all_destinations_env, sim):
    sim.add_actor(SCRAPER, "janedoe", "shop-scraper")
    sim.add_actor("LoaderActor00001", "janedoe", "sheet-loader")

    def env(routes: list[dict]) -> dict[str, str]:
        return {**all_destinations_env, "ROUTES_JSON": json.dumps({"routes": routes})}

    return env


def _item(aws_session, resources, run_id: str) -> dict:
    return RunsTable(aws_session.client("dynamodb"), resources.table_name).get(run_id) or {}


def _hooks(receiver) -> dict[str, dict]:
    return {json.loads(m.body)["data"]["runId"]: json.loads(m.body)["data"] for m in receiver.received(HOOK_PATH)}


@pytest.mark.parametrize("on_warn", [None, "start"])
def test_zero_items_with_min_items_is_warn_announced_as_such_and_its_follow_up_waits(
    load_app, health_env, sim, receiver, aws_session, resources, on_warn
):
    follow_up = {"actorId": LOADER, **({"onWarn": on_warn} if on_warn else {})}
    routes = [
        {"match": {"actId": [SCRAPER], "health": ["WARN"]}, "followUp": follow_up},
        {"match": {"actId": [SCRAPER]}, "expect": {"minItems": 1}},
    ]
    sim.add_run("RunEmptyData0001", 0.0, settle_secs=0, act_id=SCRAPER, item_count=0)
    assert load_app(health_env(routes)).lambda_handler(sqs_event(["RunEmptyData0001"]), context(30)) == {
        "batchItemFailures": []
    }
    item = _item(aws_session, resources, "RunEmptyData0001")
    assert item["itemCount"] == 0
    assert item["health"]["verdict"] == "WARN"
    assert [c["name"] for c in item["health"]["checks"]] == ["minItems"]
    assert item["historyKey"] == f"actor:{SCRAPER}"
    data = _hooks(receiver)["RunEmptyData0001"]
    assert data["itemCount"] == 0
    assert data["health"]["verdict"] == "WARN"
    [slack] = [json.loads(m.body) for m in receiver.received(SLACK_PATH)]
    assert slack["text"].startswith("⚠ SUCCEEDED — 0 items, expected ≥ 1: janedoe/shop-scraper")
    # The health route matched (its followUp is the pipeline guard); the empty dataset starts nothing by default.
    assert len(sim.started) == (1 if on_warn == "start" else 0)
    assert ("followUpNotification" in item) == (on_warn == "start")


def test_a_run_at_eight_times_its_usual_cost_is_warn_naming_cost_and_five_runs_are_too_few(
    load_app, health_env, sim, receiver, aws_session, resources
):
    routes = [{"match": {"actId": [SCRAPER]}, "expect": {"maxUsd": 5}}]
    app = load_app(health_env(routes))
    history = [f"RunHistory{i:06d}" for i in range(21)]
    for index, run_id in enumerate(history):
        sim.add_run(run_id, 0.0, settle_secs=0, act_id=SCRAPER, item_count=1200 + index, final_usd=0.2 + index / 1000)
        time.sleep(0.002)  # finished in this order
    for run_id in history:  # one at a time: each is judged against the ones before it
        app.lambda_handler(sqs_event([run_id]), context(30))
    fifth = _item(aws_session, resources, history[4])["health"]
    assert fifth["verdict"] == "UNKNOWN"  # four runs of history: no anomaly judged, the fixed limit passed
    assert [c["name"] for c in fifth["checks"]] == ["maxUsd"]
    assert _item(aws_session, resources, history[-1])["health"]["verdict"] == "OK"

    sim.add_run("RunCostSpike0001", 0.0, settle_secs=0, act_id=SCRAPER, item_count=1210, final_usd=1.6)
    app.lambda_handler(sqs_event(["RunCostSpike0001"]), context(30))
    health = _item(aws_session, resources, "RunCostSpike0001")["health"]
    assert health["verdict"] == "WARN"
    [failed] = [c for c in health["checks"] if c.get("flag") == "high"]
    assert failed["name"] == "anomaly:cost"
    assert 0.19 < float(failed["baseline"]) < 0.23
    spike = [json.loads(m.body) for m in receiver.received(SLACK_PATH)][-1]
    assert spike["text"].startswith("⚠ SUCCEEDED — $1.60, usually ~$0.2")
    # A redelivery of the same finish keeps the judgement it was announced with.
    app.lambda_handler(sqs_event(["RunCostSpike0001"]), context(30))
    assert _item(aws_session, resources, "RunCostSpike0001")["health"] == health


def test_warn_runs_open_an_incident_where_the_route_counts_warn_and_a_healthy_run_resolves_it(
    load_app, health_env, sim, receiver
):
    routes = [{"match": {"actId": [SCRAPER]}, "expect": {"minItems": 1}, "incident": {"after": 2, "on": ["WARN"]}}]
    app = load_app(health_env(routes))
    for run_id, items in (("RunWarnEmpty0001", 0), ("RunWarnEmpty0002", 0), ("RunWarnHealthy01", 900)):
        sim.add_run(run_id, 0.0, settle_secs=0, act_id=SCRAPER, item_count=items)
        app.lambda_handler(sqs_event([run_id]), context(30))
    incidents = [json.loads(m.body) for m in receiver.received(HOOK_PATH) if "incident" in json.loads(m.body)["type"]]
    assert [i["type"] for i in incidents] == ["apify.incident.opened", "apify.incident.resolved"]
    assert incidents[0]["data"]["failedRuns"] == 2


def test_a_bad_expectation_stops_the_cold_start_naming_the_route(health_env, load_app):
    from run_notifier.domain.routing import RoutesError

    for expect, says in (({"minItems": -1}, "expect.minItems"), ({"often": 1}, "expect must be"), ([], "expect must")):
        with pytest.raises(RoutesError, match=says):
            load_app(health_env([{"match": {"actId": [SCRAPER]}, "expect": expect}]))


def test_a_stuck_run_is_announced_once_however_often_it_is_looked_at_and_its_finish_as_usual(
    load_app, health_env, sim, receiver, aws_session, resources
):
    routes = [{"match": {"status": ["SUCCEEDED"], "actId": [SCRAPER]}, "expect": {"maxDurationSecs": 3600}}]
    app = load_app({**health_env(routes), "LONG_POLL_SCHEDULE": "0"})
    sim.add_run(  # started two hours ago (Apify's startedAt), still running
        "RunStuckForHours", 600.0, settle_secs=0, act_id=SCRAPER, item_count=10, started_earlier_secs=7200
    )
    for _ in range(3):  # the first look, a safety-net message and a duplicate
        assert app.lambda_handler(sqs_event(["RunStuckForHours"]), context(30)) == {"batchItemFailures": []}
    stuck = [
        json.loads(m.body) for m in receiver.received(HOOK_PATH) if json.loads(m.body)["type"] == "apify.run.stuck"
    ]
    assert len(stuck) == 1
    assert stuck[0]["data"]["limitSecs"] == 3600
    assert stuck[0]["data"]["runningSecs"] > 7000
    assert stuck[0]["data"]["status"] in ("READY", "RUNNING")  # not finished
    [slack] = [json.loads(m.body) for m in receiver.received(SLACK_PATH)]
    assert slack["text"].startswith("⏳ Still running — running for 2h")
    assert _item(aws_session, resources, "stuck#RunStuckForHours")["webhookNotification"]["state"] == "SENT"

    sim.finish("RunStuckForHours")
    app.lambda_handler(sqs_event(["RunStuckForHours"]), context(30))
    types = [json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH)]
    assert types == ["apify.run.stuck", "apify.run.finished"]
    finished = _item(aws_session, resources, "RunStuckForHours")["health"]
    assert finished["verdict"] == "WARN"  # it ended, two hours past its limit
    assert [c["name"] for c in finished["checks"]] == ["maxDurationSecs"]


def test_a_finish_is_judged_once_duplicates_in_a_batch_and_later_redeliveries_read_the_dataset_once(
    load_app, health_env, sim, receiver, aws_session, resources
):
    """health.md: two copies of one run in the same batch wait for one judgement (this container); a later
    redelivery, in any container, reuses the one recorded on the item. One dataset read in all."""
    routes = [{"match": {"actId": [SCRAPER]}, "expect": {"minItems": 1}}]
    sim.add_run("RunJudgedOnce001", 0.0, settle_secs=0, act_id=SCRAPER, item_count=0)
    body = json.dumps({"runId": "RunJudgedOnce001"})
    assert load_app(health_env(routes)).lambda_handler(sqs_event([body, body, body]), context(30)) == {
        "batchItemFailures": []
    }
    assert load_app(health_env(routes)).lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}
    reads = [r for r in sim.requests if r.method == "GET" and r.path.startswith("/v2/datasets/")]
    assert len(reads) == 1
    assert _item(aws_session, resources, "RunJudgedOnce001")["health"]["verdict"] == "WARN"
    assert len(receiver.received(SLACK_PATH)) == 1
