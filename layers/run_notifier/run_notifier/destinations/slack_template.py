"""A route's own Slack message: Block Kit JSON with `{{placeholders}}` over the run's fields.

    "slack": {"channel": "C0LOADERS", "template": {
        "text": "{{status}}: {{actorName}} ({{cost}})",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                    "text": "{{emoji}} *{{actorName}}* {{status}} in {{duration}} · <{{consoleUrl}}|run>"}}]}}

A template is checked when the routes are read (at cold start for inline routes): it must be
an object with `blocks` (a list) and/or `text` (a string), and every placeholder must be one of
`PLACEHOLDERS`; otherwise the routes are refused with an error naming the route. Values are
escaped where Slack parses markup (`&`, `<`, `>` in every text but `plain_text` objects), so a
run's status message cannot add links or mentions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from run_notifier.destinations.slack_message import STATUS_EMOJI, escape
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}")


def _text(value: object) -> str:
    return "" if value is None else str(value)


#: Placeholder -> its value for a run (as text; empty when the run does not have it).
PLACEHOLDERS: dict[str, Callable[[RunSummary], str]] = {
    "runId": lambda s: s.run_id,
    "status": lambda s: s.status,
    "emoji": lambda s: STATUS_EMOJI.get(s.status, ":information_source:"),
    "actId": lambda s: _text(s.act_id),
    "actorName": lambda s: s.actor_name or s.act_id or "unknown Actor",
    "actorTaskId": lambda s: _text(s.actor_task_id),
    "statusMessage": lambda s: _text(s.status_message),
    "exitCode": lambda s: "n/a" if s.exit_code is None else str(s.exit_code),
    "usageTotalUsd": lambda s: _text(s.usage_total_usd),
    "cost": lambda s: format_usd(s.usage_total_usd),
    "startedAt": lambda s: _text(s.started_at),
    "finishedAt": lambda s: _text(s.finished_at),
    "durationSecs": lambda s: _text(s.duration_secs),
    "duration": lambda s: human_duration(s.duration_secs),
    "defaultDatasetId": lambda s: _text(s.default_dataset_id),
    "datasetItemsUrl": lambda s: _text(s.dataset_items_url),
    "datasetConsoleUrl": lambda s: _text(s.dataset_console_url),
    "consoleUrl": lambda s: s.console_url,
}


def template_problem(template: object) -> str | None:
    """What is wrong with a template, or None."""
    if not isinstance(template, dict) or not (set(template) & {"blocks", "text"}):
        return 'template must be an object with "blocks" (a list) and/or "text" (a string)'
    if "blocks" in template and not isinstance(template["blocks"], list):
        return "template.blocks must be a list of Block Kit blocks"
    if "text" in template and not isinstance(template["text"], str):
        return "template.text must be a string"
    unknown = sorted({name for text in _strings(template) for name in PLACEHOLDER.findall(text)} - set(PLACEHOLDERS))
    if unknown:
        return f"template has unknown placeholders {unknown}; known: {sorted(PLACEHOLDERS)}"
    return None


def render(template: Mapping[str, Any], summary: RunSummary, fallback: str) -> dict[str, Any]:
    """The message for this run: placeholders filled (escaped outside `plain_text`), `text` defaulted."""
    values = {name: value(summary) for name, value in PLACEHOLDERS.items()}
    message = _fill(copy.deepcopy(dict(template)), values, plain=False)
    message.setdefault("text", fallback)
    return message


def _fill(node: Any, values: dict[str, str], plain: bool) -> Any:
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)] if plain else escape(values[m.group(1)]), node)
    if isinstance(node, list):
        return [_fill(item, values, plain) for item in node]
    if isinstance(node, dict):
        inside_plain = node.get("type") == "plain_text"
        return {key: _fill(value, values, inside_plain and key == "text") for key, value in node.items()}
    return node


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    return []
