"""How each domain event is rendered: its log line (level and message) and its metrics.

The one table of metric names (`Metric`): the template's alarms and dashboards name these, and
nothing else in the code writes a metric name. The messages are for people reading CloudWatch;
tools subscribe to the events themselves (observability.EventLog.subscribe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, NamedTuple

from run_notifier.domain import events as e


class Metric(StrEnum):
    """The metric names: the template's alarms and dashboards name these, nothing else in the code."""

    RUNS_WATCHED = "RunsWatched"
    SAFETY_NET_MESSAGES_DROPPED = "SafetyNetMessagesDropped"
    RUNS_REQUEUED = "RunsRequeued"
    RUNS_SETTLING = "RunsSettling"
    RUNS_FINISHED = "RunsFinished"  # by status
    RUNS_WAITING_FOR_CLAIMS = "RunsWaitingForClaims"
    PUSH_ARMED = "PushArmed"
    PUSH_ARMING_REFUSED = "PushArmingRefused"
    NOTIFICATIONS_SENT = "NotificationsSent"
    #: Sends that failed (for now or for good).
    NOTIFICATION_FAILURES = "NotificationFailures"
    #: Deliveries that come back later by design (a claim held elsewhere, a coalesced update, quiet hours).
    NOTIFICATIONS_DEFERRED = "NotificationsDeferred"
    #: Deliveries found done already (a duplicate, a redelivery): nothing sent again.
    NOTIFICATIONS_ALREADY_DONE = "NotificationsAlreadyDone"
    #: The template's NotificationFailedAlarm.
    NOTIFICATIONS_FAILED_PERMANENTLY = "NotificationsFailedPermanently"
    INVALID_MESSAGES = "InvalidMessages"
    INTAKE_RUNS_ENQUEUED = "IntakeRunsEnqueued"
    INTAKE_REFUSED = "IntakeRefused"
    INTAKE_UNAUTHORIZED = "IntakeUnauthorized"
    SWEEP_RUNS_ENROLLED = "SweepRunsEnrolled"
    SWEEPS_INCOMPLETE = "SweepsIncomplete"
    INCIDENTS_OPENED = "IncidentsOpened"
    INCIDENTS_RESOLVED = "IncidentsResolved"
    HEALTH_WARNINGS = "HealthWarnings"
    RUNS_STUCK = "RunsStuck"
    SCHEDULES_MISSED = "SchedulesMissed"


Counts = Callable[[Any], Iterable[tuple[Metric, float]]]


def _none(_: Any) -> Iterable[tuple[Metric, float]]:
    return ()


def _one(*names: Metric) -> Counts:
    return lambda _: ((name, 1) for name in names)


class Rendering(NamedTuple):
    """How one event is logged: its level, its message, its metrics."""

    #: None: no log line (a metric only); or the level for this event.
    level: int | Callable[[Any], int] | None
    message: str | Callable[[Any], str]
    metrics: Counts = _none
    #: An event field whose value is the metrics' own dimension (RunsFinished by status).
    dimension: str | None = None
    #: Log the exception being handled with the line (the event is emitted in an except block).
    exc_info: bool = False


INFO, WARNING, ERROR, DEBUG = logging.INFO, logging.WARNING, logging.ERROR, logging.DEBUG

RENDERINGS: dict[type, Rendering] = {
    e.RunWatched: Rendering(None, "", _one(Metric.RUNS_WATCHED)),
    e.SafetyNetDropped: Rendering(
        INFO,
        "Safety-net message for a run already finished and notified; dropped without an Apify call",
        _one(Metric.SAFETY_NET_MESSAGES_DROPPED),
    ),
    e.RunRequeued: Rendering(INFO, "Re-enqueued", _one(Metric.RUNS_REQUEUED)),
    e.RunVanished: Rendering(WARNING, "Run seen before is now not found; watching on"),
    e.ApifyUnreachable: Rendering(WARNING, "Apify unavailable; re-enqueueing"),
    e.RunNotFoundRecorded: Rendering(WARNING, "Run not found; recording NOT_FOUND"),
    e.RunPushArmed: Rendering(INFO, "Push armed", _one(Metric.PUSH_ARMED)),
    # INFO: the adapter warns once per container about a refusal that applies to every run.
    e.RunPushRefused: Rendering(INFO, "Push not armed; watching by polling", _one(Metric.PUSH_ARMING_REFUSED)),
    e.RunPushDeferred: Rendering(WARNING, "Could not arm push now; polling this attempt"),
    e.RunArmingPaced: Rendering(DEBUG, "Webhook creates of this second spent; armed on the next look"),
    e.RunEnded: Rendering(
        INFO,
        lambda ev: (
            "Run ended; re-reading after the costs settle"
            if ev.settle_delay_secs
            else "Run ended; costs already settled"
        ),
        lambda ev: ((Metric.RUNS_SETTLING, 1 if ev.settle_delay_secs else 0),),
    ),
    e.WatchExpired: Rendering(WARNING, "Giving up on the run"),
    e.RunRecorded: Rendering(None, "", _one(Metric.RUNS_FINISHED), dimension="status"),
    e.RunMuted: Rendering(INFO, "A mute holds this run's chat alerts"),
    e.RunStale: Rendering(INFO, "Stale message: a later finish is already recorded"),
    e.RunFinished: Rendering(INFO, "Run finished"),
    e.WaitingForClaims: Rendering(
        INFO,
        "A destination's claim is held; re-enqueued to come back after its lease",
        _one(Metric.RUNS_WAITING_FOR_CLAIMS),
    ),
    e.HealthJudged: Rendering(
        lambda ev: WARNING if ev.verdict == "WARN" else INFO,
        lambda ev: f"Health: {ev.verdict}",
        lambda ev: ((Metric.HEALTH_WARNINGS, 1 if ev.verdict == "WARN" else 0),),
    ),
    e.RunStuck: Rendering(WARNING, "Run still going past its limit", _one(Metric.RUNS_STUCK)),
    e.CourtesySkipped: Rendering(
        lambda ev: INFO if ev.expected else WARNING, lambda ev: f"Best-effort step skipped: {ev.what}"
    ),
    e.NotifyFiltered: Rendering(INFO, "Not notifying: status filtered by NOTIFY_ON"),
    e.ClaimTaken: Rendering(DEBUG, "Claim taken"),
    e.ClaimClosed: Rendering(DEBUG, "Claim closed"),
    e.NotificationSent: Rendering(INFO, "Notified", _one(Metric.NOTIFICATIONS_SENT)),
    e.NotificationAlreadyDone: Rendering(DEBUG, "Destination already handled", _one(Metric.NOTIFICATIONS_ALREADY_DONE)),
    e.NotificationFailedPermanently: Rendering(
        ERROR,
        "Notification failed permanently; not retrying",
        _one(Metric.NOTIFICATION_FAILURES, Metric.NOTIFICATIONS_FAILED_PERMANENTLY),
    ),
    e.NotificationDeferred: Rendering(
        lambda ev: WARNING if ev.failed else INFO,
        lambda ev: "Send failed; retried on redelivery" if ev.failed else "Notification deferred; sent on redelivery",
        lambda ev: ((Metric.NOTIFICATION_FAILURES if ev.failed else Metric.NOTIFICATIONS_DEFERRED, 1),),
    ),
    e.MessageRejected: Rendering(
        ERROR,
        "Rejected message; it fails alone and goes to the DLQ after maxReceiveCount",
        _one(Metric.INVALID_MESSAGES),
    ),
    # A delivery not finished (its record comes back after any lease) is coordination; anything else
    # failed and is retried: a look is due if it repeats. ERROR is kept for an alert that may be lost.
    e.WatchFailed: Rendering(
        lambda ev: INFO if ev.incomplete else WARNING,
        lambda ev: (
            "Delivery not finished; the message comes back"
            if ev.incomplete
            else "Watching failed; SQS will redeliver the message"
        ),
        exc_info=True,
    ),
    e.IntakeEnqueued: Rendering(INFO, "Enqueued", lambda ev: ((Metric.INTAKE_RUNS_ENQUEUED, ev.enqueued),)),
    e.IntakeIgnored: Rendering(INFO, "Dispatch not acted on"),
    e.IntakeRequestRefused: Rendering(
        WARNING,
        "Request refused; nothing enqueued",
        lambda ev: ((Metric.INTAKE_REFUSED, 1), (Metric.INTAKE_UNAUTHORIZED, 1 if ev.status == 401 else 0)),
    ),
    e.IntakeQueueRefused: Rendering(ERROR, "The run queue refused; answering 503 so the sender retries"),
    e.SweepDone: Rendering(
        lambda ev: INFO if ev.complete else WARNING,
        lambda ev: (
            "Sweep done" if ev.complete else "Sweep stopped early; the watermark stays at the last page read completely"
        ),
        lambda ev: ((Metric.SWEEP_RUNS_ENROLLED, ev.enrolled), (Metric.SWEEPS_INCOMPLETE, 0 if ev.complete else 1)),
    ),
    e.ScheduleMissed: Rendering(WARNING, "A schedule's slot passed without a run", _one(Metric.SCHEDULES_MISSED)),
    e.MissedScheduleAnnounced: Rendering(INFO, "Missed schedule announced"),
    e.SchedulesChecked: Rendering(
        lambda ev: WARNING if ev.reason else INFO,
        lambda ev: "Schedules checked" if not ev.reason else f"Schedules not checked in full: {ev.reason}",
    ),
    e.IncidentStepped: Rendering(
        lambda ev: INFO if ev.transition in ("opened", "resolved") else DEBUG,
        lambda ev: f"Incident {ev.transition}",
        lambda ev: (
            ((Metric.INCIDENTS_OPENED, 1),)
            if ev.transition == "opened"
            else ((Metric.INCIDENTS_RESOLVED, 1),)
            if ev.transition == "resolved"
            else ()
        ),
    ),
    e.IncidentAnnounced: Rendering(INFO, "Incident announced"),
}
