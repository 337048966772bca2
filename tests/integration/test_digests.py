"""The hourly digest function on a real table (moto), a Slack bot (the local receiver) and EventBridge:
the weekly digest at 09:00 Europe/Prague is posted once, in the right hour across the DST change, with
totals equal to the sums of the items; an empty week posts nothing; duplicate scheduled events post
once; budget thresholds fire once each."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from conftest import context, events_on, load_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.incident_store import DynamoIncidents
from run_notifier.adapters.run_ledger import DynamoRunLedger
from run_notifier.config import load_digest_settings
from run_notifier.domain.health import Health
from run_notifier.domain.incidents import FinishedRun, IncidentRule, Transition, incident_key
from run_notifier.domain.mutes import Mute
from run_notifier.domain.run_summary import RunSummary
from run_notifier.schedule_handler import make_digest_handler
from run_notifier.wiring import build_fleet_reporter

from tests.integration.ledger_totals import table_totals

BOT_TOKEN = "-".join(("xoxb", "local", "digest", "botpart"))
CHANNEL = "C0DIGEST"
#: The week of 2026-03-23 in Prague, which ends on the night summer time begins (29 March).
WEEK_START = datetime(2026, 3, 22, 23, tzinfo=UTC)
WEEK_END = datetime(2026, 3, 29, 22, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seed(table: RunsTable) -> dict[str, int]:
    """A week of runs of three Actors (one through a task): hidden and unsettled costs, WARN runs,
    failures, a muted run; and runs just outside the week on both sides. scraper-b's runs go through its
    route's incidents as the watcher applies them (the store's own transitions and events): returns the
    incidents opened in the week and open at the end, as the store says."""
    incidents = DynamoIncidents(table)
    key = incident_key(0, "ActB0000000000002", None)
    opened = 0
    ledger = DynamoRunLedger(table, ttl_days=0)
    moments = [WEEK_START + timedelta(hours=5 * i + 1) for i in range(33)]  # inside the week
    moments += [WEEK_START - timedelta(days=8), WEEK_END + timedelta(hours=1)]  # outside it (W11 and W14)
    for i, finished in enumerate(moments):
        status = ("SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "TIMED-OUT")[i % 5]
        summary = RunSummary(
            run_id=f"RunDig{i:010d}",
            status=status,
            act_id=("ActA0000000000001", "ActB0000000000002", "ActC0000000000003")[i % 3],
            actor_task_id="TaskC000000000003" if i % 3 == 2 else None,
            actor_name=("scraper-a", "scraper-b", "loader-c")[i % 3],
            usage_total_usd=None if i % 7 == 0 else round(0.05 * (i + 1), 4),
            started_at=_iso(finished - timedelta(minutes=10 + i)),
            finished_at=_iso(finished),
            item_count=100 * i if status == "SUCCEEDED" else None,
            health=Health("WARN" if i % 6 == 0 else "OK", ()) if status == "SUCCEEDED" else None,
        )
        muted = Mute("actor:ActA0000000000001", _iso(finished + timedelta(hours=1)), "maintenance") if i == 3 else None
        ledger.record(summary, now=finished, attempts=1, first_seen_at=None, costs_settled=i % 4 != 3, muted_by=muted)
        if summary.act_id == "ActB0000000000002":
            run = FinishedRun(summary.run_id, status, summary.finished_at or "")
            transition, _, pending = incidents.apply(key, run, IncidentRule(), route_index=0, summary=summary)
            opened += transition is Transition.OPENED and WEEK_START <= finished < WEEK_END
            for event in pending:
                incidents.prepare(event)
                incidents.done(key, event.event_id)
    still_open = int(bool(((table.get(key) or {}).get("incident") or {}).get("open")))
    return {"opened": opened, "open": still_open}


@pytest.fixture
def digest_app(resources, receiver, event_bus, aws_session):
    receiver.slack_tokens = {BOT_TOKEN}
    bus, events_queue = event_bus
    routes = {
        "routes": [
            {"match": {"actId": ["ActB0000000000002"]}, "incident": {"after": 1}, "slack": {"channel": CHANNEL}}
        ],
        "digests": [
            {"name": "weekly", "channel": CHANNEL, "every": "week", "at": "09:00", "timezone": "Europe/Prague"}
        ],
        "budgets": [{"name": "account", "monthlyUsd": 10, "channel": CHANNEL, "timezone": "Europe/Prague"}],
    }
    settings = load_digest_settings(
        {
            "RUNS_TABLE_NAME": resources.table_name,
            "ROUTES_JSON": json.dumps(routes),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_BASE_URL": receiver.base_url + "/api",
            "EVENT_BUS_NAME": bus,
        }
    )
    handler = make_digest_handler(build_fleet_reporter(settings, boto3.session.Session(region_name="us-east-1")))
    seeded = _seed(RunsTable(aws_session.client("dynamodb"), resources.table_name))

    def invoke(at: str) -> dict:
        event = copy.deepcopy(load_event("schedule_digest.json"))
        event["time"] = at
        return handler(event, context(120))

    return invoke, events_queue, seeded


def _posts(receiver, prefix: str) -> list[str]:
    return [str(m["text"]) for m in receiver.slack_messages.values() if str(m.get("text", "")).startswith(prefix)]


def test_the_weekly_digest_is_posted_once_in_its_hour_across_dst_with_the_ledgers_sums(
    digest_app, receiver, aws_session, resources
):
    invoke, events_queue, seeded = digest_app
    # 08:00 in Prague on Monday 30 March (summer time since Sunday): the week before is still the one due,
    # and it had no runs: nothing is posted.
    early = invoke("2026-03-30T06:00:00Z")
    assert list(early["empty"]) == ["digest#weekly#week:2026-W12"]
    assert _posts(receiver, ":bar_chart:") == []
    # 09:00 in Prague is 07:00 UTC now (it was 08:00 UTC a week ago): the week of 23 March is posted.
    due = invoke("2026-03-30T07:00:00Z")
    assert due["posted"][0] == "digest#weekly#week:2026-W13"
    # the same scheduled event again (the scheduler's retry), and the next hour: nothing more
    assert "digest#weekly#week:2026-W13" in invoke("2026-03-30T07:00:00Z")["already"]
    assert "digest#weekly#week:2026-W13" in invoke("2026-03-30T08:00:00Z")["already"]
    [post] = _posts(receiver, ":bar_chart:")
    expected = table_totals(aws_session, resources.table_name, WEEK_START, WEEK_END)
    assert (
        f"*{expected['runs']:,} runs* · {expected['failures']:,} failed · ${expected['settledUsd']:,.2f} settled"
        in post
    )
    assert f"({expected['costUnavailable']:,} runs: cost unavailable)" in post
    assert re.search(r"• \*scraper-a\* `[▁▂▃▄▅▆▇█]{7}`", post)
    assert "⚠" in post  # the WARN runs are counted on their Actor's line
    lines = {line.split("*")[1]: line for line in post.splitlines() if line.startswith("• ")}
    assert seeded["opened"] >= 1
    assert seeded["open"] == 1  # opened after the week by a run outside it: open when the digest is posted
    assert f"incidents: {seeded['opened']} opened, {seeded['open']} open" in lines["scraper-b"]
    assert "alerts held: 1 muted, 0 in quiet hours" in lines["scraper-a"]
    assert "incidents" not in lines["loader-c"]
    digests = [e for e in events_on(aws_session, events_queue, 3, timeout=8) if e["detail-type"] == "Apify Run Digest"]
    assert len(digests) == 1
    detail = digests[0]["detail"]
    assert {k: detail[k] for k in expected} == pytest.approx(expected)
    assert sum(line["runs"] for line in detail["lines"]) == expected["runs"]
    by_name = {line["name"]: line for line in detail["lines"]}
    assert (by_name["scraper-b"]["incidentsOpened"], by_name["scraper-b"]["incidentsOpen"]) == (
        seeded["opened"],
        seeded["open"],
    )
    assert by_name["scraper-a"]["alertsMuted"] == 1


def test_budget_thresholds_fire_once_each_and_only_the_highest_crossed_together_is_sent(digest_app, receiver):
    invoke, _, _ = digest_app
    # By 30 March the month's settled spend is far past the $10 budget: one alert (100 %), 50 and 80 fired with it.
    first = invoke("2026-03-30T07:00:00Z")
    assert [i for i in first["posted"] if i.startswith("budget#")] == ["budget#account#2026-03#100"]
    invoke("2026-03-30T08:00:00Z")
    budget_posts = _posts(receiver, ":rotating_light: Budget *account*")
    assert len(budget_posts) == 1
    assert "of $10.00 settled in 2026-03" in budget_posts[0]
    assert _posts(receiver, ":money_with_wings:") == []
