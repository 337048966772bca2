"""Links to a run in Apify's Console and API (never with a token in them)."""

from __future__ import annotations

from run_notifier.domain.run_summary import RunSummary

CONSOLE = "https://console.apify.com"
API = "https://api.apify.com"


def console_url(summary: RunSummary) -> str:
    """The run's page in the Apify Console (by its Actor when known); no token in it."""
    if summary.act_id:
        return f"{CONSOLE}/actors/{summary.act_id}/runs/{summary.run_id}"
    return f"{CONSOLE}/actors/runs/{summary.run_id}"


def dataset_console_url(summary: RunSummary) -> str | None:
    """The run's default dataset in the Apify Console; None without a dataset."""
    return f"{CONSOLE}/storage/datasets/{summary.default_dataset_id}" if summary.default_dataset_id else None


def dataset_items_url(summary: RunSummary) -> str | None:
    """The run's dataset items as JSON on the API (no token: the reader brings their own); None without a dataset."""
    if not summary.default_dataset_id:
        return None
    return f"{API}/v2/datasets/{summary.default_dataset_id}/items?format=json"
