"""What the demo prints: the product's events as readable lines, what each destination received,
and the final table from DynamoDB."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from localdev.demo.scenario import (
    DIGEST_CHANNEL,
    DISCORD_PATH,
    FOLLOW_UP,
    HOOK_PATH,
    LIVE_CHANNEL,
    PAGERDUTY_PATH,
    SLACK_API_PATH,
    TEAMS_PATH,
    WEBHOOK_SECRET,
)
from localdev.demo.ways_in import WAYS

SAY_LOCK = threading.Lock()
#: `--verbose` (or DEMO_VERBOSE=1): every event and every delivery as it happens; otherwise each run's
#: journey, what needs a look, and the tallies at the end.
VERBOSE = False


def say(text: str = "") -> None:
    """One whole line at a time: events arrive from the handler's worker threads."""
    with SAY_LOCK:
        print(text, flush=True)


def detail(text: str) -> None:
    """A line for `--verbose` only (normal coordination: counted, not printed)."""
    if VERBOSE:
        say(text)


class Tally:
    """What the receiver got, counted per destination, and each run's redeliveries and dedupes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.signatures: Counter[str] = Counter()
        self.looks: Counter[str] = Counter()
        self.dedupes: Counter[str] = Counter()
        self.deferrals: Counter[str] = Counter()

    def add(self, counter: Counter[str], key: str) -> None:
        with self.lock:
            counter[key] += 1


TALLY = Tally()
SHOWN_CHANNELS = frozenset({LIVE_CHANNEL, DIGEST_CHANNEL})


def slack_line(message: dict[str, Any]) -> str:
    if not message.get("blocks"):  # a text message (a burst's grouped message, a summary)
        return str(message.get("text", "")).splitlines()[0][:150] if message.get("text") else ""
    fields: list[dict[str, Any]] = next((b["fields"] for b in message["blocks"] if b.get("fields")), [])
    parts = [f["text"].replace("\n", " ").replace("*", "") for f in fields]
    return " | ".join(parts)


def print_received(received: Any) -> None:
    """Count what a destination received; print it with `--verbose` (a live message's and a digest's always)."""
    from standardwebhooks import Webhook

    if received.path == HOOK_PATH:
        try:
            payload = Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)
            check = "signature verified"
            TALLY.add(TALLY.signatures, "verified")
        except Exception as error:  # show it: a bad signature is what the demo must reveal
            payload, check = json.loads(received.body), f"SIGNATURE INVALID ({error})"
            TALLY.add(TALLY.signatures, "invalid")
            say(f"  [webhook] SIGNATURE INVALID ({error})")
        TALLY.add(TALLY.received, f"webhook {payload.get('type', '?')}")
        data = payload["data"]
        if payload.get("type", "").startswith("apify.incident."):
            detail(
                f"  [webhook] {payload['type']} {data['key']} failedRuns={data['failedRuns']} "
                f"id={received.headers.get('webhook-id')} - {check}"
            )
            return
        if payload.get("type") == "apify.schedule.missed":
            detail(
                f"  [webhook] {payload['type']} {data['scheduleName']} slot={data['slot']} ({data['reason']}) "
                f"id={received.headers.get('webhook-id')} - {check}"
            )
            return
        detail(
            f"  [webhook] {data['runId']} {data['status']} cost={data['usageTotalUsd']} "
            f"id={received.headers.get('webhook-id')} - {check}"
        )
    elif received.path.startswith(TEAMS_PATH):
        card = received.json()["attachments"][0]["content"]
        body = card["body"]
        facts = (
            " | ".join(f"{f['title']} {f['value']}" for f in body[1]["facts"][:4])
            if len(body) > 1 and "facts" in body[1]
            else body[0]["text"]  # a summary card: its title
        )
        TALLY.add(TALLY.received, "teams")
        detail(f"  [teams]   Adaptive Card {card['version']} (HTTP {received.status}): {facts}")
    elif received.path.startswith(DISCORD_PATH):
        [embed] = received.json()["embeds"]
        fields = " | ".join(f"{f['name']} {f['value']}" for f in embed.get("fields", [])[:4]) or embed["title"]
        TALLY.add(TALLY.received, "discord")
        detail(f"  [discord] embed #{embed['color']:06x} (HTTP {received.status}, pings nobody): {fields}")
    elif received.path == PAGERDUTY_PATH:
        event = received.json()
        summary = (event.get("payload") or {}).get("summary", "")
        TALLY.add(TALLY.received, f"pagerduty {event.get('event_action')}")
        detail(f"  [pagerduty] {event.get('event_action')} dedup_key={event.get('dedup_key')} {summary[:90]}")
    elif received.path.startswith(SLACK_API_PATH + "/"):
        message, method = received.json(), received.path.rsplit("/", 1)[1]
        where = f"#{message.get('channel')}"
        TALLY.add(TALLY.received, f"slack bot {method}")
        # The live channel's and the digest's messages tell their own story; the rest is counted.
        show = say if message.get("channel") in SHOWN_CHANNELS else detail
        if message.get("reply_broadcast"):
            show(f"  [slack]   {where} thread reply, also sent to the channel: {message['text'][:150]!r}")
        elif "thread_ts" in message:
            show(f"  [slack]   {where} thread reply: {message['text'][:160]!r}...")
        elif method == "chat.update":
            show(f"  [slack]   {where} message {message.get('ts')} updated in place: {slack_line(message)}")
        else:
            show(f"  [slack]   {where} {message['text'][:150]}")
    else:
        TALLY.add(TALLY.received, "slack webhook")
        detail(f"  [slack]   {slack_line(received.json())}")


class Progress:
    """Turns the product's typed events (run_notifier.domain.events) into readable demo output."""

    def __init__(self) -> None:
        self.rejections: dict[str, str] = {}  # message ID -> reason
        self.heard_by: dict[str, str] = {}  # run ID -> how its end was first heard of
        #: Set when a run cannot be watched at all (Apify refused the token): the demo stops and says so.
        self.fatal: str | None = None
        self.dropped = 0  # safety-net messages dropped from the ledger alone
        self.warned: set[str] = set()  # runs whose health WARN was told (a redelivery judges it again)

    def __call__(self, event: Any) -> None:
        from run_notifier.domain import events as e
        from run_notifier.domain.isotime import parse_iso

        match event:
            case e.RunWatched(run_id=run_id):
                TALLY.add(TALLY.looks, run_id)
            case e.RunRequeued(run_id=run_id, push="adhoc" | "actor"):
                detail(f"  [watch]   {run_id} still running -> safety-net check in {event.delay_secs} s (push armed)")
            case e.RunRequeued(run_id=run_id):
                detail(
                    f"  [watch]   {run_id} still running -> re-enqueued, attempt {event.next_attempt}, "
                    f"DelaySeconds={event.delay_secs}"
                )
            case e.HealthJudged(run_id=run_id, verdict="WARN"):
                first = run_id not in self.warned
                self.warned.add(run_id)
                (say if first else detail)(
                    f"  [health]  {run_id} SUCCEEDED but WARN: failed {', '.join(event.failed)} "
                    f"({event.history_runs} runs of history)"
                )
            case e.RunStuck(run_id=run_id):
                say(
                    f"  [health]  {run_id} still running after {event.running_secs:.0f} s, past its limit of "
                    f"{event.limit_secs:.0f} s -> 'still running' alert to {', '.join(event.sent) or 'nobody new'}"
                )
            case e.RunPushArmed(run_id=run_id):
                detail(f"  [push]    {run_id} running -> ad-hoc Apify webhook {event.webhook_id} armed for its end")
            case e.RunEnded(run_id=run_id):
                self._ended(event)
            case e.SafetyNetDropped(run_id=run_id):
                first = not self.dropped
                self.dropped += 1
                line = (
                    f"  [watch]   {run_id}: safety-net check after the push-notified finish -> dropped, no Apify call"
                )
                (say if first else detail)(line + ("" if VERBOSE else " (and so on: counted at the end)"))
            case e.RunNotFoundRecorded(run_id=run_id):
                say(f"  [watch]   {run_id} not found on Apify -> recording NOT_FOUND")
            case e.NotificationSent(run_id=run_id, destination="followUp"):
                say(f"  [follow]  {run_id} succeeded -> {event.detail} of {FOLLOW_UP['actorId']} with its dataset")
            case e.NotificationAlreadyDone(run_id=run_id):
                TALLY.add(TALLY.dedupes, _run_of(run_id))
                detail(f"  [dedupe]  {run_id}: {event.destination} already notified ({event.claim}) - not posted again")
            case e.IntakeRequestRefused():
                say(f"  [intake]  HTTP {event.status} {event.error_type}: {event.reason}")
            case e.IntakeEnqueued():
                detail(f"  [intake]  {event.event_type or 'POST /runs'} -> enqueued {', '.join(event.run_ids)}")
            case e.SweepDone(enrolled=enrolled) if enrolled:
                say(f"  [sweep]   {event.listed} runs listed since the watermark, {enrolled} new to the sweep")
            case e.ScheduleMissed():
                late = time.time() - (parse_iso(event.slot) or datetime.now(UTC)).timestamp()
                say(
                    f"  [sweep]   schedule {event.schedule_id}: its slot {event.slot} passed ({event.reason}) "
                    f"-> enqueued for the watcher {late:.1f} s after the slot"
                )
            case e.MessageRejected():
                first = event.message_id not in self.rejections
                self.rejections[event.message_id] = event.reason
                (say if first else detail)(
                    f"  [intake]  rejected ({event.reason}); receive #{event.receive_count}, "
                    "SQS moves it to the DLQ after maxReceiveCount"
                )
            case e.WatchFailed(run_id=run_id, reason=reason, incomplete=True):
                TALLY.add(TALLY.deferrals, _run_of(run_id))
                detail(f"  [retry]   {run_id}: {reason}")
            case e.WatchFailed(run_id=run_id, reason=reason):
                say(f"  [error]   {run_id}: {reason}")
                if reason.startswith("ApifyAuthError"):
                    self.fatal = reason.removeprefix("ApifyAuthError: ")
            case e.NotificationDeferred(failed=False) | e.WaitingForClaims() | e.CourtesySkipped(expected=True):
                TALLY.add(TALLY.deferrals, _run_of(event.run_id))
                fields = event._asdict()
                run_id, reason = fields.pop("run_id", "?"), fields.pop("reason", "")
                what = " ".join(f"{k}={v}" for k, v in fields.items())
                detail(f"  [later]   {run_id}: {type(event).__name__} {what}{f' ({reason})' if reason else ''}")
            case (
                e.NotificationDeferred()
                | e.NotificationFailedPermanently()
                | e.RunVanished()
                | e.ApifyUnreachable()
                | e.RunPushDeferred()
                | e.WatchExpired()
                | e.CourtesySkipped()
            ):
                fields = event._asdict()
                run_id, reason = fields.pop("run_id", "?"), fields.pop("reason", "")
                what = " ".join(f"{k}={v}" for k, v in fields.items())
                say(f"  [warning] {run_id}: {type(event).__name__} {what}{f' ({reason})' if reason else ''}")

    def _ended(self, event: Any) -> None:
        run_id, heard, ago = event.run_id, event.heard_by, event.finished_ago_secs or 0.0
        if run_id in self.heard_by and not VERBOSE:
            return  # its journey's end is told once
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
        say(f"  {tag} {run_id} ended {event.status}: {how} -> {then}")


def _run_of(item: str) -> str:
    """The run an item belongs to (a run's own, or `stuck#<run>`); an incident's or a slot's item as is."""
    return item.rsplit("#", 1)[-1] if item.startswith("stuck#") else item


class AdapterWarnings(logging.Handler):
    """Warnings that are not events (an adapter's own: a secret unreadable, a refused push for the
    whole container), printed by level as they come; an event's own line (it has an `event`
    field) is left to the event printer."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and not hasattr(record, "event"):  # events print themselves
            reason = getattr(record, "reason", "")
            say(f"  [{record.levelname.lower()}] {record.getMessage()}{f' ({reason})' if reason else ''}")


PROGRESS = Progress()


def print_table(
    store: Any, run_ids: set[str], sqs: Any, dlq_url: str, followup_url: str, latencies: dict[str, float]
) -> None:
    say("\nRuns in DynamoDB:")
    header = (
        f"{'runId':<19}{'came in by':<15}{'end heard by':<14}{'alert after end':<17}{'status':<11}{'exit':<6}"
        f"{'usd':<9}{'attempts':<10}{'slack':<8}{'webhook':<9}{'events':<8}{'teams':<8}{'discord':<8}"
        f"{'looks':<7}{'later':<7}{'dedupes':<8}"
    )
    say(header)
    say("-" * len(header))
    for run_id in sorted(run_ids):
        item = store.get(run_id) or {}
        kinds = ("slack", "webhook", "eventbridge", "teams", "discord")
        state = {k: (item.get(f"{k}Notification") or {}).get("state", "-") for k in kinds}
        usd = item.get("usageTotalUsd")
        way = WAYS.get(run_id, "follow-up" if item.get("startedBy") else "queue")
        heard = PROGRESS.heard_by.get(run_id, "-")
        latency = f"{latencies[run_id]:.1f} s" if run_id in latencies else "-"
        status, exit_code = item.get("status", "-"), item.get("exitCode", "-")
        say(
            f"{run_id:<19}{way:<15}{heard:<14}{latency:<17}{status:<11}{exit_code!s:<6}"
            f"{'-' if usd is None else f'{float(usd):.4f}':<9}{item.get('watchAttempts', '-')!s:<10}"
            f"{state['slack']:<8}{state['webhook']:<9}{state['eventbridge']:<8}{state['teams']:<8}{state['discord']:<8}"
            f"{TALLY.looks[run_id]:<7}{TALLY.deferrals[run_id]:<7}{TALLY.dedupes[run_id]:<8}"
        )
    say(
        "(looks: times its message was taken; later: deliveries that came back by design, a claim held "
        "elsewhere or a coalesced update; dedupes: destinations found done already. --verbose prints each.)"
    )
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in dead:
        reason = PROGRESS.rejections.get(message["MessageId"], "see the handler's log line for this message ID")
        say(f"\nDLQ: message {message['MessageId']} body {message['Body'][:60]!r} - reason: {reason}")
    got = []
    for _ in range(3):
        got += sqs.receive_message(QueueUrl=followup_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    say(f"EventBridge rule delivered {len(got)} 'Apify Run Finished' events to the follow-up queue.")
    print_tally()


def print_tally() -> None:
    """What each destination received, and the coordination that was counted rather than printed."""
    got = TALLY.received
    hooks = sum(n for k, n in got.items() if k.startswith("webhook "))
    signed = "every signature verified" if not TALLY.signatures["invalid"] else f"{TALLY.signatures['invalid']} INVALID"
    by_type = ", ".join(f"{n} {k.removeprefix('webhook ')}" for k, n in sorted(got.items()) if k.startswith("webhook "))
    say(f"Received: webhook {hooks} ({by_type}; {signed}), Teams {got['teams']}, Discord {got['discord']}, ")
    say(
        f"  PagerDuty {got['pagerduty trigger']} triggers and {got['pagerduty resolve']} resolves, Slack webhook "
        f"{got['slack webhook']}, Slack bot {got['slack bot chat.postMessage']} posts and "
        f"{got['slack bot chat.update']} updates"
    )
    say(
        f"Coordination, counted: {sum(TALLY.dedupes.values())} dedupes, {sum(TALLY.deferrals.values())} deliveries "
        f"that came back later, {PROGRESS.dropped} safety-net messages dropped from the ledger alone"
    )
