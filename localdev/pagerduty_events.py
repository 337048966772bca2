"""PagerDuty's Events API v2 (`POST /v2/enqueue`) as the receiver plays it.

It checks what PagerDuty checks (https://developer.pagerduty.com/api-reference/ Events API v2):
a 32-character `routing_key`, `event_action` trigger / acknowledge / resolve, a `dedup_key` of at
most 255 characters (required to acknowledge or resolve), and for a trigger a `payload` with
`summary` (at most 1,024 characters), `source` and a `severity` of critical, error, warning or
info. It answers 202 with the `dedup_key` (a trigger without one gets a fresh key, as PagerDuty's
does) or 400 `invalid event` with the errors; the alerts as they stand are in `alerts`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})
_JSON = {"Content-Type": "application/json"}


def problems(event: Any) -> list[str]:
    """What PagerDuty would refuse in this event (empty: it is accepted)."""
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' must be a 32 character string")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not dedup or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required to acknowledge or resolve")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 1024:
                errors.append("'payload.summary' must be 1 to 1024 characters")
            if not isinstance(payload.get("source"), str) or not payload.get("source"):
                errors.append("'payload.source' is missing")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' must be one of critical, error, warning, info")
    return errors


class PagerDutyEvents:
    """The alerts PagerDuty would hold: dedup_key -> {"status": triggered|acknowledged|resolved, "events": n}."""

    def __init__(self) -> None:
        self.alerts: dict[str, dict[str, Any]] = {}

    def answer(self, body: bytes) -> tuple[int, dict[str, str], str]:
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        errors = problems(event)
        if errors:
            return (
                400,
                _JSON,
                json.dumps({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
            )
        dedup = event.get("dedup_key") or uuid.uuid4().hex
        alert = self.alerts.setdefault(dedup, {"status": "triggered", "events": 0})
        alert["events"] += 1
        alert["status"] = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}[
            event["event_action"]
        ]
        return 202, _JSON, json.dumps({"status": "success", "message": "Event processed", "dedup_key": dedup})
