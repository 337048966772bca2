"""Discord: the summary as an embed with the status colour, posted to a channel's webhook.

`POST {webhook URL}?wait=true` (so Discord answers with the message, and an error is an error),
`allowed_mentions: {"parse": []}` so that nothing in a run's text can ping anyone, and the run's
text escaped so it cannot add Markdown or links. The URL carries the webhook's token, so it is a
secret: `DISCORD_WEBHOOK_URL_SECRET_ARN` (or `DISCORD_WEBHOOK_URL` locally), or a route's own
`webhookUrlSecretArn` / `webhookUrl`. A 429 waits the answer's JSON `retry_after` (seconds),
within the share; 5xx retries; other 4xx are permanent.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from run_notifier.adapters.apify_links import console_url
from run_notifier.adapters.http_client import HttpClient, HttpResponse
from run_notifier.adapters.secret_store import Secret, SecretSource
from run_notifier.config_sections import Section, Variable, secret, text
from run_notifier.destinations import secret_url
from run_notifier.destinations.chat import ChatRendering
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.http_post import post_json, retry_after
from run_notifier.destinations.run_facts import facts, links, title
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Limits
from run_notifier.domain.run_summary import RunSummary

KIND = "discord"
#: Discord's embed limits.
MAX_TITLE, MAX_DESCRIPTION, MAX_FIELD_VALUE, MAX_FIELDS = 256, 4096, 1024, 25
COLOURS = {"SUCCEEDED": 0x2EB67D, "FAILED": 0xE01E5A, "TIMED-OUT": 0xECB22E, "ABORTED": 0x808080}
OTHER_COLOUR = 0x5865F2

SCHEMA = secret_url.SCHEMA


class DiscordSettings(NamedTuple):
    """Discord's settings: the default webhook URL (a secret) by ARN or plain."""

    discord_webhook_url_secret_arn: str | None
    discord_webhook_url: Secret | None


SETTINGS = Section(
    (Variable("DISCORD_WEBHOOK_URL_SECRET_ARN", text, None), Variable("DISCORD_WEBHOOK_URL", secret, None)),
    model=DiscordSettings,
)

_MARKDOWN = re.compile(r"([\\`*_~|>\[\]()<#:-])")
_MENTION = re.compile(r"@(everyone|here)")


def escape(value: str) -> str:
    """The run's text as written: Markdown characters escaped, `@everyone`/`@here` broken with a
    zero-width space (belt and braces: `allowed_mentions` already stops every ping)."""
    return _MENTION.sub("@\u200b\\1", _MARKDOWN.sub(r"\\\1", value))


def default_target(section: DiscordSettings) -> Target | None:
    """The default target: the settings' webhook URL; None without one."""
    return secret_url.default_target(section.discord_webhook_url_secret_arn, section.discord_webhook_url)


def build(target: Target, context: DestinationContext) -> DiscordDestination:
    """A Discord destination for this target's webhook URL."""
    url = secret_url.source(target, context, "Discord webhook URL")
    return DiscordDestination(context.http, url, allow_loopback_http=context.settings.allow_loopback_http)


def embed(summary: RunSummary) -> dict[str, Any]:
    """The run's embed: title, link, colour by status, facts as fields, each escaped."""
    description = [" · ".join(f"[{name}]({url})" for name, url in links(summary))]
    if summary.status_message:
        description.insert(0, escape(summary.status_message))
    found: dict[str, Any] = {
        "title": escape(title(summary))[:MAX_TITLE],
        "url": console_url(summary),
        "description": "\n\n".join(description)[:MAX_DESCRIPTION],
        "color": COLOURS.get(summary.status, OTHER_COLOUR),
        "fields": [
            {"name": name, "value": escape(value)[:MAX_FIELD_VALUE] or "-", "inline": True}
            for name, value in facts(summary)
        ][:MAX_FIELDS],
    }
    if summary.finished_at:
        found["timestamp"] = summary.finished_at
    return found


def message(summary: RunSummary) -> dict[str, Any]:
    """The run's message: its embed, pinging nobody (`allowed_mentions.parse` empty)."""
    return {"embeds": [embed(summary)], "allowed_mentions": {"parse": []}}


def waiting_url(url: str) -> str:
    """The webhook URL with `wait=true` (its other query parameters, a `thread_id` say, kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("wait", "true")])))


def rate_limit_wait(response: HttpResponse) -> float | None:
    """Discord's JSON `retry_after` (seconds), else its `Retry-After` header."""
    try:
        answer = response.json()
        wait = answer.get("retry_after") if isinstance(answer, dict) else None
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
            return float(wait)
    except ValueError:
        pass
    return retry_after(response.headers.get("Retry-After"))


class DiscordDestination(ChatRendering):
    """Discord's incoming webhook: runs, stuck runs, missed schedules and quiet-hours summaries; no incidents."""

    kind = KIND
    #: An embed's description holds at most 4,096 characters.
    limits = Limits(text_chars=4096, text_key="description")

    def __init__(self, http: HttpClient, webhook_url: SecretSource, *, allow_loopback_http: bool) -> None:
        self._http = http
        self._webhook_url = webhook_url
        self._allow_loopback_http = allow_loopback_http

    def post_run(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the run's embed."""
        return self._post(message(summary), deadline)

    def post_lines(self, title: str, lines: list[str], deadline: Deadline) -> str:
        """One message listing lines (a quiet-hours summary, a missed schedule), escaped, no pings."""
        text = "\n".join(f"• {escape(line)}" for line in lines)
        embed = {"title": escape(title)[:MAX_TITLE], "description": text[:MAX_DESCRIPTION], "color": OTHER_COLOUR}
        return self._post({"embeds": [embed], "allowed_mentions": {"parse": []}}, deadline)

    def _post(self, body: dict[str, Any], deadline: Deadline) -> str:
        receipt = post_json(
            self._http,
            waiting_url(self._webhook_url().reveal()),
            json.dumps(body).encode(),
            {},
            deadline,
            "Discord webhook",
            allow_loopback_http=self._allow_loopback_http,
            rate_limit_wait=rate_limit_wait,
        )
        try:
            message_id = json.loads(receipt.body).get("id")
        except (ValueError, AttributeError):
            message_id = None
        return f"message {message_id or '?'} after {receipt.attempts} attempt(s)"
