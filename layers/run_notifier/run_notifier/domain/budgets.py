"""Monthly budgets: an alert when month-to-date settled spend crosses 50 %, 80 % and 100 %, and when
the linear forecast for the month first exceeds the budget. Pure: spend and time come in, the alerts
due go out.

Each alert has an id per budget and month (`alert_id`), and the caller claims it before sending, so
each fires once a month whatever the order and number of checks. Month boundaries are the budget's
own timezone's. Spend is settled costs only: the caller never counts a hidden cost as $0 toward a
budget, and a forecast needs a day of the month behind it (one run on the 1st at 00:05 is not a
trend).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

THRESHOLDS = (50, 80, 100)
#: Before this much of the month has passed, the forecast says nothing.
FORECAST_AFTER = timedelta(days=1)


class Month(NamedTuple):
    """A budget's month in its own time zone, as UTC bounds."""

    key: str  # "2026-12"
    start: datetime  # UTC
    end: datetime  # UTC


class BudgetAlert(NamedTuple):
    """One budget alert: a threshold crossed, or the month's forecast past the budget."""

    kind: str  # "threshold" or "forecast"
    percent: int  # the threshold crossed; for a forecast, the forecast's percent of the budget
    spent_usd: float
    budget_usd: float
    forecast_usd: float | None
    month: str

    @property
    def alert_id(self) -> str:
        """Once per budget and month: the claim's key (with the budget's own name in front)."""
        return f"{self.month}#forecast" if self.kind == "forecast" else f"{self.month}#{self.percent}"


def month_of(now: datetime, timezone: str) -> Month:
    """The calendar month holding ``now`` in ``timezone``, as UTC bounds."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    following = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=zone)
    return Month(f"{local.year}-{local.month:02d}", start.astimezone(UTC), following.astimezone(UTC))


def budget_alerts(
    spent_usd: float, budget_usd: float, month: Month, now: datetime, fired: Collection[str] = ()
) -> list[BudgetAlert]:
    """The alerts due now and not yet fired (``fired``: their `alert_id`s this month). Only the highest
    threshold crossed since the last check is sent: crossing 50 % and 80 % at once is one alert at 80 %,
    and 50 % counts as fired with it (its id is returned too, as a threshold alert the caller claims
    without sending: see `claim_only`)."""
    if budget_usd <= 0:
        return []
    alerts: list[BudgetAlert] = []
    percent = spent_usd / budget_usd * 100
    for threshold in THRESHOLDS:
        alert = BudgetAlert("threshold", threshold, spent_usd, budget_usd, None, month.key)
        if percent >= threshold and alert.alert_id not in fired:
            alerts.append(alert)
    forecast = forecast_usd(spent_usd, month, now)
    if forecast is not None and forecast > budget_usd and spent_usd < budget_usd:
        alert = BudgetAlert("forecast", round(forecast / budget_usd * 100), spent_usd, budget_usd, forecast, month.key)
        if alert.alert_id not in fired:
            alerts.append(alert)
    return alerts


def claim_only(alerts: list[BudgetAlert]) -> tuple[list[BudgetAlert], list[BudgetAlert]]:
    """(to send, to mark fired without sending): of the thresholds due at once, only the highest is sent."""
    thresholds = [a for a in alerts if a.kind == "threshold"]
    if len(thresholds) <= 1:
        return alerts, []
    highest = max(thresholds, key=lambda a: a.percent)
    skipped = [a for a in thresholds if a is not highest]
    return [a for a in alerts if a not in skipped], skipped


def forecast_usd(spent_usd: float, month: Month, now: datetime) -> float | None:
    """Month-to-date spend carried on linearly to the month's end; None too early in the month."""
    elapsed = now - month.start
    if elapsed < FORECAST_AFTER:
        return None
    return spent_usd * ((month.end - month.start) / elapsed)
