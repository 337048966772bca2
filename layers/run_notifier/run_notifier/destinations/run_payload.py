"""The outbound `data` object of a finished run, and its stable notification ID: the wire format.

`run_data` is the contract's `data` object, shared by the webhook and EventBridge; its field
names are the contract's (users' receivers depend on them). Links never carry a token.
"""

from __future__ import annotations

from typing import Any

from run_notifier.adapters.apify_links import console_url, dataset_items_url
from run_notifier.domain.run_summary import RunSummary


def notification_id(summary: RunSummary) -> str:
    """Stable per run and finish: the webhook's `webhook-id` and the EventBridge detail's
    `notificationId`, so a receiver can drop the one duplicate a crash between a send and its
    record can cause."""
    generation = summary.generation.replace(":", "").replace(".", "")
    return f"msg_{summary.run_id}_{generation}"


def run_data(summary: RunSummary) -> dict[str, Any]:
    """The contract's `data` object for webhooks and EventBridge; a run judged by health checks adds
    `itemCount` and `health` (`{"verdict", "checks": [{"name", "value", "expected", "baseline"}]}`)."""
    data: dict[str, Any] = {
        "runId": summary.run_id,
        "actId": summary.act_id,
        "actorTaskId": summary.actor_task_id,
        "status": summary.status,
        "statusMessage": summary.status_message,
        "exitCode": summary.exit_code,
        "usageTotalUsd": summary.usage_total_usd,
        "startedAt": summary.started_at,
        "finishedAt": summary.finished_at,
        "durationSecs": summary.duration_secs,
        "defaultDatasetId": summary.default_dataset_id,
        "datasetItemsUrl": dataset_items_url(summary),
        "consoleUrl": console_url(summary),
    }
    if summary.health is not None:
        data["itemCount"] = summary.item_count
        data["health"] = summary.health.as_item()
    return data
