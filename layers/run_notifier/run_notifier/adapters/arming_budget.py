"""A budget for creating Apify webhooks shared by every container: at most N creates a second.

Apify allows 60 requests a second per resource, and every `POST /v2/webhooks` is the same resource,
so arming push for a burst of runs from ten containers would draw 429s, retries and fallbacks to
polling. Each create first takes one of this second's N (by default half of Apify's 60, leaving room
for `make enroll`, the Console and other clients of the token) from one item in the runs table
(`apify-arming#budget`, a key no run ID can take): one conditional write per take (two for the first
take of a second), never a conflict that loops. A run whose create finds the second spent is not
armed now: it is polled as without push this time and armed on its next look (domain/watcher.py
`RunPushDeferred`), so a burst is armed at N a second, never faster, and no run waits for a webhook
that was never made.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from run_notifier.adapters.dynamodb import RunsTable

BUDGET_KEY = "apify-arming#budget"
DEFAULT_PER_SECOND = 30
#: The share of each second's creates that only Actor-level webhooks may take (at least one).
RESERVED_FOR_ACTORS_SHARE = 1 / 3


def per_run_limit(per_second: int) -> int:
    """The creates a second per-run webhooks may take; the rest are kept for Actor-level ones.

    A third, not one: when per-run creates saturate, each Actor-level create replaces every later
    per-run create of its Actor, so a fleet of 200 busy Actors is covered in seconds (10 a second)
    rather than minutes (1 a second), and its runs stop being polled that much sooner.
    """
    return max(1, per_second - max(1, round(per_second * RESERVED_FOR_ACTORS_SHARE)))


_TRIES = 4


class ArmingBudget:
    """A shared budget of webhook creates per second, on one item of the runs table, that keeps every container inside
    Apify's 60 requests/s per resource."""

    def __init__(self, table: RunsTable, per_second: int, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._per_second = per_second
        self._clock = clock

    def take(self, *, for_actor: bool = False) -> bool:
        """One create of this second's budget: True when taken, False when the second is spent (or the
        table could not say: uncoordinated creates are what the budget is for). A third of each second's
        creates are kept for Actor-level webhooks (``for_actor``, `per_run_limit`): a burst's
        per-run creates, which take the rest, must not starve the creates that cover all of an Actor's runs."""
        limit = self._per_second if for_actor else per_run_limit(self._per_second)
        second = int(self._clock())
        names = {"#s": "second", "#c": "creates"}
        try:
            for _ in range(_TRIES):
                # The common case first: a take within a second already begun is one write, and so is a
                # take refused because the second is spent (the budget item is the hot key of a burst).
                stood = self._table.conditional_update(
                    BUDGET_KEY,
                    "SET #c = #c + :one",
                    "#s = :s AND #c < :limit",
                    names,
                    {":s": second, ":one": 1, ":limit": limit},
                )
                if stood is None:
                    return True
                stood_second = int(stood.get("second", 0))
                if stood_second == second:
                    return False  # this second's creates are spent
                if stood_second > second:
                    return False  # another container's clock is ahead: its second, not ours
                stood = self._table.conditional_update(
                    BUDGET_KEY,
                    "SET #s = :s, #c = :one",
                    "attribute_not_exists(#s) OR #s < :s",
                    names,
                    {":s": second, ":one": 1},
                )
                if stood is None:
                    return True  # the first of a new second
                if int(stood.get("second", 0)) > second:
                    return False
                # another container began this second between the two writes: take from it
        except Exception:  # a table that cannot say is a budget that is not given
            return False
        return False
