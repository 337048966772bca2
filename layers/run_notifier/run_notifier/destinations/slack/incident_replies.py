"""An incident's thread replies, coalesced: at most one per `REPLY_GAP_MS` per incident.

Slack allows about one message a second per channel, thread replies included. Ten Actors failing
every few seconds would queue a reply a run: a backlog that grows without end. So each failing
run's delivery adds its entry (its summary line and why) to the incident's pending replies
(`slack-replies#<incident ID>#<channel>`), and whichever delivery holds the item (a lease) posts
one reply with every pending entry, the newest with its log's last lines. A run's delivery is done
only when a posted reply held its entry (recorded by the holder after Slack answered); until then
it comes back through the queue, so a crashed holder delays entries but never loses them. A crash
between Slack's answer and the record repeats those entries in the next reply (the documented
crash window).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from run_notifier.adapters.dynamodb import RunsTable

#: At most one reply per incident this often.
REPLY_GAP_MS = 10_000
#: How long the holder has to post one reply and record it.
HOLD_MS = 30_000
#: Entries one reply lists (Slack's text limit); the rest wait for the next.
MAX_PER_REPLY = 40
#: Pending entries an incident keeps (the item's size): beyond it a run waits its turn in the queue.
MAX_PENDING = 400


class ReplyEntry(NamedTuple):
    #: The run's place in the incident (its failure number), which orders the entries.
    number: int
    run_id: str
    #: Its summary line ("FAILED #3: run … (exit code 1, duration 2m)").
    head: str
    status: str
    status_message: str | None


class Replies(NamedTuple):
    pending: dict[str, ReplyEntry]
    #: Entries a posted reply held.
    posted: frozenset[str]
    posted_at: int
    held_until: int

    def wait_secs(self, now_ms: int) -> float:
        free_at = max(self.held_until, self.posted_at + REPLY_GAP_MS if self.posted_at else 0)
        return max(0.0, (free_at - now_ms) / 1000)


def replies_key(incident_id: str, channel: str) -> str:
    return f"slack-replies#{incident_id}#{channel}"


def entry_key(entry: ReplyEntry) -> str:
    return f"{entry.number:06d}-{entry.run_id}"


class DynamoIncidentReplies:
    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def add(self, incident_id: str, channel: str, entry: ReplyEntry) -> bool:
        """Add the run's entry (again: a no-op); False when the incident has `MAX_PENDING` waiting already."""
        key = replies_key(incident_id, channel)
        value = {"head": entry.head, "status": entry.status, "why": entry.status_message or "", "n": entry.number}
        value["runId"] = entry.run_id
        first = self._table.conditional_update(
            key, "SET #p = :p", "attribute_not_exists(#p)", {"#p": "pending"}, {":p": {entry_key(entry): value}}
        )
        if first is None:
            return True
        stood = self._table.conditional_update(
            key,
            "SET #p.#k = :v",
            "size(#p) < :most OR attribute_exists(#p.#k)",
            {"#p": "pending", "#k": entry_key(entry)},
            {":v": value, ":most": MAX_PENDING},
        )
        return stood is None

    def state(self, incident_id: str, channel: str) -> Replies:
        item = self._table.get(replies_key(incident_id, channel)) or {}
        pending = {
            key: ReplyEntry(
                int(v.get("n", 0)), str(v.get("runId", "")), str(v["head"]), str(v["status"]), v.get("why") or None
            )
            for key, v in (item.get("pending") or {}).items()
        }
        return Replies(
            pending, frozenset(item.get("posted") or ()), int(item.get("postedAt", 0)), int(item.get("heldUntil", 0))
        )

    def hold(self, incident_id: str, channel: str, owner: str, now_ms: int) -> bool:
        """The right to post the next reply now (a lease, and the gap since the last reply)."""
        stood = self._table.conditional_update(
            replies_key(incident_id, channel),
            "SET #owner = :owner, #until = :until",
            "(attribute_not_exists(#until) OR #until < :now OR #owner = :owner)"
            " AND (attribute_not_exists(#at) OR #at <= :cutoff)",
            {"#owner": "heldBy", "#until": "heldUntil", "#at": "postedAt"},
            {":owner": owner, ":until": now_ms + HOLD_MS, ":now": now_ms, ":cutoff": now_ms - REPLY_GAP_MS},
        )
        return stood is None

    def record_posted(self, incident_id: str, channel: str, owner: str, keys: list[str], now_ms: int) -> bool:
        """A reply holding `keys` is in the thread; False when the lease was lost meanwhile (not recorded)."""
        names: dict[str, str] = {"#posted": "posted", "#at": "postedAt", "#owner": "heldBy", "#until": "heldUntil"}
        names["#p"] = "pending"
        removes = []
        for index, key in enumerate(keys):
            names[f"#k{index}"] = key
            removes.append(f"#p.#k{index}")
        values: dict[str, Any] = {":keys": set(keys), ":now": now_ms, ":owner": owner}
        stood = self._table.conditional_update(
            replies_key(incident_id, channel),
            "ADD #posted :keys SET #at = :now REMOVE " + ", ".join(["#owner", "#until", *removes]),
            "#owner = :owner",
            names,
            values,
        )
        return stood is None
