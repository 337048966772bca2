"""What the demo prints: the product's events as readable lines, what each destination received,
and the final table from DynamoDB."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from localdev.demo.scenario import (
    DISCORD_PATH,
    FOLLOW_UP,
    HOOK_PATH,
    PAGERDUTY_PATH,
    SLACK_API_PATH,
    TEAMS_PATH,
    WEBHOOK_SECRET,
)
from localdev.demo.ways_in import WAYS

SAY_LOCK = threading.Lock()


def say(text: str = "") -> None:
    """One whole line at a time: events arrive from the handler's worker threads."""
    with SAY_LOCK:
        print(text, flush=True)


def slack_line(message: dict[str, Any]) -> str:
    if not message.get("blocks"):  # a text message (a burst's grouped message, a summary)
        return str(message.get("text", "")).splitlines()[0][:150] if message.get("text") else ""
    fields = next((b["fields"] for b in message["blocks"] if b.get("fields")), [])
    parts = [f["text"].replace("\n", " ").replace("*", "") for f in fields]
    return " | ".join(parts)


def print_received(received: Any) -> None:
    from standardwebhooks import Webhook

    if received.path == HOOK_PATH:
        try:
            payload = Webhook(WEBHOOK_SECRET).verify(received.body, received.headers)
            check = "signature verified"
        except Exception as error:  # show it: a bad signature is what the demo must reveal
            payload, check = json.loads(received.body), f"SIGNATURE INVALID ({error})"
        data = payload["data"]
        if payload.get("type", "").startswith("apify.incident."):
            say(
                f"  [webhook] {payload['type']} {data['key']} failedRuns={data['failedRuns']} "
                f"id={received.headers.get('webhook-id')} - {check}"
            )
            return
        if payload.get("type") == "apify.schedule.missed":
            say(
                f"  [webhook] {payload['type']} {data['scheduleName']} slot={data['slot']} ({data['reason']}) "
                f"id={received.headers.get('webhook-id')} - {check}"
            )
            return
        say(
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
        say(f"  [teams]   Adaptive Card {card['version']} (HTTP {received.status}): {facts}")
    elif received.path.startswith(DISCORD_PATH):
        [embed] = received.json()["embeds"]
        fields = " | ".join(f"{f['name']} {f['value']}" for f in embed.get("fields", [])[:4]) or embed["title"]
        say(f"  [discord] embed #{embed['color']:06x} (HTTP {received.status}, pings nobody): {fields}")
    elif received.path == PAGERDUTY_PATH:
        event = received.json()
        summary = (event.get("payload") or {}).get("summary", "")
        say(f"  [pagerduty] {event.get('event_action')} dedup_key={event.get('dedup_key')} {summary[:90]}")
    elif received.path.startswith(SLACK_API_PATH + "/"):
        message, method = received.json(), received.path.rsplit("/", 1)[1]
        where = f"#{message.get('channel')}"
        if message.get("reply_broadcast"):
            say(f"  [slack]   {where} thread reply, also sent to the channel: {message['text'][:150]!r}")
        elif "thread_ts" in message:
            say(f"  [slack]   {where} thread reply: {message['text'][:160]!r}...")
        elif method == "chat.update":
            say(f"  [slack]   {where} message {message.get('ts')} updated in place: {slack_line(message)}")
        else:
            say(f"  [slack]   {where} {message['text'][:150]}")
    else:
        say(f"  [slack]   {slack_line(received.json())}")


class Progress:
    """Turns the product's typed events (run_notifier.domain.events) into readable demo output."""

    def __init__(self) -> None:
        self.rejections: dict[str, str] = {}  # message ID -> reason
        self.heard_by: dict[str, str] = {}  # run ID -> how its end was first heard of
        #: Set when a run cannot be watched at all (Apify refused the token): the demo stops and says so.
        self.fatal: str | None = None

    def __call__(self, event: Any) -> None:
        from run_notifier.domain import events as e
        from run_notifier.domain.isotime import parse_iso

        match event:
            case e.RunRequeued(run_id=run_id, push="adhoc" | "actor"):
                say(f"  [watch]   {run_id} still running -> safety-net check in {event.delay_secs} s (push armed)")
            case e.RunRequeued(run_id=run_id):
                say(
                    f"  [watch]   {run_id} still running -> re-enqueued, attempt {event.next_attempt}, "
                    f"DelaySeconds={event.delay_secs}"
                )
            case e.HealthJudged(run_id=run_id, verdict="WARN"):
                say(
                    f"  [health]  {run_id} SUCCEEDED but WARN: failed {', '.join(event.failed)} "
                    f"({event.history_runs} runs of history)"
                )
            case e.RunStuck(run_id=run_id):
                say(
                    f"  [health]  {run_id} still running after {event.running_secs:.0f} s, past its limit of "
                    f"{event.limit_secs:.0f} s -> 'still running' alert to {', '.join(event.sent) or 'nobody new'}"
                )
            case e.RunPushArmed(run_id=run_id):
                say(f"  [push]    {run_id} running -> ad-hoc Apify webhook {event.webhook_id} armed for its end")
            case e.RunEnded(run_id=run_id):
                self._ended(event)
            case e.SafetyNetDropped(run_id=run_id):
                say(f"  [watch]   {run_id}: safety-net check after the push-notified finish -> dropped, no Apify call")
            case e.RunNotFoundRecorded(run_id=run_id):
                say(f"  [watch]   {run_id} not found on Apify -> recording NOT_FOUND")
            case e.NotificationSent(run_id=run_id, destination="followUp"):
                say(f"  [follow]  {run_id} succeeded -> {event.detail} of {FOLLOW_UP['actorId']} with its dataset")
            case e.NotificationAlreadyDone(run_id=run_id):
                say(f"  [dedupe]  {run_id}: {event.destination} already notified ({event.claim}) - not posted again")
            case e.IntakeRequestRefused():
                say(f"  [intake]  HTTP {event.status} {event.error_type}: {event.reason}")
            case e.IntakeEnqueued():
                say(f"  [intake]  {event.event_type or 'POST /runs'} -> enqueued {', '.join(event.run_ids)}")
            case e.SweepDone(enrolled=enrolled) if enrolled:
                say(f"  [sweep]   {event.listed} runs listed since the watermark, {enrolled} new to the sweep")
            case e.ScheduleMissed():
                late = time.time() - (parse_iso(event.slot) or datetime.now(UTC)).timestamp()
                say(
                    f"  [sweep]   schedule {event.schedule_id}: its slot {event.slot} passed ({event.reason}) "
                    f"-> enqueued for the watcher {late:.1f} s after the slot"
                )
            case e.MessageRejected():
                self.rejections[event.message_id] = event.reason
                say(
                    f"  [intake]  rejected ({event.reason}); receive #{event.receive_count}, "
                    "SQS moves it to the DLQ after maxReceiveCount"
                )
            case e.WatchFailed(run_id=run_id, reason=reason):
                say(f"  [error]   {run_id}: {reason}")
                if reason.startswith("ApifyAuthError"):
                    self.fatal = reason.removeprefix("ApifyAuthError: ")
            case (
                e.NotificationDeferred()
                | e.NotificationFailedPermanently()
                | e.RunVanished()
                | e.ApifyUnreachable()
                | e.RunPushDeferred()
                | e.WaitingForClaims()
                | e.WatchExpired()
                | e.CourtesySkipped()
            ):
                fields = event._asdict()
                run_id, reason = fields.pop("run_id", "?"), fields.pop("reason", "")
                what = " ".join(f"{k}={v}" for k, v in fields.items())
                say(f"  [warning] {run_id}: {type(event).__name__} {what}{f' ({reason})' if reason else ''}")

    def _ended(self, event: Any) -> None:
        run_id, heard, ago = event.run_id, event.heard_by, event.finished_ago_secs or 0.0
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
        )
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in dead:
        reason = PROGRESS.rejections.get(message["MessageId"], "see the handler's log line for this message ID")
        say(f"\nDLQ: message {message['MessageId']} body {message['Body'][:60]!r} - reason: {reason}")
    got = []
    for _ in range(3):
        got += sqs.receive_message(QueueUrl=followup_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    say(f"EventBridge rule delivered {len(got)} 'Apify Run Finished' events to the follow-up queue.")
