"""Bursts: when many incidents open on one channel at once, the rest go into one grouped message.

A proxy outage fails every Actor together. With `burstAfter` 5 and `burstWindowSecs` 60 (a
route's `incident` may say otherwise), the first five incidents that open on a channel within a
minute get their own message, and the rest of that minute go into one message updated in place
("12 more Actors failing: …", a line each, linking its run).

Two kinds of item, so that a late delivery still finds its own window:

- `slack-burst#<channel>`: who opened in the channel's current window (and the window before, for
  late repeats), moved by compare-and-set, so every container agrees on who is in and who is grouped.
- `slack-burst#<channel>#<window start>`: that window's grouped message: its lines (each added by
  its own incident's delivery, an idempotent map write), its `ts`, which lines it shows, and a
  lease for the one delivery that posts or updates it.

The message is updated at most once per `GROUP_UPDATE_GAP_MS`: an outage's twenty lines are two
or three Slack calls, not twenty. An incident's delivery is done only when the message shows its
line (recorded by the lease holder after Slack answered); until then it comes back through the
queue (`DeliveryNotYet`), so a crashed or slow holder delays a line but never loses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.destinations.slack import gapped_hold

DEFAULT_BURST_AFTER = 5
DEFAULT_BURST_WINDOW_SECS = 60
#: Writers racing on one channel's window retry this often (each retry re-reads).
MAX_CONFLICTS = 20
#: How long the delivery posting or updating the grouped message holds it (one call and its record).
POSTING_LEASE_MS = 30_000
#: The grouped message is posted or updated at most this often.
GROUP_UPDATE_GAP_MS = 5_000
#: The suffix of an incident's recovered line in a window's lines (no incident ID ends with it).
RECOVERED = "#recovered"
#: How long a window's item is kept (the table's `expiresAt` TTL): long past any late repeat.
KEEP_SECS = 30 * 24 * 3600
#: Lines a grouped message shows (Slack's text limit; the rest are counted).
MAX_LINES = 100


class BurstRule(NamedTuple):
    """A route's burst rule: after this many incidents in a window, the rest are grouped."""

    after: int = DEFAULT_BURST_AFTER
    window_secs: int = DEFAULT_BURST_WINDOW_SECS


class Admission(NamedTuple):
    """`grouped`: this incident goes into the grouped message of the window that began at `window_start_ms`."""

    grouped: bool
    window_start_ms: int = 0


class GroupMessage(NamedTuple):
    """A window's grouped message as its item stands."""

    ts: str | None
    lines: Mapping[str, str]
    #: The incidents whose lines the message showed when it was last posted or updated.
    shown: frozenset[str]
    #: When it was last posted or updated (epoch ms; 0: never).
    shown_at: int
    #: The lease of the delivery posting or updating it (epoch ms; 0: none).
    held_until: int

    def wait_secs(self, now_ms: int) -> float:
        """How long until the message may next be posted or updated (0: now)."""
        return gapped_hold.free_in_secs(self.held_until, self.shown_at, GROUP_UPDATE_GAP_MS, now_ms)


class BurstConflict(Exception):
    """Another delivery moved the burst's window while this one wrote: read again."""

    pass


def burst_key(channel: str) -> str:
    """The runs-table key of a channel's current burst window."""
    return f"slack-burst#{channel}"


def window_key(channel: str, window_start_ms: int) -> str:
    """The runs-table key of one window's grouped message."""
    return f"slack-burst#{channel}#{window_start_ms}"


class DynamoBursts:
    """Bursts per channel on the runs table: which incidents get their own message and which one grouped message."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def admit(self, channel: str, incident_id: str, opened_ms: int, rule: BurstRule) -> Admission:
        """Count this incident's opening on the channel (once, whatever the repeats); say whether it is grouped.

        Whatever order the openings are delivered in, a burst is grouped alike: a window is the
        incidents that opened within `window_secs` of each other (its earliest and latest opening are
        kept on the item, so one that opened earlier but is delivered later still joins it); the first
        `after` admitted get their own message and the rest the window's grouped message. A window keeps
        the ID it began with (`windowStart`, the key of its grouped message).
        """
        key = burst_key(channel)
        width = rule.window_secs * 1000
        for _ in range(MAX_CONFLICTS):
            item = self._table.get(key) or {}
            version = int(item.get("version", 0))
            window = int(item.get("windowStart", 0))
            first, last = int(item.get("firstOpened", window)), int(item.get("lastOpened", window))
            opened: list[str] = list(item.get("opened") or [])
            if item and incident_id in opened:  # a repeat: as decided the first time
                return Admission(opened.index(incident_id) >= rule.after, window)
            if item and max(last, opened_ms) - min(first, opened_ms) <= width:  # it joins this window
                opened.append(incident_id)
                admission = Admission(len(opened) > rule.after, window)
                fields: dict[str, Any] = {
                    "opened": opened,
                    "firstOpened": min(first, opened_ms),
                    "lastOpened": max(last, opened_ms),
                }
            elif item and opened_ms < first:  # before this window: as decided in the window before, if any
                before: list[str] = list(item.get("previousOpened") or [])
                if incident_id in before:
                    return Admission(before.index(incident_id) >= rule.after, int(item["previousStart"]))
                return Admission(False, opened_ms)  # older than the windows kept: its own message
            else:  # a new window: this incident is its first
                admission = Admission(False, opened_ms)
                fields = {
                    "opened": [incident_id],
                    "windowStart": opened_ms,
                    "firstOpened": opened_ms,
                    "lastOpened": opened_ms,
                    "previousOpened": opened,
                    "previousStart": window,
                }
            if self._write(key, version, fields):
                return admission
        raise BurstConflict(f"{key}: {MAX_CONFLICTS} concurrent writers in a row")

    def add_line(self, channel: str, window_start_ms: int, incident_id: str, line: str) -> None:
        """This incident's line in its window's grouped message (the same line again is a no-op)."""
        key = window_key(channel, window_start_ms)
        expires = window_start_ms // 1000 + KEEP_SECS  # the table's TTL removes the window's item after
        first = self._table.conditional_update(
            key,
            "SET #lines = :lines, #x = :x",
            "attribute_not_exists(#lines)",
            {"#lines": "lines", "#x": "expiresAt"},
            {":lines": {incident_id: line}, ":x": expires},
        )
        if first is not None:  # the window has lines: add this one beside them
            self._table.update(key, "SET #lines.#id = :line", {"#lines": "lines", "#id": incident_id}, {":line": line})

    def group(self, channel: str, window_start_ms: int) -> GroupMessage:
        """The window's grouped message as it stands: its lines, what it shows, its `ts`."""
        item = self._table.get(window_key(channel, window_start_ms)) or {}
        return GroupMessage(
            str(item["groupTs"]) if item.get("groupTs") else None,
            dict(item.get("lines") or {}),
            frozenset(item.get("shown") or ()),
            int(item.get("shownAt", 0)),
            int(item.get("heldUntil", 0)),
        )

    def hold(self, channel: str, window_start_ms: int, owner: str, now_ms: int) -> bool:
        """The right to post or update the grouped message now (a lease, and the gap since the last call)."""
        key = window_key(channel, window_start_ms)
        return gapped_hold.hold(
            self._table, key, owner, now_ms, lease_ms=POSTING_LEASE_MS, last_at="shownAt", gap_ms=GROUP_UPDATE_GAP_MS
        )

    def record_shown(
        self, channel: str, window_start_ms: int, owner: str, ts: str, shown: frozenset[str], now_ms: int
    ) -> bool:
        """Slack has the message showing `shown`; False when the lease was lost meanwhile (not recorded)."""
        stood = self._table.conditional_update(
            window_key(channel, window_start_ms),
            "SET #ts = :ts, #shown = :shown, #at = :now REMOVE #owner, #until",
            "#owner = :owner",
            {"#ts": "groupTs", "#shown": "shown", "#at": "shownAt", "#owner": "heldBy", "#until": "heldUntil"},
            {":ts": ts, ":shown": sorted(shown), ":now": now_ms, ":owner": owner},
        )
        return stood is None

    def _write(self, key: str, version: int, fields: dict[str, Any]) -> bool:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": value for i, value in enumerate(fields.values())}
        names["#v"] = "version"
        values[":next"] = version + 1
        update = "SET " + ", ".join([*(f"#f{i} = :f{i}" for i in range(len(fields))), "#v = :next"])
        if version:
            values[":v"] = version
            condition = "#v = :v"
        else:
            condition = "attribute_not_exists(#v)"
        return self._table.conditional_update(key, update, condition, names, values) is None


def recovered_key(incident_id: str) -> str:
    """The key of an incident's recovered line: beside its failing line, which it replaces in the text."""
    return f"{incident_id}{RECOVERED}"


def grouped_text(lines: Mapping[str, str]) -> str:
    """The grouped message: how many more, and a line each (already escaped by their makers); an incident
    that recovered shows its recovered line instead of its failing one."""
    incidents = sorted(key for key in lines if not key.endswith(RECOVERED))
    recovered = [key for key in incidents if recovered_key(key) in lines]
    shown = sorted(lines.get(recovered_key(key)) or lines[key] for key in incidents)[:MAX_LINES]
    more = f"\n… and {len(incidents) - MAX_LINES} more" if len(incidents) > MAX_LINES else ""
    noun = "Actor" if len(incidents) == 1 else "Actors"
    state = f"failing ({len(recovered)} recovered)" if recovered else "failing"
    return f":rotating_light: {len(incidents)} more {noun} {state}:\n" + "\n".join(shown) + more
