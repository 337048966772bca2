"""A Slack route target: the keys it accepts, their rules, and the style of its messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from run_notifier.destinations.slack.message import DEFAULT_MENTION_ON, build_message, mention_markup, with_mentions
from run_notifier.destinations.slack.template import render, template_problem
from run_notifier.destinations.slack.web_api import ContentRefused
from run_notifier.domain.ports import TargetSchema, log
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.statuses import NOTIFIABLE


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


T = TypeVar("T")


class Style:
    """How a route's messages look: its template (or the standard message) and its mentions."""

    def __init__(self, mentions: list[str], mention_on: frozenset[str], template: Mapping[str, Any] | None) -> None:
        self.mentions = mentions
        self.mention_on = mention_on
        self.template = template

    def called(self, summary: RunSummary) -> list[str]:
        """The mentions this run's message calls (its route's `mention`, when its status is in `mentionOn`)."""
        return self.mentions if summary.status in self.mention_on else []

    def message(self, summary: RunSummary) -> dict[str, Any]:
        """The run's message: the route's template or the standard one, with its mentions. A template that
        fails to render gives the standard message (and a log line that says so)."""
        called = self.called(summary)
        standard = build_message(summary)
        if self.template is None:
            return with_mentions(standard, called)
        try:
            return with_mentions(render(self.template, summary, standard["text"]), called)
        except Exception as error:  # the alert matters more than its look
            log.warning(
                "The route's template did not render; posting the standard message",
                extra={"run_id": summary.run_id, "reason": f"{type(error).__name__}: {error}"[:300]},
            )
            return with_mentions(standard, called)

    def standard(self, summary: RunSummary) -> dict[str, Any]:
        """The standard message with the route's mentions (when Slack refuses what the template made)."""
        return with_mentions(build_message(summary), self.called(summary))

    def sent(self, summary: RunSummary, send: Callable[[dict[str, Any]], T]) -> T:
        """``send`` the run's message; when Slack refuses what the route's template made (`invalid_blocks`,
        `msg_too_long`), the standard message once, and a log line that says so."""
        try:
            return send(self.message(summary))
        except ContentRefused as refused:
            if self.template is None:
                raise
            log.warning(
                "Slack refused the route's template for this run; posting the standard message",
                extra={"run_id": summary.run_id, "reason": str(refused)[:300]},
            )
            return send(self.standard(summary))


def style_of(target: Mapping[str, Any]) -> Style:
    """A route target's message style (template, mentions, mentionOn)."""
    mentions = [m for m in (mention_markup(str(m)) for m in target.get("mention", [])) if m]
    return Style(mentions, frozenset(target.get("mentionOn", [])) or DEFAULT_MENTION_ON, target.get("template"))
