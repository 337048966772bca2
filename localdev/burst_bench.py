"""A burst on the real local pipeline: `--runs` (2,000) runs that end within `--window-secs` (10).

The runs were started earlier (a schedule at the top of the hour; they have been going for 10
minutes), so the notifier first hears of each one from its Actor's Apify webhook when it ends: the
simulator dispatches `ACTOR.RUN.SUCCEEDED` / `FAILED` over real HTTP to the real intake behind the
local Function URL (the Actors were enrolled with `scripts/enroll.py`, as `make enroll` does), the
intake puts each run on the queue with its settle delay, and `--workers` (4) worker processes (the
real handler under a Lambda-like SQS poller, as in `make chaos`; Lambda scales out the same way)
announce them. `--actors` (20) Actors; the first `--failing-actors` (2) fail every run (a proxy
outage), the rest succeed. One route puts every Actor in incident mode on one Slack channel (bot
token; the receiver answers `ratelimited` beyond one message a second, as Slack does), PagerDuty,
the signed webhook and EventBridge (a rule forwarding to a queue, as a follow-up job would).

It measures, from the burst's first run end: when every run is in the ledger, when every run's
webhook and EventBridge events are out and each failing Actor's incident has its Slack post and
its PagerDuty trigger; the top-level Slack messages per channel; Apify requests per second per
resource as the simulator saw them; each worker's peak resident memory (from /proc, read from
outside); the DLQ; runs lost. It returns the numbers and a timeline for the docs' plot.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.incident_bench import HOOK_PATH, PAGER_PATH, SETTLE_SECS, spawn_incident_workers
from localdev.lambda_paths import as_in_lambda
from localdev.soak.sampler import cpu_secs, sample

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "C0BURST"
BOT_TOKEN = "-".join(("xoxb", "local", "burst", "botpart"))
INTAKE_TOKEN = "burst-intake-token-3f9a"
EVENT_BUS = "burst-bus"


@dataclass
class BurstConfig:
    runs: int = 2000
    window_secs: float = 10.0
    workers: int = 4
    actors: int = 20
    failing_actors: int = 2
    timeout_secs: float = 1500.0
    seed: int = 20261202
    #: The intake's reserved concurrency; 0: the template's `IntakeReservedConcurrency` default.
    intake_concurrency: int = 0


@dataclass
class BurstResult:
    config: BurstConfig
    #: Seconds from the burst's first run end; None when not reached within the timeout.
    recorded_secs: float | None
    delivered_secs: float | None
    lost: list[str]
    slack_top_level: dict[str, int]
    slack_replies: int
    slack_ratelimited: int
    pagerduty: dict[str, int]
    webhook_events: dict[str, int]
    eventbridge_events: int
    apify_busiest_resource: tuple[str, int]
    apify_busiest_second: int
    apify_requests: int
    webhook_creates: int
    #: Apify's webhook dispatches to the intake, and those it refused (503: the queue did not take them
    #: in time; Apify retried them).
    dispatches: int
    dispatches_refused: int
    #: Of those, answered 429 by the Function URL for the intake's reserved concurrency.
    intake_throttled: int
    peak_rss_mb: list[float]
    dlq: int
    first_alert_p50: float
    first_alert_p95: float
    #: CPU seconds each part used from the first end to the last alert (the machine's two cores are the bound).
    cpu_secs: dict[str, float] = field(default_factory=dict)
    #: (seconds from the first end, runs ended, runs whose webhook event was delivered) for the plot.
    timeline: list[tuple[float, int, int]] = field(default_factory=list)


def run_burst(config: BurstConfig) -> BurstResult:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    return _Burst(config).run()


class _Burst:
    def __init__(self, config: BurstConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.ended: dict[str, float] = {}  # run ID -> wall time it ends
        self.peak_rss: list[float] = [0.0] * config.workers
        self.eventbridge_seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.work = Path(f"/tmp/apify-run-notifier-burst-{os.getpid()}")  # noqa: S108
        self.work.mkdir(parents=True, exist_ok=True)

    def run(self) -> BurstResult:
        from localdev.receiver import Receiver
        from localdev.stack import LocalStack

        as_in_lambda("RunWatcherFunction")
        receiver = Receiver()
        stack = LocalStack(
            "burst", receiver=receiver, visibility_timeout=60, dynamodb_in_own_process=True, event_bus=EVENT_BUS
        ).start()
        try:
            return self._measure(stack, receiver)
        finally:
            self.stop.set()
            stack.stop()

    def _measure(self, stack: Any, receiver: Any) -> BurstResult:
        config = self.config
        receiver.slack_tokens = {BOT_TOKEN}
        receiver.slack_limit = 1.0
        # Apify retries a refused dispatch 11 times over about 32 h; here 1, 2, 4 ... s (the simulator's
        # default gives up after a second and a half, which would lose what a busy intake refused).
        stack.sim.webhooks.retries = 11
        stack.sim.webhooks.retry_base_secs = 1.0
        stack.sim.webhooks.retry_jitter = True
        actors = [f"BurstActor{i:07d}" for i in range(config.actors)]
        for index, actor in enumerate(actors):
            stack.sim.add_actor(actor, "fleet", f"scraper-{index:02d}")
        run_ids = [f"BurstRun{i:08d}" for i in range(config.runs)]
        # Started 10 minutes ago; each ends a few seconds from now, all within the window.
        lead = 3.0 + config.runs / 1000  # time to enroll the Actors before the first end
        added = time.time()
        for index, run_id in enumerate(run_ids):
            actor_index = index % config.actors
            fails = actor_index < config.failing_actors
            duration = lead + self.rng.uniform(0, config.window_secs)
            stack.sim.add_run(
                run_id,
                duration,
                act_id=actors[actor_index],
                final_status="FAILED" if fails else "SUCCEEDED",
                exit_code=1 if fails else 0,
                status_message="Proxy unreachable: ECONNREFUSED" if fails else None,
                settle_secs=1,
                started_earlier_secs=600,
            )
            self.ended[run_id] = added + duration
        _wait_until(lambda: stack.sim.dispatched(run_ids), 30, "the simulator did not see the runs")
        intake_url = self._start_intake(stack, actors)
        workers = self._start_workers(stack, actors)
        threading.Thread(target=self._sample_rss, args=(workers,), daemon=True).start()
        threading.Thread(target=self._drain_eventbridge, args=(stack,), daemon=True).start()
        print(
            f"burst: {config.runs} runs of {config.actors} Actors ending within {config.window_secs:g} s "
            f"({config.failing_actors} Actors failing), announced by their webhooks through the intake at "
            f"{intake_url}, {config.workers} workers; logs in {self.work}",
            flush=True,
        )
        first_end = min(self.ended.values())
        failing = set(actors[: config.failing_actors])
        cpu_before = self._cpu(stack, workers)
        recorded_at = self._wait(lambda: self._recorded(stack, run_ids) == len(run_ids), first_end)
        delivered_at = self._wait(lambda: not self._undelivered(receiver, run_ids, failing), first_end)
        cpu_after = self._cpu(stack, workers)
        self.cpu = {name: round(cpu_after[name] - cpu_before[name], 1) for name in cpu_before}
        for process in workers:
            process.kill()
            process.wait(10)
        return self._result(stack, receiver, run_ids, failing, first_end, recorded_at, delivered_at)

    # --- the pipeline ---

    def _start_intake(self, stack: Any, actors: list[str]) -> str:
        from run_notifier.config import load_intake_settings
        from run_notifier.function_url_handler import make_intake_handler
        from run_notifier.wiring import build_intake

        from localdev.aws import load_template, session_for
        from localdev.function_url_front import FunctionUrlFront
        from scripts import enroll

        settings = load_intake_settings(
            {
                "RUN_QUEUE_URL": stack.resources.queue_url,
                "INTAKE_TOKEN": INTAKE_TOKEN,
                "SETTLE_SECONDS": str(SETTLE_SECS),
            }
        )
        session = session_for(stack.endpoint, stack.dynamodb_endpoint)
        # Throttled beyond its reserved concurrency, as Lambda would (429; Apify retries).
        if not self.config.intake_concurrency:
            self.config.intake_concurrency = int(load_template()["Parameters"]["IntakeReservedConcurrency"]["Default"])
        self.front = FunctionUrlFront(
            make_intake_handler(build_intake(settings, session)), reserved_concurrency=self.config.intake_concurrency
        )
        intake_url = self.front.start() + "/"
        client = enroll.apify_client(stack.sim.base_url, stack.sim.token or "")
        for _ in enroll.enroll(client, intake_url, INTAKE_TOKEN, actors, []):
            pass
        return intake_url

    def _start_workers(self, stack: Any, actors: list[str]) -> list[Any]:
        route = {"match": {"actId": actors}, "incident": {"after": 1}, "slack": {"channel": CHANNEL}}
        secret = "whsec_YnVyc3QtYnVyc3QtYnVyc3QtYnVyc3QtMTIzNA=="
        return spawn_incident_workers(stack, route, BOT_TOKEN, EVENT_BUS, secret, self.config.workers, self.work)

    # --- watching, from outside ---

    def _cpu(self, stack: Any, workers: list[Any]) -> dict[str, float]:
        """CPU seconds so far: the watcher workers (what Lambda would run), each moto, and this process
        (the simulator, the intake, the receivers)."""
        sqs_moto, dynamodb_moto = stack.moto_pids()
        harness = os.times()
        return {
            "workers": sum(cpu_secs(p.pid) or 0.0 for p in workers),
            "moto (SQS, EventBridge)": cpu_secs(sqs_moto) or 0.0,
            "moto (DynamoDB)": cpu_secs(dynamodb_moto) or 0.0,
            "harness (simulator, intake, receivers)": harness.user + harness.system,
        }

    def _sample_rss(self, workers: list[Any]) -> None:
        while not self.stop.wait(0.25):
            for index, process in enumerate(workers):
                got = sample(process.pid)
                if got is not None:
                    self.peak_rss[index] = max(self.peak_rss[index], got.rss_mb)

    def _drain_eventbridge(self, stack: Any) -> None:
        """What a follow-up job's queue receives from the bus: each run's event, when first seen."""
        sqs = stack.aws.client("sqs")
        while not self.stop.is_set():
            try:
                got = sqs.receive_message(QueueUrl=stack.event_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            except Exception:
                if self.stop.is_set():
                    return  # the stack stopped under a receive
                raise
            messages = got.get("Messages", [])
            for message in messages:
                detail = json.loads(message["Body"]).get("detail", {})
                if detail.get("runId"):
                    self.eventbridge_seen.setdefault(detail["runId"], time.time())
            if messages:
                sqs.delete_message_batch(
                    QueueUrl=stack.event_queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )

    def _wait(self, done: Any, first_end: float) -> float | None:
        deadline = time.time() + self.config.timeout_secs
        last = time.time()
        while time.time() < deadline:
            if done():
                return time.time() - first_end
            if time.time() - last > 15:
                print(f"  ... {time.time() - first_end:.0f} s after the first end", flush=True)
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

    def _hooked(self, receiver: Any) -> dict[str, float]:
        first: dict[str, float] = {}
        for message in receiver.received(HOOK_PATH, ok_only=True):
            document = json.loads(message.body)
            if document.get("type") == "apify.run.finished":
                first.setdefault(document["data"]["runId"], message.at)
        return first

    def _undelivered(self, receiver: Any, run_ids: list[str], failing: set[str]) -> list[str]:
        """What is still missing: runs without their webhook or EventBridge event, and failing Actors
        without their incident's Slack post and PagerDuty trigger."""
        hooked = self._hooked(receiver)
        missing = [r for r in run_ids if r not in hooked or r not in self.eventbridge_seen]
        top = [m for m in list(receiver.slack_messages.values()) if "thread_ts" not in m]
        pages = [json.loads(m.body) for m in receiver.received(PAGER_PATH, ok_only=True)]
        if len(top) < len(failing):
            missing.append("slack")
        if sum(1 for page in pages if page["event_action"] == "trigger") < len(failing):
            missing.append("pagerduty")
        return missing

    def _result(
        self,
        stack: Any,
        receiver: Any,
        run_ids: list[str],
        failing: set[str],
        first_end: float,
        recorded_at: float | None,
        delivered_at: float | None,
    ) -> BurstResult:
        hooked = self._hooked(receiver)
        latencies = sorted(at - self.ended[r] for r, at in hooked.items() if r in self.ended)
        requests = [r for r in list(stack.sim.requests)]
        per_resource = Counter((f"{r.method} {r.path}", int(r.at)) for r in requests)
        (resource, _), busiest = per_resource.most_common(1)[0] if per_resource else (("-", 0), 0)
        per_second = Counter(int(r.at) for r in requests)
        dlq_attrs = stack.aws.client("sqs").get_queue_attributes(
            QueueUrl=stack.resources.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        messages = list(receiver.slack_messages.values())
        top_level = Counter(str(m.get("channel")) for m in messages if "thread_ts" not in m)
        pages = Counter(json.loads(m.body)["event_action"] for m in receiver.received(PAGER_PATH, ok_only=True))
        types = Counter(json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH, ok_only=True))
        ends = sorted(self.ended.values())
        delivered = sorted(hooked.values())
        horizon = (max(delivered) if delivered else first_end) - first_end
        timeline = [
            (t, _count_le(ends, first_end + t), _count_le(delivered, first_end + t))
            for t in [i * 0.5 for i in range(int(horizon / 0.5) + 2)]
        ]
        return BurstResult(
            config=self.config,
            recorded_secs=recorded_at,
            delivered_secs=delivered_at,
            lost=[r for r in run_ids if r not in hooked],
            slack_top_level=dict(top_level),
            slack_replies=sum(1 for m in messages if m.get("thread_ts")),
            slack_ratelimited=sum(receiver.slack_ratelimited.values()),
            pagerduty=dict(pages),
            webhook_events=dict(types),
            eventbridge_events=len(self.eventbridge_seen),
            apify_busiest_resource=(resource, busiest),
            apify_busiest_second=max(per_second.values()) if per_second else 0,
            apify_requests=len(requests),
            webhook_creates=len(stack.sim.webhook_creates),
            dispatches=len(stack.sim.webhooks.dispatches),
            intake_throttled=self.front.throttled,
            dispatches_refused=sum(1 for d in list(stack.sim.webhooks.dispatches) if d["status"] != "SUCCEEDED"),
            peak_rss_mb=[round(mb, 1) for mb in self.peak_rss],
            dlq=int(dlq_attrs["ApproximateNumberOfMessages"]),
            first_alert_p50=_pct(latencies, 50),
            first_alert_p95=_pct(latencies, 95),
            cpu_secs=getattr(self, "cpu", {}),
            timeline=timeline,
        )


def _count_le(sorted_values: list[float], bound: float) -> int:
    import bisect

    return bisect.bisect_right(sorted_values, bound)


def _pct(sorted_values: list[float], p: int) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def _wait_until(done: Any, timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(why)
        time.sleep(0.05)
