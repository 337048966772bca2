"""`{{placeholders}}` over a finished run's fields, shared by Slack templates and follow-up inputs.

A template is any JSON value; its strings may hold placeholders. `unknown_placeholders` is what
routes are checked with (so a typo stops the cold start naming the route); `fill` replaces them
with the run's values (as text), leaving everything else as it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from run_notifier.adapters.apify_links import console_url, dataset_console_url, dataset_items_url
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}")

STATUS_EMOJI = {
    "SUCCEEDED": ":white_check_mark:",
    "FAILED": ":x:",
    "TIMED-OUT": ":hourglass:",
    "ABORTED": ":no_entry_sign:",
    "WATCH_EXPIRED": ":warning:",
    "NOT_FOUND": ":grey_question:",
}


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
    "datasetItemsUrl": lambda s: _text(dataset_items_url(s)),
    "datasetConsoleUrl": lambda s: _text(dataset_console_url(s)),
    "consoleUrl": console_url,
}


def values_for(summary: RunSummary) -> dict[str, str]:
    """Every placeholder's value for this run (`{{statusMessage}}`, `{{datasetId}}`, ...)."""
    return {name: value(summary) for name, value in PLACEHOLDERS.items()}


def strings_in(node: Any) -> list[str]:
    """Every string in a JSON value, at any depth."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in strings_in(item)]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    return []


def unknown_placeholders(template: Any) -> list[str]:
    """The placeholders a template names that no run has."""
    return sorted({name for text in strings_in(template) for name in PLACEHOLDER.findall(text)} - set(PLACEHOLDERS))


def fill(template: Any, summary: RunSummary) -> Any:
    """A copy of ``template`` with every placeholder replaced by the run's value, as text."""
    values = values_for(summary)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    return walk(copy.deepcopy(template))
