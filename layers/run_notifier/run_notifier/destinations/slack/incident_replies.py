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
from run_notifier.destinations.slack import gapped_hold

#: At most one reply per incident this often.
REPLY_GAP_MS = 10_000
#: How long the holder has to post one reply and record it.
HOLD_MS = 30_000
#: Entries one reply lists (Slack's text limit); the rest wait for the next.
MAX_PER_REPLY = 40
#: How long an incident's replies item is kept after its last failure (the table's `expiresAt` TTL).
KEEP_SECS = 30 * 24 * 3600
#: Pending entries an incident keeps (the item's size): beyond it a run waits its turn in the queue.
MAX_PENDING = 400


class ReplyEntry(NamedTuple):
    """A failure waiting for (or shown in) an incident's thread reply."""

    #: The run's place in the incident (its failure number), which orders the entries.
    number: int
    run_id: str
    #: Its summary line ("FAILED #3: run … (exit code 1, duration 2m)").
    head: str
    status: str
    status_message: str | None


class Replies(NamedTuple):
    """An incident thread's replies: those pending, those posted, and when the last one went out."""

    pending: dict[str, ReplyEntry]
    #: Entries a posted reply held.
    posted: frozenset[str]
    posted_at: int
    held_until: int

    def wait_secs(self, now_ms: int) -> float:
        """Seconds until the next reply may be posted (0: now)."""
        return gapped_hold.free_in_secs(self.held_until, self.posted_at, REPLY_GAP_MS, now_ms)


def replies_key(incident_id: str, channel: str) -> str:
    """The runs-table key of an incident's thread replies in a channel."""
    return f"slack-replies#{incident_id}#{channel}"


def entry_key(entry: ReplyEntry) -> str:
    """The key of one failure in its incident's replies."""
    return f"{entry.number:06d}-{entry.run_id}"


class DynamoIncidentReplies:
    """Incident thread replies on the runs table: failures batched into one reply at most every few seconds."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def add(self, incident_id: str, channel: str, entry: ReplyEntry, now_ms: int) -> str:
        """Add the run's entry: "added" (or it was pending already), "posted" (a reply held it: a delivery
        that came back must not put it in the next one again), or "full" (`MAX_PENDING` waiting)."""
        key = replies_key(incident_id, channel)
        value = {"head": entry.head, "status": entry.status, "why": entry.status_message or "", "n": entry.number}
        value["runId"] = entry.run_id
        names = {"#p": "pending", "#posted": "posted", "#x": "expiresAt"}
        expires = now_ms // 1000 + KEEP_SECS  # the table's TTL removes an incident's replies long after
        not_posted = "(attribute_not_exists(#posted) OR NOT contains(#posted, :k))"
        stood = self._table.conditional_update(
            key,
            "SET #p = :p, #x = :x",
            f"attribute_not_exists(#p) AND {not_posted}",
            names,
            {":p": {entry_key(entry): value}, ":k": entry_key(entry), ":x": expires},
        )
        if stood is None:
            return "added"
        if entry_key(entry) in (stood.get("posted") or ()):
            return "posted"
        stood = self._table.conditional_update(
            key,
            "SET #p.#k = :v, #x = :x",
            f"(size(#p) < :most OR attribute_exists(#p.#k)) AND {not_posted}",
            {**names, "#k": entry_key(entry)},
            {":v": value, ":most": MAX_PENDING, ":k": entry_key(entry), ":x": expires},
        )
        if stood is None:
            return "added"
        return "posted" if entry_key(entry) in (stood.get("posted") or ()) else "full"

    def state(self, incident_id: str, channel: str) -> Replies:
        """The thread's replies as they stand (a consistent read)."""
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

    def hold(self, incident_id: str, channel: str, owner: str, now_ms: int, *, wait_for_gap: bool = True) -> bool:
        """The right to post the next reply now: a lease, and (unless the recovery flushes the thread)
        the gap since the last reply."""
        gap = REPLY_GAP_MS if wait_for_gap else 0
        key = replies_key(incident_id, channel)
        return gapped_hold.hold(self._table, key, owner, now_ms, lease_ms=HOLD_MS, last_at="postedAt", gap_ms=gap)

    def release(self, incident_id: str, channel: str, owner: str) -> None:
        """Give the posting hold back (only if this owner still holds it)."""
        gapped_hold.release(self._table, replies_key(incident_id, channel), owner)

    def record_posted(
        self, incident_id: str, channel: str, owner: str, keys: list[str], now_ms: int, *, keep_hold: bool = False
    ) -> bool:
        """A reply holding `keys` is in the thread; False when the lease was lost meanwhile (not recorded)."""
        names: dict[str, str] = {"#posted": "posted", "#at": "postedAt", "#owner": "heldBy"}
        if not keep_hold:
            names["#until"] = "heldUntil"
        names["#p"] = "pending"
        removes = []
        for index, key in enumerate(keys):
            names[f"#k{index}"] = key
            removes.append(f"#p.#k{index}")
        values: dict[str, Any] = {":keys": set(keys), ":now": now_ms, ":owner": owner}
        stood = self._table.conditional_update(
            replies_key(incident_id, channel),
            "ADD #posted :keys SET #at = :now REMOVE "
            + ", ".join([*([] if keep_hold else ["#owner", "#until"]), *removes]),
            "#owner = :owner",
            names,
            values,
        )
        return stood is None
