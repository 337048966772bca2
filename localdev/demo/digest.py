"""The demo's last act: the hourly digest function on the demo's ledger, as if it were tomorrow at
00:00 UTC (it decides from the scheduled event's `time`, so any hour can be replayed): a daily digest
of the demo's runs in Slack and EventBridge, and a budget the demo's runs overran."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from localdev.demo.scenario import BOT_TOKEN, DIGEST_CHANNEL

#: Small enough that the demo's few dozen runs overrun it.
DEMO_BUDGET_USD = 0.10


def digest_story(stack: Any, say: Callable[[str], None]) -> bool:
    """Run the digest function twice (now: the budget; tomorrow 00:00 UTC: today's digest); False when
    it did not post what the demo promises."""
    import boto3
    from run_notifier.config import load_digest_settings
    from run_notifier.domain.deadline import Deadline
    from run_notifier.wiring import build_fleet_reporter

    routes = {
        "routes": [],
        "digests": [{"name": "demo", "channel": DIGEST_CHANNEL, "every": "day", "at": "00:00", "timezone": "UTC"}],
        "budgets": [{"name": "demo", "monthlyUsd": DEMO_BUDGET_USD, "channel": DIGEST_CHANNEL}],
    }
    settings = load_digest_settings(
        {
            "RUNS_TABLE_NAME": stack.resources.table_name,
            "ROUTES_JSON": json.dumps(routes),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_BASE_URL": stack.receiver.base_url + "/api",
            "EVENT_BUS_NAME": stack.event_bus,
        }
    )
    reporter = build_fleet_reporter(settings, boto3.session.Session(region_name="us-east-1"))
    now = datetime.now(UTC)
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    say(
        "\nDigests and budgets (the hourly digest function, as scheduled for now and for "
        f"{tomorrow:%Y-%m-%d %H:%M} UTC):"
    )
    budget = reporter.run(now, Deadline.after(60))
    digest = reporter.run(tomorrow, Deadline.after(60))
    again = reporter.run(tomorrow, Deadline.after(60))  # the scheduler's retry of the same event
    posted = [m for (channel, _), m in stack.receiver.slack_messages.items() if channel == DIGEST_CHANNEL]
    digests = [m for m in posted if str(m.get("text", "")).startswith(":bar_chart:")]
    alerts = [m for m in posted if "Budget *demo*" in str(m.get("text", ""))]
    ok = (
        len(digests) == 1
        and len(alerts) == 1
        and any(i.startswith("digest#demo#") for i in digest.posted)
        and not again.posted
        and any(i.startswith("budget#demo#") for i in budget.posted)
    )
    say(
        f"Digest: {len(digests)} post in #{DIGEST_CHANNEL} for today and an `Apify Run Digest` event; the retry of "
        f"the same scheduled event posted {len(again.posted)} more. Budget ${DEMO_BUDGET_USD:.2f}: {len(alerts)} alert "
        "(of 50/80/100 % crossed at once, only the highest is posted)."
    )
    from scripts import report

    say("\n`make report SINCE=1d`, here on the demo's own table (a deployed stack's with STACK=...):")
    return report.main(["--table-name", stack.resources.table_name, "--since", "1d"]) == 0 and ok
