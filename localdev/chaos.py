"""make chaos: many "Lambda containers" on one queue, under faults and kills, and a count of every alert.

What it runs, all on 127.0.0.1:

* moto's server with the template's queue, DLQ (maxReceiveCount from the template) and table,
  an EventBridge bus with a rule to a queue; the handler's own AWS calls go through a
  `FaultProxy` that refuses, loses (request landed, answer dropped) and delays them;
* the Apify simulator, with injected 429/5xx per run; a receiver for Slack and the webhook
  that answers 500/429 at random and slowly (within the time share);
* N worker processes, each the real handler fed by its own Lambda-like SQS poller, and a
  killer that SIGKILLs a busy worker every few seconds and starts a new one;
* every run enqueued 2-3 times in all accepted body shapes (some long after it was
  notified), plus poison messages (deeply nested JSON, huge strings, wrong types).

It prints runs, notifications per run and destination, lost alerts, duplicates with their
cause, DLQ messages with their reason and p95 latency under faults, and exits non-zero on
any loss, any duplicate not attributed to a kill between a send and its record, or any
valid message in the DLQ. Waits are shrunk (visibility timeout, retry backoff, schedules)
so that a run takes minutes, not hours; the rules are the template's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.lambda_paths import as_in_lambda
from localdev.scoreboard import Scoreboard, percentile

ROOT = Path(__file__).resolve().parent.parent
SLACK_PATH = "/services/TCHAOS/BCHAOS/chaossecretpath01"
HOOK_PATH = "/hooks/chaos"
WEBHOOK_SECRET = "whsec_Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTIz"
KINDS = ("slack", "webhook", "eventbridge")
POISON = (
    "[" * 5000 + "]" * 5000,
    json.dumps({"runId": "x" * 200_000}),
    json.dumps({"runId": 12345}),
    json.dumps({"runId": "AbC", "attempt": "many"}),
    json.dumps({"eventData": {"actorRunId": ["not", "an", "id"]}}),
    "not a run id; DROP TABLE runs",
)


@dataclass
class Config:
    runs: int = 200
    workers: int = 4
    fault_rate: float = 0.15
    kill_every: float = 4.0
    slow_rate: float = 0.3
    seed: int = 20261129
    timeout: float = 900.0
    function_timeout: float = 20.0
    visibility_timeout: int = 30
    #: Push: the watcher arms each run's ad-hoc webhook to a real intake (through the fault proxy);
    #: the simulator loses and duplicates dispatches, refuses some creates, and the safety net must cover.
    push: bool = False
    work_dir: str = ""


@dataclass
class Worker:
    slot: int
    process: subprocess.Popen[bytes]
    journal: Path
    log: Path


@dataclass
class Killer:
    kills: int = 0
    windows: set[tuple[str, str]] = field(default_factory=set)  # (run, kind) claimed, not closed, at a kill


# --- the worker: one "Lambda container" --------------------------------------------------------


def worker_main(settings_json: str) -> None:
    spec = json.loads(settings_json)
    os.environ.update(spec["env"])
    as_in_lambda("RunWatcherFunction")
    import boto3
    from run_notifier.config import load_settings
    from run_notifier.domain import events as e
    from run_notifier.observability import events
    from run_notifier.sqs_handler import make_handler
    from run_notifier.wiring import build_components

    from localdev.event_source import EventSource

    journal = open(spec["journal"], "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def note(line: str) -> None:
        journal.write(line + "\n")

    def journal_event(event: Any) -> None:
        """The product's own events: the claims this worker holds, and the messages it rejected."""
        match event:
            case e.ClaimTaken(run_id=run_id, destination=kind):
                note(f"claim {run_id} {kind}")
            case e.ClaimClosed(run_id=run_id, destination=kind):
                note(f"close {run_id} {kind}")
            case e.MessageRejected():
                note(f"rejected {event.message_id} {json.dumps(event.reason)}")

    events.subscribe(journal_event)

    handler = make_handler(build_components(load_settings()))
    poller = boto3.session.Session(region_name="us-east-1").client("sqs", endpoint_url=spec["moto"])
    source = EventSource(
        poller, spec["queue_url"], spec["queue_arn"], handler, timeout_secs=spec["function_timeout"], batch_size=10
    )
    while True:
        note("invoke")
        source.poll_once(wait_secs=1)
        note("idle")


# --- the orchestrator ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in Config().__dict__.items():
        if isinstance(value, bool):
            parser.add_argument(f"--{name.replace('_', '-')}", action="store_true")
        elif name != "work_dir":
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    config = Config(**{k: v for k, v in vars(args).items() if k in Config.__dataclass_fields__})
    return Chaos(config).run()


class Chaos:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.rng_lock = threading.Lock()
        self.killer = Killer()
        self.workers: list[Worker] = []
        self.stop = threading.Event()
        self.enqueued = 0
        self.spawned = 0
        self.work = Path(config.work_dir or f"/tmp/apify-run-notifier-chaos-{os.getpid()}")  # noqa: S108
        self.work.mkdir(parents=True, exist_ok=True)

    def chance(self, p: float) -> bool:
        with self.rng_lock:
            return self.rng.random() < p

    def uniform(self, low: float, high: float) -> float:
        with self.rng_lock:
            return self.rng.uniform(low, high)

    def run(self) -> int:
        from localdev.apify_simulator import ApifySimulator
        from localdev.aws import aws_env, create_event_bus_with_queue, create_resources, session_for, start_moto
        from localdev.fault_proxy import FaultProxy
        from localdev.receiver import Receiver

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        sys.setswitchinterval(0.001)  # moto, the simulator and the proxy share this process: keep the killer on time
        as_in_lambda("RunWatcherFunction")
        config = self.config
        started = time.monotonic()
        moto, endpoint = start_moto()
        os.environ.update(aws_env(endpoint))
        aws = session_for(endpoint)
        resources = create_resources(aws, prefix="chaos", visibility_timeout=config.visibility_timeout)
        sqs, ddb = aws.client("sqs"), aws.client("dynamodb")
        target_url = create_event_bus_with_queue(aws, "chaos-bus")
        proxy = FaultProxy(endpoint, config.fault_rate, seed=config.seed)
        proxy.start()
        sim = ApifySimulator()
        sim.add_actor("SimActor00000001", "chaos", "scraper")
        sim.start()
        receiver = Receiver(latency=self._latency, fault=self._destination_fault)
        receiver.start()
        env = {
            **aws_env(proxy.base_url),
            **resources.watcher_env(sim.base_url, sim.token, receiver.base_url + SLACK_PATH),
            "WEBHOOK_URL": receiver.base_url + HOOK_PATH,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EVENT_BUS_NAME": "chaos-bus",
            "SETTLE_SECONDS": "1",
            "LONG_POLL_SCHEDULE": "8,0",
            "REQUEUE_DELAY_SCHEDULE": "1,2,3",
            "MAX_REQUEUE_DELAY_SECONDS": "3",
            "RETRY_VISIBILITY_SCHEDULE": "2,3,5",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "PYTHONPATH": f"{ROOT}",
        }
        front = self._start_push(sim, env, proxy.base_url) if config.push else None
        spec = {
            "env": env,
            "moto": endpoint,
            "queue_url": resources.queue_url,
            "queue_arn": resources.queue_arn,
            "function_timeout": config.function_timeout,
        }
        print(
            f"chaos: {config.runs} runs, {config.workers} workers, {config.fault_rate:.0%} faults "
            f"(AWS, Apify, destinations), a kill every ~{config.kill_every:.0f} s, {config.slow_rate:.0%} slow "
            f"receivers; maxReceiveCount {resources.max_receive_count}; "
            f"{'push armed (webhooks lost, duplicated, refused at random; safety net 5 s)' if front else 'polling'}; "
            f"logs in {self.work}",
            flush=True,
        )
        for slot in range(config.workers):
            self.workers.append(self._spawn(slot, spec))
        run_ids = [f"Chaos{config.seed % 100000:05d}x{i:05d}" for i in range(config.runs)]
        feeder = threading.Thread(target=self._feed, args=(sim, sqs, resources.queue_url, run_ids), daemon=True)
        feeder.start()
        killer = threading.Thread(target=self._kill_loop, args=(spec,), daemon=True)
        killer.start()
        done = self._wait_until_done(ddb, sqs, resources, run_ids, feeder, started)
        self.stop.set()
        killer.join(10)
        for worker in self.workers:
            worker.process.kill()
            worker.process.wait(10)
        report = self._report(sim, receiver, sqs, target_url, resources, run_ids, proxy, done, started)
        if front:
            front.stop()
        receiver.stop()
        sim.stop()
        proxy.stop()
        moto.stop()
        return report

    def _start_push(self, sim: Any, env: dict[str, str], aws_endpoint: str) -> Any:
        """The real intake behind a local Function URL, its AWS calls through the fault proxy; the
        watchers arm ad-hoc webhooks to it. Apify's side loses, duplicates and refuses."""
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # this process prints the report, not EMF lines
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        from run_notifier.config import load_intake_settings
        from run_notifier.function_url_handler import make_intake_handler
        from run_notifier.wiring import build_intake

        from localdev.aws import session_for
        from localdev.function_url_front import FunctionUrlFront

        token = "chaos-intake-token-3e1f"
        settings = load_intake_settings({"RUN_QUEUE_URL": env["RUN_QUEUE_URL"], "INTAKE_TOKEN": token})
        front = FunctionUrlFront(make_intake_handler(build_intake(settings, session_for(aws_endpoint))))
        env["INTAKE_URL"] = front.start() + "/"
        env["INTAKE_TOKEN"] = token
        env["SAFETY_NET_DELAY_SCHEDULE"] = "5"
        sim.webhooks.drop_rate = self.config.fault_rate / 3
        sim.webhooks.duplicate_rate = 0.1
        return front

    # --- the world's behaviour ---

    def _latency(self, path: str) -> float:
        return self.uniform(0.5, 3.0) if self.chance(self.config.slow_rate) else 0.0

    def _destination_fault(self, path: str) -> tuple[int, dict[str, str], str] | None:
        if not self.chance(self.config.fault_rate):
            return None
        if self.chance(0.5):
            return (429, {"Retry-After": "1"}, "rate limited")
        return (503, {}, "chaos: unavailable")

    def _feed(self, sim: Any, sqs: Any, queue_url: str, run_ids: list[str]) -> None:
        """Start runs over time; enqueue each 2-3 times in random shapes, some long after; add poison."""
        plan: list[tuple[float, str]] = []
        now = time.monotonic()
        for index, run_id in enumerate(run_ids):
            start = now + index * 0.15
            plan.append((start, f"start {run_id}"))
            copies = 2 if self.chance(0.5) else 3
            for copy in range(copies):
                late = self.uniform(0, 3) if copy == 0 else self.uniform(0, 40)
                plan.append((start + late, f"send {run_id}"))
        for index, _ in enumerate(POISON):
            plan.append((now + self.uniform(0, 10), f"poison {index}"))
        plan.sort()
        for at, action in plan:
            if self.stop.is_set():
                return
            time.sleep(max(0.0, at - time.monotonic()))
            verb, what = action.split(" ", 1)
            if verb == "start":
                self._start_run(sim, what)
            elif verb == "send":
                sqs.send_message(QueueUrl=queue_url, MessageBody=self._body(what))
                self.enqueued += 1
            else:
                sqs.send_message(QueueUrl=queue_url, MessageBody=POISON[int(what)])
                self.enqueued += 1

    def _start_run(self, sim: Any, run_id: str) -> None:
        roll = self.uniform(0, 1)
        duration = self.uniform(0.3, 4) if roll < 0.7 else self.uniform(4, 15) if roll < 0.95 else self.uniform(15, 30)
        with self.rng_lock:
            status = self.rng.choice(["SUCCEEDED", "SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"])
        sim.add_run(run_id, duration, final_status=status, exit_code=0 if status == "SUCCEEDED" else 1, settle_secs=1)
        if self.chance(self.config.fault_rate):
            with self.rng_lock:
                faults = [self.rng.choice([429, 500, 502, 503]) for _ in range(self.rng.randint(1, 3))]
            sim.inject(run_id, *faults)
        if self.config.push and self.chance(self.config.fault_rate):
            with self.rng_lock:
                refusal = self.rng.choice([429, 500, 403, 400])
            sim.inject_webhooks(refusal)  # the next create, whichever run it is for

    def _body(self, run_id: str) -> str:
        with self.rng_lock:
            shape = self.rng.choice(["runId", "bare", "json-string", "apify-webhook", "apify-resource"])
        if shape == "runId":
            return json.dumps({"runId": run_id})
        if shape == "bare":
            return run_id
        if shape == "json-string":
            return json.dumps(run_id)
        if shape == "apify-webhook":
            return json.dumps({"eventType": "ACTOR.RUN.SUCCEEDED", "eventData": {"actorRunId": run_id}})
        return json.dumps({"eventType": "ACTOR.RUN.FAILED", "resource": {"id": run_id, "status": "FAILED"}})

    # --- workers and kills ---

    def _spawn(self, slot: int, spec: dict[str, Any]) -> Worker:
        self.spawned += 1  # each process its own journal and log
        journal = self.work / f"worker{slot}.{self.spawned}.journal"
        log = self.work / f"worker{slot}.{self.spawned}.log"
        worker_spec = {**spec, "journal": str(journal)}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "localdev.chaos", "--worker", json.dumps(worker_spec)],
                cwd=ROOT,
                env={**os.environ, **spec["env"]},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return Worker(slot, process, journal, log)

    def _kill_loop(self, spec: dict[str, Any]) -> None:
        """SIGKILL a worker on a fixed random schedule (a busy one when there is one), then start another."""
        next_kill = time.monotonic()
        while True:
            next_kill += self.config.kill_every * self.uniform(0.5, 1.5)
            if self.stop.wait(max(0.0, next_kill - time.monotonic())):
                return
            alive = [w for w in self.workers if w.process.poll() is None]
            busy = [w for w in alive if _last_line(w.journal) == "invoke"]
            if not alive:
                continue
            with self.rng_lock:
                victim = self.rng.choice(busy or alive)
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(10)
            self.killer.kills += 1
            self.killer.windows |= _open_claims(victim.journal)
            self.workers[self.workers.index(victim)] = self._spawn(victim.slot, spec)

    # --- the end and the count ---

    def _wait_until_done(
        self, ddb: Any, sqs: Any, resources: Any, run_ids: list[str], feeder: threading.Thread, started: float
    ) -> bool:
        from run_notifier.adapters.dynamodb import from_item

        pending = set(run_ids)
        last_print = 0.0
        while time.monotonic() - started < self.config.timeout:
            for page in ddb.get_paginator("scan").paginate(TableName=resources.table_name):  # one call, not one per run
                for raw in page["Items"]:
                    item = from_item(raw)
                    states = [(item.get(f"{kind}Notification") or {}).get("state") for kind in KINDS]
                    if all(state in ("SENT", "FAILED") for state in states):
                        pending.discard(item["runId"])
            attrs = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
            in_queue = sum(
                int(attrs[a])
                for a in (
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                )
            )
            if not pending and in_queue == 0 and not feeder.is_alive():
                return True
            if time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                print(
                    f"  {time.monotonic() - started:5.0f} s: {len(run_ids) - len(pending)}/{len(run_ids)} runs done, "
                    f"{in_queue} messages in the queue, {self.killer.kills} kills",
                    flush=True,
                )
            time.sleep(2)
        return False

    def _report(
        self,
        sim: Any,
        receiver: Any,
        sqs: Any,
        target_url: str,
        resources: Any,
        run_ids: list[str],
        proxy: Any,
        done: bool,
        started: float,
    ) -> int:
        board = Scoreboard(run_ids).read(receiver.messages, slack_paths=(SLACK_PATH,), webhook_paths=(HOOK_PATH,))
        for event in _drain(sqs, target_url):
            board.add(json.loads(event["Body"])["detail"]["runId"], "eventbridge", 0.0)
        lost = board.lost(KINDS)
        duplicates = board.duplicates()
        lost_answers = _lost_event_answers(proxy.lost_answers)
        attributed = {key: n for key, n in duplicates.items() if key in self.killer.windows}
        answer_lost = {key: n for key, n in duplicates.items() if key in lost_answers and key not in attributed}
        unexplained = {key: n for key, n in duplicates.items() if key not in attributed and key not in answer_lost}
        dlq = _drain(sqs, resources.dlq_url)
        reasons = _rejections(self.work)
        poison_bodies = set(POISON)
        valid_in_dlq = [m for m in dlq if m["Body"] not in poison_bodies]
        ended = {run_id: sim.runs[run_id].ended_wall() for run_id in run_ids}
        latencies = sorted(board.latencies(ended, ("slack", "webhook")).values())
        per_run = Counter(board.per_run(KINDS).values())
        print()
        print(f"| chaos ({time.monotonic() - started:.0f} s, {'finished' if done else 'TIMED OUT'}) | |")
        print("|---|---|")
        print(f"| runs | {len(run_ids)} ({self.enqueued} messages enqueued, {len(POISON)} of them poison) |")
        every = (time.monotonic() - started) / max(1, self.killer.kills)
        print(
            f"| workers, kills | {self.config.workers}, {self.killer.kills} (SIGKILL of a busy worker, one every "
            f"{every:.1f} s) |"
        )
        print(
            f"| AWS faults (of {proxy.requests} requests) | "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(proxy.faults.items()))
            + " |"
        )
        print(f"| notifications per run (slack, webhook, eventbridge) | {dict(sorted(per_run.items()))} |")
        print(f"| lost | {len(lost)} {lost[:5] if lost else ''} |")
        print(
            f"| duplicates | {sum(duplicates.values())}: {sum(attributed.values())} in a kill window between a send "
            f"and its record, {sum(answer_lost.values())} where EventBridge took the event and its answer was lost "
            f"(the same notificationId), {sum(unexplained.values())} unexplained "
            f"{list(unexplained)[:5] if unexplained else ''} |"
        )
        print(f"| DLQ | {len(dlq)}: {len(dlq) - len(valid_in_dlq)} poison, {len(valid_in_dlq)} valid |")
        for message in dlq:
            reason = reasons.get(message["MessageId"], "no log line found")
            print(f"|   {message['MessageId'][:8]} | {reason[:100]} |")
        if latencies:
            p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
            print(
                f"| latency from run end to first alert | p50 {p50:.1f} s, p95 {p95:.1f} s, max {latencies[-1]:.1f} s |"
            )
        if self.config.push:
            dispatched = Counter(d["status"] for d in sim.webhooks.dispatches)
            print(
                f"| push | {len(sim.webhooks.webhooks)} ad-hoc webhooks, creates answered "
                f"{dict(sorted(Counter(sim.webhook_creates).items()))}, dispatches {dict(sorted(dispatched.items()))} |"
            )
        ok = done and not lost and not unexplained and not valid_in_dlq
        print(f"\nchaos: {'PASS' if ok else 'FAIL'}", flush=True)
        return 0 if ok else 1


def _lost_event_answers(lost: list[tuple[str, bytes]]) -> set[tuple[str, str]]:
    """(run, "eventbridge") for every PutEvents that was published but whose answer was dropped."""
    windows: set[tuple[str, str]] = set()
    for target, body in lost:
        if not target.endswith("PutEvents"):
            continue
        for entry in json.loads(body).get("Entries", []):
            windows.add((json.loads(entry["Detail"])["runId"], "eventbridge"))
    return windows


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _open_claims(journal: Path) -> set[tuple[str, str]]:
    held: set[tuple[str, str]] = set()
    for line in journal.read_text().splitlines() if journal.exists() else []:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "claim":
            held.add((parts[1], parts[2]))
        elif len(parts) == 3 and parts[0] == "close":
            held.discard((parts[1], parts[2]))
    return held


def _drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not batch:
            return messages
        messages += batch
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def _rejections(work: Path) -> dict[str, str]:
    """message ID -> reason, from the MessageRejected events the workers journaled."""
    reasons: dict[str, str] = {}
    for journal in work.glob("worker*.journal"):
        for line in journal.read_text(errors="replace").splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "rejected":
                message_id, _, reason = rest.partition(" ")
                reasons[message_id] = json.loads(reason)
    return reasons


if __name__ == "__main__":
    sys.exit(main())
