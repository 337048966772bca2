"""A generic webhook, signed per the Standard Webhooks spec (`standardwebhooks`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from run_notifier.delivery import post_json
from run_notifier.http import HttpClient
from run_notifier.run_summary import RunSummary
from run_notifier.secret import Secret
from run_notifier.timebudget import Deadline

EVENT_TYPE = "apify.run.finished"


def build_payload(summary: RunSummary, now: datetime) -> dict[str, Any]:
    return {
        "type": EVENT_TYPE,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": summary.data(),
    }


def message_id(summary: RunSummary) -> str:
    """Stable per run and finish, so a receiver can de-duplicate on `webhook-id`."""
    generation = summary.generation.replace(":", "").replace(".", "")
    return f"msg_{summary.run_id}_{generation}"


def signed_request(summary: RunSummary, secret: Secret, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(build_payload(summary, now), separators=(",", ":"))
    msg_id = message_id(summary)
    signature = Webhook(secret.reveal()).sign(msg_id=msg_id, timestamp=now, data=body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


class WebhookDestination:
    kind = "webhook"

    def __init__(
        self,
        http: HttpClient,
        url: str,
        secret: Callable[[], Secret],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._url = url
        self._secret = secret
        self._clock = clock

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        body, headers = signed_request(summary, self._secret(), self._clock())
        receipt = post_json(self._http, self._url, body, headers, deadline, "webhook")
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
