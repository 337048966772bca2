"""What the runs table itself says a period's runs add up to: a scan of every item, summed here and
not through the product's digest code, for the tests that reconcile a digest or a report with it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from run_notifier.adapters.dynamodb import from_item


def table_totals(aws_session: Any, table_name: str, start: datetime, end: datetime | None = None) -> dict[str, Any]:
    runs = failed = unavailable = 0
    usd = Decimal(0)
    for page in aws_session.client("dynamodb").get_paginator("scan").paginate(TableName=table_name):
        for raw in page["Items"]:
            item = from_item(raw)
            finished = item.get("finishedAt")
            if not finished or "recordedAt" not in item:  # not a run the ledger recorded (a mark, a claim)
                continue
            moment = datetime.fromisoformat(finished.replace("Z", "+00:00"))
            if moment < start or (end is not None and moment >= end):
                continue
            runs += 1
            failed += item["status"] in ("FAILED", "TIMED-OUT", "ABORTED")
            if item.get("costsSettled") and item.get("usageTotalUsd") is not None:
                usd += Decimal(str(item["usageTotalUsd"]))
            else:
                unavailable += 1
    return {"runs": runs, "failures": failed, "settledUsd": float(usd), "costUnavailable": unavailable}
