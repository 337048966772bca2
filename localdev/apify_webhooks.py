"""The Apify simulator's webhooks: `POST/GET /v2/webhooks`, `DELETE /v2/webhooks/{id}`,
`POST /v2/webhooks/{id}/test`, dispatched over real HTTP (loopback only) with Apify's headers."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from localdev.http_server import is_loopback_url

Answer = tuple[int, dict[str, str], dict[str, Any]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, error_type: str, message: str) -> Answer:
    return status, {}, {"error": {"type": error_type, "message": message}}


#: Apify's event type for a run that reached this terminal status (underscore in TIMED_OUT).
TERMINAL_EVENTS = {
    "SUCCEEDED": "ACTOR.RUN.SUCCEEDED",
    "FAILED": "ACTOR.RUN.FAILED",
    "TIMED-OUT": "ACTOR.RUN.TIMED_OUT",
    "ABORTED": "ACTOR.RUN.ABORTED",
}


class SimulatedWebhooks:
    """Webhooks, and their dispatch when runs change state: retried on non-2xx (a few quick
    tries, not Apify's 32 h), with settable delay, drop and duplicate rates."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.dispatches: list[dict[str, Any]] = []
        self.dispatch_delay_secs = 0.0
        #: Each dispatch waits a further random 0..jitter seconds (dispatches overtake each other).
        self.dispatch_jitter_secs = 0.0
        self.drop_rate = 0.0
        self.duplicate_rate = 0.0
        self.retries = 3
        #: The first retry's wait, doubled for each further one (Apify: 11 retries over about 32 h).
        self.retry_base_secs = 0.2
        #: Each retry's wait times a random 0.5..1.5 (retries of a burst do not come back all at once).
        self.retry_jitter = False
        #: Runs whose every dispatch is lost (the demo's "webhook that never came").
        self.drop_runs: set[str] = set()
        self._rng = random.Random(7)
        self._by_key: dict[str, str] = {}
        #: Actor ID -> when (time.monotonic) its first Actor-level webhook was made.
        self._actor_webhook_made: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_run_event(self, event_type: str, run: dict[str, Any]) -> None:
        """A run changed state: dispatch to every webhook whose condition and event types match, in the background."""
        with self._lock:
            matching = [
                w
                for w in self.webhooks.values()
                if event_type in w["eventTypes"]
                and any(
                    w["condition"].get(key) and w["condition"].get(key) == run.get(field)
                    for key, field in (("actorId", "actId"), ("actorTaskId", "actorTaskId"), ("actorRunId", "id"))
                )
            ]
            dropped = [self._rng.random() < self.drop_rate or run.get("id") in self.drop_runs for _ in matching]
            copies = [2 if self._rng.random() < self.duplicate_rate else 1 for _ in matching]
        event_data = {"actorId": run.get("actId"), "actorTaskId": run.get("actorTaskId"), "actorRunId": run.get("id")}
        for webhook, drop, count in zip(matching, dropped, copies, strict=True):
            if drop:
                continue
            for _ in range(count):
                threading.Thread(target=self._deliver, args=(webhook, event_type, event_data, run), daemon=True).start()

    def _deliver(
        self, webhook: dict[str, Any], event_type: str, event_data: dict[str, Any], run: dict[str, Any]
    ) -> None:
        with self._lock:
            jitter = self._rng.uniform(0, self.dispatch_jitter_secs)
        time.sleep(self.dispatch_delay_secs + jitter)
        for attempt in range(self.retries + 1):
            record = self.dispatch(webhook, event_type, event_data, run)
            if record["status"] == "SUCCEEDED" or webhook.get("doNotRetry"):
                return
            with self._lock:
                jitter = self._rng.uniform(0.5, 1.5) if self.retry_jitter else 1.0
            time.sleep(self.retry_base_secs * 2**attempt * jitter)

    def armed_runs(self) -> set[str]:
        """The runs that have an ad-hoc webhook (the watcher armed them)."""
        with self._lock:
            return {w["condition"]["actorRunId"] for w in self.webhooks.values() if w["condition"].get("actorRunId")}

    def actor_webhooks_made(self) -> dict[str, float]:
        """Actor ID -> when (time.monotonic) its Actor-level webhook was made: it pushes each run that ends after."""
        with self._lock:
            return dict(self._actor_webhook_made)

    def handle(self, method: str, path: str, body: bytes) -> Answer:
        parts = [p for p in path.split("/") if p]  # v2, webhooks, {id}, test
        if parts[:2] != ["v2", "webhooks"]:
            return _error(404, "page-not-found", "Page not found")
        if method == "POST" and len(parts) == 2:
            return self._create(body)
        if method == "GET" and len(parts) == 2:
            with self._lock:
                items = list(self.webhooks.values())
            return (
                200,
                {},
                {
                    "data": {
                        "total": len(items),
                        "offset": 0,
                        "limit": 1000,
                        "count": len(items),
                        "desc": False,
                        "items": items,
                    }
                },
            )
        if method == "DELETE" and len(parts) == 3:
            with self._lock:
                removed = self.webhooks.pop(parts[2], None)
            return (204, {}, {}) if removed else _error(404, "record-not-found", "Webhook was not found")
        if method == "POST" and len(parts) == 4 and parts[3] == "test":
            with self._lock:
                webhook = self.webhooks.get(parts[2])
            if webhook is None:
                return _error(404, "record-not-found", "Webhook was not found")
            return 201, {}, {"data": self.dispatch(webhook, "TEST", {"actorId": webhook["condition"].get("actorId")})}
        return _error(405, "method-not-allowed", "Method not allowed")

    def _create(self, body: bytes) -> Answer:
        try:
            spec = json.loads(body)
        except ValueError:
            return _error(400, "invalid-input", "body is not JSON")
        missing = [k for k in ("eventTypes", "condition", "requestUrl") if not spec.get(k)]
        if missing:
            return _error(400, "invalid-input", f"missing {', '.join(missing)}")
        with self._lock:
            key = spec.get("idempotencyKey")
            if key and key in self._by_key and self._by_key[key] in self.webhooks:
                return 201, {}, {"data": self.webhooks[self._by_key[key]]}
            webhook_id = uuid.uuid4().hex[:17]
            now = _now()
            webhook = {
                "id": webhook_id,
                "createdAt": now,
                "modifiedAt": now,
                "userId": self.user_id,
                "isAdHoc": bool(spec.get("isAdHoc", False)),
                "eventTypes": spec["eventTypes"],
                "condition": spec["condition"],
                "ignoreSslErrors": bool(spec.get("ignoreSslErrors", False)),
                "doNotRetry": bool(spec.get("doNotRetry", False)),
                "requestUrl": spec["requestUrl"],
                "payloadTemplate": spec.get("payloadTemplate"),
                "headersTemplate": spec.get("headersTemplate"),
                "description": spec.get("description"),
            }
            self.webhooks[webhook_id] = webhook
            actor = spec["condition"].get("actorId")
            if actor and not spec["condition"].get("actorRunId"):
                self._actor_webhook_made.setdefault(str(actor), time.monotonic())
            if key:
                self._by_key[key] = webhook_id
        return 201, {}, {"data": webhook}

    def dispatch(
        self,
        webhook: dict[str, Any],
        event_type: str,
        event_data: dict[str, Any],
        resource: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """POST the default payload to the webhook's URL, as Apify does; returns the dispatch record."""
        dispatch_id = uuid.uuid4().hex[:17]
        payload = {
            "userId": self.user_id,
            "createdAt": _now(),
            "eventType": event_type,
            "eventData": event_data,
            "resource": resource or {},
        }
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ApifySimulator",
            "X-Apify-Webhook": webhook["id"],
            "X-Apify-Webhook-Dispatch-Id": dispatch_id,
        }
        headers.update(json.loads(webhook.get("headersTemplate") or "{}"))
        call: dict[str, Any] = {
            "startedAt": _now(),
            "finishedAt": None,
            "errorMessage": None,
            "responseStatus": None,
            "responseBody": None,
        }
        if not is_loopback_url(webhook["requestUrl"]):
            call["errorMessage"] = "the simulator only dispatches to loopback"
        else:
            request = urllib.request.Request(
                webhook["requestUrl"], data=json.dumps(payload).encode(), headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    call["responseStatus"], call["responseBody"] = response.status, response.read().decode()[:1000]
            except urllib.error.HTTPError as error:
                call["responseStatus"], call["responseBody"] = error.code, error.read().decode()[:1000]
            except OSError as error:
                call["errorMessage"] = type(error).__name__
        call["finishedAt"] = _now()
        ok = call["responseStatus"] is not None and 200 <= call["responseStatus"] < 300
        record = {
            "id": dispatch_id,
            "userId": self.user_id,
            "webhookId": webhook["id"],
            "createdAt": call["startedAt"],
            "status": "SUCCEEDED" if ok else "FAILED",
            "eventType": event_type,
            "eventData": event_data,
            "calls": [call],
        }
        with self._lock:
            self.dispatches.append(record)
        return record
