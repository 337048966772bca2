"""The small interfaces the domain works through, and the results and errors they share.

Adapters (`run_notifier.adapters`) and destinations (`run_notifier.destinations`)
implement these; tests implement them in memory (`tests/unit/fakes.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from run_notifier.domain.target_schema import TargetSchema as TargetSchema

if TYPE_CHECKING:
    from run_notifier.domain.announcements import Announcement
    from run_notifier.domain.deadline import Deadline
    from run_notifier.domain.health import Health, PastRun
    from run_notifier.domain.missed_schedules import ScheduleMemory, ScheduleView
    from run_notifier.domain.mutes import Mute
    from run_notifier.domain.push import PushArmed
    from run_notifier.domain.run_summary import RunSummary
    from run_notifier.domain.watch_request import WatchRequest

#: The service's logger name; Powertools' Logger (observability.py) formats this logger's records.
SERVICE = "apify-run-notifier"
log = logging.getLogger(SERVICE)


# --- Apify ---------------------------------------------------------------------------------


class ApifyError(Exception):
    """Base class; messages never contain the token."""


class RunNotFound(ApifyError):
    """404 after the replica-lag grace: the run does not exist (or expired)."""


class ApifyAuthError(ApifyError):
    """401/403: retrying will not help until the token or its permissions change."""


class ApifyRequestError(ApifyError):
    """400 or another 4xx that says the request itself is wrong."""


class ApifyUnavailable(ApifyError):
    """429, 5xx or network errors until the time budget ran out."""


class ArmingPaced(ApifyUnavailable):
    """This second's budget of webhook creates is spent (adapters/arming_budget.py): the run is read
    without a long poll and looked at again shortly, when a new second's budget can arm it."""


class RunReader(Protocol):
    """Reads one run from Apify."""

    def get_run(self, run_id: str, wait_secs: int, deadline: Deadline) -> RunSummary:
        """The run as it stands, after waiting up to ``wait_secs`` for it to finish.

        Raises RunNotFound (404 after the replica-lag grace), ApifyUnavailable (429, 5xx, network
        until the deadline), ApifyAuthError / ApifyRequestError (asking again will not help)."""
        ...


class ActorNames(Protocol):
    """Names Actors for messages."""

    def name_of(self, actor_id: str, deadline: Deadline) -> str:
        """``username/name``, or the ID itself when the name cannot be had."""
        ...


class ListedRun(NamedTuple):
    """One entry of Apify's run list, as the sweep needs it."""

    run_id: str
    act_id: str | None
    actor_task_id: str | None
    started_at: datetime | None
    #: The schedule that started it (`meta.scheduleId`), and the slot it was started for (`meta.scheduledAt`).
    schedule_id: str | None = None
    scheduled_at: datetime | None = None


class RunLister(Protocol):
    """Apify's run list, a page at a time."""

    def list_runs(self, started_after: str, offset: int, limit: int, deadline: Deadline) -> list[ListedRun]:
        """One page of the user's runs started at or after ``started_after``, ascending by startedAt."""
        ...


class ScheduleLister(Protocol):
    """Apify's schedules, a page at a time."""

    def list_schedules(self, offset: int, limit: int, deadline: Deadline) -> list[ScheduleView]:
        """One page of the user's schedules (`GET /v2/schedules`)."""
        ...


class ScheduleMemories(Protocol):
    """What the sweep remembers per schedule between sweeps (domain/missed_schedules.py)."""

    def recall(self, schedule_ids: Sequence[str]) -> dict[str, ScheduleMemory]:
        """What the sweep remembers of these schedules."""
        ...

    def remember(self, schedule_id: str, memory: ScheduleMemory, now: datetime) -> None:
        """Remember a schedule's state until the next sweep."""
        ...

    def forget(self, schedule_id: str) -> None:
        """Forget a schedule (gone, or no longer watched)."""
        ...


class PushArming(Protocol):
    """Creates a run's ad-hoc webhook to the intake."""

    def arm(self, run_id: str, deadline: Deadline) -> PushArmed:
        """Create (or find, by its idempotency key) the run's ad-hoc webhook.

        Returns mode OFF with Apify's reason when Apify refuses (401/403/4xx: asking again will
        not help); raises ApifyUnavailable when it could not be asked (429, 5xx, network).
        """
        ...


@runtime_checkable
class ActorPushArming(Protocol):
    """Capability: one Actor-level webhook for every run of a busy Actor (one create per Actor, not per run)."""

    def actor_covered(self, act_id: str) -> bool:
        """Whether this Actor already has the notifier's Actor-level webhook (no call to Apify)."""
        ...

    def arm_actor(self, act_id: str, deadline: Deadline) -> PushArmed:
        """Create (or find, by its idempotency key) the Actor's webhook; mode ACTOR, or OFF with the reason.
        Raises ArmingPaced when this second's creates are spent, ApifyUnavailable when Apify could not be asked."""
        ...


# --- the queue -----------------------------------------------------------------------------


class RequeueFailed(Exception):
    """The run could not be put back on the queue; the record fails and SQS redelivers it."""


class RunRequeue(Protocol):
    """Puts a run back on the run queue with a delay."""

    def send(self, request: WatchRequest, delay_secs: int) -> str:
        """Put the request on the run queue after ``delay_secs``; return the message ID."""
        ...


class Enqueue(Protocol):
    """Puts runs on the run queue now (the intake, the sweep, follow-ups)."""

    def enqueue(self, run_ids: Sequence[str], fields: Mapping[str, str] | None = None, delay_secs: int = 0) -> None:
        """Put these runs on the run queue (with ``fields`` in each body, visible after ``delay_secs``);
        raises if any was not enqueued."""
        ...


class EnqueueBodies(Protocol):
    """Puts other messages than a run's on the run queue now (a missed schedule's slot)."""

    def enqueue_bodies(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        """Each body as its own message; raises if any was not enqueued."""
        ...


# --- the run ledger ------------------------------------------------------------------------


class RecordResult(NamedTuple):
    """Whether the finish was written, and the generation stored (a later one, when not)."""

    written: bool
    stored_generation: str | None = None


class RunLedger(Protocol):
    """The run's item: its finish, written so that an older finish never overwrites a newer one."""

    def record(
        self,
        summary: RunSummary,
        *,
        now: datetime,
        attempts: int,
        first_seen_at: datetime | None,
        costs_settled: bool,
        muted_by: Mute | None = None,
    ) -> RecordResult:
        """Write the run unless a later finish is already stored (with the mute that holds its chat)."""
        ...


class Mutes(Protocol):
    """One-off mutes (domain/mutes.py): which one, if any, holds this run's chat alerts."""

    def muted(self, summary: RunSummary) -> Mute | None:
        """The mute that holds this run's chat alerts now, or None."""
        ...


class UsualDurations(Protocol):
    """How long a run's Actor task (else Actor) usually runs: the durations of its recent SUCCEEDED runs."""

    def durations(self, run: RunSummary, deadline: Deadline) -> Sequence[float]:
        """Seconds, any order; empty when unknown (no history, or it could not be read now)."""
        ...


class RunHistory(Protocol):
    """The SUCCEEDED runs a health check judges against, and a judgement already recorded."""

    def past_runs(self, key: str, exclude_run_id: str, deadline: Deadline) -> list[PastRun]:
        """The key's last SUCCEEDED runs (domain/health_flow.history_key) with their flags, oldest first."""
        ...

    def stored(self, run_id: str, generation: str) -> tuple[int | None, Health] | None:
        """The item count and health an earlier delivery of this finish recorded; None: not judged yet."""
        ...


class DatasetCounts(Protocol):
    """Dataset sizes from Apify."""

    def item_count(self, dataset_id: str, deadline: Deadline) -> int | None:
        """The dataset's `itemCount` (Apify: may lag a few seconds behind the run's end)."""
        ...


class WatchLedger(Protocol):
    """The cheap reads and writes of a run's item while it is watched (no Apify call needed)."""

    def note_push(self, run_id: str, armed: PushArmed, now: datetime) -> None:
        """Record on the run's item whether and how push is armed."""
        ...

    def notified_since(self, run_id: str, since: datetime) -> bool:
        """True when the item holds a finish at or after ``since`` whose every notification is done."""
        ...

    def mark_notified(self, run_id: str, generation: str, now: datetime) -> None:
        """Every destination of this generation is done (sent, or failed for good)."""
        ...


class Enrollments(Protocol):
    """What the sweep has enrolled, and how far it has read Apify's run list."""

    def watermark(self) -> datetime | None:
        """Where the last complete sweep read up to; None before the first."""
        ...

    def save_watermark(self, started_at: datetime) -> None:
        """Move the watermark (only after a sweep read the list to its end)."""
        ...

    def not_enrolled(self, run_ids: Sequence[str]) -> list[str]:
        """Those of these runs not enrolled yet."""
        ...

    def mark_enrolled(self, run_ids: Sequence[str], now: datetime) -> None:
        """Remember these runs as enrolled (the sweep does not enqueue them again)."""
        ...


# --- notification claims -------------------------------------------------------------------


class ClaimResult(Enum):
    """What a claim attempt came to."""

    CLAIMED = "claimed"  # ours to send now
    DONE = "done"  # sent or permanently failed for this generation already
    BUSY = "busy"  # another delivery holds a live lease
    STALE = "stale"  # the item moved on to another generation


class NotificationState(StrEnum):
    """A claim's state as the ledger shows it."""

    CLAIMED = "CLAIMED"
    SENT = "SENT"
    FAILED = "FAILED"  # permanent: not retried
    RETRYING = "RETRYING"  # transient failure: the next delivery may claim it


class Claim(NamedTuple):
    """A claim attempt's answer, with its lease's end where there is one."""

    result: ClaimResult
    #: For CLAIMED and BUSY: when the lease ends (a message must not come back before it).
    lease_until: datetime | None = None


class NotificationClaims(Protocol):
    """Per run, destination kind and generation: who may send, and what came of it."""

    def claim(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, lease_secs: float) -> Claim:
        """Take the claim for ``lease_secs`` unless another live lease holds it or it is done for this generation."""
        ...

    def mark_sent(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, detail: str) -> None:
        """Close our claim as SENT."""
        ...

    def mark_failed(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        """Close our claim as FAILED for good."""
        ...

    def release(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        """Give our claim back (the next delivery may take it at once)."""
        ...


# --- destinations --------------------------------------------------------------------------


class DeliveryError(Exception):
    """A destination did not take an announcement."""

    pass


class PermanentDeliveryError(DeliveryError):
    """The destination rejected the message; sending it again will not help."""


class TransientDeliveryError(DeliveryError):
    """Not delivered in this invocation's time (or its secret could not be read); a later delivery may succeed."""


class DeliveryNotYet(TransientDeliveryError):
    """Not now, but surely after ``retry_after_secs`` (a coalesced update): the record comes back then,
    as a fresh message, without using up a receive."""

    def __init__(self, message: str, retry_after_secs: float) -> None:
        super().__init__(message)
        self.retry_after_secs = retry_after_secs


class NotificationsIncomplete(Exception):
    """Some destination is not done yet; the record fails (or is re-enqueued) and comes back.

    ``retry_after_secs``: it must not come back before this, because a claim is still held
    (another delivery's lease, or our own that could not be closed).
    """

    def __init__(self, message: str, retry_after_secs: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_secs = retry_after_secs


class Traits(NamedTuple):
    """What a destination is, for the rules that hold or route it: declared by its class, never looked up."""

    #: Chat (Slack, Teams, Discord): a mute holds it, and quiet hours hold what they hold.
    chat: bool = False
    #: It pages someone: quiet hours hold it only where the route says so.
    pages: bool = False
    #: On a route in incident mode it announces incidents instead of runs (chat, paging).
    incidents_instead_of_runs: bool = False


class Limits(NamedTuple):
    """The service's documented size limits for one message (None: no limit said)."""

    #: Characters of a message's main text: each value under ``text_key`` in the request's JSON.
    text_chars: int | None = None
    #: The JSON key that holds the main text (Slack's `text`, Discord's `description`, PagerDuty's `summary`).
    text_key: str | None = None
    #: Bytes of the whole request body.
    body_bytes: int | None = None


#: One send of a destination's, claimed under its own claim kind: (claim kind, send within a share).
Send = tuple[str, Callable[["Deadline"], str]]


class Destination(Protocol):
    """One place announcements are made: it says which announcements it renders, and how many sends each needs."""

    #: Stable key for exactly-once bookkeeping (the kind's `KIND`).
    kind: str
    traits: Traits
    limits: Limits

    def renders(self, announcement_type: type[Announcement]) -> bool:
        """Whether it says anything of this type of announcement."""
        ...

    def deliveries(self, announcement: Announcement) -> list[Send]:
        """Each send this announcement needs here, with its claim kind; [] when it says nothing of it.
        A send raises DeliveryError subclasses and returns a short detail for the ledger."""
        ...


class LiveAnnouncer(Protocol):
    """Announces runs first seen running (a destination capability)."""

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """Announce a run first seen running where its routes ask (at most once per run and destination).

        Best effort: the caller logs and goes on when it raises; the final alert never depends on it.
        """
        ...


class DestinationDirectory(Protocol):
    """Where an announcement goes, after routing, mutes and quiet hours."""

    def destinations_for(self, announcement: Announcement) -> list[Destination]:
        """The destinations this announcement is made to (its route read once)."""
        ...
