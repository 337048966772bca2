"""Teams and Discord through the real pipeline: exactly once, retried on 429/5xx, permanent on 4xx."""

from __future__ import annotations

import json

import pytest
from conftest import context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable

TEAMS_PATH = "/teams/workflows/abc/triggers/manual/paths/invoke?sig=teamssecretpart"
DISCORD_PATH = "/discord/api/webhooks/1100/discordsecretpart"


@pytest.fixture
def cards_env(base_env, receiver):
    return {
        **base_env,
        "SETTLE_SECONDS": "0",
        "SLACK_WEBHOOK_URL": "",
        "TEAMS_WEBHOOK_URL": receiver.base_url + TEAMS_PATH,
        "DISCORD_WEBHOOK_URL": receiver.base_url + DISCORD_PATH,
    }


def _discord(receiver, ok_only=False):
    return receiver.received(DISCORD_PATH + "?wait=true", ok_only=ok_only)


def test_teams_and_discord_each_get_one_message_per_run_whatever_the_duplicates(load_app, cards_env, sim, receiver):
    sim.add_run("RunCards00000001", 0.0, settle_secs=0, final_usd=0.5)
    body = json.dumps({"runId": "RunCards00000001"})
    app = load_app(cards_env)
    assert app.lambda_handler(sqs_event([body, body]), context(30)) == {"batchItemFailures": []}
    assert load_app(cards_env).lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}
    [card] = receiver.received(TEAMS_PATH, ok_only=True)
    assert card.status == 202
    assert card.json()["attachments"][0]["content"]["type"] == "AdaptiveCard"
    [post] = _discord(receiver, ok_only=True)
    assert post.json()["embeds"][0]["fields"][0] == {"name": "Status", "value": "SUCCEEDED", "inline": True}
    assert receiver.received("/services/T0SIM/B0SIM/slacksecretpart0123") == []  # Slack unset: not routed


def test_a_route_names_its_own_teams_and_discord_webhooks(load_app, cards_env, sim, receiver):
    routes = {
        "routes": [
            {
                "match": {"status": ["FAILED"]},
                "teams": {"webhookUrl": receiver.base_url + "/teams/oncall"},
                "discord": False,
            }
        ]
    }
    sim.add_run("RunCardsRoute001", 0.0, final_status="FAILED", exit_code=1, settle_secs=0)
    app = load_app({**cards_env, "ROUTES_JSON": json.dumps(routes)})
    assert app.lambda_handler(sqs_event(["RunCardsRoute001"]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received("/teams/oncall")) == 1
    assert receiver.received(TEAMS_PATH) == []
    assert _discord(receiver) == []


def test_discord_429_waits_its_json_retry_after_and_teams_503_is_retried(load_app, cards_env, sim, receiver):
    receiver.script(
        DISCORD_PATH + "?wait=true",
        (429, {"Content-Type": "application/json"}, json.dumps({"retry_after": 2.5, "global": False})),
    )
    receiver.script(TEAMS_PATH, (503, {}, "busy"), (502, {}, "still busy"))
    sim.add_run("RunCardsRetry001", 0.0, settle_secs=0)
    app = load_app(cards_env)
    assert app.lambda_handler(sqs_event(["RunCardsRetry001"]), context(30)) == {"batchItemFailures": []}
    first, second = _discord(receiver)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 2.5  # the answer's retry_after (the default backoff waits at most 1 s)
    assert [m.status for m in receiver.received(TEAMS_PATH)] == [503, 502, 202]


def test_a_4xx_is_permanent_recorded_and_counted_for_the_alarm(
    load_app, cards_env, sim, receiver, aws_session, resources, capsys
):
    receiver.script(TEAMS_PATH, (400, {}, "Bad Request: the flow's trigger schema refused the body"))
    receiver.script(DISCORD_PATH + "?wait=true", (404, {}, json.dumps({"code": 10015, "message": "Unknown Webhook"})))
    sim.add_run("RunCardsGone0001", 0.0, settle_secs=0)
    app = load_app(cards_env)
    capsys.readouterr()
    assert app.lambda_handler(sqs_event(["RunCardsGone0001"]), context(30)) == {"batchItemFailures": []}
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunCardsGone0001")
    assert item["teamsNotification"]["state"] == "FAILED"
    assert item["discordNotification"]["state"] == "FAILED"
    assert "HTTP 404" in item["discordNotification"]["error"]
    assert "Unknown Webhook" in item["discordNotification"]["error"]
    assert "discordsecretpart" not in json.dumps(item, default=str)
    assert "teamssecretpart" not in json.dumps(item, default=str)
    emitted = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    counts = [e["NotificationsFailedPermanently"] for e in emitted if "NotificationsFailedPermanently" in e]
    assert sum(v if isinstance(v, float | int) else sum(v) for v in counts) == 2
    assert len(receiver.received(TEAMS_PATH)) == 1
    assert len(_discord(receiver)) == 1
