"""Slack's incoming webhooks: one URL (a secret in itself) per channel."""

from __future__ import annotations

import json

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import SecretSource
from run_notifier.destinations.http_post import post_json
from run_notifier.destinations.slack.target import Style
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.run_summary import RunSummary


class SlackDestination:
    """Incoming webhook mode."""

    kind = "slack"

    def __init__(self, http: HttpClient, webhook_url: SecretSource, style: Style, *, allow_loopback_http: bool) -> None:
        self._http = http
        self._webhook_url = webhook_url
        self._style = style
        self._allow_loopback_http = allow_loopback_http

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        body = json.dumps(self._style.message(summary)).encode()
        url = self._webhook_url().reveal()
        receipt = post_json(
            self._http, url, body, {}, deadline, "Slack webhook", allow_loopback_http=self._allow_loopback_http
        )
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
