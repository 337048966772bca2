"""What a chaos run came to: every alert counted per run and destination, duplicates attributed to
their cause, the DLQ with its reasons, latency under faults; non-zero on any loss."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from localdev.chaos.config import HOOK_PATH, PAGER_PATH, POISON, SLACK_PATH
from localdev.chaos.journal import rejections
from localdev.scoreboard import Scoreboard, percentile

#: With --push, runs outlive their first read: at least this share must get an ad-hoc webhook, or
#: the run says little about push under kills and faults.
ARMED_TARGET = 0.8


def report(
    chaos: Any,
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
    kinds = chaos.kinds
    # An incident's own events name its runs too: they are counted per incident, not per run.
    per_run = [m for m in receiver.messages if not (m.path == HOOK_PATH and b'"apify.incident.' in m.body)]
    slack_paths = () if chaos.config.incidents else (SLACK_PATH,)  # with incidents chat is per incident
    board = Scoreboard(run_ids).read(per_run, slack_paths=slack_paths, webhook_paths=(HOOK_PATH,))
    incident_events = []
    for event in drain(sqs, target_url):
        detail = json.loads(event["Body"])["detail"]
        if "runId" in detail:
            board.add(detail["runId"], "eventbridge", 0.0)
        else:
            incident_events.append(detail)
    lost = board.lost(kinds)
    duplicates = board.duplicates()
    lost_answers = lost_event_answers(proxy.lost_answers + [(target, body) for target, body, _ in proxy.slow_answers])
    attributed = {key: n for key, n in duplicates.items() if key in chaos.killer.windows}
    answer_lost = {key: n for key, n in duplicates.items() if key in lost_answers and key not in attributed}
    unexplained = {key: n for key, n in duplicates.items() if key not in attributed and key not in answer_lost}
    dlq = drain(sqs, resources.dlq_url)
    reasons = rejections(chaos.work)
    poison_bodies = set(POISON)
    valid_in_dlq = [m for m in dlq if m["Body"] not in poison_bodies]
    ended = {run_id: sim.runs[run_id].ended_wall() for run_id in run_ids}
    latencies = sorted(
        board.latencies(ended, ("webhook",) if chaos.config.incidents else ("slack", "webhook")).values()
    )
    counts = Counter(board.per_run(kinds).values())
    print()
    print(f"| chaos ({time.monotonic() - started:.0f} s, {'finished' if done else 'TIMED OUT'}) | |")
    print("|---|---|")
    print(f"| runs | {len(run_ids)} ({chaos.enqueued} messages enqueued, {len(POISON)} of them poison) |")
    every = (time.monotonic() - started) / max(1, chaos.killer.kills)
    print(
        f"| workers, kills | {chaos.config.workers}, {chaos.killer.kills} (SIGKILL of a busy worker, one every "
        f"{every:.1f} s) |"
    )
    print(
        f"| AWS faults (of {proxy.requests} requests) | "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(proxy.faults.items()))
        + " |"
    )
    print(f"| notifications per run ({', '.join(kinds)}) | {dict(sorted(counts.items()))} |")
    print(f"| lost | {len(lost)} {lost[:5] if lost else ''} |")
    print(
        f"| duplicates | {sum(duplicates.values())}: {sum(attributed.values())} in a kill window between a send "
        f"and its record, {sum(answer_lost.values())} where EventBridge took the event and its answer was lost "
        f"or came after the client's read timeout (the same notificationId), {sum(unexplained.values())} unexplained "
        f"{list(unexplained)[:5] if unexplained else ''} |"
    )
    print(f"| DLQ | {len(dlq)}: {len(dlq) - len(valid_in_dlq)} poison, {len(valid_in_dlq)} valid |")
    for message in dlq:
        reason = reasons.get(message["MessageId"], "no log line found")
        print(f"|   {message['MessageId'][:8]} | {reason[:100]} |")
    if latencies:
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        print(f"| latency from run end to first alert | p50 {p50:.1f} s, p95 {p95:.1f} s, max {latencies[-1]:.1f} s |")
    armed_enough = True
    if chaos.config.push:
        dispatched = Counter(d["status"] for d in sim.webhooks.dispatches)
        adhoc = sim.webhooks.armed_runs() & set(run_ids)
        # A run is armed by its own webhook, or by its Actor's made before it ended (the watcher's choice
        # when per-run creates are paced or fail: domain/watcher.py).
        made = sim.webhooks.actor_webhooks_made()
        by_actor = {
            r for r in run_ids if sim.runs[r].act_id in made and made[sim.runs[r].act_id] < sim.runs[r].end_mono()
        }
        armed = adhoc | by_actor
        # A run can be armed only if a watcher saw it running: one that ended before its first read (a slow
        # machine, a worker killed with its batch) needs no webhook. The target is over those that could be.
        armable = [
            r for r in run_ids if _first_read(sim, r) is not None and _first_read(sim, r) < sim.runs[r].end_mono()
        ]
        armed_enough = len(armed & set(armable)) >= ARMED_TARGET * len(armable)
        print(
            f"| push | {len(armed & set(armable))} of {len(armable)} runs seen running armed "
            f"({len(armed & set(armable)) / max(1, len(armable)):.0%}, target {ARMED_TARGET:.0%}; "
            f"{len(run_ids) - len(armable)} ended before their first read; "
            f"{len(by_actor & set(armable) - adhoc)} by their Actor's webhook); creates answered "
            f"{dict(sorted(Counter(sim.webhook_creates).items()))}, dispatches {dict(sorted(dispatched.items()))} |"
        )
    incidents_ok = True
    if chaos.config.incidents:
        incidents_ok = incident_report(chaos, receiver, resources, incident_events)
    ok = done and not lost and not unexplained and not valid_in_dlq and armed_enough and incidents_ok
    print(f"\nchaos: {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


def incident_report(chaos: Any, receiver: Any, resources: Any, bus_events: list[dict[str, Any]]) -> bool:
    """Every transition the product made (its incident items, read at the end) reached PagerDuty, the
    webhook and EventBridge; nothing is left pending; a repeat only where a killed worker held its claim."""
    from run_notifier.adapters.dynamodb import from_item

    ddb = chaos.ddb
    made: set[tuple[str, str]] = set()  # (incident ID, opened | resolved)
    pending = 0
    for page in ddb.get_paginator("scan").paginate(TableName=resources.table_name):
        for raw in page["Items"]:
            item = from_item(raw)
            if not str(item["runId"]).startswith("incident#") or "incident" not in item:
                continue
            pending += len(item.get("pendingIncidentEvents") or {})
            for seen in item["incident"].get("seen") or []:
                if seen.get("t") in ("opened", "resolved") and seen.get("i"):
                    made.add((seen["i"], seen["t"]))
    actions = {"trigger": "opened", "resolve": "resolved"}
    pages = Counter(
        (json.loads(m.body)["dedup_key"], actions[json.loads(m.body)["event_action"]])
        for m in receiver.received(PAGER_PATH, ok_only=True)
    )
    hooks = Counter(
        tuple(json.loads(m.body)["data"]["notificationId"].rsplit("#", 1))
        for m in receiver.messages
        if m.path == HOOK_PATH and m.status < 300 and b'"apify.incident.' in m.body
    )
    bus = Counter(tuple(e["notificationId"].rsplit("#", 1)) for e in bus_events)
    lost = {
        name: sorted(made - set(seen))
        for name, seen in (("pagerduty", pages), ("webhook", hooks), ("eventbridge", bus))
    }
    repeats = {
        (incident_id, transition, name): n - 1
        for name, seen in (("pagerduty", pages), ("webhook", hooks))
        for (incident_id, transition), n in seen.items()
        if n > 1
    }
    attributed = {key: n for key, n in repeats.items() if (f"{key[0]}#{key[1]}", key[2]) in chaos.killer.windows}
    unexplained = {key: n for key, n in repeats.items() if key not in attributed}
    opened = sum(1 for _, t in made if t == "opened")
    print(
        f"| incidents | {opened} opened and {len(made) - opened} resolved by the product; PagerDuty "
        f"{sum(pages.values())} events, webhook {sum(hooks.values())}, EventBridge {sum(bus.values())}; "
        f"lost transitions {sum(len(v) for v in lost.values())} {[v[:2] for v in lost.values() if v] or ''}; "
        f"still pending {pending}; repeats {sum(repeats.values())} ({sum(attributed.values())} in a kill window, "
        f"{sum(unexplained.values())} unexplained {list(unexplained)[:3] if unexplained else ''}) |"
    )
    # EventBridge repeats come from lost answers as for runs; only its losses count here.
    return not any(lost.values()) and pending == 0 and not unexplained and opened > 0


def lost_event_answers(lost: list[tuple[str, bytes]]) -> set[tuple[str, str]]:
    """(run, "eventbridge") for every PutEvents that was published but whose answer was dropped."""
    windows: set[tuple[str, str]] = set()
    for target, body in lost:
        if not target.endswith("PutEvents"):
            continue
        for entry in json.loads(body).get("Entries", []):
            detail = json.loads(entry["Detail"])
            windows.add((detail.get("runId") or detail.get("notificationId", ""), "eventbridge"))
    return windows


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
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


def _first_read(sim: Any, run_id: str) -> float | None:
    """When a watcher first read the run from Apify (the simulator's clock); None if never."""
    reads = [r.at for r in sim.requests_for(run_id) if r.method == "GET"]
    return min(reads) if reads else None
