"""make enroll against the Apify simulator, with the real intake behind a local Function URL."""

from __future__ import annotations

import json
import os
import subprocess

import boto3
import pytest
from conftest import run_script
from run_notifier.config import load_intake_settings
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.wiring import build_intake

from localdev.function_url_front import FunctionUrlFront

INTAKE_TOKEN = "intake-token-7f3a9c0d2b"


@pytest.fixture
def front(resources):
    settings = load_intake_settings({"RUN_QUEUE_URL": resources.queue_url, "INTAKE_TOKEN": INTAKE_TOKEN})
    server = FunctionUrlFront(
        make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))
    )
    server.start()
    yield server
    server.stop()


def enroll(sim, *args: str, apify_token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APIFY_TOKEN": sim.token if apify_token is None else apify_token,
        "APIFY_API_BASE_URL": sim.base_url,
        "INTAKE_TOKEN": INTAKE_TOKEN,
    }
    return run_script("enroll", args, env)


def test_enroll_twice_makes_one_webhook_per_actor_then_test_and_remove(sim, front):
    sim.add_actor("SecondActor00001", "janedoe", "second")
    args = ["--intake-url", front.base_url + "/", "--actor", "SimActor00000001", "--actor", "SecondActor00001"]
    first, second = enroll(sim, *args), enroll(sim, *args)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    webhooks = list(sim.webhooks.webhooks.values())
    assert sorted(w["condition"]["actorId"] for w in webhooks) == ["SecondActor00001", "SimActor00000001"]
    assert all(w["requestUrl"] == front.base_url + "/apify/webhooks" for w in webhooks)
    assert all("ACTOR.RUN.CREATED" in w["eventTypes"] and "ACTOR.RUN.TIMED_OUT" in w["eventTypes"] for w in webhooks)
    adhoc = {
        "eventTypes": ["ACTOR.RUN.SUCCEEDED"],
        "condition": {"actorRunId": "SomeRun000000001"},
        "requestUrl": front.base_url + "/apify/webhooks",
        "isAdHoc": True,
        "description": "apify-run-notifier push for run SomeRun000000001",
    }
    assert sim.webhooks.handle("POST", "/v2/webhooks", json.dumps(adhoc).encode())[0] == 201  # the watcher's push
    listed = enroll(sim, "--list")
    assert listed.returncode == 0
    assert listed.stdout.count("actorId") == 2
    assert "actorRunId" not in listed.stdout
    tested = enroll(sim, "--test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("test dispatch SUCCEEDED, intake answered 200") == 2
    for output in (first, second, listed, tested):
        assert INTAKE_TOKEN not in output.stdout + output.stderr
        assert sim.token not in output.stdout + output.stderr
    removed = enroll(sim, "--remove")
    assert removed.returncode == 0
    assert [w["condition"] for w in sim.webhooks.webhooks.values()] == [{"actorRunId": "SomeRun000000001"}]
    assert enroll(sim, "--list").stdout.strip() == "no notifier webhooks"


def test_a_test_dispatch_with_a_wrong_token_reports_the_intakes_401(sim, front):
    assert enroll(sim, "--intake-url", front.base_url + "/", "--actor", "SimActor00000001").returncode == 0
    [webhook] = sim.webhooks.webhooks.values()
    webhook["headersTemplate"] = '{"Authorization": "Bearer forged"}'
    tested = enroll(sim, "--test")
    assert tested.returncode == 1
    assert "test dispatch FAILED, intake answered 401" in tested.stdout


@pytest.mark.parametrize(
    ("args", "apify_token", "message"),
    [
        (["--intake-url", "http://127.0.0.1:9/", "--actor", "SimActor00000001"], "", "APIFY_TOKEN is not set"),
        (
            ["--intake-url", "http://127.0.0.1:9/", "--actor", "NoSuchActor00001"],
            None,
            "unknown Actor NoSuchActor00001",
        ),
        (["--stack-name", "no-such-stack", "--actor", "SimActor00000001"], None, "stack no-such-stack"),
        (["--intake-url", "http://127.0.0.1:9/"], None, "name at least one --actor or --task"),
    ],
    ids=["no-apify-token", "unknown-actor", "missing-stack", "nothing-named"],
)
def test_clear_one_line_errors(sim, moto_endpoint, args, apify_token, message):
    result = enroll(sim, *args, apify_token=apify_token)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_run_of_an_enrolled_actor_is_announced_through_its_webhook_alone(
    sim, front, load_app, base_env, receiver, aws_session, resources
):
    """Nobody enqueues it: Apify's webhook reaches the intake, the watcher announces it, once,
    although the simulator delivers each event twice."""
    from conftest import SLACK_PATH, event_source

    assert enroll(sim, "--intake-url", front.base_url + "/", "--actor", "SimActor00000001").returncode == 0
    sim.webhooks.duplicate_rate = 1.0
    sim.add_run("RunByWebhook0001", 0.5, settle_secs=0)
    watcher = load_app({**base_env, "SETTLE_SECONDS": "0"})
    source = event_source(watcher, aws_session, resources)
    assert source.run_until(lambda: len(receiver.received(SLACK_PATH)) >= 1, 30)
    deliveries = [d for d in sim.webhooks.dispatches if d["eventData"].get("actorRunId") == "RunByWebhook0001"]
    assert {d["eventType"] for d in deliveries} >= {"ACTOR.RUN.CREATED", "ACTOR.RUN.SUCCEEDED"}
    assert all(d["status"] == "SUCCEEDED" for d in deliveries)
    source.run_until(lambda: False, 3)  # the duplicates' messages are handled too
    assert len(receiver.received(SLACK_PATH)) == 1


def test_with_push_on_an_enrolled_actors_run_needs_no_ad_hoc_webhook(
    sim, front, load_app, base_env, receiver, aws_session, resources
):
    """make enroll's webhook says X-Run-Notifier-Push: actor: the watcher backs off to the safety net at once."""
    from conftest import SLACK_PATH, event_source
    from run_notifier.adapters.dynamodb import RunsTable

    assert enroll(sim, "--intake-url", front.base_url + "/", "--actor", "SimActor00000001").returncode == 0
    sim.add_run("RunByWebhook0002", 3, settle_secs=0)
    env = {**base_env, "SETTLE_SECONDS": "0", "INTAKE_URL": front.base_url + "/", "INTAKE_TOKEN": INTAKE_TOKEN}
    source = event_source(load_app(env), aws_session, resources)
    assert source.run_until(lambda: len(receiver.received(SLACK_PATH)) >= 1, 30)
    assert sim.webhook_creates == [201]  # make enroll's own; none for the run
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunByWebhook0002")
    assert item["push"]["mode"] == "actor"
