"""Slack incoming webhook: Block Kit blocks plus a fallback `text`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import SecretSource
from run_notifier.destinations.context import DestinationContext, Target
from run_notifier.destinations.http_post import post_json
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import TargetSchema
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration

if TYPE_CHECKING:
    from run_notifier.config import Settings

KIND = "slack"
SCHEMA = TargetSchema(
    keys=frozenset({"webhookUrl", "webhookUrlSecretArn"}),
    required_one_of=frozenset({"webhookUrl", "webhookUrlSecretArn"}),
)

STATUS_EMOJI = {
    "SUCCEEDED": ":white_check_mark:",
    "FAILED": ":x:",
    "TIMED-OUT": ":hourglass:",
    "ABORTED": ":no_entry_sign:",
    "WATCH_EXPIRED": ":warning:",
    "NOT_FOUND": ":grey_question:",
}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_message(summary: RunSummary) -> dict[str, Any]:
    emoji = STATUS_EMOJI.get(summary.status, ":information_source:")
    actor = summary.actor_name or summary.act_id or "unknown Actor"
    duration = human_duration(summary.duration_secs)
    cost = format_usd(summary.usage_total_usd)
    exit_code = "n/a" if summary.exit_code is None else str(summary.exit_code)
    fallback = (
        f"{summary.status}: {actor} run {summary.run_id} (exit code {exit_code}, cost {cost}, duration {duration})"
    )
    fields = [
        f"*Status*\n{emoji} {summary.status}",
        f"*Actor*\n{_escape(actor)}",
        f"*Run ID*\n`{summary.run_id}`",
        f"*Exit code*\n{exit_code}",
        f"*Cost*\n{cost}",
        f"*Duration*\n{duration}",
    ]
    if summary.compute_units is not None:
        fields.append(f"*Compute units*\n{summary.compute_units:.4f}")
    if summary.charged_event_counts:
        events = ", ".join(f"{_escape(k)}: {v}" for k, v in sorted(summary.charged_event_counts.items()))
        fields.append(f"*Charged events*\n{events[:1900]}")
    if summary.actor_task_id:
        fields.append(f"*Task*\n`{summary.actor_task_id}`")
    links = [f"<{summary.console_url}|Run in Console>"]
    if summary.dataset_console_url:
        links.append(f"<{summary.dataset_console_url}|Dataset>")
    if summary.dataset_items_url:
        links.append(f"<{summary.dataset_items_url}|Items (JSON)>")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{summary.status}: {actor}"[:150], "emoji": True},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
    ]
    if summary.status_message:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(summary.status_message)[:2900]}]}
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    return {"text": fallback, "blocks": blocks}


def default_target(settings: Settings) -> Target | None:
    if settings.slack_webhook_url_secret_arn:
        return {"webhookUrlSecretArn": settings.slack_webhook_url_secret_arn}
    if settings.slack_webhook_url:
        return {"webhookUrl": settings.slack_webhook_url}
    return None


def build(target: Target, context: DestinationContext) -> SlackDestination:
    url = context.secrets.source(
        str(target.get("webhookUrlSecretArn") or "") or None, target.get("webhookUrl"), "Slack webhook URL"
    )
    return SlackDestination(context.http, url, allow_loopback_http=context.settings.allow_loopback_http)


class SlackDestination:
    kind = KIND

    def __init__(self, http: HttpClient, webhook_url: SecretSource, *, allow_loopback_http: bool) -> None:
        self._http = http
        self._webhook_url = webhook_url
        self._allow_loopback_http = allow_loopback_http

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        body = json.dumps(build_message(summary)).encode()
        url = self._webhook_url().reveal()
        receipt = post_json(
            self._http, url, body, {}, deadline, "Slack webhook", allow_loopback_http=self._allow_loopback_http
        )
        return f"HTTP {receipt.status} after {receipt.attempts} attempt(s)"
