"""The demo's three ways in besides a direct enqueue: an Actor's Apify webhook through the intake,
`POST /runs` to the intake, and the discovery sweep for a run nobody enqueued.
Plus a forged webhook, answered 401 with nothing enqueued. The intake runs as a deployment with
`RunsTokenSecretArn` set would: Apify's webhooks and CI each carry their own token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from localdev.demo.scenario import MISSED_SCHEDULE, MISSED_SCHEDULE_GRACE
from localdev.function_url_front import FunctionUrlFront

INTAKE_TOKEN = "demo-intake-token-5b1e0c"
RUNS_TOKEN = "demo-runs-token-8d2f4a"
HOOKED_ACTOR = "DemoHookedActor01"
WEBHOOK_RUN = "DemoViaWebhook001"
POST_RUNS_RUN = "DemoViaPostRuns01"
CONSOLE_RUN = "DemoFromConsole01"
#: The sweep keeps this Actor's runs only (SWEEP_ACTOR_IDS): the other demo runs are enqueued directly.
CONSOLE_ACTOR = "DemoConsoleActor1"
#: How each run came in, for the final table.
WAYS = {WEBHOOK_RUN: "Apify webhook", POST_RUNS_RUN: "POST /runs", CONSOLE_RUN: "sweep"}


def _post(url: str, body: dict[str, Any], token: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start_intake(resources: Any, say: Callable[[str], None]) -> tuple[FunctionUrlFront, str]:
    """The intake (the real handler) behind a local Function URL; returns the front and its URL."""
    import boto3
    from run_notifier.config import load_intake_settings
    from run_notifier.function_url_handler import make_intake_handler
    from run_notifier.wiring import build_intake

    session = boto3.session.Session(region_name="us-east-1")
    intake = make_intake_handler(
        build_intake(
            load_intake_settings(
                {
                    "RUN_QUEUE_URL": resources.queue_url,
                    "INTAKE_TOKEN": INTAKE_TOKEN,
                    "RUNS_TOKEN": RUNS_TOKEN,
                    "SETTLE_SECONDS": "3",  # the demo watcher's (main.py), as the template gives both one value
                }
            ),
            session,
        )
    )
    front = FunctionUrlFront(intake)
    intake_url = front.start() + "/"
    say(f"Webhook intake (the real handler) behind a local Function URL at {intake_url}")
    return front, intake_url


def start(sim: Any, resources: Any, intake_url: str, say: Callable[[str], None]) -> Callable[[], None]:
    """Enroll an Actor, start the three runs; returns a sweep to call now and then."""
    import boto3
    from run_notifier.config import load_sweeper_settings
    from run_notifier.domain.deadline import Deadline
    from run_notifier.wiring import build_sweeper

    session = boto3.session.Session(region_name="us-east-1")

    from scripts import enroll

    sim.add_actor(HOOKED_ACTOR, "demo", "hooked-scraper")
    for line in enroll.enroll(
        enroll.apify_client(sim.base_url, sim.token or ""), intake_url, INTAKE_TOKEN, [HOOKED_ACTOR], []
    ):
        say(f"  make enroll: {line}")
    sim.webhooks.duplicate_rate = 0.5  # Apify "in rare cases" delivers twice; here often
    sim.add_run(WEBHOOK_RUN, 5, act_id=HOOKED_ACTOR, settle_secs=1, final_usd=0.0311)
    say(f"  {WEBHOOK_RUN}: a run of the enrolled Actor; only its webhooks tell us about it")

    sim.add_run(POST_RUNS_RUN, 4, act_id="DemoActor00000001", settle_secs=1, final_usd=0.0077)
    status, _ = _post(intake_url + "runs", {"runIds": [POST_RUNS_RUN]}, RUNS_TOKEN)
    say(f"  {POST_RUNS_RUN}: POST /runs from 'CI' (its own token) -> HTTP {status}")

    forged = {"eventType": "ACTOR.RUN.SUCCEEDED", "eventData": {"actorRunId": "DemoForged0000001"}}
    status, body = _post(intake_url + "apify/webhooks", forged, "forged-token")
    say(f"  a forged webhook -> HTTP {status} {json.loads(body)['error']['type']}, nothing enqueued")

    sim.add_actor(CONSOLE_ACTOR, "demo", "console-scraper")
    sim.add_run(CONSOLE_RUN, 2, act_id=CONSOLE_ACTOR, settle_secs=1, final_usd=0.0024)
    say(f"  {CONSOLE_RUN}: started 'from the Console'; nobody enqueues it, the sweep will find it")

    schedule_id, name, slot_in = MISSED_SCHEDULE
    sim.add_schedule(schedule_id, name, 3600, slot_in, act_id=CONSOLE_ACTOR, cron="0 * * * *", fires=False)
    say(f"  {schedule_id}: an hourly schedule whose scheduler will not fire in {slot_in:.0f} s; the sweep will notice")

    sweeper = build_sweeper(
        load_sweeper_settings(
            {
                "RUNS_TABLE_NAME": resources.table_name,
                "RUN_QUEUE_URL": resources.queue_url,
                "APIFY_API_BASE_URL": sim.base_url,
                "APIFY_TOKEN": sim.token or "",
                "SWEEP_LOOKBACK_MINUTES": "10",
                "SWEEP_ACTOR_IDS": CONSOLE_ACTOR,
                "SWEEP_SCHEDULES_ENABLED": "true",
                "SCHEDULE_GRACE_SECONDS": str(MISSED_SCHEDULE_GRACE),
            }
        ),
        session,
    )

    def sweep() -> None:
        sweeper.sweep(Deadline.after(15))  # the demo's log handler shows what it enrolled

    sweep()  # the deployment's first sweep: the schedule is first seen before its slot
    return sweep
