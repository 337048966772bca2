"""The demo's scenario: its runs, Actors, routes and secrets, and how they are put on the simulator."""

from __future__ import annotations

import json
from typing import Any

WEBHOOK_SECRET = "whsec_ZGVtby1zaWduaW5nLXNlY3JldC0wMTIzNDU2Nzg5"
SLACK_PATH = "/services/TDEMO/BDEMO/demo"
HOOK_PATH = "/hooks/apify"
#: Where the receiver plays a Teams Workflows webhook and a Discord webhook.
TEAMS_PATH = "/teams/workflows/demo/invoke"
DISCORD_PATH = "/discord/api/webhooks/1100/demo"

#: (run ID, seconds until it ends, final status, exit code, settled USD)
DEMO_RUNS = [
    ("DemoSucceeded0001", 6, "SUCCEEDED", 0, 0.0421),
    ("DemoFailed0000001", 4, "FAILED", 1, 0.0107),
    ("DemoTimedOut00001", 9, "TIMED-OUT", None, 0.2500),
    ("DemoAborted000001", 3, "ABORTED", None, 0.0033),
    ("DemoLongRun000001", 40, "SUCCEEDED", 0, 1.9370),
]
#: A run whose webhook dispatches are all lost: the safety net must find its end.
PUSH_LOST_RUN = ("DemoPushLost00001", 6, "SUCCEEDED", 0, 0.0150)
#: The safety-net period in the demo (900 s deployed): a lost webhook costs at most this much latency.
DEMO_SAFETY_NET_SECS = 15
UNKNOWN_RUN = "DemoUnknown000001"
#: Slack bot-token mode: this Actor's runs go to one channel with a live message that follows the
#: run, and a failed run gets its log's last lines in the thread.
LIVE_ACTOR = "DemoLiveActor0001"
LIVE_CHANNEL = "C0DEMOLIVE"
#: Where the demo's digest and budget alert are posted.
DIGEST_CHANNEL = "C0DIGEST"
SLACK_API_PATH = "/api"
#: A made-up bot token for the local receiver (built here so no token-shaped literal sits in the tree).
BOT_TOKEN = "-".join(("xoxb", "local", "demo", "not", "a", "real", "token"))
#: (run ID, seconds until it ends, final status, exit code, settled USD, last log lines)
LIVE_RUNS = [
    ("DemoLiveRun000001", 12, "SUCCEEDED", 0, 0.0815, []),
    (
        "DemoLiveFail00001",
        7,
        "FAILED",
        1,
        0.0102,
        [
            "INFO  PuppeteerCrawler: Crawled 118 pages.",
            "WARN  PuppeteerCrawler: Request failed: net::ERR_TIMED_OUT https://shop.example/p/119",
            "ERROR Error: Selector '.price' not found on https://shop.example/p/120",
            "    at extractPrice (/usr/src/app/src/routes.js:42:11)",
            "ACTOR: Exiting with exit code 1.",
        ],
    ),
]
#: A two-step pipeline: when the scraper succeeds, start the loader with the scraper's dataset.
PIPELINE_SCRAPER = "DemoShopScraper01"
PIPELINE_LOADER = "DemoSheetLoader01"
PIPELINE_RUN = "DemoPipeline00001"
FOLLOW_UP = {"actorId": "demo~sheet-loader", "input": {"datasetId": "{{defaultDatasetId}}", "sourceRunId": "{{runId}}"}}
LIVE_ROUTES: dict[str, Any] = {
    "routes": [
        {"match": {"actId": [LIVE_ACTOR]}, "slack": {"channel": LIVE_CHANNEL, "live": True, "mention": ["@here"]}},
        {"match": {"status": ["SUCCEEDED"], "actId": [PIPELINE_SCRAPER]}, "followUp": FOLLOW_UP},
    ]
}
#: Incidents: an Actor that fails three times and then recovers (one message with two thread replies
#: and one PagerDuty trigger; at the recovery one reply broadcast to the channel and one resolve), and
#: an outage that fails 20 Actors at once: five messages of their own, the other fifteen grouped.
INCIDENT_CHANNEL = "C0DEMOINCIDENTS"
FLAKY_ACTOR = "DemoFlakyActor001"
#: (run ID, seconds until it ends, final status)
FLAKY_RUNS = [
    ("DemoFlaky00000001", 4, "FAILED"),
    ("DemoFlaky00000002", 9, "FAILED"),
    ("DemoFlaky00000003", 14, "TIMED-OUT"),
    ("DemoFlaky00000004", 30, "SUCCEEDED"),
]
OUTAGE_ACTORS = [f"DemoOutageActor{i:02d}" for i in range(20)]
OUTAGE_RUNS = [(f"DemoOutageRun{i:04d}", 10, "FAILED") for i in range(20)]
PAGERDUTY_PATH = "/v2/enqueue"
#: A made-up PagerDuty routing key (PagerDuty's are 32 characters).
PAGERDUTY_KEY = "demo" * 8
INCIDENT_ROUTE = {
    "match": {"actId": [FLAKY_ACTOR, *OUTAGE_ACTORS]},
    "incident": {"after": 1},
    "slack": {"channel": INCIDENT_CHANNEL, "mention": ["@here"]},
}
#: Health checks (docs/health.md): an Actor with ten ordinary runs and then one at 8× their cost
#: (WARN, naming cost), one still going two hours after it started (a "still running" alert, then its
#: finish), and a scraper whose run SUCCEEDS with 0 items (WARN: its follow-up loader is not started).
COST_ACTOR = "DemoCostActor0001"
COST_HISTORY = [(f"DemoCostRun{i:06d}", 1 + i * 0.3, 1100 + 17 * i, round(0.20 + 0.004 * i, 4)) for i in range(10)]
COST_SPIKE = ("DemoCostSpike0001", 20, 1130, 1.62)
STUCK_RUN = ("DemoStuckRun00001", 40)
EMPTY_ACTOR = "DemoEmptyActor001"
EMPTY_RUN = "DemoEmptyData0001"
#: A schedule that never fires (its scheduler is down): its slot comes this many seconds into the demo,
#: the sweep (every 4 s here) gives it a grace of `MISSED_SCHEDULE_GRACE` s, then announces it once.
MISSED_SCHEDULE = ("DemoSchedDown0001", "console-hourly", 6.0)
MISSED_SCHEDULE_GRACE = 3
HEALTH_ROUTES: list[dict[str, Any]] = [
    {"match": {"actId": [COST_ACTOR]}, "expect": {"maxDurationSecs": 3600}},
    {"match": {"actId": [EMPTY_ACTOR]}, "expect": {"minItems": 1}, "followUp": FOLLOW_UP},
]
MALFORMED = "../../users/me"
DEMO_TIMEOUT_SECS = 150


def populate(sim: Any, receiver: Any, env: dict[str, str]) -> list[str]:
    """Put the demo's runs on the simulator and its destinations in ``env``; returns the runs to enqueue."""
    sim.add_actor("DemoActor00000001", "demo", "web-scraper")
    for run_id, secs, status, exit_code, usd in [*DEMO_RUNS, PUSH_LOST_RUN]:
        sim.add_run(
            run_id,
            secs,
            final_status=status,
            exit_code=exit_code,
            final_usd=usd,
            prelim_usd=round(usd * 0.8, 4),
            settle_secs=2,
            act_id="DemoActor00000001",
            charged_event_counts={"actor-start": 1},
        )
    sim.webhooks.drop_runs.add(PUSH_LOST_RUN[0])
    sim.add_actor(LIVE_ACTOR, "demo", "shop-scraper")
    for run_id, secs, status, exit_code, usd, log_lines in LIVE_RUNS:
        run = sim.add_run(
            run_id,
            secs,
            final_status=status,
            exit_code=exit_code,
            final_usd=usd,
            settle_secs=2,
            act_id=LIVE_ACTOR,
            status_message="Selector '.price' not found on 2 pages" if status == "FAILED" else None,
        )
        run.log_tail = log_lines
    sim.add_actor(PIPELINE_SCRAPER, "demo", "shop-scraper")
    sim.add_actor(PIPELINE_LOADER, "demo", "sheet-loader")
    sim.add_run(PIPELINE_RUN, 5, act_id=PIPELINE_SCRAPER, settle_secs=2, final_usd=0.0512)
    sim.started_run_secs = 4.0
    receiver.slack_tokens = {BOT_TOKEN}
    receiver.slack_limit = 1.0  # Slack's one message a second per channel: a ratelimited answer would show
    env["SLACK_BOT_TOKEN"] = BOT_TOKEN
    env["SLACK_API_BASE_URL"] = receiver.base_url + SLACK_API_PATH
    sim.add_actor(FLAKY_ACTOR, "demo", "flaky-scraper")
    for run_id, secs, status in FLAKY_RUNS:
        sim.add_run(
            run_id,
            secs,
            final_status=status,
            exit_code=0 if status == "SUCCEEDED" else 1,
            settle_secs=2,
            act_id=FLAKY_ACTOR,
            status_message=None if status == "SUCCEEDED" else "Proxy answered 403 on 41 of 50 requests",
        )
    for index, (actor, (run_id, secs, status)) in enumerate(zip(OUTAGE_ACTORS, OUTAGE_RUNS, strict=True)):
        sim.add_actor(actor, "demo", f"shop-{index:02d}")
        sim.add_run(
            run_id,
            secs,
            final_status=status,
            exit_code=1,
            settle_secs=2,
            act_id=actor,
            status_message="Proxy unreachable: ECONNREFUSED",
        )
    sim.add_actor(COST_ACTOR, "demo", "catalog-scraper")
    for run_id, duration, items, usd in COST_HISTORY:
        sim.add_run(run_id, duration, act_id=COST_ACTOR, settle_secs=1, item_count=items, final_usd=usd)
    run_id, secs, items, usd = COST_SPIKE
    sim.add_run(run_id, secs, act_id=COST_ACTOR, settle_secs=1, item_count=items, final_usd=usd)
    sim.add_run(  # started two hours ago: past the route's hour
        STUCK_RUN[0],
        STUCK_RUN[1],
        act_id=COST_ACTOR,
        settle_secs=1,
        item_count=1150,
        final_usd=0.21,
        started_earlier_secs=7200,
    )
    sim.add_actor(EMPTY_ACTOR, "demo", "price-scraper")
    sim.add_run(EMPTY_RUN, 5, act_id=EMPTY_ACTOR, settle_secs=1, item_count=0, final_usd=0.0311)
    env["ROUTES_JSON"] = json.dumps({"routes": [INCIDENT_ROUTE, *LIVE_ROUTES["routes"], *HEALTH_ROUTES]})
    env["PAGERDUTY_ROUTING_KEY"] = PAGERDUTY_KEY
    env["PAGERDUTY_EVENTS_URL"] = receiver.base_url + PAGERDUTY_PATH
    env["APIFY_API_BASE_URL"] = sim.base_url
    env["APIFY_TOKEN"] = sim.token or ""
    env["TEAMS_WEBHOOK_URL"] = receiver.base_url + TEAMS_PATH
    env["DISCORD_WEBHOOK_URL"] = receiver.base_url + DISCORD_PATH
    return [r[0] for r in DEMO_RUNS] + [PUSH_LOST_RUN[0], UNKNOWN_RUN, PIPELINE_RUN] + [r[0] for r in LIVE_RUNS]


def health_runs() -> list[str]:
    """The runs of the health-check routes (judged, not counted per run in the demo's table)."""
    return [r[0] for r in COST_HISTORY] + [COST_SPIKE[0], STUCK_RUN[0], EMPTY_RUN]


def incident_runs() -> list[str]:
    """The runs of the incident route (announced per incident in chat, not per run)."""
    return [r[0] for r in FLAKY_RUNS] + [r[0] for r in OUTAGE_RUNS]
