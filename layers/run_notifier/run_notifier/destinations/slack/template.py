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
from collections.abc import Mapping
from typing import Any

from run_notifier.destinations.placeholders import PLACEHOLDER, PLACEHOLDERS, unknown_placeholders, values_for
from run_notifier.destinations.slack.message import escape
from run_notifier.domain.run_summary import RunSummary


def template_problem(template: object) -> str | None:
    """What is wrong with a template, or None."""
    if not isinstance(template, dict) or not (set(template) & {"blocks", "text"}):
        return 'template must be an object with "blocks" (a list) and/or "text" (a string)'
    if "blocks" in template and not isinstance(template["blocks"], list):
        return "template.blocks must be a list of Block Kit blocks"
    if "text" in template and not isinstance(template["text"], str):
        return "template.text must be a string"
    unknown = unknown_placeholders(template)
    if unknown:
        return f"template has unknown placeholders {unknown}; known: {sorted(PLACEHOLDERS)}"
    return None


def render(template: Mapping[str, Any], summary: RunSummary, fallback: str) -> dict[str, Any]:
    """The message for this run: placeholders filled (escaped outside `plain_text`), `text` defaulted."""
    values = values_for(summary)
    message: dict[str, Any] = _fill(copy.deepcopy(dict(template)), values, plain=False)
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
