"""A lease on one item for the one delivery that may make a Slack call now, at most once per gap.

Shared by the burst's grouped message (bursts.py) and an incident's coalesced thread replies
(incident_replies.py): whoever holds the item makes the call for everyone waiting, then records
Slack's answer and lets go; a crashed holder loses the lease when it lapses.
"""

from __future__ import annotations

from typing import Any

from run_notifier.adapters.dynamodb import RunsTable

HELD_BY = "heldBy"
HELD_UNTIL = "heldUntil"


def hold(table: RunsTable, key: str, owner: str, now_ms: int, *, lease_ms: int, last_at: str, gap_ms: int) -> bool:
    """Hold `key` for `lease_ms` when no one else does and the last call (`last_at`) was `gap_ms` ago."""
    condition = "(attribute_not_exists(#until) OR #until < :now OR #owner = :owner)"
    names = {"#owner": HELD_BY, "#until": HELD_UNTIL}
    values: dict[str, Any] = {":owner": owner, ":until": now_ms + lease_ms, ":now": now_ms}
    if gap_ms:
        condition += " AND (attribute_not_exists(#at) OR #at <= :cutoff)"
        names["#at"] = last_at
        values[":cutoff"] = now_ms - gap_ms
    stood = table.conditional_update(key, "SET #owner = :owner, #until = :until", condition, names, values)
    return stood is None


def release(table: RunsTable, key: str, owner: str) -> None:
    """Give the hold back (only if this owner still holds it)."""
    table.conditional_update(
        key, "REMOVE #owner, #until", "#owner = :owner", {"#owner": HELD_BY, "#until": HELD_UNTIL}, {":owner": owner}
    )


def free_in_secs(held_until: int, last_at: int, gap_ms: int, now_ms: int) -> float:
    """How long until the item may be held for a call (0: now)."""
    free_at = max(held_until, last_at + gap_ms if last_at else 0)
    return max(0.0, (free_at - now_ms) / 1000)
