"""Digests and budget alerts in Slack's words: what the bot posts in the digest's (or budget's) channel.
Every name taken from the ledger or the routes document is escaped (`message.escape`)."""

from __future__ import annotations

from run_notifier.destinations.slack.message import escape
from run_notifier.domain.budgets import BudgetAlert
from run_notifier.domain.digest import Digest, DigestLine
from run_notifier.domain.digest_schedule import Period
from run_notifier.domain.report_specs import BudgetSpec, DigestSpec
from run_notifier.domain.run_summary import human_duration

#: Lines in a Slack digest; the rest are counted in one line (Slack's text limit is 40,000 characters).
MAX_LINES = 25
#: Characters of a name shown in a line (an Actor's display name can be far longer).
MAX_NAME = 150


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _change(value: float | None, money: bool = False) -> str:
    if value is None:
        return "new"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{_usd(abs(value)) if money else f'{abs(value):,.0f}'}"


def _line_text(line: DigestLine) -> str:
    parts = [
        f"{line.runs:,} runs",
        f"{line.success_rate * 100:.0f} % ok",
    ]
    if line.failures:
        parts.append(f"{line.failures:,} failed")
    if line.warns:
        parts.append(f"{line.warns:,} ⚠")
    parts.append(_usd(line.usd) + (f" (+{line.cost_unavailable} cost unavailable)" if line.cost_unavailable else ""))
    parts.append(f"p50 {human_duration(line.p50_secs)}, p95 {human_duration(line.p95_secs)}")
    if line.items is not None:
        parts.append(f"{line.items:,} items")
    if line.incidents.opened or line.incidents.still_open:
        parts.append(f"incidents: {line.incidents.opened} opened, {line.incidents.still_open} open")
    if line.muted or line.held:
        parts.append(f"alerts held: {line.muted} muted, {line.held} in quiet hours")
    parts.append(f"{_change(line.runs_change)} runs, {_change(line.usd_change, money=True)} vs before")
    return f"• *{escape(line.name[:MAX_NAME])}* `{line.sparkline}` " + " · ".join(parts)


def digest_text(spec: DigestSpec, period: Period, digest: Digest) -> str:
    """The Slack message: the totals, then one line per Actor task / Actor, what needs attention first."""
    title = "Daily" if spec.every == "day" else "Weekly"
    days = f"{period.start:%b %d} – {period.end:%b %d}"
    unavailable = f" ({digest.cost_unavailable:,} runs: cost unavailable)" if digest.cost_unavailable else ""
    lines = [
        f":bar_chart: *{title} digest* · {days} ({spec.timezone})",
        f"*{digest.runs:,} runs* · {digest.failures:,} failed · {_usd(digest.usd)} settled{unavailable}",
        *[_line_text(line) for line in digest.lines[:MAX_LINES]],
    ]
    if len(digest.lines) > MAX_LINES:
        rest = digest.lines[MAX_LINES:]
        lines.append(f"… and {len(rest)} more ({sum(x.runs for x in rest):,} runs, {_usd(sum(x.usd for x in rest))})")
    return "\n".join(lines)


def budget_text(spec: BudgetSpec, alert: BudgetAlert) -> str:
    """The budget alert: a threshold crossed (what is settled of the month's budget) or the forecast."""
    name = escape(spec.name[:MAX_NAME])
    if alert.kind == "forecast":
        return (
            f":chart_with_upwards_trend: Budget *{name}* is on course for {_usd(alert.forecast_usd or 0)} of "
            f"{_usd(alert.budget_usd)} in {alert.month} ({_usd(alert.spent_usd)} settled so far)"
        )
    icon = ":rotating_light:" if alert.percent >= 100 else ":money_with_wings:"
    return (
        f"{icon} Budget *{name}*: {_usd(alert.spent_usd)} of {_usd(alert.budget_usd)} settled in "
        f"{alert.month} ({alert.spent_usd / alert.budget_usd * 100:.0f} %, past {alert.percent} %)"
    )
