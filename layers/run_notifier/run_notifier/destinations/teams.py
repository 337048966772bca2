"""Microsoft Teams: the summary as an Adaptive Card (1.4), posted to a Teams Workflows webhook.

Office 365 connectors are retired; a Workflows webhook ("When a Teams webhook request is
received") takes `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}` and answers 202. Its URL carries
a signature, so it is a secret: from `TEAMS_WEBHOOK_URL_SECRET_ARN` (or `TEAMS_WEBHOOK_URL`
locally), or a route's own `webhookUrlSecretArn` / `webhookUrl`.

TextBlocks and facts render a subset of Markdown: everything taken from the run is escaped, and
nothing from the run can mention anyone (a Teams mention needs an `msteams.entities` entry, which
the card never has). 429 and 5xx are retried within the share (`http_post`), other 4xx permanent.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import Secret, SecretSource
from run_notifier.config_sections import Section, Variable, secret, text
from run_notifier.destinations import secret_url
from run_notifier.destinations.chat import ChatRendering
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.http_post import post_json
from run_notifier.destinations.run_facts import facts, links, title
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Limits
from run_notifier.domain.run_summary import RunSummary

KIND = "teams"
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
#: Keeps a card well inside Teams' message size (about 28 KB).
MAX_TEXT = 2000
#: A card's text in all: with the card's JSON around it, well inside the message size.
MAX_CARD_TEXT = 16_000

SCHEMA = secret_url.SCHEMA


class TeamsSettings(NamedTuple):
    """Teams' settings: the Workflows webhook URL (a secret) by ARN or plain."""

    teams_webhook_url_secret_arn: str | None
    teams_webhook_url: Secret | None


SETTINGS = Section(
    (Variable("TEAMS_WEBHOOK_URL_SECRET_ARN", text, None), Variable("TEAMS_WEBHOOK_URL", secret, None)),
    model=TeamsSettings,
)

#: Characters that make Markdown anywhere in a line (emphasis, code, links, autolinks).
_INLINE = re.compile(r"([\\`*_~\[\]<>])")
#: What makes Markdown only at a line's start (headings, lists, quotes).
_LIST_MARK = re.compile(r"^(\s*)(?:([#+-])|(\d+)\.)", re.MULTILINE)


def escape(value: str) -> str:
    """A backslash before each Markdown character, so a run's text shows as written and links nothing."""
    inline = _INLINE.sub(r"\\\1", value)
    return _LIST_MARK.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[1]}{m[3]}\\.", inline)


def default_target(section: TeamsSettings) -> Target | None:
    """The default target: the settings' webhook URL; None without one."""
    return secret_url.default_target(section.teams_webhook_url_secret_arn, section.teams_webhook_url)


def build(target: Target, context: DestinationContext) -> TeamsDestination:
    """A Teams destination for this target's webhook URL."""
    url = secret_url.source(target, context, "Teams webhook URL")
    return TeamsDestination(context.http, url, allow_loopback_http=context.settings.allow_loopback_http)


def card(summary: RunSummary) -> dict[str, Any]:
    """The Adaptive Card for a finished run."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": escape(title(summary))[:MAX_TEXT],
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
            "color": "Good" if summary.status == "SUCCEEDED" else "Attention",
        },
        {"type": "FactSet", "facts": [{"title": name, "value": escape(value)} for name, value in facts(summary)]},
    ]
    if summary.status_message:
        body.append({"type": "TextBlock", "text": escape(summary.status_message)[:MAX_TEXT], "wrap": True})
    return {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": name, "url": url} for name, url in links(summary)],
    }


def message(summary: RunSummary) -> dict[str, Any]:
    """What a Workflows webhook takes: a message with the card as its one attachment."""
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card(summary)}]}


def summary_message(title: str, lines: list[str]) -> dict[str, Any]:
    """A card with a bold title and one line each (Adaptive Card 1.4), the lines cut where the card would
    pass `MAX_CARD_TEXT` ("… and N more")."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": escape(title)[:MAX_TEXT], "size": "Medium", "weight": "Bolder", "wrap": True},
    ]
    used = len(body[0]["text"])
    for index, line in enumerate(lines):
        text = escape(line)[:MAX_TEXT]
        if used + len(text) > MAX_CARD_TEXT:
            text = f"… and {len(lines) - index} more"
            body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "None"})
            break
        used += len(text)
        body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "None"})
    card = {"type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "body": body}
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}


class TeamsDestination(ChatRendering):
    """Teams's incoming webhook: runs, stuck runs, missed schedules and quiet-hours summaries; no incidents."""

    kind = KIND
    #: A Workflows webhook takes about 28 KB per message.
    limits = Limits(body_bytes=28_000)

    def __init__(self, http: HttpClient, webhook_url: SecretSource, *, allow_loopback_http: bool) -> None:
        self._http = http
        self._webhook_url = webhook_url
        self._allow_loopback_http = allow_loopback_http

    def post_run(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the run's Adaptive Card."""
        return self._post(message(summary), deadline)

    def post_lines(self, title: str, lines: list[str], deadline: Deadline) -> str:
        """One card listing lines (a quiet-hours summary, a missed schedule), each escaped."""
        return self._post(summary_message(title, lines), deadline)

    def _post(self, card_message: dict[str, Any], deadline: Deadline) -> str:
        body = json.dumps(card_message).encode()
        receipt = post_json(
            self._http,
            self._webhook_url().reveal(),
            body,
            {},
            deadline,
            "Teams webhook",
            allow_loopback_http=self._allow_loopback_http,
        )
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
