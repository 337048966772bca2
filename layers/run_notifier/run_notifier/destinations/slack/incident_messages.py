"""Where an incident's Slack message is, and when it was last updated: its own item in the runs
table (`slack-incident#<incident ID>#<channel>`, a key no run ID can take).

The opening post records its `ts` here; each further failure's thread reply goes under it; the
top message's updates are coalesced to one per `UPDATE_GAP_SECS` per incident across every
container by a conditional write that reserves the update (`reserve_update`) before it is made:
it says how many failures the message shows, and refuses a reservation that would show fewer,
come sooner than the gap, or follow the resolution (a late "still failing" never overwrites
"resolved").
"""

from __future__ import annotations

from typing import NamedTuple

from run_notifier.adapters.dynamodb import RunsTable

#: At most one update of an incident's top message this often.
UPDATE_GAP_MS = 10_000


class IncidentMessage(NamedTuple):
    """Where an incident's top message is in a channel, and how far it has been updated."""

    channel: str
    ts: str
    #: Failed runs the top message shows.
    shown: int
    #: When it was last posted or updated (epoch milliseconds: DynamoDB numbers, no floats).
    updated_at: int
    resolved: bool
    #: In a burst's grouped message (bursts.py): replies go in its thread, the message is not this incident's.
    grouped: bool = False
    #: The burst window whose grouped message it is in (epoch ms; 0 when not grouped).
    window_start_ms: int = 0


class Reservation(NamedTuple):
    """`ok`: make the update; else why not, and `wait_secs` until one may be made (`too-soon`)."""

    ok: bool
    why: str = ""
    wait_secs: float = 0.0


def item_key(incident_id: str, channel: str) -> str:
    """The runs-table key of an incident's message in a channel."""
    return f"slack-incident#{incident_id}#{channel}"


class DynamoIncidentMessages:
    """Incident messages per channel on the runs table: opened once, updated at most every 10 s, resolved once."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def record_opened(
        self, incident_id: str, channel: str, ts: str, shown: int, now_ms: int, *, window_start_ms: int = 0
    ) -> None:
        """The opening post's place, or the burst's grouped message it is in (`window_start_ms`); a repeat
        after a crash window replaces the one before."""
        self._table.update(
            item_key(incident_id, channel),
            "SET #c = :c, #ts = :ts, #shown = :shown, #at = :at, #grouped = :grouped, #window = :window"
            " REMOVE #resolved",
            {
                "#c": "channel",
                "#ts": "ts",
                "#shown": "shown",
                "#at": "updatedAt",
                "#resolved": "resolved",
                "#grouped": "grouped",
                "#window": "windowStart",
            },
            {
                ":c": channel,
                ":ts": ts,
                ":shown": shown,
                ":at": now_ms,
                ":grouped": bool(window_start_ms),
                ":window": window_start_ms,
            },
        )

    def record_refused(self, incident_id: str, channel: str, why: str) -> None:
        """Slack refused the opening post for good: the thread replies will have nothing to go under."""
        self._table.update(
            item_key(incident_id, channel), "SET #refused = :why", {"#refused": "refused"}, {":why": why[:300]}
        )

    def refused(self, incident_id: str, channel: str) -> bool:
        """True when Slack refused the incident's opening post for good."""
        return bool((self._table.get(item_key(incident_id, channel)) or {}).get("refused"))

    def find(self, incident_id: str, channel: str) -> IncidentMessage | None:
        """The incident's message in this channel; None before its opening post."""
        item = self._table.get(item_key(incident_id, channel)) or {}
        if not item.get("ts"):
            return None
        return IncidentMessage(
            str(item.get("channel", channel)),
            str(item["ts"]),
            int(item.get("shown", 0)),
            int(item.get("updatedAt", 0)),
            bool(item.get("resolved", False)),
            bool(item.get("grouped", False)),
            int(item.get("windowStart", 0)),
        )

    def reserve_update(self, incident_id: str, channel: str, failures: int, now_ms: int) -> Reservation:
        """Reserve the top message's next update to show `failures` (one per gap, never backwards)."""
        stood = self._table.conditional_update(
            item_key(incident_id, channel),
            "SET #shown = :f, #at = :now",
            "attribute_exists(#ts) AND #shown < :f AND #at <= :cutoff AND attribute_not_exists(#resolved)"
            " AND (attribute_not_exists(#grouped) OR #grouped = :no)",
            {"#shown": "shown", "#at": "updatedAt", "#ts": "ts", "#resolved": "resolved", "#grouped": "grouped"},
            {":f": failures, ":now": now_ms, ":cutoff": now_ms - UPDATE_GAP_MS, ":no": False},
        )
        if stood is None:
            return Reservation(True)
        if not stood.get("ts"):
            return Reservation(False, "no-message")
        if stood.get("resolved"):
            return Reservation(False, "resolved")
        if stood.get("grouped"):
            return Reservation(False, "grouped")
        if int(stood.get("shown", 0)) >= failures:
            return Reservation(False, "shown")
        return Reservation(False, "too-soon", (int(stood.get("updatedAt", now_ms)) + UPDATE_GAP_MS - now_ms) / 1000)

    def mark_resolved(self, incident_id: str, channel: str, failures: int, now_ms: int) -> None:
        """From now on no "still failing" update is reserved (set before the resolved update is made)."""
        self._table.update(
            item_key(incident_id, channel),
            "SET #resolved = :t, #shown = :f, #at = :now",
            {"#resolved": "resolved", "#shown": "shown", "#at": "updatedAt"},
            {":t": True, ":f": failures, ":now": now_ms},
        )
