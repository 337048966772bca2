"""A finished run as plain (label, value) facts and a title, for the card-shaped destinations.

Teams' FactSet and Discord's embed fields show the same facts; each kind escapes them for its
own markup (the values come from the run, so they are text, never markup).
"""

from __future__ import annotations

from run_notifier.adapters.apify_links import console_url, dataset_console_url, dataset_items_url
from run_notifier.destinations.run_payload import run_data
from run_notifier.domain.health import WARN, Check, Health, StuckAlert, describe
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration

#: The check a stuck run's alert carries (its words in `expected`).
STUCK = "stuck"
#: A status's mark in titles (plain Unicode: card hosts have no Slack-style :emoji: codes).
STATUS_MARK = {
    "SUCCEEDED": "✅",
    "FAILED": "❌",
    "TIMED-OUT": "⌛",
    "ABORTED": "⛔",
    "WATCH_EXPIRED": "⚠️",
    "NOT_FOUND": "❔",
}


def actor_of(summary: RunSummary) -> str:
    """The run's Actor as people know it: its name, else its ID, else "unknown Actor"."""
    return summary.actor_name or summary.act_id or "unknown Actor"


def health_warning(summary: RunSummary) -> str | None:
    """A run that SUCCEEDED wrongly, in words, for the first line: "⚠ SUCCEEDED — 0 items, usually ~1,200";
    a stuck one: "⏳ Still running — running for 2h 3m (limit 1h, usually done within 12m)"."""
    if summary.health is None or summary.health.verdict != "WARN":
        return None
    if summary.health.checks and summary.health.checks[0].name == STUCK:
        return f"⏳ Still running — {summary.health.checks[0].expected}"
    return f"⚠ {summary.status} — {summary.health.headline()}"


def with_stuck(summary: RunSummary, alert: StuckAlert) -> RunSummary:
    """The running run as chat shows it when it is stuck: its first line says so (health_warning)."""
    check = Check(STUCK, alert.running_secs, alert.words(), alert.usual_secs, "high", True)
    return summary._replace(health=Health(WARN, (check,)))


def stuck_data(summary: RunSummary, alert: StuckAlert) -> dict[str, object]:
    """The webhook's and EventBridge's `data` for a stuck run: the run's, and how long against what."""
    return {
        **run_data(summary),
        "runningSecs": round(alert.running_secs, 1),
        "limitSecs": alert.limit_secs,
        "usualSecs": alert.usual_secs,
        "notificationId": f"msg_{summary.run_id}_stuck",
    }


def title(summary: RunSummary) -> str:
    """The run's one-line title: status, Actor and health, as chat shows it."""
    warning = health_warning(summary)
    if warning:
        return f"{warning}: {actor_of(summary)}"
    return f"{STATUS_MARK.get(summary.status, 'ℹ️')} {summary.status}: {actor_of(summary)}"


def health_facts(summary: RunSummary) -> list[tuple[str, str]]:
    """Items, and the health verdict with what it found (each failed check with its baseline)."""
    found = []
    if summary.item_count is not None:
        found.append(("Items", f"{summary.item_count:,}"))
    if summary.health is not None:
        failed = [c.expected if c.name == STUCK else describe(c) for c in summary.health.checks if c.failed]
        found.append(("Health", summary.health.verdict + (f": {'; '.join(failed)}" if failed else "")))
    return found


def facts(summary: RunSummary) -> list[tuple[str, str]]:
    """The run's facts as (name, value) pairs, the same for every chat kind."""
    found = [
        ("Status", summary.status),
        ("Actor", actor_of(summary)),
        ("Run ID", summary.run_id),
        ("Exit code", "n/a" if summary.exit_code is None else str(summary.exit_code)),
        ("Cost", format_usd(summary.usage_total_usd)),
        ("Duration", human_duration(summary.duration_secs)),
    ]
    found += health_facts(summary)
    if summary.actor_task_id:
        found.append(("Task", summary.actor_task_id))
    if summary.compute_units is not None:
        found.append(("Compute units", f"{summary.compute_units:.4f}"))
    if summary.charged_event_counts:
        events = ", ".join(f"{k}: {v}" for k, v in sorted(summary.charged_event_counts.items()))
        found.append(("Charged events", events[:1000]))
    return found


def links(summary: RunSummary) -> list[tuple[str, str]]:
    """(text, URL): the run in the Console, its dataset, its items; never a token in a link."""
    found = [("Run in Console", console_url(summary))]
    if dataset := dataset_console_url(summary):
        found.append(("Dataset", dataset))
    if items := dataset_items_url(summary):
        found.append(("Items (JSON)", items))
    return found
