"""Quiet hours end to end: chat held in the window, one summary when it ends (whoever comes back
first posts it, exactly once), the webhook and PagerDuty not held."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
from conftest import HOOK_PATH, context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_by_day import LedgerByDay
from run_notifier.config import load_settings
from run_notifier.domain.quiet_hours import parse_quiet_hours
from run_notifier.sqs_handler import make_handler
from run_notifier.wiring import build_components

BOT_TOKEN = "-".join(("xoxb", "local", "test", "quietbotpart"))
ZONE = "Europe/Prague"


def _quiet_hours_around_now() -> dict:
    """A window from half an hour ago to half an hour from now, in Prague's time (midnight or not)."""
    local = datetime.now(ZoneInfo(ZONE))
    return {
        "from": (local - timedelta(minutes=30)).strftime("%H:%M"),
        "to": (local + timedelta(minutes=30)).strftime("%H:%M"),
        "timezone": ZONE,
    }


def _app(env: dict[str, str], now):
    components = build_components(load_settings(env), boto3.session.Session(region_name="us-east-1"), now=now)
    return make_handler(components)


def test_chat_is_held_in_the_window_and_summarised_once_when_it_ends(
    all_destinations_env, sim, receiver, aws_session, resources
):
    quiet = _quiet_hours_around_now()
    route = {"match": {"actId": ["SimActor00000001"]}, "quietHours": quiet, "slack": {"channel": "C0QUIET"}}
    receiver.slack_tokens = {BOT_TOKEN}
    env = {
        **{k: v for k, v in all_destinations_env.items() if k != "SLACK_WEBHOOK_URL"},
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_BASE_URL": receiver.base_url + "/api",
        "PAGERDUTY_ROUTING_KEY": "Q" * 32,
        "PAGERDUTY_EVENTS_URL": receiver.base_url + "/v2/enqueue",
        "ROUTES_JSON": json.dumps({"routes": [route]}),
    }
    ids = [f"RunQuiet0000000{i}" for i in range(3)]
    for run_id in ids:
        sim.add_run(run_id, 0.0, final_status="FAILED", exit_code=1, settle_secs=0)

    in_the_window = _app(env, lambda: datetime.now(UTC))
    assert in_the_window(sqs_event(ids), context(30)) == {"batchItemFailures": []}  # held: back later
    assert receiver.received("/api/chat.postMessage") == []
    assert len(receiver.received(HOOK_PATH)) == 3  # the webhook is not chat
    assert len(receiver.received("/v2/enqueue", ok_only=True)) == 3  # paging is not held by default

    window = parse_quiet_hours(quiet, "q").window_of(datetime.now(UTC))
    assert window is not None
    after = window.end + timedelta(seconds=5)
    apps = [_app(env, lambda: after) for _ in range(2)]  # two containers, every run twice
    for app in apps:
        for run_id in ids:
            assert app(sqs_event([run_id, run_id]), context(30)) == {"batchItemFailures": []}

    [summary] = [json.loads(m.body) for m in receiver.received("/api/chat.postMessage", ok_only=True)]
    assert summary["text"].startswith("*Quiet hours ended")
    assert "3 alert(s) held" in summary["text"]
    assert all(run_id in summary["text"] for run_id in ids)
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    details = sorted(table.get(run_id)["slackNotification"]["detail"] for run_id in ids)
    assert sum(d.startswith("posted the quiet-hours summary") for d in details) == 1
    assert sum(d.startswith("in the quiet-hours summary") for d in details) == 2
    # the digests' ledger by day counts them as held, once each however often they came back
    now = datetime.now(UTC)
    runs, marks = LedgerByDay(table).read(now - timedelta(days=1), now + timedelta(days=1))
    assert sorted(run.run_id for run in runs) == ids
    assert [(m.status, m.key) for m in marks] == [("HELD-QUIET", "actor:SimActor00000001")] * 3


TEAMS_PATH = "/teams/workflows/quiet/triggers/manual/paths/invoke?sig=teamsquietpart"
DISCORD_PATH = "/discord/api/webhooks/2200/discordquietpart"


def test_teams_and_discord_are_held_too_and_summarised_once_each(base_env, sim, receiver, aws_session, resources):
    quiet = _quiet_hours_around_now()
    route = {"match": {"actId": ["SimActor00000001"]}, "quietHours": quiet, "slack": False}
    env = {
        **{k: v for k, v in base_env.items() if k != "SLACK_WEBHOOK_URL"},
        "SETTLE_SECONDS": "0",
        "TEAMS_WEBHOOK_URL": receiver.base_url + TEAMS_PATH,
        "DISCORD_WEBHOOK_URL": receiver.base_url + DISCORD_PATH,
        "ROUTES_JSON": json.dumps({"routes": [route]}),
    }
    ids = [f"RunQuietChat000{i}" for i in range(2)]
    for run_id in ids:
        sim.add_run(run_id, 0.0, final_status="FAILED", exit_code=1, settle_secs=0)
    assert _app(env, lambda: datetime.now(UTC))(sqs_event(ids), context(30)) == {"batchItemFailures": []}
    assert receiver.received(TEAMS_PATH) == []
    assert receiver.received(DISCORD_PATH + "?wait=true") == []

    window = parse_quiet_hours(quiet, "q").window_of(datetime.now(UTC))
    assert window is not None
    after = _app(env, lambda: window.end + timedelta(seconds=5))
    for run_id in ids:
        assert after(sqs_event([run_id]), context(30)) == {"batchItemFailures": []}
    [card] = [m.json()["attachments"][0]["content"] for m in receiver.received(TEAMS_PATH, ok_only=True)]
    assert card["body"][0]["text"].startswith("Quiet hours ended")
    assert all(any(run_id in block["text"] for block in card["body"]) for run_id in ids)
    [embed] = [m.json()["embeds"][0] for m in receiver.received(DISCORD_PATH + "?wait=true", ok_only=True)]
    # Discord's text is escaped (a backslash before each Markdown character), shown without them
    assert "2 alert(s) held" in embed["title"].replace("\\", "")
    assert all(run_id in embed["description"] for run_id in ids)
