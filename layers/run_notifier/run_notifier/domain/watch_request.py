"""Turn a queue message body into a WatchRequest, or reject it with a reason.

Accepted bodies (docs/architecture.md, "The flow", "Queue bodies"):

* ``{"runId": "<id>"}`` plus the fields the watcher adds when it re-enqueues;
* Apify's webhook payload (run ID at ``eventData.actorRunId`` or ``resource.id``);
* a bare run ID, as plain text or as a JSON string;
* ``{"missedSchedule": {...}}``: not a run but a schedule's slot that passed without one, put
  there by the sweep (domain/missed_schedules.py); only `parse_message` takes it.

Nothing here makes a request: a body is validated before anything reaches Apify.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, NamedTuple

from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.missed_schedules import BODY_FIELD, BadMissedSlot, MissedSlot, missed_slot_from_body
from run_notifier.domain.push import PushMode, push_mode

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9]{1,64}")
#: Apify event types (`ACTOR.RUN.SUCCEEDED`); the intake passes the one that enqueued the run.
EVENT_PATTERN = re.compile(r"[A-Z_.]{1,64}")
#: SQS allows 256 KiB; Apify's webhook payload with a full run object is a few KiB.
MAX_BODY_BYTES = 256 * 1024
MAX_ATTEMPT = 100_000


class InvalidMessage(ValueError):
    """The body cannot be watched; the message says why (never echoes the whole body)."""


class WatchRequest(NamedTuple):
    """One queue message of a run: its ID, attempt, when first seen, whether to settle, how push is armed."""

    run_id: str
    attempt: int = 0
    first_seen_at: datetime | None = None
    #: True when this delivery exists to re-read a terminal run's settled costs.
    settle: bool = False
    #: Which accepted body shape it came from (for logs).
    source: str = "message"
    #: How the run's end will be heard of (see domain/push.py); None: not known yet.
    push: PushMode | None = None
    #: The Apify event that enqueued it, when the intake did (for logs: "came by push").
    event: str | None = None
    #: A safety-net message that comes before this is re-enqueued without a read (domain/expected_end.py).
    read_after: datetime | None = None

    def to_body(self) -> dict[str, Any]:
        """The message body that carries this request back onto the queue."""
        body: dict[str, Any] = {"runId": self.run_id, "attempt": self.attempt}
        if self.first_seen_at is not None:
            body["firstSeenAt"] = format_iso(self.first_seen_at)
        if self.settle:
            body["settle"] = True
        if self.push is not None:
            body["push"] = self.push.value
        if self.read_after is not None:
            body["readAfter"] = format_iso(self.read_after)
        return body


def validate_run_id(value: object) -> str:
    """The run ID if it is 1-64 characters of [A-Za-z0-9]; InvalidMessage otherwise."""
    if not isinstance(value, str):
        raise InvalidMessage(f"run ID must be a string, got {type(value).__name__}")
    if not RUN_ID_PATTERN.fullmatch(value):
        raise InvalidMessage(f"run ID must be 1-64 characters of [A-Za-z0-9], got {_preview(value)}")
    return value


def parse_message(body: str | None) -> WatchRequest | MissedSlot:
    """A run to watch, or a schedule's missed slot to announce (the sweep's `missedSchedule` body)."""
    parsed = _decoded(body)
    if isinstance(parsed, dict) and BODY_FIELD in parsed:
        try:
            return missed_slot_from_body(parsed[BODY_FIELD])
        except BadMissedSlot as error:
            raise InvalidMessage(str(error)) from None
    return _request(parsed)


def parse_body(body: str | None) -> WatchRequest:
    """A run to watch (every accepted body but the sweep's missed slots)."""
    parsed = _decoded(body)
    if isinstance(parsed, dict) and BODY_FIELD in parsed:
        raise InvalidMessage("a missed schedule's slot, not a run")
    return _request(parsed)


class _Bare(NamedTuple):
    run_id: str


def _decoded(body: str | None) -> Any:
    """The body's JSON, or `_Bare` for a bare run ID; InvalidMessage for anything else."""
    if body is None or not body.strip():
        raise InvalidMessage("empty message body")
    if len(body.encode("utf-8", errors="replace")) > MAX_BODY_BYTES:
        raise InvalidMessage(f"message body larger than {MAX_BODY_BYTES} bytes")
    text = body.strip()
    try:
        parsed = json.loads(text)
    except RecursionError:  # deeply nested JSON: json raises this, not ValueError
        raise InvalidMessage("JSON body is nested too deeply") from None
    except ValueError:
        # Not JSON: the only other accepted shape is a bare run ID.
        if RUN_ID_PATTERN.fullmatch(text):
            return _Bare(text)
        raise InvalidMessage(f"body is neither JSON nor a bare run ID: {_preview(text)}") from None
    return parsed


def _request(parsed: Any) -> WatchRequest:
    if isinstance(parsed, _Bare):
        return WatchRequest(run_id=parsed.run_id, source="bare")
    if isinstance(parsed, str):
        return WatchRequest(run_id=validate_run_id(parsed), source="bare")
    if not isinstance(parsed, dict):
        raise InvalidMessage(f"JSON body must be an object or a string, got {type(parsed).__name__}")
    if "runId" in parsed:
        return _from_watcher_body(parsed)
    return _from_apify_webhook(parsed)


def _from_watcher_body(body: dict[str, Any]) -> WatchRequest:
    run_id = validate_run_id(body["runId"])
    attempt = body.get("attempt", 0)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt <= MAX_ATTEMPT:
        raise InvalidMessage(f"attempt must be a whole number 0..{MAX_ATTEMPT}, got {_preview(attempt)}")
    first_seen = body.get("firstSeenAt")
    settle = body.get("settle", False)
    if not isinstance(settle, bool):
        raise InvalidMessage("settle must be true or false")
    push = body.get("push")
    if push is not None and push_mode(push) is None:
        raise InvalidMessage(f"push must be one of {[m.value for m in PushMode]}, got {_preview(push)}")
    event = body.get("event")
    if event is not None and not (isinstance(event, str) and EVENT_PATTERN.fullmatch(event)):
        raise InvalidMessage(f"event must be an Apify event type, got {_preview(event)}")
    read_after = body.get("readAfter")
    return WatchRequest(
        run_id=run_id,
        attempt=attempt,
        first_seen_at=_parse_time(first_seen) if first_seen is not None else None,
        settle=settle,
        source="watcher" if "attempt" in body else ("intake" if event else "runId"),
        push=push_mode(push),
        event=event,
        read_after=_parse_time(read_after, "readAfter") if read_after is not None else None,
    )


def run_id_in_apify_payload(body: dict[str, Any]) -> object:
    """The run an Apify webhook payload is about: `eventData.actorRunId`, else `resource.id` (None if neither)."""
    event_data, resource = body.get("eventData"), body.get("resource")
    if isinstance(event_data, dict) and event_data.get("actorRunId") is not None:
        return event_data["actorRunId"]
    if isinstance(resource, dict) and resource.get("id") is not None:
        return resource["id"]
    return None


def _from_apify_webhook(body: dict[str, Any]) -> WatchRequest:
    candidate = run_id_in_apify_payload(body)
    if candidate is None:
        raise InvalidMessage("JSON body has no run ID (expected runId, eventData.actorRunId or resource.id)")
    event = body.get("eventType")
    known_event = event if isinstance(event, str) and EVENT_PATTERN.fullmatch(event) else None
    return WatchRequest(run_id=validate_run_id(candidate), source="apify-webhook", event=known_event)


def _parse_time(value: object, name: str = "firstSeenAt") -> datetime:
    parsed = parse_iso(value)
    if parsed is None:
        raise InvalidMessage(f"{name} must be an ISO 8601 time, got {_preview(value)}")
    return parsed


def _preview(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"
