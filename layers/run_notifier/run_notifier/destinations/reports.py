"""Digests and budget alerts as data: the event detail (EventBridge's `Apify Run Digest`, `Apify
Budget Alert`), with the numbers the chat text shows (destinations/slack/reports.py), for dashboards.
"""

from __future__ import annotations

from typing import Any

from run_notifier.domain.budgets import BudgetAlert
from run_notifier.domain.digest import Digest, DigestLine
from run_notifier.domain.digest_schedule import Period
from run_notifier.domain.report_specs import BudgetSpec, DigestSpec


def _line_detail(line: DigestLine) -> dict[str, Any]:
    return {
        "key": line.key,
        "name": line.name,
        "runs": line.runs,
        "byStatus": dict(line.by_status),
        "failures": line.failures,
        "warns": line.warns,
        "settledUsd": round(line.usd, 6),
        "costUnavailable": line.cost_unavailable,
        "p50Secs": line.p50_secs,
        "p95Secs": line.p95_secs,
        "items": line.items,
        "runsChange": line.runs_change,
        "usdChange": None if line.usd_change is None else round(line.usd_change, 6),
        "runsPerDay": list(line.runs_per_day),
        "failuresPerDay": list(line.failures_per_day),
        "incidentsOpened": line.incidents.opened,
        "incidentsOpen": line.incidents.still_open,
        "alertsMuted": line.muted,
        "alertsHeldQuiet": line.held,
    }


def digest_detail(spec: DigestSpec, period: Period, digest: Digest) -> dict[str, Any]:
    """A digest's EventBridge detail: the totals and one entry per line, with its notification ID."""
    return {
        "digest": spec.name,
        "period": period.key,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "runs": digest.runs,
        "failures": digest.failures,
        "settledUsd": round(digest.usd, 6),
        "costUnavailable": digest.cost_unavailable,
        "lines": [_line_detail(line) for line in digest.lines],
        "notificationId": f"digest#{spec.name}#{period.key}",
    }


def budget_detail(spec: BudgetSpec, alert: BudgetAlert) -> dict[str, Any]:
    """A budget alert's EventBridge detail, with its notification ID."""
    return {
        "budget": spec.name,
        "month": alert.month,
        "kind": alert.kind,
        "percent": alert.percent,
        "spentUsd": round(alert.spent_usd, 6),
        "budgetUsd": alert.budget_usd,
        "forecastUsd": None if alert.forecast_usd is None else round(alert.forecast_usd, 2),
        "notificationId": f"budget#{spec.name}#{alert.alert_id}",
    }
