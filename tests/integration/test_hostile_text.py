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


def _template_env(all_destinations_env, receiver, template):
    routes = {"routes": [{"match": {}, "slack": {"webhookUrl": receiver.base_url + SLACK_PATH, "template": template}}]}
    return {**all_destinations_env, "ROUTES_JSON": json.dumps(routes)}


HEADER_TEMPLATE = {
    "text": "{{status}}: {{actorName}}",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "{{statusMessage}}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*{{actorName}}*: {{statusMessage}}"}},
    ],
}


def test_a_200_character_status_message_in_a_header_template_and_a_section_of_ampersands_are_posted_once(
    load_app, all_destinations_env, sim, receiver
):
    """Slack (the receiver) refuses a header over 150 characters and a section over 3,000 with `invalid_blocks`:
    the message is bounded after escaping, so the route's own message goes out, once."""
    sim.add_run("RunLongHeader001", 0.0, settle_secs=0, final_status="FAILED", status_message="Timeout " * 25)
    sim.add_run("RunAmpersands001", 0.0, settle_secs=0, final_status="FAILED", status_message="&" * 2000)
    app = load_app(_template_env(all_destinations_env, receiver, HEADER_TEMPLATE))
    assert app.lambda_handler(sqs_event(["RunLongHeader001", "RunAmpersands001"]), context(30)) == {
        "batchItemFailures": []
    }
    posted = receiver.received(SLACK_PATH)
    assert [m.status for m in posted] == [200, 200]
    assert len(receiver.received(HOOK_PATH, ok_only=True)) == 2  # every other destination once each too
    for message in (json.loads(m.body) for m in posted):
        header, section = message["blocks"]
        assert len(header["text"]["text"]) <= 150
        assert len(section["text"]["text"]) <= 3000
        assert not section["text"]["text"].rstrip("…").endswith(("&", "&a", "&am", "&amp"))  # no entity cut in two


def test_a_template_slack_refuses_anyway_falls_back_to_the_standard_message_once(
    load_app, all_destinations_env, sim, receiver, aws_session, resources
):
    sim.add_run("RunRefusedTmpl01", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    receiver.script(SLACK_PATH, (400, {}, "invalid_blocks"))
    app = load_app(_template_env(all_destinations_env, receiver, HEADER_TEMPLATE))
    assert app.lambda_handler(sqs_event(["RunRefusedTmpl01"]), context(30)) == {"batchItemFailures": []}
    refused, standard = receiver.received(SLACK_PATH)
    assert refused.status == 400
    assert standard.status == 200
    assert "*Run ID*\n`RunRefusedTmpl01`" in standard.body.decode().replace("\\n", "\n")  # the standard fields
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunRefusedTmpl01") or {}
    assert item["slackNotification"]["state"] == "SENT"
