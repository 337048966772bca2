"""`make bench-incidents`: a fleet failing at once, through the real local pipeline in incident mode.

`--runs` (1,000) FAILED runs of `--actors` (10) Actors end within `--spread-secs` (300); each is
put on the queue when it ends (as its Apify webhook would), and `--workers` (3) worker processes
(the real handler under a Lambda-like SQS poller, as in `make chaos`) watch them. One route puts
every Actor in incident mode with Slack (bot token, one channel), PagerDuty, the signed webhook and
EventBridge. The receiver answers Slack the way Slack does beyond one message a second per
channel (`ratelimited`), so a pace that is not shared would show.

It reports when every run was recorded and had its per-run webhook and EventBridge events, the
first alert's latency (run end to its webhook), the top-level Slack posts (incident openings and
grouped messages), thread replies, `ratelimited` answers, Slack's busiest second and its calls per
second, PagerDuty triggers, and how many of the further failures are in their incident's thread
(one reply per 10 s per incident holds every failure since the last; `--drain` waits for all of
them). Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from localdev.chaos.worker import spawn_worker
from localdev.lambda_paths import as_in_lambda

ROOT = Path(__file__).resolve().parents[1]
HOOK_PATH = "/hooks/bench"
PAGER_PATH = "/v2/enqueue"
CHANNEL = "C0FLEET"
FAILURE_LINE = re.compile(r"^FAILED #\d+: run ", re.MULTILINE)
BOT_TOKEN = "-".join(("xoxb", "local", "bench", "fleetbotpart"))
SETTLE_SECS = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--actors", type=int, default=10)
    parser.add_argument("--spread-secs", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--drain", action="store_true", help="wait until every failure is in its thread")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    return Bench(args).run()


def spawn_incident_workers(
    stack: Any, route: dict[str, Any], bot_token: str, bus: str, webhook_secret: str, count: int, work: Path
) -> list[Any]:
    """Worker processes (the real handler under a Lambda-like SQS poller) watching with one incident route:
    Slack's bot at the receiver, the signed webhook at HOOK_PATH, PagerDuty at PAGER_PATH, EventBridge."""
    env = {
        **stack.client_env(),
        **stack.watcher_env(slack_path="/unused"),
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_API_BASE_URL": stack.url("/api"),
        "WEBHOOK_URL": stack.url(HOOK_PATH),
        "WEBHOOK_SECRET": webhook_secret,
        "EVENT_BUS_NAME": bus,
        "PAGERDUTY_ROUTING_KEY": "F" * 32,
        "PAGERDUTY_EVENTS_URL": stack.url(PAGER_PATH),
        "ROUTES_JSON": json.dumps({"routes": [route]}),
        "SETTLE_SECONDS": str(SETTLE_SECS),
        "LONG_POLL_SCHEDULE": "5,0",
        "REQUEUE_DELAY_SCHEDULE": "1,2,5",
        "MAX_REQUEUE_DELAY_SECONDS": "5",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}",
    }
    env.pop("SLACK_WEBHOOK_URL", None)
    spec = {
        "env": env,
        "moto": stack.endpoint,
        "queue_url": stack.resources.queue_url,
        "queue_arn": stack.resources.queue_arn,
        "function_timeout": 30.0,
    }
    return [spawn_worker(spec, work / f"worker{n}.journal", work / f"worker{n}.log", ROOT) for n in range(count)]


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ended: dict[str, float] = {}  # run ID -> wall time it ended
        self.work = Path(f"/tmp/apify-run-notifier-incident-bench-{os.getpid()}")  # noqa: S108
        self.work.mkdir(parents=True, exist_ok=True)

    def run(self) -> int:
        from localdev.receiver import Receiver
        from localdev.stack import LocalStack

        as_in_lambda("RunWatcherFunction")
        args = self.args
        receiver = Receiver()
        stack = LocalStack(
            "bench", receiver=receiver, visibility_timeout=60, moto_in_own_process=True, event_bus="bench-bus"
        ).start()
        receiver.slack_tokens = {BOT_TOKEN}
        receiver.slack_limit = 1.0
        actors = [f"FleetActor{i:07d}" for i in range(args.actors)]
        for index, actor in enumerate(actors):
            stack.sim.add_actor(actor, "fleet", f"scraper-{index:02d}")
        route = {"match": {"actId": actors}, "incident": {"after": 1}, "slack": {"channel": CHANNEL}}
        secret = "whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMTIzNA=="
        workers = spawn_incident_workers(stack, route, BOT_TOKEN, "bench-bus", secret, args.workers, self.work)
        print(
            f"incident bench: {args.runs} FAILED runs of {args.actors} Actors ending within {args.spread_secs:g} s, "
            f"{args.workers} workers, incident mode (Slack bot, PagerDuty, webhook, EventBridge); logs in {self.work}",
            flush=True,
        )
        run_ids = [f"FleetRun{i:08d}" for i in range(args.runs)]
        began = time.time()
        for index, run_id in enumerate(run_ids):
            end = args.spread_secs * index / max(1, args.runs - 1)
            stack.sim.add_run(
                run_id,
                end,
                final_status="FAILED",
                exit_code=1,
                settle_secs=0,
                act_id=actors[index % args.actors],
                status_message="Proxy unreachable: ECONNREFUSED",
            )
            self.ended[run_id] = began + end
        feeder = threading.Thread(target=self._feed, args=(stack, run_ids), daemon=True)
        feeder.start()
        recorded_at = self._wait(lambda: self._recorded(stack, run_ids) == len(run_ids), began)
        delivered_at = self._wait(lambda: self._events_out(receiver, stack, run_ids), began)
        drained_at = None
        if args.drain:
            drained_at = self._wait(lambda: self._in_threads(receiver) >= len(run_ids) - args.actors, began)
        stopped = time.time()
        for process in workers:
            process.kill()
            process.wait(10)
        verdict = self._report(receiver, stack, run_ids, began, recorded_at, delivered_at, drained_at, stopped)
        stack.stop()
        return verdict

    def _feed(self, stack: Any, run_ids: list[str]) -> None:
        """Each run on the queue when it ends, as its ACTOR.RUN.FAILED webhook would put it."""
        sqs = stack.aws.client("sqs")
        for run_id in run_ids:
            time.sleep(max(0.0, self.ended[run_id] - time.time()))
            sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"runId": run_id}))

    def _wait(self, done: Any, began: float) -> float | None:
        deadline = began + self.args.timeout
        last = 0.0
        while time.time() < deadline:
            if done():
                return time.time()
            if time.time() - last > 15:
                print(f"  ... {time.time() - began:.0f} s", flush=True)
                last = time.time()
            time.sleep(1)
        return None

    def _recorded(self, stack: Any, run_ids: list[str]) -> int:
        ddb = stack.aws.client("dynamodb")
        count = 0
        for start in range(0, len(run_ids), 100):
            keys = [{"runId": {"S": r}} for r in run_ids[start : start + 100]]
            got = ddb.batch_get_item(
                RequestItems={stack.resources.table_name: {"Keys": keys, "ProjectionExpression": "runId"}}
            )
            count += len(got["Responses"][stack.resources.table_name])
        return count

    def _events_out(self, receiver: Any, stack: Any, run_ids: list[str]) -> bool:
        hooks = {json.loads(m.body)["data"].get("runId") for m in receiver.received(HOOK_PATH, ok_only=True)}
        return set(run_ids) <= hooks

    def _replies(self, receiver: Any) -> int:
        """Thread replies (each may hold several failures: at most one reply per 10 s per incident)."""
        return sum(1 for m in list(receiver.slack_messages.values()) if m.get("thread_ts"))

    def _in_threads(self, receiver: Any) -> int:
        """Failures the thread replies hold (a line "FAILED #n: run …" each)."""
        texts = [str(m.get("text", "")) for m in list(receiver.slack_messages.values()) if m.get("thread_ts")]
        return sum(len(FAILURE_LINE.findall(text)) for text in texts)

    def _report(
        self,
        receiver: Any,
        stack: Any,
        run_ids: list[str],
        began: float,
        recorded_at: float | None,
        delivered_at: float | None,
        drained_at: float | None,
        stopped: float,
    ) -> int:
        args = self.args
        first: dict[str, float] = {}
        for message in receiver.received(HOOK_PATH, ok_only=True):
            data = json.loads(message.body)["data"]
            if data.get("runId") in self.ended:
                first.setdefault(data["runId"], message.at - self.ended[data["runId"]])
        latencies = sorted(first.values())
        messages = list(receiver.slack_messages.values())
        top = [m for m in messages if "thread_ts" not in m]
        grouped = [m for m in top if str(m.get("text", "")).startswith(":rotating_light:")]
        calls = [m.at for m in receiver.received("/api/chat.postMessage") + receiver.received("/api/chat.update")]
        per_second = Counter(int(at) for at in calls)
        span = (max(calls) - min(calls)) if len(calls) > 1 else 0.0
        pages = Counter(json.loads(m.body)["event_action"] for m in receiver.received(PAGER_PATH, ok_only=True))
        types = Counter(json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH, ok_only=True))
        replies = self._replies(receiver)
        ratelimited = sum(receiver.slack_ratelimited.values())

        def at(moment: float | None) -> str:
            return f"{moment - began:.0f} s" if moment else "not within the timeout"

        def pct(p: int) -> float:
            return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else float("nan")

        busiest = max(per_second.values()) if per_second else 0
        # The team hears of the outage: the first Slack post after the first run of the burst ended.
        posted = [m.at for m in receiver.received("/api/chat.postMessage", ok_only=True)]
        first_post = (min(posted) - min(self.ended.values())) if posted else float("nan")
        worst = latencies[-1] if latencies else float("nan")
        rate = len(calls) / span if span else 0.0
        drained = at(drained_at) if args.drain else "not waited for"
        rows = [
            (
                "runs, Actors, workers",
                f"{args.runs} FAILED runs of {args.actors} Actors ending within {args.spread_secs:g} s, "
                f"{args.workers} workers",
            ),
            ("every run in the ledger", at(recorded_at)),
            ("every run's webhook (and EventBridge) event", at(delivered_at)),
            (
                "first alert after the run ended (webhook)",
                f"p50 {pct(50):.1f} s, p95 {pct(95):.1f} s, max {worst:.1f} s (settle {SETTLE_SECS} s)",
            ),
            ("first Slack post after the burst's first run ended", f"{first_post:.1f} s (settle {SETTLE_SECS} s)"),
            ("webhook events", dict(types)),
            ("Slack top-level messages", f"{len(top)} ({len(top) - len(grouped)} openings, {len(grouped)} grouped)"),
            (
                "Slack thread replies",
                f"{replies} replies holding {self._in_threads(receiver)} of the {args.runs - args.actors} further "
                f"failures (all in: {drained})",
            ),
            ("Slack calls", f"{len(calls)} over {span:.0f} s ({rate:.2f}/s), busiest second {busiest}"),
            ("Slack ratelimited answers", ratelimited),
            ("PagerDuty", dict(pages)),
            ("measured for", f"{stopped - began:.0f} s"),
        ]
        print("\n| incident bench | |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        ok = (
            recorded_at is not None
            and delivered_at is not None
            and types.get("apify.run.finished") == args.runs
            and len(top) - len(grouped) <= args.actors
            and len(grouped) <= 1
            and ratelimited == 0
            and pages.get("trigger") == args.actors
            and busiest <= 2
        )
        print(f"\nincident bench: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
