"""Quiet hours at the destination: hold what falls in a route's window, one summary at its end.

A destination that quiet hours hold (chat always; paging where the route says so) on a route with
`quietHours` (domain/quiet_hours.py) is wrapped in `QuietlyHeld`. It holds exactly the
announcement types that say `held_in_quiet_hours` (a run's end, an incident's transition, a run's
part in its incident); every other type (a stuck run, a missed schedule) passes as it is.

While the window lasts, each held announcement that happened in it adds its line to the window's
item (`quiet#<route>#<kind>#<window end>`) and waits (`DeliveryNotYet`: its record comes back as
a fresh message, at most 15 minutes later each time, until the window ends). After the end, the
first delivery to come back claims the summary (`ExactlyOnce` on the window's item, so exactly one
delivery posts it), posts every line in one message (`HeldSummaryAnnouncement`) and writes which
alerts it held; each other delivery then finds itself in it and is done. An alert that was not in
it (it came back between the summary's read and its post) is posted on its own. Zero lost alerts:
every held alert keeps its message until the summary that names it is out, or it is posted itself.

A destination that renders no summary (paging) sends each held alert on its own after the window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.ledger_marks import HELD_PREFIX, mark_values, write_mark
from run_notifier.domain.announcements import (
    Announcement,
    HeldSummaryAnnouncement,
    IncidentAnnouncement,
    IncidentPartAnnouncement,
    RunEndAnnouncement,
)
from run_notifier.domain.claims import ExactlyOnce, Refused
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import HELD
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.ports import ClaimResult, DeliveryNotYet, Destination, Limits, Send, Traits
from run_notifier.domain.quiet_hours import QuietHours, QuietWindow

#: Lines a summary lists (the rest are counted: "and 212 more").
MAX_LINES = 200
#: How long a summary's claim is held: one post and its record.
SUMMARY_LEASE_SECS = 60.0
SUMMARY_KIND = "summary"

#: What a held announcement is: it says when it happened and its line in the summary.
Held = RunEndAnnouncement | IncidentAnnouncement | IncidentPartAnnouncement


class QuietlyHeld:
    """A destination held during its route's quiet hours: its kind, traits and renderers, with the held
    types' sends wrapped."""

    def __init__(
        self,
        inner: Destination,
        quiet: QuietHours,
        route_index: int,
        table: RunsTable,
        clock: Callable[[], datetime],
        exactly_once: ExactlyOnce,
    ) -> None:
        self._inner = inner
        self._quiet = quiet
        self._route = route_index
        self._table = table
        self._clock = clock
        self._exactly_once = exactly_once
        self.kind: str = inner.kind
        self.traits: Traits = inner.traits
        self.limits: Limits = inner.limits

    def renders(self, announcement_type: type[Announcement]) -> bool:
        """What the held destination renders."""
        return self._inner.renders(announcement_type)

    def deliveries(self, announcement: Announcement) -> list[Send]:
        """The held destination's sends; those of a held type wait for the window's end."""
        sends = self._inner.deliveries(announcement)
        if not sends or not isinstance(announcement, Held):
            return sends  # not a type quiet hours hold (a stuck run, a missed schedule)
        window = self._window(announcement.at)
        if window is None:
            return sends
        if isinstance(announcement, IncidentPartAnnouncement):  # in the summary through its incident
            return [(kind, partial(self._part, window)) for kind, _ in sends]
        return [(kind, partial(self._held, window, announcement, send)) for kind, send in sends]

    def _part(self, window: QuietWindow, deadline: Deadline) -> str:
        now = self._clock()
        if now < window.end:
            raise DeliveryNotYet(f"quiet hours until {window.end:%H:%M}Z", _wait(window, now))
        return f"held by quiet hours; the incident is in the summary of {window.key}"

    def _window(self, at: str | None) -> QuietWindow | None:
        return self._quiet.window_of(parse_iso(at) or self._clock())

    def _held(self, window: QuietWindow, announcement: Held, own: Callable[[Deadline], str], deadline: Deadline) -> str:
        key = f"quiet#{self._route}#{self.kind}#{window.key}"
        item = announcement.item
        now = self._clock()
        if now < window.end:
            self._add_line(key, item, announcement.line)
            if isinstance(announcement, RunEndAnnouncement):
                self._mark_held(announcement)
            raise DeliveryNotYet(f"quiet hours until {window.end:%H:%M}Z", _wait(window, now))
        if not self._inner.renders(HeldSummaryAnnouncement):
            return own(deadline)  # paging held: each alert on its own after the window
        stored = self._table.get(key) or {}
        if stored.get("summaryPosted"):
            if item in (stored.get("included") or []):
                return f"in the quiet-hours summary of {window.key}"
            return own(deadline)
        if item not in (stored.get("lines") or {}):
            self._add_line(key, item, announcement.line)
        taken = self._exactly_once.take(key, SUMMARY_KIND, key, SUMMARY_LEASE_SECS)
        if isinstance(taken, Refused):
            if taken.result in (ClaimResult.DONE, ClaimResult.STALE):  # posted meanwhile: read again
                return self._held(window, announcement, own, deadline)
            wait = (taken.lease_until - now).total_seconds() if taken.lease_until else SUMMARY_LEASE_SECS
            raise DeliveryNotYet("another delivery is posting the quiet-hours summary", max(1.0, wait))
        lines = dict((self._table.get(key) or {}).get("lines") or {})
        summary = HeldSummaryAnnouncement(key, _title(window, len(lines)), tuple(_listed(lines)))
        try:
            details = [send(deadline) for _, send in self._inner.deliveries(summary)]
        except Exception as error:
            taken.release(str(error)[:300])
            raise
        names = {"#inc": "included", "#posted": "summaryPosted"}
        self._table.update(key, "SET #inc = :inc, #posted = :t", names, {":inc": sorted(lines), ":t": True})
        taken.sent("; ".join(details))
        return f"posted the quiet-hours summary of {window.key} ({len(lines)} alerts): {'; '.join(details)}"

    def _mark_held(self, announcement: RunEndAnnouncement) -> None:
        """For digests: "n held by quiet hours" (adapters/ledger_marks.py). Idempotent."""
        run = announcement.run
        if run.finished_at:
            mark = mark_values(HELD, run.finished_at, run.act_id, run.actor_task_id, run.actor_name)
            write_mark(self._table, HELD_PREFIX + run.run_id, mark)

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
