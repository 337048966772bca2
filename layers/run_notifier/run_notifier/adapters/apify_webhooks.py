"""The notifier's Apify webhooks, as Apify's `WebhookCreate` wants them: one builder for the
watcher's per-run ad-hoc webhooks (push_arming.py) and `make enroll`'s Actor/task webhooks.

Both post to the intake's `/apify/webhooks` with the intake token and the push header in
`headersTemplate` (Apify does not sign dispatches), and carry an `idempotencyKey`, so a repeated
create finds the webhook made the first time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from run_notifier.domain.push import PUSH_HEADER, PushMode

#: Every webhook of the notifier's starts with this (enroll lists and removes by it).
DESCRIPTION = "apify-run-notifier"


def intake_webhook_url(intake_url: str) -> str:
    """Where the notifier's webhooks post: the intake's `/apify/webhooks` route."""
    return f"{intake_url.rstrip('/')}/apify/webhooks"


def key_of(*parts: str) -> str:
    """A stable idempotency key from what makes the webhook unique."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def webhook_spec(
    *,
    condition: dict[str, str],
    request_url: str,
    intake_token: str,
    push_mode: PushMode,
    event_types: Iterable[str],
    idempotency_key: str,
    description: str,
    ad_hoc: bool = False,
) -> dict[str, Any]:
    """A `WebhookCreate` body (contract-tested against Apify's OpenAPI schema)."""
    spec: dict[str, Any] = {
        "eventTypes": list(event_types),
        "condition": condition,
        "requestUrl": request_url,
        "idempotencyKey": idempotency_key,
        "headersTemplate": json.dumps({"Authorization": f"Bearer {intake_token}", PUSH_HEADER: push_mode.value}),
        "description": f"{DESCRIPTION}{': ' if description else ''}{description}",
    }
    if ad_hoc:
        spec["isAdHoc"] = True
    return spec
