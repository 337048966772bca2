"""What happened, as typed values: the domain reports through one port, `Events.emit`.

The domain never formats a log line or names a metric. The observability adapter
(run_notifier/observability.py) renders each event as one structured log line and its metrics,
from one table; the demo, chaos and the benchmark subscribe to the same events, so no tool
reads log text. Events are NamedTuples: cheap to make at cold start, and `_asdict()` is the
log line's fields.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

# --- the watcher ---------------------------------------------------------------------------


class RunWatched(NamedTuple):
    """A queue message for this run is being looked at."""

    run_id: str
    attempt: int


class SafetyNetDropped(NamedTuple):
    """A safety-net message for a run the ledger shows finished and notified: dropped without an Apify call."""

    run_id: str


class RunRequeued(NamedTuple):
    """Still going (or Apify unreachable): back on the queue after ``delay_secs``."""

    run_id: str
    delay_secs: int
    next_attempt: int
    reason: str
    push: str | None


class RunVanished(NamedTuple):
    """A run seen before now answers 404 (an Apify incident or a deleted run): watching goes on."""

    run_id: str
    reason: str


class ApifyUnreachable(NamedTuple):
    """Apify did not answer usably within the time (429, 5xx, network): the run is re-enqueued."""

    run_id: str
    reason: str


class RunNotFoundRecorded(NamedTuple):
    """Apify does not know the run: it is recorded and announced as NOT_FOUND."""

    run_id: str
    reason: str


class RunPushArmed(NamedTuple):
    """The run's end will be pushed: its ad-hoc webhook exists (``mode`` adhoc), or its Actor's (actor)."""

    run_id: str
    mode: str
    webhook_id: str | None


class RunPushRefused(NamedTuple):
    """Apify refused the run's webhook: it is watched by polling."""

    run_id: str
    reason: str


class RunArmingPaced(NamedTuple):
    """This second's webhook creates are spent: read without arming; armed on the next look, or (spent
    again then: ``polled``) watched by polling from now on."""

    run_id: str
    polled: bool = False


class RunPushDeferred(NamedTuple):
    """Apify could not be asked for the webhook now: this attempt polls, the next tries again."""

    run_id: str
    reason: str


class RunEnded(NamedTuple):
    """The watcher saw the run terminal: how it heard (push, safety-net, poll, first-read), how long
    after the end, and the wait before the costs are read again (0: settled already)."""

    run_id: str
    status: str
    heard_by: str
    finished_ago_secs: float | None
    settle_delay_secs: int


class WatchExpired(NamedTuple):
    """Watched longer than MAX_WATCH_SECONDS: recorded and announced as WATCH_EXPIRED."""

    run_id: str
    reason: str


class RunRecorded(NamedTuple):
    """The run's finish is written to the ledger (its alerts follow)."""

    run_id: str
    status: str


class RunMuted(NamedTuple):
    """A mute holds this run's chat alerts (recorded and announced everywhere else)."""

    run_id: str
    subject: str
    until: str


class RunStale(NamedTuple):
    """A later finish of the run is already recorded: this message is done."""

    run_id: str
    status: str
    stored_generation: str | None


class RunFinished(NamedTuple):
    """Recorded, and every destination done: what was sent now, done before, or failed for good."""

    run_id: str
    status: str
    exit_code: int | None
    usage_total_usd: float | None
    sent: tuple[str, ...]
    already: tuple[str, ...]
    failed_permanently: tuple[str, ...]


class WaitingForClaims(NamedTuple):
    """Another delivery holds a destination's claim: a fresh message comes back after its lease."""

    run_id: str
    delay_secs: int
    reason: str


class HealthJudged(NamedTuple):
    """A SUCCEEDED run on a route with `expect` was judged (domain/health.py): its verdict, the checks
    it failed, and how many runs of history it was judged against."""

    run_id: str
    verdict: str
    failed: tuple[str, ...]
    history_runs: int


class RunStuck(NamedTuple):
    """A run still going past its limit (route `expect`): its "still running" alert, once per destination."""

    run_id: str
    running_secs: float
    limit_secs: float
    sent: tuple[str, ...]


class CourtesySkipped(NamedTuple):
    """A best-effort step did not happen (a running announcement, the notified mark); no alert depends on it."""

    run_id: str
    what: str
    reason: str
    #: Normal coordination (a "still running" alert whose claim another delivery holds), not a failure.
    expected: bool = False


# --- the notifier --------------------------------------------------------------------------


class NotifyFiltered(NamedTuple):
    """The status is not in NOTIFY_ON: nobody is told."""

    run_id: str
    status: str


class ClaimTaken(NamedTuple):
    """This delivery holds the destination's claim and sends now."""

    run_id: str
    destination: str


class ClaimClosed(NamedTuple):
    """This delivery closed its claim: ``outcome`` sent, failed (for good) or released."""

    run_id: str
    destination: str
    outcome: str


class NotificationSent(NamedTuple):
    """A destination accepted the announcement; ``detail`` says where it went."""

    run_id: str
    destination: str
    detail: str


class NotificationAlreadyDone(NamedTuple):
    """Sent (or failed for good) by an earlier delivery, or the item moved on: not sent again."""

    run_id: str
    destination: str
    claim: str


class NotificationFailedPermanently(NamedTuple):
    """The destination refused for good: recorded, counted for the alarm, never retried."""

    run_id: str
    destination: str
    reason: str


class NotificationDeferred(NamedTuple):
    """Not done in this delivery: the message comes back (after any lease it leaves held)."""

    run_id: str
    destination: str
    reason: str
    #: The send itself failed (released for the next delivery); False: coordination (a claim held
    #: elsewhere, a coalesced update, quiet hours, too little time left).
    failed: bool = False


# --- the queue handler, the intake, the sweep ----------------------------------------------


class MessageRejected(NamedTuple):
    """A body that names no run: it fails alone and reaches the DLQ after maxReceiveCount."""

    message_id: str
    reason: str
    receive_count: int


class WatchFailed(NamedTuple):
    """Watching raised: the record fails and SQS redelivers it (not before ``not_before_secs``)."""

    run_id: str
    reason: str
    not_before_secs: float
    #: A delivery not finished (`NotificationsIncomplete`): coordination, not a failure of the watch.
    incomplete: bool = False


class IntakeEnqueued(NamedTuple):
    """Runs put on the queue (the first ten named, ``count`` in all)."""

    run_ids: tuple[str, ...]
    enqueued: int
    event_type: str | None


class IntakeIgnored(NamedTuple):
    """Apify's TEST dispatch, or an event type the intake does not act on: answered, nothing enqueued."""

    event_type: str | None


class IntakeRequestRefused(NamedTuple):
    """A request answered 4xx: nothing enqueued."""

    status: int
    error_type: str
    reason: str


class IntakeQueueRefused(NamedTuple):
    """SQS refused: answered 503 so the sender retries."""

    reason: str


class SweepDone(NamedTuple):
    """A sweep ended: runs listed, runs newly enrolled, and whether it read the list to its end."""

    pages: int
    listed: int
    enrolled: int
    complete: bool
    watermark: str | None
    reason: str


class ScheduleMissed(NamedTuple):
    """A schedule's slot passed without a run: put on the run queue for the watcher to announce once."""

    schedule_id: str
    slot: str
    reason: str


class MissedScheduleAnnounced(NamedTuple):
    """The watcher delivered a missed slot's alert to every destination that says so (once each)."""

    schedule_id: str
    slot: str
    sent: tuple[str, ...]
    already: tuple[str, ...]


class SchedulesChecked(NamedTuple):
    """The sweep's look at Apify's schedules: how many it judged and how many slots it found missed."""

    listed: int
    judged: int
    missed: int
    reason: str


# --- incidents ---------------------------------------------------------------------------------


class IncidentStepped(NamedTuple):
    """A finished run of a route in incident mode moved its incident (a duplicate moves nothing)."""

    key: str
    run_id: str
    transition: str


class IncidentAnnounced(NamedTuple):
    """An incident's opening or resolution reached every destination (sent, or done before)."""

    event_id: str
    kind: str
    sent: tuple[str, ...]


Event = (
    RunWatched
    | SafetyNetDropped
    | RunRequeued
    | RunVanished
    | ApifyUnreachable
    | RunNotFoundRecorded
    | RunPushArmed
    | RunPushRefused
    | RunPushDeferred
    | RunArmingPaced
    | RunEnded
    | WatchExpired
    | RunRecorded
    | RunMuted
    | RunStale
    | RunFinished
    | WaitingForClaims
    | HealthJudged
    | RunStuck
    | CourtesySkipped
    | NotifyFiltered
    | ClaimTaken
    | ClaimClosed
    | NotificationSent
    | NotificationAlreadyDone
    | NotificationFailedPermanently
    | NotificationDeferred
    | MessageRejected
    | WatchFailed
    | IntakeEnqueued
    | IntakeIgnored
    | IntakeRequestRefused
    | IntakeQueueRefused
    | SweepDone
    | ScheduleMissed
    | MissedScheduleAnnounced
    | SchedulesChecked
    | IncidentStepped
    | IncidentAnnounced
)


class Events(Protocol):
    """The one port the domain reports through."""

    def emit(self, event: Event) -> None:
        """Report what happened (never raises into the caller)."""
        ...


class NoEvents:
    """Events nobody listens to."""

    def emit(self, event: Event) -> None:
        """Drop the event."""
        return None
