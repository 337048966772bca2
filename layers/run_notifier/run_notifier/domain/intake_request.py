"""What the intake does with an HTTP request: which runs to enqueue, or why it refuses.

Pure: the HTTP entry (`run_notifier/function_url_handler.py`) has already checked the
token; this decides from the body alone. Every refusal is an `IntakeRefused` with the status
and an Apify-shaped error type, and nothing is enqueued for it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, NamedTuple

from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.mutes import InvalidMute, duration_of, reason_of, subject_of
from run_notifier.domain.push import ARMED, CREATED_EVENT, RESURRECTED_EVENT, TERMINAL_EVENTS, push_mode
from run_notifier.domain.schedules import SQS_MAX_DELAY_SECS
from run_notifier.domain.watch_request import InvalidMessage, run_id_in_apify_payload, validate_run_id

#: Function URLs take up to 6 MB; Apify's payload with a full run object is a few KB.
MAX_BODY_BYTES = 256 * 1024
MAX_RUN_IDS = 100

#: Apify events that start or reopen a watch, and those that say a run ended (read it at once).
WATCH_EVENTS = frozenset({CREATED_EVENT, RESURRECTED_EVENT})
TEST_EVENT = "TEST"


class IntakeRefused(Exception):
    """An answer other than 2xx; ``error_type`` follows Apify's own error types."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class IntakeDecision(NamedTuple):
    """What the intake does with one request: the runs to enqueue, a mute to add or remove, or why not."""

    #: Runs to enqueue (empty: nothing to do).
    run_ids: tuple[str, ...]
    #: The Apify event type, for `/apify/webhooks` (None for `/runs`).
    event_type: str | None = None
    #: For a terminal event, when the run finished (the payload's `resource.finishedAt`), if it says.
    finished_at: datetime | None = None

    def delay_secs(self, now: datetime, settle_secs: int) -> int:
        """How long the message waits on the queue: a run that just ended is read once its costs have
        settled (`SETTLE_SECONDS` after its finish), so the watcher announces it on that one read instead
        of reading it now and coming back for the settled costs (a message and an invocation fewer, the
        alert no later). Anything else is read at once."""
        if self.event_type not in TERMINAL_EVENTS or settle_secs <= 0:
            return 0
        ago = (now - self.finished_at).total_seconds() if self.finished_at else 0.0
        return max(0, min(SQS_MAX_DELAY_SECS, math.ceil(settle_secs - ago)))

    @property
    def is_test(self) -> bool:
        """True for Apify's `TEST` dispatch (answered 200, nothing enqueued)."""
        return self.event_type == TEST_EVENT

    def message_fields(self, push_header: str | None) -> dict[str, str]:
        """What the watcher is told besides the run ID: the Apify event, and for a run that starts
        or reopens, whether the webhook that told us will also announce its end (the notifier's own
        webhooks say so in `X-Run-Notifier-Push`)."""
        if self.event_type is None:
            return {}
        fields = {"event": self.event_type}
        mode = push_mode(push_header)
        if self.event_type in WATCH_EVENTS and mode in ARMED:
            fields["push"] = mode.value
        return fields


def check_size(body: bytes) -> None:
    """Refuse a body over 256 KB (413) before reading it as JSON."""
    if len(body) > MAX_BODY_BYTES:
        raise IntakeRefused(413, "payload-too-large", f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON allows a key twice and parsers disagree on which one wins: the intake refuses both."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _json_object(body: bytes) -> dict[str, Any]:
    check_size(body)
    try:
        document = json.loads(body, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as duplicate:
        key = str(duplicate).encode("utf-8", "backslashreplace").decode()[:40]
        raise IntakeRefused(400, "invalid-input", f"JSON body has the key {key!r} twice") from None
    except RecursionError:
        raise IntakeRefused(400, "invalid-input", "JSON body is nested too deeply") from None
    except ValueError:
        raise IntakeRefused(400, "invalid-input", "body is not valid JSON") from None
    if not isinstance(document, dict):
        raise IntakeRefused(400, "invalid-input", f"JSON body must be an object, got {type(document).__name__}")
    return document


def from_apify_webhook(body: bytes) -> IntakeDecision:
    """Apify's webhook payload: the run at `eventData.actorRunId`, else `resource.id`."""
    document = _json_object(body)
    event_type = document.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise IntakeRefused(400, "invalid-input", "eventType is missing")
    event_type = event_type[:100]
    if event_type == TEST_EVENT:
        return IntakeDecision((), event_type)
    if event_type not in WATCH_EVENTS | TERMINAL_EVENTS:
        return IntakeDecision((), event_type)  # builds and the like: acknowledged, not acted on
    candidate = run_id_in_apify_payload(document)
    if candidate is None:
        raise IntakeRefused(400, "invalid-input", "no run ID at eventData.actorRunId or resource.id")
    resource = document.get("resource")
    finished_at = parse_iso(resource.get("finishedAt")) if isinstance(resource, dict) else None
    try:
        return IntakeDecision((validate_run_id(candidate),), event_type, finished_at)
    except InvalidMessage as error:
        raise IntakeRefused(400, "invalid-input", str(error)) from None


def from_run_list(body: bytes) -> IntakeDecision:
    """`{"runIds": [...]}`: 1-100 run IDs, each validated; duplicates are enqueued once."""
    document = _json_object(body)
    run_ids = document.get("runIds")
    if not isinstance(run_ids, list) or not 1 <= len(run_ids) <= MAX_RUN_IDS:
        raise IntakeRefused(400, "invalid-input", f"runIds must be a list of 1-{MAX_RUN_IDS} run IDs")
    checked: dict[str, None] = {}
    for index, run_id in enumerate(run_ids):
        try:
            checked[validate_run_id(run_id)] = None
        except InvalidMessage as error:
            raise IntakeRefused(400, "invalid-input", f"runIds[{index}]: {error}") from None
    return IntakeDecision(tuple(checked))


class MuteRequest(NamedTuple):
    """`POST /mutes`: mute `subject` for `duration_secs` with a reason, or lift its mute (`unmute`)."""

    subject: str
    unmute: bool = False
    duration_secs: int = 0
    reason: str = ""


MUTE_KEYS = frozenset({"actor", "task", "for", "reason", "unmute"})


def mute_request(body: bytes) -> MuteRequest:
    """`{"actor" | "task": ..., "for": "2h", "reason": "..."}` or `{"actor" | "task": ..., "unmute": true}`."""
    document = _json_object(body)
    unknown = sorted(set(document) - MUTE_KEYS)
    if unknown:
        raise IntakeRefused(400, "invalid-input", f"unknown keys {unknown[:5]}; use {sorted(MUTE_KEYS)}")
    for key in ("actor", "task", "for", "reason"):
        if key in document and not isinstance(document[key], str):
            raise IntakeRefused(400, "invalid-input", f"{key} must be a string")
    unmute = document.get("unmute", False)
    if not isinstance(unmute, bool):
        raise IntakeRefused(400, "invalid-input", "unmute must be true or false")
    try:
        subject = subject_of(document.get("actor"), document.get("task"))
        if unmute:
            return MuteRequest(subject, unmute=True)
        if "for" not in document:
            raise InvalidMute('say how long with "for" (for example "2h")')
        duration = duration_of(document["for"])
        return MuteRequest(
            subject, duration_secs=int(duration.total_seconds()), reason=reason_of(document.get("reason"))
        )
    except InvalidMute as error:
        raise IntakeRefused(400, "invalid-input", str(error)) from None
