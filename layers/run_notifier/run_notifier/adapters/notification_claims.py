"""Per-destination notification claims on the run's item (`ports.NotificationClaims`).

`<kind>Notification` holds `{state, generation, ...}`:

* CLAIMED with an `owner` and a `leaseUntil`: one delivery is sending; nobody else may until
  the lease lapses (a crashed sender's claim thus frees itself);
* SENT / FAILED: done for this generation; never sent again;
* RETRYING: released after a transient failure; the next delivery may claim it at once.

Only the owner may close or release a claim: a sender whose lease lapsed and was taken over
must not overwrite the new holder's claim. See `domain/notifier.py` for why this and not
Powertools idempotency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.secret_store import redact
from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.ports import Claim, ClaimResult, NotificationState

#: Stored details and errors are cut to this many characters.
MAX_TEXT = 500


def _attribute(kind: str) -> str:
    return f"{kind}Notification"


class DynamoNotificationClaims:
    """`ports.NotificationClaims` on the announcement's item: a map entry per claim kind, written by conditional
    updates only."""

    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def claim(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, lease_secs: float) -> Claim:
        """Take the claim for a lease, unless another live lease holds it or it is done for this generation."""
        lease_until = now + timedelta(seconds=lease_secs)
        claim = {
            "state": NotificationState.CLAIMED.value,
            "generation": generation,
            "owner": owner,
            "leaseUntil": format_iso(lease_until),
        }
        stood = self._table.conditional_update(
            run_id,
            "SET #n = :claim",
            "#gen = :g AND (attribute_not_exists(#n) OR #n.#gen <> :g OR #n.#st = :retrying"
            " OR (#n.#st = :claimed AND #n.#lease < :now))",
            {"#n": _attribute(kind), "#gen": "generation", "#st": "state", "#lease": "leaseUntil"},
            {
                ":claim": claim,
                ":g": generation,
                ":retrying": NotificationState.RETRYING.value,
                ":claimed": NotificationState.CLAIMED.value,
                ":now": format_iso(now),
            },
        )
        if stood is None:
            return Claim(ClaimResult.CLAIMED, lease_until)
        return _why_refused(stood, kind, generation, owner)

    def mark_sent(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, detail: str) -> None:
        """Close our claim as SENT (only if we still hold it)."""
        self._close(run_id, kind, generation, owner, now, NotificationState.SENT, {"detail": detail})

    def mark_failed(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        """Close our claim as FAILED for good (only if we still hold it)."""
        self._close(run_id, kind, generation, owner, now, NotificationState.FAILED, {"error": error})

    def release(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        """Give our claim back (RETRYING), so that the next delivery may take it at once."""
        self._close(run_id, kind, generation, owner, now, NotificationState.RETRYING, {"error": error})

    def _close(
        self,
        run_id: str,
        kind: str,
        generation: str,
        owner: str,
        now: datetime,
        state: NotificationState,
        text: dict[str, str],
    ) -> None:
        """Move our claim to `state`, only while it is still ours (else the new holder's outcome stands). Its text
        is redacted first: a receiver's error body can echo its own secret (a routing key, a webhook URL)."""
        text = {key: redact(value)[:MAX_TEXT] for key, value in text.items()}
        names = {"#n": _attribute(kind), "#gen": "generation", "#st": "state", "#owner": "owner"}
        values: dict[str, Any] = {
            ":v": {"state": state.value, "generation": generation, "at": format_iso(now), **text},
            ":g": generation,
            ":claimed": NotificationState.CLAIMED.value,
            ":owner": owner,
        }
        update = "SET #n = :v"
        if state is NotificationState.SENT:
            update += ", #at = :at"
            names["#at"] = f"{kind}NotifiedAt"
            values[":at"] = format_iso(now)
        self._table.conditional_update(
            run_id, update, "#n.#gen = :g AND #n.#st = :claimed AND #n.#owner = :owner", names, values
        )


def _why_refused(item: dict[str, Any], kind: str, generation: str, owner: str) -> Claim:
    """Classify a refused claim from the item as it stood when the write was refused.

    Our own claim refusing us means the SDK retried a write whose first answer was lost: the
    claim is ours.
    """
    if item.get("generation") != generation:
        return Claim(ClaimResult.STALE)
    notification = item.get(_attribute(kind)) or {}
    if notification.get("state") == NotificationState.CLAIMED.value:
        lease_until = parse_iso(notification.get("leaseUntil"))
        if notification.get("owner") == owner:
            return Claim(ClaimResult.CLAIMED, lease_until)
        return Claim(ClaimResult.BUSY, lease_until)
    return Claim(ClaimResult.DONE)
