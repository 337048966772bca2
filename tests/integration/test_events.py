"""The sample events shipped in events/ (for `sam local invoke`) run through the handler."""

from __future__ import annotations

import json

import pytest
from conftest import SLACK_PATH, context, load_event

RUNS = ["EvRunId0000000001", "EvWebhook00000001", "EvBare00000000001", "EvRequeued0000001"]


@pytest.fixture
def app_with_runs(load_app, base_env, sim):
    for run_id in RUNS:
        sim.add_run(run_id, 0.0, settle_secs=0, act_id="EvActor0000000001")
    return load_app({**base_env, "SETTLE_SECONDS": "0"})


@pytest.mark.parametrize(
    ("name", "run_id"),
    [
        ("sqs_run_id.json", RUNS[0]),
        ("sqs_apify_webhook.json", RUNS[1]),
        ("sqs_bare_run_id.json", RUNS[2]),
        ("sqs_requeued.json", RUNS[3]),
    ],
)
def test_each_body_shape(app_with_runs, sim, receiver, name, run_id):
    assert app_with_runs.lambda_handler(load_event(name), context(30)) == {"batchItemFailures": []}
    [post] = receiver.received(SLACK_PATH)
    assert run_id in json.dumps(post.json())
    assert [r.path for r in sim.requests if "actor-runs" in r.path] == [f"/v2/actor-runs/{run_id}"]


def test_mixed_batch_fails_only_the_bad_records(app_with_runs, receiver):
    event = load_event("sqs_mixed_batch.json")
    result = app_with_runs.lambda_handler(event, context(30))
    bad = {r["messageId"] for r in event["Records"][4:]}
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == bad
    posted = " ".join(m.body.decode() for m in receiver.received(SLACK_PATH))
    assert all(run_id in posted for run_id in RUNS)


def test_a_missed_schedule_body_is_announced_once(app_with_runs, sim, receiver):
    """The sweep's missed-slot message (events/sqs_missed_schedule.json): a chat summary, no Apify run read."""
    for _ in range(2):  # a repeat says nothing twice
        assert app_with_runs.lambda_handler(load_event("sqs_missed_schedule.json"), context(30)) == {
            "batchItemFailures": []
        }
    [post] = receiver.received(SLACK_PATH)
    assert post.json()["text"].startswith("*⏰ Schedule did not run: nightly-catalog*")
    assert "did not fire at 2026-11-30T02:00:00.000Z (0 2 * * *, Europe/Prague)" in post.json()["text"]
    assert [r.path for r in sim.requests if "actor-runs" in r.path] == []
