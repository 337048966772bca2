"""`make demo`: the whole pipeline on 127.0.0.1 with embedded defaults, in about two minutes.

moto's server plays AWS (queue, DLQ and table read from template.yaml), the Apify simulator
plays Apify, a local receiver plays Slack and the webhook endpoint (and verifies the
signature), and a local event source feeds the queue to the real handler the way Lambda
does. With APIFY_TOKEN and RUN_IDS set, real runs on the real Apify API are watched instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localdev import demo_ways_in
from localdev.lambda_paths import as_in_lambda, load_app
from localdev.scoreboard import Scoreboard

ROOT = Path(__file__).resolve().parent.parent
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
LIVE_ROUTES = {
    "routes": [
        {"match": {"actId": [LIVE_ACTOR]}, "slack": {"channel": LIVE_CHANNEL, "live": True, "mention": ["@here"]}},
        {"match": {"status": ["SUCCEEDED"], "actId": [PIPELINE_SCRAPER]}, "followUp": FOLLOW_UP},
    ]
}
MALFORMED = "../../users/me"
DEMO_TIMEOUT_SECS = 150


def _say(text: str = "") -> None:
    print(text, flush=True)


def _slack_line(message: dict[str, Any]) -> str:
    fields = next((b["fields"] for b in message["blocks"] if b.get("fields")), [])
    parts = [f["text"].replace("\n", " ").replace("*", "") for f in fields]
    return " | ".join(parts)


def _print_received(received: Any) -> None:
    from standardwebhooks import Webhook

    if received.path == HOOK_PATH:
        try:
            payload = Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)
            check = "signature verified"
        except Exception as error:  # show it: a bad signature is what the demo must reveal
            payload, check = json.loads(received.body), f"SIGNATURE INVALID ({error})"
        data = payload["data"]
        _say(
            f"  [webhook] {data['runId']} {data['status']} cost={data['usageTotalUsd']} "
            f"id={received.headers.get('webhook-id')} - {check}"
        )
    elif received.path.startswith(TEAMS_PATH):
        card = received.json()["attachments"][0]["content"]
        facts = " | ".join(f"{f['title']} {f['value']}" for f in card["body"][1]["facts"][:4])
        _say(f"  [teams]   Adaptive Card {card['version']} (HTTP {received.status}): {facts}")
    elif received.path.startswith(DISCORD_PATH):
        [embed] = received.json()["embeds"]
        fields = " | ".join(f"{f['name']} {f['value']}" for f in embed["fields"][:4])
        _say(f"  [discord] embed #{embed['color']:06x} (HTTP {received.status}, pings nobody): {fields}")
    elif received.path.startswith(SLACK_API_PATH + "/"):
        message, method = received.json(), received.path.rsplit("/", 1)[1]
        where = f"#{message.get('channel')}"
        if "thread_ts" in message:
            _say(f"  [slack]   {where} thread reply: {message['text'][:160]!r}...")
        elif method == "chat.update":
            _say(f"  [slack]   {where} message {message.get('ts')} updated in place: {_slack_line(message)}")
        else:
            _say(f"  [slack]   {where} {message['text'][:150]}")
    else:
        _say(f"  [slack]   {_slack_line(received.json())}")


class _Progress:
    """Turns the product's typed events (run_notifier.domain.events) into readable demo output."""

    def __init__(self) -> None:
        self.rejections: dict[str, str] = {}  # message ID -> reason
        self.heard_by: dict[str, str] = {}  # run ID -> how its end was first heard of
        #: Set when a run cannot be watched at all (Apify refused the token): the demo stops and says so.
        self.fatal: str | None = None

    def __call__(self, event: Any) -> None:
        from run_notifier.domain import events as e

        match event:
            case e.RunRequeued(run_id=run_id, push="adhoc" | "actor"):
                _say(f"  [watch]   {run_id} still running -> safety-net check in {event.delay_secs} s (push armed)")
            case e.RunRequeued(run_id=run_id):
                _say(
                    f"  [watch]   {run_id} still running -> re-enqueued, attempt {event.next_attempt}, "
                    f"DelaySeconds={event.delay_secs}"
                )
            case e.RunPushArmed(run_id=run_id):
                _say(f"  [push]    {run_id} running -> ad-hoc Apify webhook {event.webhook_id} armed for its end")
            case e.RunEnded(run_id=run_id):
                self._ended(event)
            case e.SafetyNetDropped(run_id=run_id):
                _say(f"  [watch]   {run_id}: safety-net check after the push-notified finish -> dropped, no Apify call")
            case e.RunNotFoundRecorded(run_id=run_id):
                _say(f"  [watch]   {run_id} not found on Apify -> recording NOT_FOUND")
            case e.NotificationSent(run_id=run_id, destination="followUp"):
                _say(f"  [follow]  {run_id} succeeded -> {event.detail} of {FOLLOW_UP['actorId']} with its dataset")
            case e.NotificationAlreadyDone(run_id=run_id):
                _say(f"  [dedupe]  {run_id}: {event.destination} already notified ({event.claim}) - not posted again")
            case e.IntakeRequestRefused():
                _say(f"  [intake]  HTTP {event.status} {event.error_type}: {event.reason}")
            case e.IntakeEnqueued():
                _say(f"  [intake]  {event.event_type or 'POST /runs'} -> enqueued {', '.join(event.run_ids)}")
            case e.SweepDone(enrolled=enrolled) if enrolled:
                _say(f"  [sweep]   {event.listed} runs listed since the watermark, {enrolled} new to the sweep")
            case e.MessageRejected():
                self.rejections[event.message_id] = event.reason
                _say(
                    f"  [intake]  rejected ({event.reason}); receive #{event.receive_count}, "
                    "SQS moves it to the DLQ after maxReceiveCount"
                )
            case e.WatchFailed(run_id=run_id, reason=reason):
                _say(f"  [error]   {run_id}: {reason}")
                if reason.startswith("ApifyAuthError"):
                    self.fatal = reason.removeprefix("ApifyAuthError: ")
            case (
                e.NotificationDeferred()
                | e.NotificationFailedPermanently()
                | e.RunVanished()
                | e.ApifyUnreachable()
                | e.RunPushDeferred()
                | e.WaitingForClaims()
                | e.WatchExpired()
                | e.CourtesySkipped()
            ):
                fields = event._asdict()
                run_id, reason = fields.pop("run_id", "?"), fields.pop("reason", "")
                what = " ".join(f"{k}={v}" for k, v in fields.items())
                _say(f"  [warning] {run_id}: {type(event).__name__} {what}{f' ({reason})' if reason else ''}")

    def _ended(self, event: Any) -> None:
        run_id, heard, ago = event.run_id, event.heard_by, event.finished_ago_secs or 0.0
        self.heard_by.setdefault(run_id, heard)
        how = {
            "push": f"its webhook came {ago:.1f} s after the end (webhook -> intake -> queue)",
            "safety-net": f"its webhook never came; the safety-net read found it {ago:.1f} s after the end",
            "first-read": "already over at the first read",
            "poll": "seen by a poll",
        }[heard]
        delay = event.settle_delay_secs
        then = f"reading again in {delay} s for settled costs" if delay else "costs settled"
        tag = "[push]   " if heard == "push" else "[watch]  "
        _say(f"  {tag} {run_id} ended {event.status}: {how} -> {then}")


class _AdapterWarnings(logging.Handler):
    """Warnings that are not events (an adapter's own: a secret unreadable, a refused push for the
    whole container), printed by level as they come; an event's own line (it has an `event`
    field) is left to the event printer."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and not hasattr(record, "event"):  # events print themselves
            reason = getattr(record, "reason", "")
            _say(f"  [{record.levelname.lower()}] {record.getMessage()}{f' ({reason})' if reason else ''}")


PROGRESS = _Progress()


def _load_handler(env: dict[str, str]) -> Callable[..., Any]:
    os.environ.update(env)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from run_notifier.domain.ports import SERVICE
    from run_notifier.observability import events

    service_logger = logging.getLogger(SERVICE)
    service_logger.handlers.clear()  # no JSON lines: the events, printed readably, tell the story
    service_logger.addHandler(_AdapterWarnings())
    events.subscribe(PROGRESS)
    return load_app("RunWatcherFunction").lambda_handler


def main() -> int:
    from localdev.apify_simulator import ApifySimulator
    from localdev.aws import aws_env, create_event_bus_with_queue, create_resources, session_for, start_moto
    from localdev.event_source import EventSource
    from localdev.receiver import Receiver

    as_in_lambda("RunWatcherFunction")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    real_ids = [r for r in os.environ.get("RUN_IDS", "").replace(",", " ").split() if r]
    real = bool(os.environ.get("APIFY_TOKEN") and real_ids)
    started = time.monotonic()
    _say(
        "Apify Run Notifier - local end-to-end demo (everything on 127.0.0.1)"
        if not real
        else "Apify Run Notifier - watching real runs on the Apify API (AWS still local)"
    )
    moto, endpoint = start_moto()
    os.environ.update(aws_env(endpoint))  # the handler's own boto3 clients find moto through AWS_ENDPOINT_URL
    aws = session_for(endpoint)
    # Queue, DLQ and table come from template.yaml, visibility timeout and maxReceiveCount included.
    resources = create_resources(aws, prefix="demo")
    sqs = aws.client("sqs")
    followup_url = create_event_bus_with_queue(aws, "demo-bus")  # a rule to a follow-up jobs queue
    _say(
        f"AWS (moto) at {endpoint}: queue, DLQ (maxReceiveCount={resources.max_receive_count}) and table "
        "from template.yaml; EventBridge bus with a rule to a follow-up queue"
    )

    receiver = Receiver(on_message=_print_received)
    receiver.start()
    sim = ApifySimulator()
    env = {
        "RUNS_TABLE_NAME": resources.table_name,
        "RUN_QUEUE_URL": resources.queue_url,
        "WEBHOOK_URL": receiver.base_url + HOOK_PATH,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVENT_BUS_NAME": "demo-bus",
        "NOTIFY_ON": "SUCCEEDED,FAILED,TIMED-OUT,ABORTED,WATCH_EXPIRED,NOT_FOUND",
        "SETTLE_SECONDS": "3",
        "REQUEUE_DELAY_SCHEDULE": "2,4,8,16",
        "SLACK_WEBHOOK_URL": os.environ.get("SLACK_WEBHOOK_URL") or receiver.base_url + SLACK_PATH,
    }
    if real:
        env["APIFY_API_BASE_URL"] = os.environ.get("APIFY_API_BASE_URL", "https://api.apify.com")
        run_ids = real_ids
        expected = set(real_ids)
    else:
        sim.start()
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
        env["SLACK_BOT_TOKEN"] = BOT_TOKEN
        env["SLACK_API_BASE_URL"] = receiver.base_url + SLACK_API_PATH
        env["ROUTES_JSON"] = json.dumps(LIVE_ROUTES)
        env["APIFY_API_BASE_URL"] = sim.base_url
        env["APIFY_TOKEN"] = sim.token or ""
        env["TEAMS_WEBHOOK_URL"] = receiver.base_url + TEAMS_PATH
        env["DISCORD_WEBHOOK_URL"] = receiver.base_url + DISCORD_PATH
        run_ids = [r[0] for r in DEMO_RUNS] + [PUSH_LOST_RUN[0], UNKNOWN_RUN, PIPELINE_RUN] + [r[0] for r in LIVE_RUNS]
        _say(
            f"Apify simulator at {sim.base_url}: {len(DEMO_RUNS) + 2 + len(LIVE_RUNS)} runs of 3-40 s and one unknown "
            f"ID; every webhook dispatch for {PUSH_LOST_RUN[0]} is lost; {LIVE_ACTOR}'s runs go to Slack channel "
            f"{LIVE_CHANNEL} with a bot token: a live message that follows the run, the log tail of a failure in "
            "its thread"
        )
        expected = set(run_ids) | set(demo_ways_in.WAYS)
        # Push: the watcher arms each running run's ad-hoc webhook to this intake; polling is the safety net.
        front, intake_url = demo_ways_in.start_intake(resources, _say)
        env["INTAKE_URL"] = intake_url
        env["INTAKE_TOKEN"] = demo_ways_in.INTAKE_TOKEN
        env["SAFETY_NET_DELAY_SCHEDULE"] = str(DEMO_SAFETY_NET_SECS)
    _say(f"Slack, webhook, Teams and Discord receiver at {receiver.base_url}\n")

    handler = _load_handler(env)
    if not real:
        sweep = demo_ways_in.start(sim, resources, intake_url, _say)
    if os.environ.get("DEMO_ROOT_LOG_LEVEL"):
        # As Lambda's ApplicationLogLevel does: the root logger at this level, to stderr, with no scrubbing
        # filter of its own (the handler was built before, so this is what any SDK would print).
        root = logging.getLogger()
        root.setLevel(os.environ["DEMO_ROOT_LOG_LEVEL"].upper())
        root.addHandler(logging.StreamHandler(sys.stderr))
    bodies = [json.dumps({"runId": r}) for r in run_ids]
    if not real:
        bodies.insert(
            2,
            json.dumps(
                {"userId": "DemoUser", "eventType": "ACTOR.RUN.SUCCEEDED", "eventData": {"actorRunId": run_ids[0]}}
            ),
        )  # a duplicate, Apify-webhook style
        bodies.append(MALFORMED)
    for body in bodies:
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)
    _say(
        f"Enqueued {len(bodies)} messages (one a duplicate of a run, one malformed)\n"
        if not real
        else f"Enqueued {len(bodies)} run IDs\n"
    )

    from run_notifier.adapters.dynamodb import RunsTable

    store = RunsTable(aws.client("dynamodb"), resources.table_name)
    source = EventSource(sqs, resources.queue_url, resources.queue_arn, handler, timeout_secs=25, batch_size=10)
    last_progress = [0.0]

    def finished() -> bool:
        if PROGRESS.fatal:
            return True
        for run_id in list(expected):  # a follow-up run started on the way is watched and announced too
            started = (store.get(run_id) or {}).get("followUpRunId")
            if started:
                expected.add(started)
        items = [store.get(r) for r in expected]
        done = all(
            i
            and all(
                (i.get(f"{k}Notification") or {}).get("state") in ("SENT", "FAILED")
                for k in ("slack", "webhook", "eventbridge")
            )
            for i in items
        )
        dlq = sqs.get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        return done and (real or dlq["Attributes"]["ApproximateNumberOfMessages"] == "1")

    last_sweep = [0.0]

    def idle(left: float) -> None:
        if not real and time.monotonic() - last_sweep[0] >= 4:  # the schedule, shrunk
            sweep()
            last_sweep[0] = time.monotonic()
        if time.monotonic() - last_progress[0] >= 5:
            attrs = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
            _say(
                f"  ... waiting: {attrs['ApproximateNumberOfMessagesDelayed']} delayed, "
                f"{attrs['ApproximateNumberOfMessagesNotVisible']} in flight, "
                f"{attrs['ApproximateNumberOfMessages']} visible ({int(time.monotonic() - started)} s)"
            )
            last_progress[0] = time.monotonic()

    ok = source.run_until(finished, timeout_secs=DEMO_TIMEOUT_SECS if not real else 3600, on_idle=idle)
    if PROGRESS.fatal:
        _say(f"\nDEMO STOPPED: a run cannot be watched. {PROGRESS.fatal}")
        if real:
            _say("Check APIFY_TOKEN: it must be a valid Apify API token with access to these runs.")
        receiver.stop()
        moto.stop()
        return 1
    board = Scoreboard(expected).read(list(receiver.messages), slack_paths=(SLACK_PATH,), webhook_paths=(HOOK_PATH,))
    ended = {run_id: sim.runs[run_id].ended_wall() for run_id in expected if run_id in sim.runs}
    _print_table(store, expected, sqs, resources.dlq_url, followup_url, board.latencies(ended, ("slack",)))
    posts = board.per_run(("slack", "webhook", "teams", "discord"))
    _say(
        "Posts per run (Slack, webhook, Teams, Discord): "
        + ", ".join(f"{r}={','.join(map(str, p))}" for r, p in sorted(posts.items()))
    )
    if not real and any(p != (1, 1, 1, 1) for p in posts.values()):
        ok = False
    _say(
        f"\n{len(source.invocations)} invocations, {sum(i.records for i in source.invocations)} records, "
        f"{int(time.monotonic() - started)} s in all."
    )
    receiver.stop()
    if not real:
        front.stop()
        sim.stop()
    moto.stop()
    if not ok:
        _say("DEMO INCOMPLETE: not every run was notified in time")
        return 1
    _say("Every run notified exactly once per destination.")
    return 0


def _print_table(
    store: Any, run_ids: set[str], sqs: Any, dlq_url: str, followup_url: str, latencies: dict[str, float]
) -> None:
    _say("\nRuns in DynamoDB:")
    header = (
        f"{'runId':<19}{'came in by':<15}{'end heard by':<14}{'alert after end':<17}{'status':<11}{'exit':<6}"
        f"{'usd':<9}{'attempts':<10}{'slack':<8}{'webhook':<9}{'events':<8}{'teams':<8}{'discord':<8}"
    )
    _say(header)
    _say("-" * len(header))
    for run_id in sorted(run_ids):
        item = store.get(run_id) or {}
        kinds = ("slack", "webhook", "eventbridge", "teams", "discord")
        state = {k: (item.get(f"{k}Notification") or {}).get("state", "-") for k in kinds}
        usd = item.get("usageTotalUsd")
        way = demo_ways_in.WAYS.get(run_id, "follow-up" if item.get("startedBy") else "queue")
        heard = PROGRESS.heard_by.get(run_id, "-")
        latency = f"{latencies[run_id]:.1f} s" if run_id in latencies else "-"
        status, exit_code = item.get("status", "-"), item.get("exitCode", "-")
        _say(
            f"{run_id:<19}{way:<15}{heard:<14}{latency:<17}{status:<11}{exit_code!s:<6}"
            f"{'-' if usd is None else f'{float(usd):.4f}':<9}{item.get('watchAttempts', '-')!s:<10}"
            f"{state['slack']:<8}{state['webhook']:<9}{state['eventbridge']:<8}{state['teams']:<8}{state['discord']:<8}"
        )
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in dead:
        reason = PROGRESS.rejections.get(message["MessageId"], "see the handler's log line for this message ID")
        _say(f"\nDLQ: message {message['MessageId']} body {message['Body'][:60]!r} - reason: {reason}")
    got = []
    for _ in range(3):
        got += sqs.receive_message(QueueUrl=followup_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    _say(f"EventBridge rule delivered {len(got)} 'Apify Run Finished' events to the follow-up queue.")


if __name__ == "__main__":
    sys.exit(main())
