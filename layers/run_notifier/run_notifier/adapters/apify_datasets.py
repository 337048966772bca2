"""Dataset item counts for health checks: `GET /v2/datasets/{datasetId}` (its `itemCount`)."""

from __future__ import annotations

from urllib.parse import quote

from run_notifier.adapters.apify_api import ApifyClient
from run_notifier.domain.deadline import Deadline


class ApifyDatasets:
    """Implements `ports.DatasetCounts` (one Apify call per judged run)."""

    def __init__(self, apify: ApifyClient) -> None:
        self._apify = apify

    def item_count(self, dataset_id: str, deadline: Deadline) -> int | None:
        """The dataset's `itemCount`; None when Apify cannot give it within the deadline."""
        dataset = self._apify.get_dataset(quote(dataset_id, safe="~"), deadline)
        count = dataset.get("itemCount")
        return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
