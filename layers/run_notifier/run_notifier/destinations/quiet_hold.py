"""Quiet hours at the destination: hold what falls in a route's window, one summary at its end.

A chat destination on a route with `quietHours` (domain/quiet_hours.py) is wrapped in
`QuietlyHeld`. While the window lasts, each run or incident event that finished in it adds its
line to the window's item (`quiet#<route>#<kind>#<window end>`) and waits
(`DeliveryNotYet`: its record comes back as a fresh message, at most 15 minutes later each time,
until the window ends). After the end, the first delivery to come back claims the summary
(the notification claims on the window's item, so exactly one delivery posts it), posts every
line in one message and writes which alerts it held; each other delivery then finds itself in
it and is done. An alert that was not in it (it came back between the summary's read and its
post) is posted on its own. Zero lost alerts: every held alert keeps its message until the
summary that names it is out, or it is posted itself.

PagerDuty is held only when the route says so, and then pages per alert after the window (a
page is not a summary).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Protocol, runtime_checkable

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_marks import HELD_PREFIX, mark_values, write_mark
from run_notifier.adapters.notification_claims import DynamoNotificationClaims
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import HELD
from run_notifier.domain.incidents import IncidentEvent, RunInIncident, Transition
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.ports import ClaimResult, DeliveryNotYet, RunDelivery
from run_notifier.domain.quiet_hours import QuietHours, QuietWindow
from run_notifier.domain.run_summary import RunSummary

#: Lines a summary lists (the rest are counted: "and 212 more").
MAX_LINES = 200
#: How long a summary's claim is held: one post and its record.
SUMMARY_LEASE_SECS = 60.0
SUMMARY_KIND = "summary"


@runtime_checkable
class Summarizer(Protocol):
    """Capability: post one message listing lines (the quiet-hours summary)."""

    def send_summary(self, title: str, lines: list[str], deadline: Deadline) -> str: ...


def run_line(summary: RunSummary) -> str:
    actor = summary.actor_name or summary.act_id or "unknown Actor"
    return f"{summary.finished_at or ''} {summary.status}: {actor} run {summary.run_id}".strip()


def incident_line(event: IncidentEvent) -> str:
    actor = event.actor_name or event.act_id or "unknown Actor"
    if event.kind is Transition.RESOLVED:
        return f"{event.at} Recovered: {actor} after {event.failures} failed run(s)"
    return f"{event.at} Failing: {actor} ({event.failures} failed run(s) since {event.opened_at})"


class QuietlyHeld:
    """A destination held during its route's quiet hours; the same capabilities as the one it holds."""

    def __init__(
        self,
        inner: Any,
        quiet: QuietHours,
        route_index: int,
        table: RunsTable,
        clock: Callable[[], datetime],
    ) -> None:
        self._inner = inner
        self._quiet = quiet
        self._route = route_index
        self._table = table
        self._claims = DynamoNotificationClaims(table)
        self._clock = clock
        self.kind = inner.kind
        self.chat = getattr(inner, "chat", False)

    def __getattr__(self, name: str) -> Any:  # incident_transitions, instead_of_runs, accepts, ...
        return getattr(self._inner, name)

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        send = lambda: self._inner.send(summary, deadline)  # noqa: E731
        held = partial(self._mark_held, summary)
        return self._held(summary.finished_at, summary.run_id, run_line(summary), send, deadline, held)

    def _mark_held(self, summary: RunSummary) -> None:
        """For digests: "n held by quiet hours" (adapters/ledger_marks.py). Idempotent."""
        if summary.finished_at:
            mark = mark_values(HELD, summary.finished_at, summary.act_id, summary.actor_task_id, summary.actor_name)
            write_mark(self._table, HELD_PREFIX + summary.run_id, mark)

    def send_incident(self, event: IncidentEvent, deadline: Deadline) -> str:
        send = lambda: self._inner.send_incident(event, deadline)  # noqa: E731
        return self._held(event.at, event.event_id, incident_line(event), send, deadline)

    def in_incident(self, summary: RunSummary, part: RunInIncident) -> list[RunDelivery]:
        """A thread reply or an update for a run that finished in the window: held, then in the summary."""
        window = self._window(summary.finished_at)
        if window is None:
            return list(self._inner.in_incident(summary, part))
        return [(kind, partial(self._part, window)) for kind, _ in self._inner.in_incident(summary, part)]

    def _part(self, window: QuietWindow, deadline: Deadline) -> str:
        now = self._clock()
        if now < window.end:
            raise DeliveryNotYet(f"quiet hours until {window.end:%H:%M}Z", _wait(window, now))
        return f"held by quiet hours; the incident is in the summary of {window.key}"

    def _window(self, finished_at: str | None) -> QuietWindow | None:
        at = parse_iso(finished_at) or self._clock()
        return self._quiet.window_of(at)

    def _held(
        self,
        finished_at: str | None,
        item: str,
        line: str,
        own: Callable[[], str],
        deadline: Deadline,
        on_held: Callable[[], None] | None = None,
    ) -> str:
        window = self._window(finished_at)
        if window is None:
            return own()
        key = f"quiet#{self._route}#{self.kind}#{window.key}"
        now = self._clock()
        if now < window.end:
            self._add_line(key, item, line)
            if on_held is not None:
                on_held()
            raise DeliveryNotYet(f"quiet hours until {window.end:%H:%M}Z", _wait(window, now))
        if not isinstance(self._inner, Summarizer):
            return own()  # paging held: each alert on its own after the window
        stored = self._table.get(key) or {}
        if stored.get("summaryPosted"):
            if item in (stored.get("included") or []):
                return f"in the quiet-hours summary of {window.key}"
            return own()
        if item not in (stored.get("lines") or {}):
            self._add_line(key, item, line)
        owner = uuid.uuid4().hex
        claim = self._claims.claim(key, SUMMARY_KIND, key, owner=owner, now=now, lease_secs=SUMMARY_LEASE_SECS)
        if claim.result is ClaimResult.BUSY:
            wait = (claim.lease_until - now).total_seconds() if claim.lease_until else SUMMARY_LEASE_SECS
            raise DeliveryNotYet("another delivery is posting the quiet-hours summary", max(1.0, wait))
        if claim.result is not ClaimResult.CLAIMED:  # posted meanwhile: read again
            return self._held(finished_at, item, line, own, deadline)
        lines = dict((self._table.get(key) or {}).get("lines") or {})
        try:
            detail = self._inner.send_summary(_title(window, len(lines)), _listed(lines), deadline)
        except Exception as error:
            self._claims.release(key, SUMMARY_KIND, key, owner=owner, now=self._clock(), error=str(error)[:300])
            raise
        names = {"#inc": "included", "#posted": "summaryPosted"}
        self._table.update(key, "SET #inc = :inc, #posted = :t", names, {":inc": sorted(lines), ":t": True})
        self._claims.mark_sent(key, SUMMARY_KIND, key, owner=owner, now=self._clock(), detail=detail)
        return f"posted the quiet-hours summary of {window.key} ({len(lines)} alerts): {detail}"

    def _add_line(self, key: str, item: str, line: str) -> None:
        """The window's item (with its `generation`, for the summary's claim) and this alert's line."""
        names = {"#g": "generation", "#l": "lines"}
        self._table.update(key, "SET #g = :g, #l = if_not_exists(#l, :empty)", names, {":g": key, ":empty": {}})
        self._table.update(key, "SET #l.#i = :line", {"#l": "lines", "#i": item}, {":line": line[:300]})


def _wait(window: QuietWindow, now: datetime) -> float:
    return max(1.0, (window.end - now).total_seconds() + 1)


def _title(window: QuietWindow, count: int) -> str:
    return f"Quiet hours ended ({window.start:%Y-%m-%d %H:%M}Z to {window.end:%H:%M}Z): {count} alert(s) held"


def _listed(lines: dict[str, str]) -> list[str]:
    ordered = sorted(lines.values())
    if len(ordered) > MAX_LINES:
        return [*ordered[:MAX_LINES], f"… and {len(ordered) - MAX_LINES} more"]
    return ordered
