"""One-off mutes, end to end: set through the intake (`POST /mutes`) or `python -m scripts.mute`,
kept in the runs table, obeyed by the watcher (chat silent, the run recorded with `mutedBy`,
the webhook, EventBridge and PagerDuty still told)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from conftest import HOOK_PATH, INTAKE_TOKEN, SLACK_PATH, context, events_on, run_script, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.mute_store import DynamoMutes
from run_notifier.domain.mutes import Mute
from run_notifier.domain.run_summary import RunSummary

from localdev.aws import aws_env
from tests.integration.test_intake import url_event

ACTOR_NAME = "janedoe~web-scraper"  # the simulator's SimActor00000001, as Apify's API spells it


def _mute(intake, body: dict, token: str | None = INTAKE_TOKEN) -> tuple[int, dict]:
    return intake(url_event("/mutes", json.dumps(body), token=token))


def test_a_mute_silences_chat_and_nothing_else_and_its_end_brings_chat_back(
    load_app, all_destinations_env, intake, sim, receiver, aws_session, resources, event_bus
):
    env = {
        **all_destinations_env,
        "PAGERDUTY_ROUTING_KEY": "P" * 32,
        "PAGERDUTY_EVENTS_URL": receiver.base_url + "/v2/enqueue",
    }
    status, body = _mute(intake, {"actor": ACTOR_NAME, "for": "2h", "reason": "site redesign, fixing"})
    assert status == 201
    assert body["mute"]["subject"] == f"actor:{ACTOR_NAME}"
    sim.add_run("RunMuted00000001", 0.0, final_status="FAILED", exit_code=1, settle_secs=0)
    assert load_app(env).lambda_handler(sqs_event(["RunMuted00000001"]), context(30)) == {"batchItemFailures": []}

    assert receiver.received(SLACK_PATH) == []  # chat: silent
    assert [json.loads(m.body)["data"]["runId"] for m in receiver.received(HOOK_PATH)] == ["RunMuted00000001"]
    assert len(events_on(aws_session, event_bus[1], expected=1)) == 1
    assert len(receiver.received("/v2/enqueue", ok_only=True)) == 1  # paging is not chat
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunMuted00000001")
    assert item["status"] == "FAILED"
    assert item["mutedBy"] == {
        "subject": f"actor:{ACTOR_NAME}",
        "until": body["mute"]["until"],
        "reason": "site redesign, fixing",
    }
    assert "slackNotification" not in item

    assert _mute(intake, {"actor": ACTOR_NAME, "unmute": True}) == (200, {"unmuted": f"actor:{ACTOR_NAME}"})
    sim.add_run("RunUnmuted000001", 0.0, final_status="FAILED", exit_code=1, settle_secs=0)
    # A fresh container (a warm one reads the mutes at most 30 s late).
    assert load_app(env).lambda_handler(sqs_event(["RunUnmuted000001"]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received(SLACK_PATH)) == 1
    assert "mutedBy" not in RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunUnmuted000001")


def test_a_muted_task_in_incident_mode_opens_its_incident_without_a_word_in_slack(
    load_app, all_destinations_env, intake, sim, receiver
):
    routes = {"routes": [{"match": {"actId": ["SimActor00000001"]}, "incident": {"after": 1}}]}
    env = {**all_destinations_env, "ROUTES_JSON": json.dumps(routes)}
    assert _mute(intake, {"task": "TaskMuted0000001", "for": "30m"})[0] == 201
    sim.add_run("RunMutedTask0001", 0.0, final_status="FAILED", exit_code=1, settle_secs=0, task_id="TaskMuted0000001")
    assert load_app(env).lambda_handler(sqs_event(["RunMutedTask0001"]), context(30)) == {"batchItemFailures": []}
    types = [json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH)]
    assert sorted(types) == ["apify.incident.opened", "apify.run.finished"]
    assert receiver.received(SLACK_PATH) == []


@pytest.mark.parametrize(
    ("body", "token", "status", "error"),
    [
        ({"actor": ACTOR_NAME, "for": "2h"}, None, 401, "token-not-valid"),
        ({"actor": ACTOR_NAME, "for": "2h"}, "wrong", 401, "token-not-valid"),
        ({"actor": ACTOR_NAME}, INTAKE_TOKEN, 400, "invalid-input"),
        ({"actor": ACTOR_NAME, "task": "T", "for": "2h"}, INTAKE_TOKEN, 400, "invalid-input"),
        ({"actor": ACTOR_NAME, "for": "31d"}, INTAKE_TOKEN, 400, "invalid-input"),
        ({"actor": "../../etc", "for": "2h"}, INTAKE_TOKEN, 400, "invalid-input"),
        ({"actor": ACTOR_NAME, "for": "2h", "colour": "red"}, INTAKE_TOKEN, 400, "invalid-input"),
        ({"actor": ACTOR_NAME, "unmute": True}, INTAKE_TOKEN, 404, "record-not-found"),
        ({"actor": ACTOR_NAME + "\n", "for": "2h"}, INTAKE_TOKEN, 400, "invalid-input"),
    ],
    ids=[
        "no-token",
        "wrong-token",
        "no-duration",
        "two-subjects",
        "too-long",
        "not-an-id",
        "unknown-key",
        "no-mute",
        "trailing-newline",
    ],
)
def test_the_mutes_route_refuses_clearly_and_writes_nothing(intake, aws_session, resources, body, token, status, error):
    answer = _mute(intake, body, token)
    assert answer[0] == status
    assert answer[1]["error"]["type"] == error
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    assert list(table.scan_prefix("mute")) == []


def test_make_mute_sets_lists_and_lifts_a_mute(moto_endpoint, aws_session, resources):
    env = {**os.environ, **aws_env(moto_endpoint)}
    table = ["--table-name", resources.table_name]

    def mute(*args: str):
        return run_script("mute", [*table, *args], env)

    done = mute("--actor", ACTOR_NAME, "--for", "2h", "--reason", "known outage")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"muted actor:{ACTOR_NAME} until ")
    listed = mute("--list")
    assert f"actor:{ACTOR_NAME}" in listed.stdout
    assert "active" in listed.stdout
    assert "known outage" in listed.stdout
    assert mute("--unmute", "--actor", ACTOR_NAME).returncode == 0
    again = mute("--unmute", "--actor", ACTOR_NAME)
    assert again.returncode == 1
    assert "has no mute" in again.stderr
    bad = mute("--actor", ACTOR_NAME, "--for", "forever")
    assert bad.returncode == 2
    assert bad.stderr.startswith("mute: for must be a number and a unit")
    assert mute("--list").stdout.strip() == "no mutes"


def test_an_expired_mute_holds_nothing(load_app, all_destinations_env, aws_session, resources, sim, receiver):
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    DynamoMutes(table, lambda: datetime.now(UTC)).add(Mute(f"actor:{ACTOR_NAME}", "2026-01-01T00:00:00.000Z"))
    sim.add_run("RunAfterMute0001", 0.0, final_status="FAILED", exit_code=1, settle_secs=0)
    assert load_app(all_destinations_env).lambda_handler(sqs_event(["RunAfterMute0001"]), context(30)) == {
        "batchItemFailures": []
    }
    assert len(receiver.received(SLACK_PATH)) == 1


#: Past what one item held (about 700 mutes with a long reason in DynamoDB's 400 KB, 350 in moto's), in
#: a test's time; `MUTES_AT_SCALE=10000` runs the issue's figure (about 2 minutes on moto).
MUTES_AT_SCALE = int(os.environ.get("MUTES_AT_SCALE", "1000"))


def test_many_distinct_mutes_add_and_list_one_item_each(aws_session, resources):
    """One item per subject: the store grows with what users add, never into one item's 400 KB."""
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    mutes = DynamoMutes(table, lambda: datetime.now(UTC))
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    reason = "a long reason that a real operator would write about a known outage upstream " * 3
    for i in range(MUTES_AT_SCALE):
        mutes.add(Mute(f"task:Task{i:012d}", until, reason[:300]))
    listed = mutes.all()
    assert len(listed) == MUTES_AT_SCALE
    assert listed[0].subject == "task:Task000000000000"
    last = f"Task{MUTES_AT_SCALE - 1:012d}"
    assert mutes.muted(RunSummary("RunMuted00000001", "FAILED", actor_task_id=last)) is not None
    assert mutes.remove("task:Task000000000042")
    assert not mutes.remove("task:Task000000000042")


def test_a_mute_an_earlier_version_kept_in_one_item_still_holds_until_muted_again(aws_session, resources):
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    table.update(
        "mutes#all", "SET #m = :m", {"#m": "mutes"}, {":m": {f"actor:{ACTOR_NAME}": {"until": until, "reason": "old"}}}
    )
    run = RunSummary("RunLegacyMute001", "FAILED", act_id="ActLegacy0000001", actor_name=ACTOR_NAME.replace("~", "/"))
    assert DynamoMutes(table, lambda: datetime.now(UTC)).muted(run) is not None
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    DynamoMutes(table, lambda: datetime.now(UTC)).add(Mute(f"actor:{ACTOR_NAME}", later, "shorter now"))
    [only] = DynamoMutes(table, lambda: datetime.now(UTC)).all()
    assert (only.until, only.reason) == (later, "shorter now")  # the legacy entry is gone
    assert DynamoMutes(table, lambda: datetime.now(UTC)).remove(f"actor:{ACTOR_NAME}")
    assert DynamoMutes(table, lambda: datetime.now(UTC)).all() == []
