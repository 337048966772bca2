"""The Slack messages of an incident: the top message (opened, updated in place, resolved) and the
thread replies (each further failure, the recovery broadcast to the channel).

Everything taken from a run is escaped (`message.escape`); only the route's mentions notify, and
only in the opening post.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from run_notifier.adapters.apify_links import console_url
from run_notifier.destinations.slack.incident_replies import ReplyEntry
from run_notifier.destinations.slack.message import escape, with_mentions
from run_notifier.domain.incidents import IncidentEvent, RunInIncident, Transition
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.run_summary import RunSummary, human_duration


class IncidentFacts(NamedTuple):
    """What the top message says, from an incident event or from the run that moved it."""

    incident_id: str
    actor: str
    act_id: str | None
    actor_task_id: str | None
    failures: int
    #: When the first counted run finished.
    since: str
    first_run_id: str
    last_run_id: str
    last_at: str
    last_status: str
    last_status_message: str | None
    #: When it resolved (None: still open).
    resolved_at: str | None = None


def facts_of_event(event: IncidentEvent) -> IncidentFacts:
    """The facts of an incident's transition, as its Slack message shows them."""
    return IncidentFacts(
        incident_id=event.incident_id,
        actor=event.actor_name or event.act_id or "unknown Actor",
        act_id=event.act_id,
        actor_task_id=event.actor_task_id,
        failures=event.failures,
        since=event.opened_at,
        first_run_id=event.first_run_id,
        last_run_id=event.last_run_id,
        last_at=event.at,
        last_status=event.status or "FAILED",
        last_status_message=event.status_message,
        resolved_at=event.at if event.kind is Transition.RESOLVED else None,
    )


def facts_of_run(summary: RunSummary, part: RunInIncident) -> IncidentFacts:
    """The top message as this failing run leaves it (its count, and it as the last failure)."""
    return IncidentFacts(
        incident_id=part.incident_id,
        actor=summary.actor_name or summary.act_id or "unknown Actor",
        act_id=summary.act_id,
        actor_task_id=summary.actor_task_id,
        failures=part.failures,
        since=part.opened_at,
        first_run_id=part.first_run_id,
        last_run_id=summary.run_id,
        last_at=summary.finished_at or part.opened_at,
        last_status=summary.status,
        last_status_message=summary.status_message,
    )


def _run_link(act_id: str | None, run_id: str, text: str) -> str:
    return f"<{console_url(RunSummary(run_id, 'FAILED', act_id=act_id))}|{text}>"


def _span(since: str, until: str) -> str:
    start, end = parse_iso(since), parse_iso(until)
    if start is None or end is None:
        return "unknown"
    return human_duration(max(0.0, (end - start).total_seconds()))


def top_message(facts: IncidentFacts, mentions: list[str] | None = None) -> dict[str, Any]:
    """The incident's top message: failing (opened or updated), or resolved."""
    actor = escape(facts.actor)
    subject = f"{actor} (task `{escape(facts.actor_task_id)}`)" if facts.actor_task_id else actor
    runs = "run" if facts.failures == 1 else "runs"
    if facts.resolved_at:
        header = f"✅ Recovered: {facts.actor}"
        text = (
            f":white_check_mark: Recovered: {subject}: {facts.failures} failed {runs} over "
            f"{_span(facts.since, facts.resolved_at)}"
        )
        fields = [
            f"*Failed runs*\n{facts.failures}",
            f"*Failing for*\n{_span(facts.since, facts.resolved_at)}",
            f"*Since*\n{facts.since}",
            f"*Recovered*\n{facts.resolved_at}",
        ]
    else:
        header = f"🔴 Failing: {facts.actor}"
        text = f":red_circle: Failing: {subject}: {facts.failures} failed {runs} in a row since {facts.since}"
        fields = [
            f"*Failed runs*\n{facts.failures}",
            f"*Since*\n{facts.since}",
            f"*Last failure*\n{facts.last_at} ({escape(facts.last_status)})",
            f"*Actor*\n{subject}",
        ]
    links = [_run_link(facts.act_id, facts.first_run_id, "First failed run")]
    if facts.last_run_id != facts.first_run_id:
        links.append(_run_link(facts.act_id, facts.last_run_id, "Last run"))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if facts.last_status_message and not facts.resolved_at:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(facts.last_status_message)[:2900]}]}
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": " · ".join(links)}})
    return with_mentions({"text": text, "blocks": blocks}, mentions or [])


def grouped_line(facts: IncidentFacts) -> str:
    """The incident's line in a burst's grouped message: the Actor, linking its failed run, and why."""
    why = f": {escape(facts.last_status_message)[:150]}" if facts.last_status_message else ""
    return f"• {_run_link(facts.act_id, facts.last_run_id, escape(facts.actor))} {escape(facts.last_status)}{why}"


def recovered_line(facts: IncidentFacts) -> str:
    """The incident's line in a grouped message once it recovered: the Actor, linking the run that did."""
    runs = "run" if facts.failures == 1 else "runs"
    span = _span(facts.since, facts.resolved_at or facts.last_at)
    link = _run_link(facts.act_id, facts.last_run_id, escape(facts.actor))
    return f"• :white_check_mark: {link} recovered after {facts.failures} failed {runs} over {span}"


def failure_head(summary: RunSummary, failures: int) -> str:
    """A further failure's summary line in the incident's thread; a run that SUCCEEDED wrongly (a WARN the
    route counts) says so: "WARN #3 (0 items, expected ≥ 1): run …", not "SUCCEEDED #3"."""
    link = _run_link(summary.act_id, summary.run_id, summary.run_id)
    duration = f"duration {human_duration(summary.duration_secs)}"
    health = summary.health
    if health is not None and health.verdict == "WARN":
        why = f" ({health.headline()})" if health.headline() else ""
        return f"WARN #{failures}{why}: run {link} ({duration})"
    exit_code = "n/a" if summary.exit_code is None else summary.exit_code
    return f"{summary.status} #{failures}: run {link} (exit code {exit_code}, {duration})"


def failure_reply(entries: list[ReplyEntry], log_text: str | None) -> str:
    """One thread reply for the failures since the last one: each its summary line and why, the newest
    with the log's tail (as a reply of its own would have)."""
    *older, newest = sorted(entries)
    lines = [f"{len(entries)} more failures:"] if older else []
    lines += [f"{e.head}: {escape(e.status_message or 'no status message')[:200]}" for e in older]
    lines.append(newest.head)
    lines.append(log_text or f"*Why*: {escape(newest.status_message or 'no status message')}")
    return "\n".join(lines)


def recovery_reply(facts: IncidentFacts) -> str:
    """The recovery's thread reply (broadcast to the channel)."""
    runs = "run" if facts.failures == 1 else "runs"
    resolved_at = facts.resolved_at or facts.last_at
    return (
        f":white_check_mark: Recovered: run {_run_link(facts.act_id, facts.last_run_id, facts.last_run_id)} "
        f"SUCCEEDED after {facts.failures} failed {runs} over {_span(facts.since, resolved_at)}."
    )


def epoch_ms(now: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(now.timestamp() * 1000)
