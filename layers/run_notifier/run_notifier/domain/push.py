"""Push: how the watcher hears that a run ended, when Apify tells it (webhooks) instead of polling.

A run's push mode travels in its queue messages (`WatchRequest.push`) and is recorded on its
item (`push`):

* ``adhoc``: the watcher created an ad-hoc Apify webhook for this run (terminal events and
  RESURRECTED, to the intake); polling drops to the safety-net schedule;
* ``actor``: an Actor- or task-level webhook made by `make enroll` already covers the run's
  terminal events (the intake says so from the dispatch's `X-Run-Notifier-Push` header);
* ``off``: Apify refused the webhook (no permission, bad request): watched by polling as
  without push, and not asked again for this run.

No mode (None) means push was not tried yet, or no intake is deployed: today's poll schedule.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class PushMode(StrEnum):
    """How a run's end will be heard of: its own ad-hoc webhook, its Actor's webhook, or not by push (polled)."""

    ADHOC = "adhoc"
    ACTOR = "actor"
    OFF = "off"


#: Modes in which a webhook will tell us about the run's end: polling is only the safety net.
ARMED = frozenset({PushMode.ADHOC, PushMode.ACTOR})

#: The header the notifier's own webhooks carry (in `headersTemplate`), so the intake can say how
#: a run is pushed: "adhoc" for the watcher's per-run webhooks, "actor" for `make enroll`'s.
PUSH_HEADER = "X-Run-Notifier-Push"

#: Apify events that say a run ended (underscore in TIMED_OUT, unlike the run's status TIMED-OUT).
TERMINAL_EVENTS = frozenset({"ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED", "ACTOR.RUN.TIMED_OUT", "ACTOR.RUN.ABORTED"})
RESURRECTED_EVENT = "ACTOR.RUN.RESURRECTED"
CREATED_EVENT = "ACTOR.RUN.CREATED"
#: Apify events an ad-hoc webhook is armed for: every way a run ends, and a resurrection.
ADHOC_EVENT_TYPES = (*sorted(TERMINAL_EVENTS), RESURRECTED_EVENT)


class PushArmed(NamedTuple):
    """What arming push for one run came to (recorded on the run's item)."""

    mode: PushMode
    webhook_id: str | None = None
    #: Why push is off (Apify's error type and message), or empty.
    reason: str = ""


def push_mode(value: object) -> PushMode | None:
    """A message's or header's push mode; None for anything else (unknown values are not trusted)."""
    try:
        return PushMode(value) if isinstance(value, str) else None
    except ValueError:
        return None
