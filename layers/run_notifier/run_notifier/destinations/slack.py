"""Slack: an incoming webhook (one URL per channel), or a bot token posting with the Web API's
`chat.postMessage` to the channel a route names (one token for every channel).

Route target keys: `webhookUrl` / `webhookUrlSecretArn` (webhook mode) or `channel` (bot mode,
the token from `SLACK_BOT_TOKEN_SECRET_ARN` / `SLACK_BOT_TOKEN`); `mention` (a list: `@here`,
`@channel`, `<!subteam^S0123>`, `<@U0123>`) and `mentionOn` (statuses; default FAILED and
TIMED-OUT, so a SUCCEEDED run mentions nobody unless a route asks); `template` (the route's own
Block Kit message with placeholders, destinations/slack_template.py).

Why a hand-written client and not `slack-sdk`: the one call is a JSON POST whose answer says
`ok`, which the shared `post_json` (deadline per request, bounded retries, `Retry-After`)
already does. Measured on 2026-11-29 (`python -X importtime`, after `import boto3`):
`slack_sdk.web` 3.48.0 adds 34-39 ms of imports and 4.5 MB to the layer, against a cold start
already at its 1.25x target (docs/performance.md); and its WebClient's own retry handlers know
nothing of the invocation's time left. Slack answers errors as HTTP 200 with
`{"ok": false, "error": ...}`: the errors that no retry can fix are permanent (recorded and
alarmed), `ratelimited` honours `Retry-After`, the rest are retried.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from run_notifier.adapters.http_client import HttpClient, HttpResponse
from run_notifier.adapters.live_messages import DynamoLiveMessages, LiveMessage
from run_notifier.adapters.retry import Retry
from run_notifier.adapters.secret_store import SecretSource
from run_notifier.destinations.context import DestinationContext, LogTail, Target
from run_notifier.destinations.http_post import post_json, retry_after
from run_notifier.destinations.slack_message import (
    DEFAULT_MENTION_ON,
    WHY_IT_FAILED,
    build_message,
    log_reply,
    mention_markup,
    running_message,
    with_mentions,
)
from run_notifier.destinations.slack_pacing import CHANNEL_PACER, ChannelPacer
from run_notifier.destinations.slack_template import render, template_problem
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import PermanentDeliveryError, TargetSchema, log
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.statuses import NOTIFIABLE

if TYPE_CHECKING:
    from run_notifier.config import Settings

KIND = "slack"
#: The log's tail kept in memory (a log can be many MB; it is streamed to its end).
LOG_KEEP_BYTES = 16 * 1024
#: At most this long reading the log, within the destination's share.
LOG_READ_SECS = 10.0

#: `chat.postMessage` errors that no retry will fix (Slack's documented error codes).
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "restricted_action",
        "team_access_not_granted",
    }
)


#: `chat.update` errors that mean the live message cannot be updated: the final summary is posted fresh.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class MessageGone(Exception):
    """The live message was deleted (or can no longer be edited)."""


def check_target(target: Mapping[str, Any]) -> str | None:
    """Slack's own rules on a route target (routing has checked the keys and value types)."""
    bad = [m for m in target.get("mention", []) if mention_markup(m) is None]
    if bad:
        return f"mention has entries Slack cannot notify: {bad[:3]} (use @here, @channel, <!subteam^ID>, <@USERID>)"
    unknown = sorted(set(target.get("mentionOn", [])) - NOTIFIABLE)
    if unknown:
        return f"mentionOn has unknown statuses {unknown}; allowed: {sorted(NOTIFIABLE)}"
    if "channel" in target and ("webhookUrl" in target or "webhookUrlSecretArn" in target):
        return "give a channel (bot token) or a webhook URL, not both"
    if target.get("live") and "channel" not in target:
        return "live needs a channel (bot-token mode): an incoming webhook cannot update its message"
    if "template" in target:
        return template_problem(target["template"])
    return None


SCHEMA = TargetSchema(
    keys=frozenset({"webhookUrl", "webhookUrlSecretArn", "channel", "mention", "mentionOn", "template", "live"}),
    required_one_of=frozenset({"webhookUrl", "webhookUrlSecretArn", "channel"}),
    list_keys=frozenset({"mention", "mentionOn"}),
    object_keys=frozenset({"template"}),
    bool_keys=frozenset({"live"}),
    check=check_target,
)


def default_target(settings: Settings) -> Target | None:
    if settings.slack_channel:  # config.py has checked that a bot token goes with it
        return {"channel": settings.slack_channel}
    if settings.slack_webhook_url_secret_arn:
        return {"webhookUrlSecretArn": settings.slack_webhook_url_secret_arn}
    if settings.slack_webhook_url:
        return {"webhookUrl": settings.slack_webhook_url}
    return None


def _style(target: Target) -> Style:
    mentions = [m for m in (mention_markup(str(m)) for m in target.get("mention", [])) if m]
    return Style(mentions, frozenset(target.get("mentionOn", [])) or DEFAULT_MENTION_ON, target.get("template"))


def build(target: Target, context: DestinationContext) -> SlackDestination | SlackBotDestination:
    if "channel" in target:
        return build_bot(target, context)
    url = context.secrets.source(
        str(target.get("webhookUrlSecretArn") or "") or None, target.get("webhookUrl"), "Slack webhook URL"
    )
    return SlackDestination(context.http, url, _style(target), allow_loopback_http=context.settings.allow_loopback_http)


def build_bot(target: Target, context: DestinationContext) -> SlackBotDestination:
    settings = context.settings
    token = context.secrets.source(settings.slack_bot_token_secret_arn, settings.slack_bot_token, "Slack bot token")
    return SlackBotDestination(
        context.http,
        settings.slack_api_base_url,
        token,
        str(target["channel"]),
        _style(target),
        allow_loopback_http=settings.allow_loopback_http,
        log_tail=context.log_tail,
        live_messages=context.live_messages if target.get("live") else None,
        clock=context.clock,
    )


class Style:
    """How a route's messages look: its template (or the standard message) and its mentions."""

    def __init__(self, mentions: list[str], mention_on: frozenset[str], template: Mapping[str, Any] | None) -> None:
        self.mentions = mentions
        self.mention_on = mention_on
        self.template = template

    def called(self, summary: RunSummary) -> list[str]:
        return self.mentions if summary.status in self.mention_on else []

    def message(self, summary: RunSummary) -> dict[str, Any]:
        called = self.called(summary)
        standard = build_message(summary)
        if self.template is None:
            return with_mentions(standard, called)
        return with_mentions(render(self.template, summary, standard["text"]), called)


class SlackDestination:
    """Incoming webhook mode."""

    kind = KIND

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


class SlackBotDestination:
    """Bot-token mode: `chat.postMessage` to one channel, at most one message a second per channel."""

    kind = KIND

    def __init__(
        self,
        http: HttpClient,
        api_base_url: str,
        token: SecretSource,
        channel: str,
        style: Style,
        *,
        allow_loopback_http: bool,
        pacer: ChannelPacer = CHANNEL_PACER,
        log_tail: LogTail | None = None,
        live_messages: DynamoLiveMessages | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = http
        self._api = api_base_url
        self._token = token
        self._channel = channel
        self._style = style
        self._allow_loopback_http = allow_loopback_http
        self._pacer = pacer
        self._log_tail = log_tail
        self._live = live_messages
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        message = {"channel": self._channel, **self._style.message(summary)}
        headers = self._headers()
        live = self._live.find(summary.run_id) if self._live else None
        updated = self._update(live, message, headers, deadline) if live else None
        answer, attempts = updated or self._post(message, headers, deadline)
        where = f"{answer.get('channel', self._channel)} ts {answer.get('ts')}"
        detail = f"{'updated' if updated else 'posted to'} {where} after {attempts} attempt(s)"
        # Slack notifies nobody of an edit: an updated live message's mentions go in a thread reply.
        called = " ".join(self._style.called(summary)) if updated else ""
        if summary.status in WHY_IT_FAILED and self._log_tail and answer.get("ts"):
            detail += self._reply_with_log(summary, str(answer["ts"]), headers, deadline, called)
        elif called and answer.get("ts"):
            text = f"{called} {summary.status}: {summary.run_id}"
            detail += self._reply(summary, {"thread_ts": str(answer["ts"]), "text": text}, headers, deadline)
        return detail

    def _reply(self, summary: RunSummary, reply: dict[str, Any], headers: dict[str, str], deadline: Deadline) -> str:
        """A thread reply; best effort (the alert is out: a failure is logged, the notification stands)."""
        try:
            self._post({"channel": self._channel, **reply}, headers, deadline)
        except Exception as error:  # a courtesy must not turn a sent alert into a retried one
            log.warning("No reply in the thread", extra={"reason": f"{type(error).__name__}: {error}"[:300]})
            return "; no thread reply"
        return "; thread reply"

    def post_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """The live message of a run first seen running; one per run, whatever the duplicates."""
        if self._live is None or not self._live.claim(summary.run_id, uuid.uuid4().hex, self._clock()):
            return
        message = {"channel": self._channel, **running_message(summary)}
        answer, _ = self._post(message, self._headers(), deadline)
        self._live.record(summary.run_id, LiveMessage(str(answer.get("channel")), str(answer.get("ts"))), self._clock())

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token().reveal()}",
            "Content-Type": "application/json; charset=utf-8",
        }

    def _update(
        self, live: LiveMessage, message: dict[str, Any], headers: dict[str, str], deadline: Deadline
    ) -> tuple[dict[str, Any], int] | None:
        """`chat.update` of the live message (idempotent); None when it is gone (post fresh instead)."""
        update = {**message, "channel": live.channel, "ts": live.ts}
        try:
            return self._post(update, headers, deadline, method="chat.update")
        except MessageGone:
            log.info("The live message is gone; posting the final summary fresh", extra={"ts": live.ts})
            return None

    def _post(
        self, message: dict[str, Any], headers: dict[str, str], deadline: Deadline, method: str = "chat.postMessage"
    ) -> tuple[dict[str, Any], int]:
        self._pacer.wait_turn(self._channel, deadline)
        receipt = post_json(
            self._http,
            f"{self._api}/{method}",
            json.dumps(message).encode(),
            headers,
            deadline,
            f"Slack {method} to {self._channel}",
            allow_loopback_http=self._allow_loopback_http,
            check_answer=self._check_answer,
        )
        return json.loads(receipt.body), receipt.attempts

    def _reply_with_log(
        self, summary: RunSummary, ts: str, headers: dict[str, str], deadline: Deadline, called: str
    ) -> str:
        """The status message and the log's last lines, in the message's thread (best effort)."""
        assert self._log_tail is not None
        try:
            text, dropped = self._log_tail(summary.run_id, LOG_KEEP_BYTES, deadline.within(LOG_READ_SECS))
        except Exception as error:  # no log, but the mentions (if any) still go out
            log.warning("No log for the thread", extra={"reason": f"{type(error).__name__}: {error}"[:300]})
            text, dropped = "(the log could not be read)", 0
        reply = f"{called} {log_reply(summary, text, dropped)}".strip()
        return self._reply(summary, {"thread_ts": ts, "text": reply}, headers, deadline)

    def _check_answer(self, response: HttpResponse) -> Retry | None:
        try:
            answer = response.json()
        except ValueError:
            return Retry("Slack answered without JSON")
        if not isinstance(answer, dict):
            return Retry("Slack answered without a JSON object")
        if answer.get("ok") is True:
            return None
        error = str(answer.get("error", "unknown_error"))[:100]
        if error in GONE_ERRORS:
            raise MessageGone(error)
        if error == "ratelimited":
            return Retry("Slack: ratelimited", retry_after(response.headers.get("Retry-After")))
        if error in PERMANENT_ERRORS:
            raise PermanentDeliveryError(f"Slack chat.postMessage to {self._channel} refused: {error}")
        return Retry(f"Slack: {error}")
