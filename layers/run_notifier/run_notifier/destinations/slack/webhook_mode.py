"""Slack's incoming webhooks: one URL (a secret in itself) per channel.

On a route in incident mode: a message when an incident opens (with the route's mentions) and one
when it recovers; an incoming webhook cannot thread or edit, so further failures say nothing.
"""

from __future__ import annotations

import json
from typing import Any

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import SecretSource
from run_notifier.destinations.chat import ChatRendering
from run_notifier.destinations.http_post import post_json
from run_notifier.destinations.rendering import renders
from run_notifier.destinations.slack.incident_message import facts_of_event, top_message
from run_notifier.destinations.slack.limits import bounded
from run_notifier.destinations.slack.message import summary_text
from run_notifier.destinations.slack.target import Style
from run_notifier.destinations.slack.web_api import CONTENT_ERRORS, ContentRefused
from run_notifier.domain.announcements import IncidentAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.incidents import Transition
from run_notifier.domain.ports import Limits, PermanentDeliveryError, Traits
from run_notifier.domain.run_summary import RunSummary


class SlackDestination(ChatRendering):
    """Incoming webhook mode: on incident routes, a message when an incident opens and one when it recovers."""

    kind = "slack"
    traits = Traits(chat=True, incidents_instead_of_runs=True)
    #: A message's text: 40,000 characters.
    limits = Limits(text_chars=40_000, text_key="text")

    def __init__(self, http: HttpClient, webhook_url: SecretSource, style: Style, *, allow_loopback_http: bool) -> None:
        self._http = http
        self._webhook_url = webhook_url
        self._style = style
        self._allow_loopback_http = allow_loopback_http

    def post_run(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the run's message; the standard one when Slack refuses what the route's template made."""
        return self._style.sent(summary, lambda message: self._post(message, deadline))

    def post_lines(self, title: str, lines: list[str], deadline: Deadline) -> str:
        """Post a title and its lines, each escaped."""
        return self._post({"text": summary_text(title, lines)}, deadline)

    @renders(IncidentAnnouncement)
    def _incident(self, announcement: IncidentAnnouncement, deadline: Deadline) -> str:
        event = announcement.event
        mentions = self._style.mentions if event.kind is Transition.OPENED else []
        return self._post(top_message(facts_of_event(event), mentions), deadline)

    def _post(self, message: dict[str, Any], deadline: Deadline) -> str:
        body = json.dumps(bounded(message)).encode()
        url = self._webhook_url().reveal()
        try:
            receipt = post_json(
                self._http, url, body, {}, deadline, "Slack webhook", allow_loopback_http=self._allow_loopback_http
            )
        except PermanentDeliveryError as error:
            if any(code in str(error) for code in CONTENT_ERRORS):  # an incoming webhook says it in its 400's body
                raise ContentRefused(str(error)) from None
            raise
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
