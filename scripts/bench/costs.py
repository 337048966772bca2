"""The AWS cost of a million runs, from counts the benchmark measures and list prices stated with their date.

`AwsCalls` counts every AWS API call the real watcher and intake make in `make bench`'s local pipeline
(a botocore hook on their session, by service and operation), and the bytes their log lines would
ship to CloudWatch at INFO (a handler with the product's own JSON formatter). `cost_table` turns
those per-run counts, with the simulated mix's Lambda time and SQS messages per run (the product's
own watcher on a virtual clock, scripts/bench/push.py), into dollars per 1,000,000 runs.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any, cast

#: us-east-1 list prices as published on aws.amazon.com/<service>/pricing, read for this table on
#: 2026-12-02 (on-demand, no free tier). Check them before relying on the totals.
PRICES_AS_OF = "2026-12-02"
LAMBDA_GB_S_USD = 0.0000133334  # arm64
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
SQS_REQUEST_USD = 0.40 / 1_000_000  # standard queue, per 64 KB chunk
DDB_WRITE_UNIT_USD = 0.625 / 1_000_000  # on-demand write request unit (1 KB)
DDB_READ_UNIT_USD = 0.125 / 1_000_000  # on-demand read request unit (4 KB strongly consistent)
DDB_STORAGE_GB_MONTH_USD = 0.25
LOGS_INGEST_GB_USD = 0.50
SECRETS_CALL_USD = 0.05 / 10_000
EVENTBRIDGE_EVENT_USD = 1.00 / 1_000_000  # custom events (optional destination)
MILLION = 1_000_000

_WRITES = {"UpdateItem", "PutItem", "DeleteItem"}
_READS = {"GetItem", "Query", "Scan"}


class AwsCalls:
    """Counts a session's AWS calls and the log bytes of the product's logger while it is attached."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.batch_keys: Counter[str] = Counter()
        self.log_bytes = 0
        self.log_lines = 0
        session.events.register("before-call", self._count)
        self._handler: logging.Handler | None = None

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        self.calls[name] += 1
        if model.name == "BatchGetItem":  # billed per item read
            self.batch_keys[name] += sum(len(v.get("Keys", [])) for v in params.get("RequestItems", {}).values())

    def count_logs(self) -> None:
        """Count the INFO lines the product logs (as CloudWatch would get them) without printing them."""
        from run_notifier.observability import logger

        counter = self

        class _Bytes(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                counter.log_lines += 1
                counter.log_bytes += len(self.format(record).encode()) + 1

        handler = _Bytes(level=logging.INFO)
        handler.setFormatter(logger.registered_formatter)
        for existing in logger.handlers:
            existing.setLevel(max(existing.level, logging.WARNING))  # the bench's output stays quiet
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        self._handler = handler

    def stop(self) -> None:
        from run_notifier.observability import logger

        if self._handler is not None:
            cast(Any, logger).removeHandler(self._handler)  # Powertools' Logger forwards it, untyped
            logger.setLevel(logging.WARNING)


def item_kb(items: list[dict[str, Any]]) -> float:
    """Mean size of DynamoDB items in KB, as DynamoDB sizes them (names plus values; approximated from the
    low-level JSON without its type markers and punctuation)."""
    if not items:
        return 1.0

    def typed(value: Any) -> int:  # an attribute value {"S": "..."} / {"M": {...}}
        ((kind, inner),) = value.items()
        if kind == "M":
            return sum(len(k) + typed(v) for k, v in inner.items())
        if kind == "L":
            return sum(typed(v) for v in inner)
        return len(str(inner))

    total = [sum(len(name) + typed(value) for name, value in item.items()) for item in items]
    return sum(total) / len(total) / 1024


def cost_table(
    calls: AwsCalls,
    runs: int,
    run_item_kb: float,
    push: dict[str, Any],
    intake_secs: float,
    intake_memory_gb: float,
    intake_calls_per_run: float,
    ttl_days: int,
    mean_run_hours: float,
    safety_net_secs: int,
    look_gb_s: float,
) -> dict[str, Any]:
    """Per 1,000,000 runs: each line's count and dollars, the total, and the biggest line."""
    per_run = {name: count / runs for name, count in calls.calls.items()}
    ddb_writes = sum(v for k, v in per_run.items() if k.split(":")[1] in _WRITES and k.startswith("dynamodb"))
    ddb_reads = sum(v for k, v in per_run.items() if k.split(":")[1] in _READS and k.startswith("dynamodb"))
    ddb_reads += sum(calls.batch_keys.values()) / runs
    write_units = ddb_writes * max(1, math.ceil(run_item_kb))  # a write is billed by the item's size, before or after
    read_units = ddb_reads * max(1, math.ceil(run_item_kb / 4))
    # Each message (the intake's and the watcher's, as the simulated mix sends them) is sent, received
    # and deleted: the event source mapping receives and deletes in batches, but a quiet fleet's
    # messages come one at a time, so three each. Visibility changes (the batch's heartbeat, a
    # failed record's backoff) and queue reads are as the pipeline made them.
    sqs_other = sum(v for k, v in per_run.items() if k.startswith("sqs:") and not k.startswith("sqs:SendMessage"))
    sqs_requests = push["sqs_messages_per_run"] * 3 + sqs_other
    secrets = per_run.get("secretsmanager:GetSecretValue", 0.0)
    lambda_gb_s = push["gb_s_per_run"] + intake_secs * intake_memory_gb * intake_calls_per_run
    lambda_requests = push["invocations_per_run"] + intake_calls_per_run
    log_gb = calls.log_bytes / runs / 1024**3
    stored_gb_months = run_item_kb / 1024**2 * ttl_days / 30  # one run's item, kept until its TTL
    lines = [
        ("Lambda compute (GB-s)", lambda_gb_s, lambda_gb_s * LAMBDA_GB_S_USD),
        ("Lambda requests", lambda_requests, lambda_requests * LAMBDA_REQUEST_USD),
        ("SQS requests", sqs_requests, sqs_requests * SQS_REQUEST_USD),
        (
            f"DynamoDB write units ({ddb_writes:.1f} writes of ~{run_item_kb:.1f} KB)",
            write_units,
            write_units * DDB_WRITE_UNIT_USD,
        ),
        (f"DynamoDB read units ({ddb_reads:.1f} reads)", read_units, read_units * DDB_READ_UNIT_USD),
        (
            f"DynamoDB storage (GB-months, TTL {ttl_days} d)",
            stored_gb_months,
            stored_gb_months * DDB_STORAGE_GB_MONTH_USD,
        ),
        (
            f"CloudWatch Logs at INFO (GB; {calls.log_lines / runs:.1f} lines a run)",
            log_gb,
            log_gb * LOGS_INGEST_GB_USD,
        ),
        ("Secrets Manager calls (cached 300 s per container)", secrets, secrets * SECRETS_CALL_USD),
    ]
    table = [(name, count * MILLION, usd * MILLION) for name, count, usd in lines]
    total = sum(usd for _, _, usd in table)
    biggest = max(table, key=lambda line: line[2])
    # What a run costs while it runs: with push, one safety-net look per period (a message sent,
    # received and deleted, one invocation of about one plain read's time).
    looks = 3600 / safety_net_secs
    hourly = looks * (3 * SQS_REQUEST_USD + LAMBDA_REQUEST_USD + look_gb_s * LAMBDA_GB_S_USD)
    return {
        "lines": table,
        "total": total,
        "mean_run_hours": mean_run_hours,
        "per_run_hour": hourly * MILLION,
        "per_run_fixed": total - hourly * MILLION * mean_run_hours,
        "biggest": biggest,
        "per_run_calls": dict(sorted(per_run.items())),
        "eventbridge": EVENTBRIDGE_EVENT_USD * MILLION,
    }


def report_section(costs: dict[str, Any], runs: int) -> list[str]:
    lines = [
        "## The cost of a million runs",
        "",
        f"AWS only (Apify's own charges excluded), us-east-1 list prices read on {PRICES_AS_OF}, with push on "
        f"and Slack plus the signed webhook as destinations. Counts per run: every AWS call the real watcher and "
        f"intake made for the {runs} runs of the local pipeline above (a botocore hook on their session), the "
        "INFO log lines they would ship, and the simulated mix's Lambda time and SQS messages per run "
        "(the watcher's own policy on a virtual clock).",
        "",
        "| item | per 1,000,000 runs | USD |",
        "|---|---|---|",
    ]
    for name, count, usd in costs["lines"]:
        lines.append(f"| {name} | {count:,.1f} | {usd:,.2f} |")
    fixed, hourly, hours = costs["per_run_fixed"], costs["per_run_hour"], costs["mean_run_hours"]
    lines += [
        f"| **total** | | **{costs['total']:,.2f}** |",
        "",
        f"The mix's runs last {hours:.1f} h on average (log-uniform from 10 s to 24 h), and with push a run costs "
        "a safety-net look per period while it runs, so the total is two parts: "
        f"**${fixed:,.2f} per million runs** (the arming, the finish, the write, the alerts) plus "
        f"**${hourly:,.2f} per million run-hours** (four looks an hour). A fleet of 10-minute runs: "
        f"${fixed + hourly / 6:,.2f} per million runs; of 1-hour runs: ${fixed + hourly:,.2f}.",
        "",
        f"The biggest item is {costs['biggest'][0].split(' (')[0]} (${costs['biggest'][2]:,.2f}). Not in the total: "
        f"EventBridge, when routed, adds ${costs['eventbridge']:.2f} per million events; the sweep (one short "
        "invocation a minute) and the event source's idle long polls are a fixed few cents a month; "
        "alarms are $0.10 each a month. Calls per run the counts came from:",
        "",
        "| call | per run |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {count:.2f} |" for name, count in costs["per_run_calls"].items()]
    lines.append("")
    return lines
