"""`make soak`: the whole local pipeline under steady load, watched for leaks.

For `--minutes` (30), runs start at `--rate` a second (5) and come in every way there is: put on
the queue directly, `POST /runs` to the intake (its own token), an enrolled Actor's Apify
webhooks, and the discovery sweep; push is on, so the watchers arm an ad-hoc webhook for each
run they see running. `--workers` worker processes (the real handler under a Lambda-like SQS
poller, as in `make chaos`) do the watching, with no faults and no kills: this measures what a
long-lived container accumulates.

Every `--sample-secs` it records, per worker, resident memory, open file descriptors and
threads (from /proc), and the runs table's items against the runs started and announced. It
exits non-zero when a worker's memory grows more than `--max-growth-mb` from the end of the
warm-up to the end, when file descriptors or threads keep growing, when any run is not
announced to Slack and the webhook, or when the table holds other than one item per run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localdev.chaos.worker import spawn_worker
from localdev.lambda_paths import as_in_lambda
from localdev.soak.judge import Row, judge
from localdev.soak.sampler import ProcessSample, sample

ROOT = Path(__file__).resolve().parents[2]
SLACK_PATH = "/services/TSOAK/BSOAK/soaksecretpath01"
HOOK_PATH = "/hooks/soak"
KINDS = ("slack", "webhook")
INTAKE_TOKEN = "soak-intake-token-6a2c"
RUNS_TOKEN = "soak-runs-token-1d7e"
HOOKED_ACTOR = "SoakHookedActor01"
SWEPT_ACTOR = "SoakSweptActor001"
OTHER_ACTOR = "SoakActor00000001"
#: How runs come in, and how often.
WAYS: tuple[tuple[str, float], ...] = (("queue", 0.4), ("post-runs", 0.2), ("webhook", 0.25), ("sweep", 0.15))


@dataclass
class Config:
    minutes: float = 30.0
    rate: float = 2.0
    workers: int = 3
    sample_secs: float = 30.0
    warmup_minutes: float = 5.0
    max_growth_mb: float = 10.0
    seed: int = 20261202
    out: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, value in Config().__dict__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    config = Config(**vars(parser.parse_args(argv)))
    # Before the product is imported: this process prints the report, not EMF lines or INFO logs.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    return Soak(config).run()


class Soak:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.started: dict[str, str] = {}  # run ID -> way in
        self.stop = threading.Event()
        self.post_retries = 0
        self.work = Path(f"/tmp/apify-run-notifier-soak-{os.getpid()}")  # noqa: S108
        self.work.mkdir(parents=True, exist_ok=True)

    def run(self) -> int:
        from localdev.aws import aws_env
        from localdev.stack import LocalStack

        as_in_lambda("RunWatcherFunction")
        config = self.config
        stack = LocalStack("soak", visibility_timeout=30, moto_in_own_process=True).start()
        resources = stack.resources
        intake_url = self._start_intake(stack)
        env = {
            **aws_env(stack.endpoint),
            **stack.watcher_env(slack_path=SLACK_PATH),
            "WEBHOOK_URL": stack.url(HOOK_PATH),
            "WEBHOOK_SECRET": "whsec_c29hay1zb2FrLXNvYWstc29hay1zb2FrLTEyMw==",
            "INTAKE_URL": intake_url,
            "INTAKE_TOKEN": INTAKE_TOKEN,
            "SETTLE_SECONDS": "1",
            "LONG_POLL_SCHEDULE": "5,0",
            "REQUEUE_DELAY_SCHEDULE": "2,5,10",
            "MAX_REQUEUE_DELAY_SECONDS": "10",
            "SAFETY_NET_DELAY_SCHEDULE": "30",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT}",
        }
        spec = {
            "env": env,
            "moto": stack.endpoint,
            "queue_url": resources.queue_url,
            "queue_arn": resources.queue_arn,
            "function_timeout": 20.0,
        }
        workers = [
            spawn_worker(spec, self.work / f"worker{n}.journal", self.work / f"worker{n}.log", ROOT)
            for n in range(config.workers)
        ]
        sweep = self._sweeper(stack)
        print(
            f"soak: {config.minutes:g} min at {config.rate:g} runs/s, {config.workers} workers, push on, "
            f"ways in {dict(WAYS)}; logs in {self.work}",
            flush=True,
        )
        rows: list[Row] = []
        began = time.monotonic()
        feeder = threading.Thread(target=self._feed, args=(stack, intake_url, began), daemon=True)
        feeder.start()
        sweeper = threading.Thread(target=self._sweep_loop, args=(sweep,), daemon=True)
        sweeper.start()
        next_sample = began
        while True:
            rows.append(self._row(stack, workers, began))
            self._print(rows[-1])
            feeding = feeder.is_alive()
            if not feeding and rows[-1].announced >= len(self.started) and rows[-1].queued == 0:
                break
            if not feeding and time.monotonic() - began > config.minutes * 60 + 600:
                print("soak: the pipeline did not drain within 10 minutes of the last run", flush=True)
                break
            next_sample += config.sample_secs if feeding else 5
            time.sleep(max(0.0, next_sample - time.monotonic()))
        self.stop.set()
        for process in workers:
            process.kill()
            process.wait(10)
        verdict = self._report(rows, stack)
        stack.stop()
        return verdict

    # --- the ways in ---

    def _start_intake(self, stack: Any) -> str:
        from run_notifier.config import load_intake_settings
        from run_notifier.function_url_handler import make_intake_handler
        from run_notifier.wiring import build_intake

        from localdev.aws import session_for
        from localdev.function_url_front import FunctionUrlFront
        from scripts import enroll

        settings = load_intake_settings(
            {
                "RUN_QUEUE_URL": stack.resources.queue_url,
                "INTAKE_TOKEN": INTAKE_TOKEN,
                "RUNS_TOKEN": RUNS_TOKEN,
                "SETTLE_SECONDS": "1",  # the soak watcher's, as the template gives both one value
            }
        )
        self.front = FunctionUrlFront(make_intake_handler(build_intake(settings, session_for(stack.endpoint))))
        intake_url = self.front.start() + "/"
        stack.sim.add_actor(HOOKED_ACTOR, "soak", "hooked")
        stack.sim.add_actor(SWEPT_ACTOR, "soak", "swept")
        stack.sim.add_actor(OTHER_ACTOR, "soak", "other")
        client = enroll.apify_client(stack.sim.base_url, stack.sim.token or "")
        for _ in enroll.enroll(client, intake_url, INTAKE_TOKEN, [HOOKED_ACTOR], []):
            pass
        return intake_url

    def _sweeper(self, stack: Any) -> Any:
        from run_notifier.config import load_sweeper_settings
        from run_notifier.wiring import build_sweeper

        from localdev.aws import session_for

        settings = load_sweeper_settings(
            {
                "RUNS_TABLE_NAME": stack.resources.table_name,
                "RUN_QUEUE_URL": stack.resources.queue_url,
                "APIFY_API_BASE_URL": stack.sim.base_url,
                "APIFY_TOKEN": stack.sim.token or "",
                "SWEEP_LOOKBACK_MINUTES": "5",
                "SWEEP_ACTOR_IDS": SWEPT_ACTOR,
            }
        )
        return build_sweeper(settings, session_for(stack.endpoint))

    def _sweep_loop(self, sweeper: Any) -> None:
        from run_notifier.domain.deadline import Deadline

        while not self.stop.wait(15):
            sweeper.sweep(Deadline.after(50))

    def _feed(self, stack: Any, intake_url: str, began: float) -> None:
        """Start runs at the rate, each with its way in, until the soak's time is up."""
        sqs = stack.aws.client("sqs")
        ways, weights = zip(*WAYS, strict=True)
        index = 0
        end = began + self.config.minutes * 60
        while time.monotonic() < end:
            at = began + index / self.config.rate
            time.sleep(max(0.0, at - time.monotonic()))
            run_id = f"Soak{index:08d}"
            way = self.rng.choices(ways, weights)[0]
            actor = {"webhook": HOOKED_ACTOR, "sweep": SWEPT_ACTOR}.get(way, OTHER_ACTOR)
            roll = self.rng.random()
            status = "SUCCEEDED" if roll < 0.8 else "FAILED" if roll < 0.95 else "TIMED-OUT"
            stack.sim.add_run(run_id, self.rng.uniform(3, 30), act_id=actor, final_status=status, settle_secs=1)
            self.started[run_id] = way
            if way == "queue":
                sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"runId": run_id}))
            elif way == "post-runs":
                self._post_runs(intake_url, run_id)
            index += 1

    def _post_runs(self, intake_url: str, run_id: str) -> None:
        """`POST /runs` as a CI job would: retried (a few times) when the intake does not answer 202."""
        request = urllib.request.Request(
            intake_url + "runs",
            data=json.dumps({"runIds": [run_id]}).encode(),
            headers={"Authorization": f"Bearer {RUNS_TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        for _ in range(5):
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    if answer.status == 202:
                        return
            except OSError:
                pass
            self.post_retries += 1
            time.sleep(1)
        raise RuntimeError(f"the intake did not take {run_id} in 5 tries")

    # --- watching ---

    def _row(self, stack: Any, workers: list[Any], began: float) -> Row:
        """One sample, cheap enough to take every half minute: the table's item count from DescribeTable,
        the runs announced from what the receiver got (a scan per sample would load moto itself)."""
        from localdev.scoreboard import Scoreboard

        ddb, sqs = stack.aws.client("dynamodb"), stack.aws.client("sqs")
        # Less the sweep's watermark item, once it exists.
        items = max(0, int(ddb.describe_table(TableName=stack.resources.table_name)["Table"]["ItemCount"]) - 1)
        started = list(self.started)
        board = Scoreboard(started).read(stack.receiver.messages, slack_paths=(SLACK_PATH,), webhook_paths=(HOOK_PATH,))
        announced = len(started) - len({run_id for run_id, _ in board.lost(KINDS)})
        attrs = sqs.get_queue_attributes(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])["Attributes"]
        queued = sum(int(v) for k, v in attrs.items() if k.startswith("ApproximateNumberOfMessages"))
        samples = [sample(process.pid) or ProcessSample(0.0, 0, 0) for process in workers]
        return Row(time.monotonic() - began, len(started), announced, items, queued, samples)

    def _items_settled(self, stack: Any) -> tuple[int, int]:
        """At the end, one scan: the runs' items, and those with every destination SENT."""
        from run_notifier.adapters.dynamodb import from_item

        items = sent = 0
        for page in stack.aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.resources.table_name):
            for raw in page["Items"]:
                item = from_item(raw)
                if item.get("runId") in self.started:
                    items += 1
                    sent += all((item.get(f"{kind}Notification") or {}).get("state") == "SENT" for kind in KINDS)
        return items, sent

    def _print(self, row: Row) -> None:
        per_worker = "  ".join(f"{s.rss_mb:5.1f} MB {s.fds:3d} fd {s.threads:3d} th" for s in row.workers)
        print(
            f"  {row.t / 60:5.1f} min: {row.started:5d} runs, {row.announced:5d} announced, {row.items:5d} items, "
            f"{row.queued:4d} queued | {per_worker}",
            flush=True,
        )

    # --- the verdict ---

    def _report(self, rows: list[Row], stack: Any) -> int:
        from localdev.scoreboard import Scoreboard

        config = self.config
        board = Scoreboard(list(self.started)).read(
            stack.receiver.messages, slack_paths=(SLACK_PATH,), webhook_paths=(HOOK_PATH,)
        )
        lost = board.lost(KINDS)
        items, sent = self._items_settled(stack)
        duplicates = sum(board.duplicates().values())
        health = judge(rows, config)
        final = rows[-1]
        ways = {way: sum(1 for w in self.started.values() if w == way) for way, _ in WAYS}
        print()
        print(f"| soak ({config.minutes:g} min at {config.rate:g} runs/s, {config.workers} workers, push on) | |")
        print("|---|---|")
        print(f"| runs | {len(self.started)} ({', '.join(f'{k} {v}' for k, v in ways.items())}) |")
        print(f"| announced (Slack and webhook) | {final.announced}; lost {len(lost)}, duplicates {duplicates} |")
        print(f"| runs table | {items} items for {len(self.started)} runs, {sent} with every destination SENT |")
        print(f"| POST /runs retried | {self.post_retries} |")
        print(f"| most messages in the queue | {max(r.queued for r in rows)} |")
        for line in health.lines:
            print(line)
        ok = not lost and items == sent == len(self.started) and health.ok
        out = Path(config.out) if config.out else self.work / "soak.json"
        out.write_text(json.dumps({"config": asdict(config), "rows": [asdict(r) for r in rows], "ok": ok}, indent=1))
        print(f"\nsoak: {'PASS' if ok else 'FAIL'} (samples in {out})", flush=True)
        return 0 if ok else 1
