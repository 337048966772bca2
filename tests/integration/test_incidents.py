"""Incident mode through the real handler, moto and the receiver: per-run events unchanged, and one
`opened` and one `resolved` per incident on the webhook and EventBridge, under duplicates and a
fresh container."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from conftest import HOOK_PATH, SLACK_PATH, WEBHOOK_SECRET, context, events_on, sqs_event
from standardwebhooks import Webhook

ACTOR = "SimActor00000001"


@pytest.fixture
def incident_env(all_destinations_env):
    """Every destination, and one route in incident mode for the simulator's Actor: env(after)."""

    def env(after: int) -> dict[str, str]:
        routes = {"routes": [{"match": {"actId": [ACTOR]}, "incident": {"after": after}}]}
        return {**all_destinations_env, "ROUTES_JSON": json.dumps(routes)}

    return env


def _runs(sim, statuses: list[str], prefix: str) -> list[str]:
    ids = []
    for index, status in enumerate(statuses):
        run_id = f"{prefix}{index:05d}"
        sim.add_run(run_id, 0.0, final_status=status, exit_code=0 if status == "SUCCEEDED" else 1, settle_secs=0)
        ids.append(run_id)
        time.sleep(0.01)  # finished in this order
    return ids


def _deliver(app, ids: list[str]) -> None:
    for run_id in ids:
        body = json.dumps({"runId": run_id})
        assert app.lambda_handler(sqs_event([body, body]), context(30)) == {"batchItemFailures": []}


def test_failures_then_a_success_open_one_incident_and_resolve_it_once_everywhere(
    load_app, incident_env, sim, receiver, aws_session, event_bus
):
    env = incident_env(2)
    ids = _runs(sim, ["FAILED", "FAILED", "TIMED-OUT", "SUCCEEDED"], "RunIncident")
    _deliver(load_app(env), ids)
    _deliver(load_app(env), ids)  # every run again, in a fresh container: nothing new

    hooks = receiver.received(HOOK_PATH)
    bodies = [json.loads(m.body) for m in hooks]
    assert Counter(b["type"] for b in bodies) == {
        "apify.run.finished": 4,
        "apify.incident.opened": 1,
        "apify.incident.resolved": 1,
    }
    opened = next(b["data"] for b in bodies if b["type"] == "apify.incident.opened")
    resolved = next(b["data"] for b in bodies if b["type"] == "apify.incident.resolved")
    assert (opened["state"], opened["failedRuns"], opened["firstRunId"], opened["lastRunId"]) == (
        "OPEN",
        2,
        ids[0],
        ids[1],
    )
    # routing.md: lastRunId is the run that made the transition; in `resolved`, the recovering run, not the last failure
    assert (resolved["state"], resolved["failedRuns"], resolved["lastRunId"]) == ("RESOLVED", 3, ids[3])
    assert resolved["lastRunId"] != ids[2]
    assert opened["incidentId"] == resolved["incidentId"] == f"incident#0#actor:{ACTOR}#{ids[0]}"
    assert resolved["resolvedAt"]
    assert opened["openedAt"] == resolved["openedAt"]
    for message in hooks:  # signed as runs are; an incident's webhook-id is its transition's notificationId
        payload = Webhook(WEBHOOK_SECRET).verify(message.body, dict(message.headers))
        if payload["type"].startswith("apify.incident."):
            assert message.headers["webhook-id"] == payload["data"]["notificationId"]

    events = events_on(aws_session, event_bus[1], expected=6)
    events += events_on(aws_session, event_bus[1], expected=0, timeout=1.0)
    assert Counter(e["detail-type"] for e in events) == {
        "Apify Run Finished": 4,
        "Apify Incident Opened": 1,
        "Apify Incident Resolved": 1,
    }
    # An incoming webhook cannot thread or edit: one message when the incident opens, one at the recovery.
    slack = [json.loads(m.body)["text"] for m in receiver.received(SLACK_PATH)]
    assert len(slack) == 2
    assert slack[0].startswith(":red_circle: Failing:")
    assert slack[1].startswith(":white_check_mark: Recovered:")


def test_with_after_three_two_failures_and_a_success_open_nothing(load_app, incident_env, sim, receiver):
    env = incident_env(3)
    _deliver(load_app(env), _runs(sim, ["FAILED", "FAILED", "SUCCEEDED"], "RunNoIncident"))
    types = Counter(json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH))
    assert types == {"apify.run.finished": 3}
