"""Text that Apify runs really carry reaches every destination once, through the real pipeline.

A Node Actor's `setStatusMessage('\\ud800')` (a lone surrogate: not encodable as UTF-8), control
characters, and a 100 KB Actor display name: each run is recorded and announced exactly once to
Slack, the signed webhook, EventBridge, Teams, Discord and PagerDuty, each of which the local
receiver holds to its service's limits.
"""

from __future__ import annotations

import json

from conftest import HOOK_PATH, SLACK_PATH, WEBHOOK_SECRET, context, events_on, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from standardwebhooks import Webhook

TEAMS = "/teams/hostile"
DISCORD = "/discord/hostile?wait=true"
PAGERDUTY = "/pagerduty/v2/enqueue"
LONG_NAME = "scraper-" + "x" * 100_000


def _env(all_destinations_env, receiver):
    return {
        **all_destinations_env,
        "TEAMS_WEBHOOK_URL": receiver.base_url + TEAMS.split("?")[0],
        "DISCORD_WEBHOOK_URL": receiver.base_url + DISCORD.split("?")[0],
        "PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0000000000000000000001",
        "PAGERDUTY_EVENTS_URL": receiver.base_url + PAGERDUTY,
    }


def test_a_lone_surrogate_control_characters_and_a_100_kb_actor_name_are_announced_once_everywhere(
    load_app, all_destinations_env, sim, receiver, aws_session, event_bus, resources
):
    sim.add_actor("ActHostile000001", "nodejs-dev", LONG_NAME)
    sim.add_run(
        "RunSurrogate0001",
        0.0,
        settle_secs=0,
        act_id="ActHostile000001",
        final_status="FAILED",
        exit_code=1,
        status_message="Crashed at \ud800 with \x00\x1b[31m colours\x07 " + "&<>" * 700,
    )
    app = load_app(_env(all_destinations_env, receiver))
    assert app.lambda_handler(sqs_event(["RunSurrogate0001"]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event(["RunSurrogate0001"]), context(30)) == {"batchItemFailures": []}

    for path in (SLACK_PATH, HOOK_PATH, TEAMS, DISCORD, PAGERDUTY):
        accepted = receiver.received(path, ok_only=True)
        assert len(accepted) == 1, (path, [m.status for m in receiver.received(path)])
        assert "\\ud800" not in accepted[0].body.decode()  # JSON's escape of a lone surrogate
    data = Webhook(WEBHOOK_SECRET).verify(receiver.received(HOOK_PATH)[0].body, receiver.received(HOOK_PATH)[0].headers)
    assert "\ufffd" in data["data"]["statusMessage"]
    assert len(events_on(aws_session, event_bus[1], expected=1)) == 1
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunSurrogate0001") or {}
    assert item["status"] == "FAILED"
    assert {item[f"{k}Notification"]["state"] for k in ("slack", "webhook", "eventbridge", "teams", "discord")} == {
        "SENT"
    }
    slack = json.loads(receiver.received(SLACK_PATH)[0].body)
    assert len(json.dumps(slack)) < 40_000
