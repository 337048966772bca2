"""The Teams card and the Discord embed: valid for their hosts, and a run's text can neither ping
anyone nor inject Markdown or links."""

from __future__ import annotations

import json

import pytest
from conftest import require_shared_reference
from run_notifier.destinations import discord, teams
from run_notifier.domain.run_summary import RunSummary

HOSTILE = "<!channel> @everyone @here <@U0123> [click me](https://evil.example) **loud** `code`\n# heading\n- item"


def _summary(status: str = "FAILED", message: str | None = HOSTILE) -> RunSummary:
    return RunSummary(
        run_id="RunHostile000001",
        status=status,
        act_id="SimActor00000001",
        actor_name="janedoe/[evil](https://x.example)",
        status_message=message,
        exit_code=1,
        usage_total_usd=0.0123,
        started_at="2026-12-01T10:00:00.000Z",
        finished_at="2026-12-01T10:02:05.000Z",
        default_dataset_id="DatasetSim000001",
    )


def _card_schema():
    reference = require_shared_reference() / "adaptive-cards" / "adaptive-card-1.4.json"
    if not reference.is_file():
        pytest.skip(f"{reference} is absent; the card is checked against Adaptive Cards' own 1.4 schema")
    return json.loads(reference.read_text())


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED", "WATCH_EXPIRED", "NOT_FOUND"])
def test_the_teams_card_validates_against_the_adaptive_card_1_4_schema(status):
    import jsonschema

    message = teams.message(_summary(status))
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["version"] == "1.4"
    jsonschema.Draft6Validator(_card_schema()).validate(card)


def test_a_card_with_no_dataset_and_no_message_is_valid_too():
    import jsonschema

    summary = _summary(message=None)._replace(default_dataset_id=None, act_id=None, actor_name=None)
    card = teams.card(summary)
    jsonschema.Draft6Validator(_card_schema()).validate(card)
    assert [a["url"] for a in card["actions"]] == ["https://console.apify.com/actors/runs/RunHostile000001"]


def _texts(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if isinstance(node, dict):
        return [t for key, value in node.items() if key not in ("url",) for t in _texts(value)]
    return []


def test_the_teams_card_escapes_the_runs_markdown_and_mentions_nobody():
    card = teams.card(_summary())
    text = "\n".join(_texts(card["body"]))
    assert "[click me](" not in text
    assert "\\[click me\\](" in text
    assert "**loud**" not in text
    assert "\\*\\*loud\\*\\*" in text
    assert "<at>" not in text
    assert "\\<\\!channel\\>" not in text
    assert "\\<!channel\\>" in text
    assert "\\# heading" in text
    assert "\\- item" in text
    assert "msteams" not in json.dumps(card)  # no entities: nothing in a card can mention anyone
    assert "[evil](" not in text
    assert {a["url"] for a in card["actions"]} <= {
        "https://console.apify.com/actors/SimActor00000001/runs/RunHostile000001",
        "https://console.apify.com/storage/datasets/DatasetSim000001",
        "https://api.apify.com/v2/datasets/DatasetSim000001/items?format=json",
    }


def test_the_discord_embed_cannot_ping_and_escapes_the_runs_markdown():
    message = discord.message(_summary())
    assert message["allowed_mentions"] == {"parse": []}
    assert "content" not in message
    [embed] = message["embeds"]
    text = "\n".join(_texts(embed))
    assert "@everyone" not in text
    assert "@here" not in text
    assert "@\u200beveryone" in text
    assert "[click me](" not in text
    assert "\\*\\*loud\\*\\*" in text
    assert "[evil](" not in text
    assert embed["color"] == discord.COLOURS["FAILED"]
    assert embed["timestamp"] == "2026-12-01T10:02:05.000Z"
    assert embed["url"] == "https://console.apify.com/actors/SimActor00000001/runs/RunHostile000001"
    assert {f["name"] for f in embed["fields"]} >= {"Status", "Actor", "Run ID", "Exit code", "Cost", "Duration"}


def test_the_discord_embed_stays_inside_discords_limits_for_any_status_message():
    [embed] = discord.message(_summary(message="*" * 10_000))["embeds"]
    assert len(embed["description"]) <= discord.MAX_DESCRIPTION
    assert all(len(f["value"]) <= discord.MAX_FIELD_VALUE for f in embed["fields"])
    assert len(embed["fields"]) <= discord.MAX_FIELDS


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://discord.com/api/webhooks/1/tok", "https://discord.com/api/webhooks/1/tok?wait=true"),
        (
            "https://discord.com/api/webhooks/1/tok?thread_id=9",
            "https://discord.com/api/webhooks/1/tok?thread_id=9&wait=true",
        ),
        ("https://discord.com/api/webhooks/1/tok?wait=false", "https://discord.com/api/webhooks/1/tok?wait=true"),
    ],
)
def test_discord_posts_wait_for_the_message(url, expected):
    assert discord.waiting_url(url) == expected
