"""Slack: an incoming webhook (one URL per channel), or a bot token posting with the Web API to
the channel a route names (one token for every channel).

The package by job: `target` (a route's keys and their rules, the message's style), `webhook_mode`
(incoming webhooks), `web_api` (chat.postMessage / chat.update and Slack's errors), `bot` (bot
mode: threads, log replies, live messages), `live_messages` (where a live message is),
`message` (the standard Block Kit message), `template` (a route's own message), `pacing` and
`shared_pacing` (one message a second per channel, across containers).

Route target keys: `webhookUrl` / `webhookUrlSecretArn` (webhook mode) or `channel` (bot mode,
the token from `SLACK_BOT_TOKEN_SECRET_ARN` / `SLACK_BOT_TOKEN`); `mention` (a list: `@here`,
`@channel`, `<!subteam^S0123>`, `<@U0123>`) and `mentionOn` (statuses; default FAILED and
TIMED-OUT); `template` (a Block Kit message with placeholders); `live` (bot mode: a message posted
when the run is first seen running, updated in place when it ends).

Why a hand-written client and not `slack-sdk`: the one call is a JSON POST whose answer says
`ok`, which the shared `post_json` (deadline per request, bounded retries, `Retry-After`)
already does; `slack_sdk.web` adds tens of milliseconds of imports and megabytes to the layer
(measured in docs/performance.md), and its retry handlers know nothing of the invocation's time left.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from run_notifier.adapters.secret_store import Secret
from run_notifier.config_sections import Section, Variable, secret, secret_with_prefix, text
from run_notifier.destinations import secret_url
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.slack.target import SCHEMA, style_of

KIND = "slack"

__all__ = [
    "KIND",
    "SCHEMA",
    "SETTINGS",
    "SlackSettings",
    "build",
    "default_target",
    "may_announce_running",
    "report_target",
]


class SlackSettings(NamedTuple):
    """Slack's settings: a webhook URL, or a bot token and channel, and the Web API's base URL."""

    slack_webhook_url_secret_arn: str | None
    slack_webhook_url: Secret | None
    slack_bot_token_secret_arn: str | None
    slack_bot_token: Secret | None
    slack_channel: str | None
    slack_api_base_url: str


def _needs_a_token(values: Any) -> str | None:
    if values.get("slack_channel") and not (values.get("slack_bot_token_secret_arn") or values.get("slack_bot_token")):
        return "SLACK_CHANNEL needs SLACK_BOT_TOKEN_SECRET_ARN or SLACK_BOT_TOKEN (xoxb-...) to post with"
    return None


SETTINGS = Section(
    (
        Variable("SLACK_WEBHOOK_URL_SECRET_ARN", text, None),
        Variable("SLACK_WEBHOOK_URL", secret, None),
        # Bot-token mode (chat.postMessage): one token for every channel the routes name.
        Variable("SLACK_BOT_TOKEN_SECRET_ARN", text, None),
        Variable("SLACK_BOT_TOKEN", secret_with_prefix("xox", "a Slack bot token (xoxb-...)"), None),
        Variable("SLACK_CHANNEL", text, None),
        Variable("SLACK_API_BASE_URL", text, "https://slack.com/api"),
    ),
    urls=("SLACK_API_BASE_URL",),
    check=_needs_a_token,
    model=SlackSettings,
)


def default_target(section: SlackSettings) -> Target | None:
    """The default target: the bot's channel, else the webhook URL; None without either."""
    if section.slack_channel:  # the section's check has made sure a bot token goes with it
        return {"channel": section.slack_channel}
    return secret_url.default_target(section.slack_webhook_url_secret_arn, section.slack_webhook_url)


def report_target(section: SlackSettings | None, channel: str) -> Target | None:
    """Digests and budget alerts are posted by the bot in the channel they name; without a bot token, nowhere."""
    if section is None or not (section.slack_bot_token_secret_arn or section.slack_bot_token):
        return None
    return {"channel": channel}


def may_announce_running(section: SlackSettings | None) -> bool:
    """Live messages need bot mode: a token to post with."""
    return bool(section and (section.slack_bot_token_secret_arn or section.slack_bot_token))


def build(target: Target, context: DestinationContext) -> Any:
    """Bot mode for a target with a `channel`, else an incoming webhook."""
    section: SlackSettings = context.section(KIND)
    allow = context.settings.allow_loopback_http
    if "channel" in target:
        from run_notifier.destinations.slack.bot import SlackBotDestination
        from run_notifier.destinations.slack.bursts import DynamoBursts
        from run_notifier.destinations.slack.incident_messages import DynamoIncidentMessages
        from run_notifier.destinations.slack.incident_replies import DynamoIncidentReplies
        from run_notifier.destinations.slack.live_messages import DynamoLiveMessages
        from run_notifier.destinations.slack.shared_pacing import SharedChannelPacer
        from run_notifier.destinations.slack.web_api import SlackWebApi

        token = context.secrets.source(section.slack_bot_token_secret_arn, section.slack_bot_token, "Slack bot token")
        pacer = SharedChannelPacer(context.table)
        api = SlackWebApi(context.http, section.slack_api_base_url, token, allow_loopback_http=allow, pacer=pacer)
        return SlackBotDestination(
            api,
            str(target["channel"]),
            style_of(target),
            log_tail=context.apify.get_log_tail,
            live_messages=DynamoLiveMessages(context.table) if target.get("live") else None,
            incident_messages=DynamoIncidentMessages(context.table),
            bursts=DynamoBursts(context.table),
            incident_replies=DynamoIncidentReplies(context.table),
            clock=context.clock,
        )
    from run_notifier.destinations.slack.webhook_mode import SlackDestination

    url = secret_url.source(target, context, "Slack webhook URL")
    return SlackDestination(context.http, url, style_of(target), allow_loopback_http=allow)
