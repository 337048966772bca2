"""`make demo`: the whole pipeline on 127.0.0.1 with embedded defaults, in about a minute.

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
import threading
import time
from collections.abc import Callable
from typing import Any

from localdev.demo import ways_in
from localdev.demo.console import PROGRESS, AdapterWarnings, print_received, print_table, say
from localdev.demo.health import HealthStory
from localdev.demo.incidents import IncidentStory
from localdev.demo.scenario import (
    DEMO_RUNS,
    DEMO_SAFETY_NET_SECS,
    DEMO_TIMEOUT_SECS,
    HOOK_PATH,
    LIVE_ACTOR,
    LIVE_CHANNEL,
    LIVE_RUNS,
    MALFORMED,
    PUSH_LOST_RUN,
    SLACK_PATH,
    WEBHOOK_SECRET,
    health_runs,
    incident_runs,
    populate,
)
from localdev.lambda_paths import as_in_lambda, load_app
from localdev.scoreboard import Scoreboard


def _load_handler(env: dict[str, str]) -> Callable[..., Any]:
    os.environ.update(env)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from run_notifier.domain.ports import SERVICE
    from run_notifier.observability import events

    service_logger = logging.getLogger(SERVICE)
    service_logger.handlers.clear()  # no JSON lines: the events, printed readably, tell the story
    service_logger.addHandler(AdapterWarnings())
    events.subscribe(PROGRESS)
    return load_app("RunWatcherFunction").lambda_handler


def _sent(item: dict[str, Any] | None, kinds: tuple[str, ...]) -> bool:
    return bool(item) and all(((item or {}).get(f"{k}Notification") or {}).get("state") == "SENT" for k in kinds)


def main() -> int:
    from localdev.demo import console
    from localdev.event_source import EventSource
    from localdev.receiver import Receiver
    from localdev.stack import LocalStack

    console.VERBOSE = "--verbose" in sys.argv[1:] or bool(os.environ.get("DEMO_VERBOSE"))
    # No EMF lines on the terminal: the intake and the sweep run in this process too, before the watcher.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    as_in_lambda("RunWatcherFunction")
    real_ids = [r for r in os.environ.get("RUN_IDS", "").replace(",", " ").split() if r]
    real = bool(os.environ.get("APIFY_TOKEN") and real_ids)
    started = time.monotonic()
    say(
        "Apify Run Notifier - local end-to-end demo (everything on 127.0.0.1)"
        if not real
        else "Apify Run Notifier - watching real runs on the Apify API (AWS still local)"
    )
    # Queue, DLQ and table come from template.yaml, visibility timeout and maxReceiveCount included; the
    # handler's own boto3 clients find moto through AWS_ENDPOINT_URL; a bus with a rule to a follow-up queue.
    stack = LocalStack("demo", receiver=Receiver(on_message=print_received), event_bus="demo-bus").start()
    aws, resources, sim, receiver = stack.aws, stack.resources, stack.sim, stack.receiver
    sqs, followup_url = aws.client("sqs"), stack.event_queue_url
    say(
        f"AWS (moto) at {stack.endpoint}: queue, DLQ (maxReceiveCount={resources.max_receive_count}) and table "
        "from template.yaml; EventBridge bus with a rule to a follow-up queue"
    )
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
        run_ids = populate(sim, receiver, env)
        say(
            f"Apify simulator at {sim.base_url}: {len(DEMO_RUNS) + 2 + len(LIVE_RUNS)} runs of 3-40 s and one unknown "
            f"ID; every webhook dispatch for {PUSH_LOST_RUN[0]} is lost; {LIVE_ACTOR}'s runs go to Slack channel "
            f"{LIVE_CHANNEL} with a bot token: a live message that follows the run, the log tail of a failure in "
            "its thread"
        )
        expected = set(run_ids) | set(ways_in.WAYS)
        # Push: the watcher arms each running run's ad-hoc webhook to this intake; polling is the safety net.
        front, intake_url = ways_in.start_intake(resources, say)
        env["INTAKE_URL"] = intake_url
        env["INTAKE_TOKEN"] = ways_in.INTAKE_TOKEN
        env["SAFETY_NET_DELAY_SCHEDULE"] = str(DEMO_SAFETY_NET_SECS)
    say(f"Slack, webhook, Teams and Discord receiver at {receiver.base_url}\n")

    handler = _load_handler(env)
    if not real:
        sweep = ways_in.start(sim, resources, intake_url, say)
    if os.environ.get("DEMO_ROOT_LOG_LEVEL"):
        # As Lambda's ApplicationLogLevel does: the root logger at this level, to stderr, with no scrubbing
        # filter of its own (the handler was built before, so this is what any SDK would print).
        root = logging.getLogger()
        root.setLevel(os.environ["DEMO_ROOT_LOG_LEVEL"].upper())
        root.addHandler(logging.StreamHandler(sys.stderr))
    incidents = [] if real else incident_runs()
    judged = [] if real else health_runs()
    story = IncidentStory(receiver)
    bodies = [json.dumps({"runId": r}) for r in [*run_ids, *incidents, *judged]]
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
    say(
        f"Enqueued {len(bodies)} messages (one a duplicate of a run, one malformed; {len(incidents)} runs of the "
        "incident route)\n"
        if not real
        else f"Enqueued {len(bodies)} run IDs\n"
    )

    from run_notifier.adapters.dynamodb import RunsTable

    store = RunsTable(aws.client("dynamodb"), resources.table_name)
    health = HealthStory(receiver, lambda run_id: store.get(run_id) or {})
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
        incidents_done = real or (
            story.settled()
            and all(
                all(
                    ((store.get(r) or {}).get(f"{k}Notification") or {}).get("state") == "SENT"
                    for k in ("webhook", "eventbridge")
                )
                for r in incidents
            )
        )
        health_done = real or health.settled()
        return (
            done
            and incidents_done
            and health_done
            and (real or dlq["Attributes"]["ApproximateNumberOfMessages"] == "1")
        )

    sweeping = threading.Event()

    def sweep_on_schedule() -> None:  # as EventBridge invokes it: every 4 s here (the schedule, shrunk)
        while not sweeping.wait(4):
            sweep()

    if not real:
        threading.Thread(target=sweep_on_schedule, name="sweep", daemon=True).start()

    def idle(left: float) -> None:
        if time.monotonic() - last_progress[0] >= 5:
            attrs = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
            say(
                f"  ... waiting: {attrs['ApproximateNumberOfMessagesDelayed']} delayed, "
                f"{attrs['ApproximateNumberOfMessagesNotVisible']} in flight, "
                f"{attrs['ApproximateNumberOfMessages']} visible ({int(time.monotonic() - started)} s)"
            )
            last_progress[0] = time.monotonic()

    ok = source.run_until(finished, timeout_secs=DEMO_TIMEOUT_SECS if not real else 3600, on_idle=idle)
    sweeping.set()
    if PROGRESS.fatal:
        say(f"\nDEMO STOPPED: a run cannot be watched. {PROGRESS.fatal}")
        if real:
            say("Check APIFY_TOKEN: it must be a valid Apify API token with access to these runs.")
        stack.stop()
        return 1
    board = Scoreboard(expected).read(list(receiver.messages), slack_paths=(SLACK_PATH,), webhook_paths=(HOOK_PATH,))
    ended = {run_id: sim.runs[run_id].ended_wall() for run_id in expected if run_id in sim.runs}
    print_table(store, expected, sqs, resources.dlq_url, followup_url, board.latencies(ended, ("slack",)))
    posts = board.per_run(("slack", "webhook", "teams", "discord"))
    say(
        "Posts per run (Slack, webhook, Teams, Discord): "
        + ", ".join(f"{r}={','.join(map(str, p))}" for r, p in sorted(posts.items()))
    )
    if not real and any(p != (1, 1, 1, 1) for p in posts.values()):
        ok = False
    if not real:
        ok = story.report(say) and ok
        ok = health.report(say) and ok
        from localdev.demo.digest import digest_story

        ok = digest_story(stack, say) and ok
    say(
        f"\n{len(source.invocations)} invocations, {sum(i.records for i in source.invocations)} records, "
        f"{int(time.monotonic() - started)} s in all."
    )
    if not real:
        front.stop()
    stack.stop()
    if not ok:
        say("DEMO INCOMPLETE: not every run was notified in time")
        return 1
    say("Every run notified exactly once per destination.")
    return 0
