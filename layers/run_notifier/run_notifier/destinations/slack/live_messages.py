"""Where a run's live Slack message is, on the run's item (`slackLive`).

`claim` lets one delivery post the "running" message (a conditional write: duplicates of the
first message do not post twice); `record` stores the message's `channel` and `ts` so the final
summary updates it in place. A claim whose post never landed (a crash) stays without a `ts`,
and the final summary is then posted fresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.isotime import format_iso

ATTRIBUTE = "slackLive"


class LiveMessage(NamedTuple):
    """Where a run's live message is: its channel and `ts`."""

    channel: str
    ts: str


class DynamoLiveMessages:
    """Live messages on the run's item: claimed once, recorded when posted, found when the run ends."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def claim(self, run_id: str, owner: str, now: datetime) -> bool:
        """Claim the run's live message; True only for the one delivery that may post it."""
        stood = self._table.conditional_update(
            run_id,
            "SET #live = :claim",
            "attribute_not_exists(#live)",
            {"#live": ATTRIBUTE},
            {":claim": {"state": "POSTING", "owner": owner, "at": format_iso(now)}},
        )
        return stood is None

    def record(self, run_id: str, message: LiveMessage, now: datetime) -> None:
        """Record where the live message went."""
        live = {"state": "POSTED", "channel": message.channel, "ts": message.ts, "at": format_iso(now)}
        self._table.update(run_id, "SET #live = :live", {"#live": ATTRIBUTE}, {":live": live})

    def find(self, run_id: str) -> LiveMessage | None:
        """The run's live message; None when it has none."""
        live = (self._table.get(run_id) or {}).get(ATTRIBUTE) or {}
        if live.get("state") == "POSTED" and live.get("channel") and live.get("ts"):
            return LiveMessage(str(live["channel"]), str(live["ts"]))
        return None
