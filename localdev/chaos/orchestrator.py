"""`make chaos`: many "Lambda containers" on one queue, under faults and kills, and a count of every alert.

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
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.chaos.config import (
    HOOK_PATH,
    INCIDENT_ACTORS,
    INCIDENT_RUN_KINDS,
    KINDS,
    PAGER_PATH,
    POISON,
    SLACK_PATH,
    WEBHOOK_SECRET,
    Config,
)
from localdev.chaos.journal import last_line, open_claims
from localdev.chaos.report import report
from localdev.chaos.worker import spawn_worker, worker_main
from localdev.lambda_paths import as_in_lambda

ROOT = Path(__file__).resolve().parents[2]


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
        #: Each run's own alerts (with --incidents chat is per incident, not per run).
        self.kinds = INCIDENT_RUN_KINDS if config.incidents else KINDS
        self.work.mkdir(parents=True, exist_ok=True)

    def chance(self, p: float) -> bool:
        with self.rng_lock:
            return self.rng.random() < p

    def uniform(self, low: float, high: float) -> float:
        with self.rng_lock:
            return self.rng.uniform(low, high)

    def run(self) -> int:
        from localdev.aws import aws_env
        from localdev.fault_proxy import FaultProxy
        from localdev.receiver import Receiver
        from localdev.stack import LocalStack

        sys.setswitchinterval(0.001)  # moto, the simulator and the proxy share this process: keep the killer on time
        as_in_lambda("RunWatcherFunction")
        config = self.config
        started = time.monotonic()
        receiver = Receiver(latency=self._latency, fault=self._destination_fault)
        stack = LocalStack(
            "chaos", receiver=receiver, visibility_timeout=config.visibility_timeout, event_bus="chaos-bus"
        ).start()
        aws, resources, sim, endpoint = stack.aws, stack.resources, stack.sim, stack.endpoint
        sqs, ddb = aws.client("sqs"), aws.client("dynamodb")
        target_url = stack.event_queue_url
        proxy = FaultProxy(endpoint, config.fault_rate, seed=config.seed)
        from run_notifier.adapters.aws_bounds import READ_TIMEOUT_SECS

        # A send's client (EventBridge) gives up after its read timeout: an answer that slow may be retried.
        proxy.slow_secs = READ_TIMEOUT_SECS
        proxy.start()
        sim.add_actor("SimActor00000001", "chaos", "scraper")
        env = {
            **aws_env(proxy.base_url),
            **stack.watcher_env(slack_path=SLACK_PATH),
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
        if config.incidents:
            for actor in INCIDENT_ACTORS:
                sim.add_actor(actor, "chaos", actor.lower())
            route = {"match": {"actId": list(INCIDENT_ACTORS)}, "incident": {"after": 1}}
            env["ROUTES_JSON"] = json.dumps({"routes": [route]})
            env["PAGERDUTY_ROUTING_KEY"] = "C" * 32
            env["PAGERDUTY_EVENTS_URL"] = receiver.base_url + PAGER_PATH
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
            f"{'incident mode for 5 Actors with PagerDuty; ' if config.incidents else ''}"
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
        self.ddb = ddb  # the report reads the incident items
        verdict = report(self, sim, receiver, sqs, target_url, resources, run_ids, proxy, done, started)
        if front:
            front.stop()
        proxy.stop()
        stack.stop()
        return verdict

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
        settings = load_intake_settings(
            {"RUN_QUEUE_URL": env["RUN_QUEUE_URL"], "INTAKE_TOKEN": token, "SETTLE_SECONDS": env["SETTLE_SECONDS"]}
        )
        front = FunctionUrlFront(make_intake_handler(build_intake(settings, session_for(aws_endpoint))))
        env["INTAKE_URL"] = front.start() + "/"
        env["INTAKE_TOKEN"] = token
        env["SAFETY_NET_DELAY_SCHEDULE"] = "5"
        sim.webhooks.drop_rate = self.config.fault_rate / 3
        sim.webhooks.duplicate_rate = 0.1
        sim.webhooks.dispatch_jitter_secs = 2.0
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
        if self.config.push:  # runs outlive their first read, even behind a backlog: push is what ends them
            duration = self.uniform(12, 30) if roll < 0.9 else self.uniform(30, 45)
        else:
            duration = (
                self.uniform(0.3, 4) if roll < 0.7 else self.uniform(4, 15) if roll < 0.95 else self.uniform(15, 30)
            )
        with self.rng_lock:
            status = self.rng.choice(["SUCCEEDED", "SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"])
        actor = (
            INCIDENT_ACTORS[int(run_id[-5:]) % len(INCIDENT_ACTORS)] if self.config.incidents else "SimActor00000001"
        )
        sim.add_run(
            run_id,
            duration,
            final_status=status,
            exit_code=0 if status == "SUCCEEDED" else 1,
            settle_secs=1,
            act_id=actor,
        )
        if self.chance(self.config.fault_rate):
            with self.rng_lock:
                faults = [self.rng.choice([429, 500, 502, 503]) for _ in range(self.rng.randint(1, 3))]
            sim.inject(run_id, *faults)
        if self.config.push and self.chance(self.config.fault_rate):
            # Transient refusals: a 401/403 means a token without webhook rights, and the container
            # rightly stops arming for 10 minutes (tests/integration/test_push.py covers that).
            with self.rng_lock:
                refusal = self.rng.choice([429, 500, 502, 503])
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
        return Worker(slot, spawn_worker(spec, journal, log, ROOT), journal, log)

    def _kill_loop(self, spec: dict[str, Any]) -> None:
        """SIGKILL a worker on a fixed random schedule (a busy one when there is one), then start another."""
        next_kill = time.monotonic()
        while True:
            next_kill += self.config.kill_every * self.uniform(0.5, 1.5)
            if self.stop.wait(max(0.0, next_kill - time.monotonic())):
                return
            alive = [w for w in self.workers if w.process.poll() is None]
            busy = [w for w in alive if last_line(w.journal) == "invoke"]
            if not alive:
                continue
            with self.rng_lock:
                victim = self.rng.choice(busy or alive)
            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait(10)
            self.killer.kills += 1
            self.killer.windows |= open_claims(victim.journal)
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
                    states = [(item.get(f"{kind}Notification") or {}).get("state") for kind in self.kinds]
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
