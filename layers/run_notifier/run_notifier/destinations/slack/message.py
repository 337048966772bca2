"""The Slack message for a finished run: Block Kit blocks plus a fallback `text`, and mentions.

Everything taken from the run (its status message, Actor name, event names) is escaped, so a
run cannot inject Slack markup or mentions; only the route's own mentions notify anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from run_notifier.adapters.apify_links import console_url, dataset_console_url, dataset_items_url
from run_notifier.destinations.placeholders import STATUS_EMOJI
from run_notifier.destinations.run_facts import health_facts, health_warning
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration

#: A route's `mention` entries: the @-words Slack users type, or Slack's own escaped forms.
SPECIAL_MENTIONS = {"@here": "<!here>", "@channel": "<!channel>", "@everyone": "<!everyone>"}
MENTION = re.compile(r"<!(?:here|channel|everyone)>|<!subteam\^[A-Z0-9]{2,20}>|<@[UW][A-Z0-9]{2,20}>")
#: Who is mentioned unless a route's `mentionOn` says otherwise: the runs someone should look at.
DEFAULT_MENTION_ON = frozenset({"FAILED", "TIMED-OUT"})
#: Runs whose message gets a thread reply with the status message and the log's last lines (bot mode).
WHY_IT_FAILED = frozenset({"FAILED", "TIMED-OUT"})
LOG_LINES = 30
LOG_LINE_CHARS = 300


def mention_markup(raw: str) -> str | None:
    """Slack's markup for a route's mention entry; None when it is not one."""
    markup = SPECIAL_MENTIONS.get(raw, raw)
    return markup if MENTION.fullmatch(markup) else None


def escape(text: str) -> str:
    """Slack's three control characters, so text from a run cannot add markup, links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_message(summary: RunSummary) -> dict[str, Any]:
    """The standard message (a route's template and mentions are applied on top, destinations/slack.py)."""
    emoji = STATUS_EMOJI.get(summary.status, ":information_source:")
    actor = summary.actor_name or summary.act_id or "unknown Actor"
    duration = human_duration(summary.duration_secs)
    cost = format_usd(summary.usage_total_usd)
    exit_code = "n/a" if summary.exit_code is None else str(summary.exit_code)
    fallback = (
        f"{summary.status}: {escape(actor)} run {summary.run_id} (exit code {exit_code}, cost {cost}, "
        f"duration {duration})"
    )
    warning = health_warning(summary)
    if warning:  # a run that SUCCEEDED wrongly says so first
        fallback = f"{escape(warning)}: {escape(actor)} run {summary.run_id} (exit code {exit_code}, cost {cost})"
        emoji = ":warning:"
    fields = [
        f"*Status*\n{emoji} {summary.status}",
        f"*Actor*\n{escape(actor)}",
        f"*Run ID*\n`{summary.run_id}`",
        f"*Exit code*\n{exit_code}",
        f"*Cost*\n{cost}",
        f"*Duration*\n{duration}",
    ]
    fields += [f"*{name}*\n{escape(value)}" for name, value in health_facts(summary)]
    if summary.compute_units is not None:
        fields.append(f"*Compute units*\n{summary.compute_units:.4f}")
    if summary.charged_event_counts:
        events = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(summary.charged_event_counts.items()))
        fields.append(f"*Charged events*\n{events[:1900]}")
    if summary.actor_task_id:
        fields.append(f"*Task*\n`{summary.actor_task_id}`")
    links = [f"<{console_url(summary)}|Run in Console>"]
    if dataset := dataset_console_url(summary):
        links.append(f"<{dataset}|Dataset>")
    if items := dataset_items_url(summary):
        links.append(f"<{items}|Items (JSON)>")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": (warning or f"{summary.status}: {actor}")[:150], "emoji": True},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]},
    ]
    if summary.status_message:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(summary.status_message)[:2900]}]}
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    return {"text": fallback, "blocks": blocks}


def with_mentions(message: dict[str, Any], mentions: Iterable[str]) -> dict[str, Any]:
    """The route's mentions (Slack markup, already checked) first, in the fallback text and the blocks."""
    called = " ".join(mentions)
    if not called:
        return message
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": called}}, *message.get("blocks", [])]
    return {**message, "text": f"{called} {message.get('text', '')}".strip(), "blocks": blocks}


def log_reply(summary: RunSummary, log_tail: str, dropped_bytes: int) -> str:
    """The thread reply under a failed run: why it failed, and the last lines of its log.

    Escaped like everything from the run, and scrubbed of every secret value this process
    knows (an Actor could print a token into its own log).
    """
    from run_notifier.adapters.secret_store import known_secret_values

    lines = log_tail.splitlines()
    if dropped_bytes and lines:
        lines = lines[1:]  # the first one was cut in the middle
    last = [line[:LOG_LINE_CHARS] for line in lines[-LOG_LINES:]]
    text = "\n".join(last)
    for secret in known_secret_values():
        text = text.replace(secret, "***")
    if dropped_bytes:
        scope = f"the last {len(last)} lines of a {(dropped_bytes + len(log_tail.encode())) / 1_000_000:.1f} MB log"
    elif len(lines) > len(last):
        scope = f"the last {len(last)} of {len(lines)} lines of the log"
    else:
        scope = "the whole log"
    why = escape(summary.status_message or "no status message")
    return f"*Why it ended {summary.status}*: {why}\n```{escape(text)}```\n_{scope}._"


def running_message(summary: RunSummary) -> dict[str, Any]:
    """The live message of a run still running; the final summary replaces it in place."""
    name = summary.actor_name or summary.act_id or "unknown Actor"
    actor = escape(name)
    started = summary.started_at or "just now"
    fields = [
        f"*Status*\n:arrow_forward: {escape(summary.status)}",
        f"*Actor*\n{actor}",
        f"*Run ID*\n`{summary.run_id}`",
        f"*Started*\n{started}",
    ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"▶ running: {name}"[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<{console_url(summary)}|Run in Console>"}},
    ]
    return {"text": f":arrow_forward: running: {actor} run {summary.run_id} (started {started})", "blocks": blocks}


def summary_text(title: str, lines: list[str]) -> str:
    """A summary of held alerts (quiet hours): a bold title, one escaped line each (Slack allows 40,000
    characters; the lines are bounded by their holder)."""
    return "\n".join([f"*{escape(title)}*", *(f"• {escape(line)}" for line in lines)])[:39_000]
