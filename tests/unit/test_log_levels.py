"""Log levels mean something: coordination is DEBUG/INFO (and a metric), WARNING asks an operator to look,
ERROR says an alert may not be delivered. Checked on the one table that renders every event."""

from __future__ import annotations

import logging

import pytest
from run_notifier.domain import events as e
from run_notifier.observability_table import RENDERINGS, Metric


def _level(event: object) -> int | None:
    level = RENDERINGS[type(event)].level
    return level(event) if callable(level) else level


def _metrics(event: object) -> dict[Metric, float]:
    return {name: value for name, value in RENDERINGS[type(event)].metrics(event) if value}


@pytest.mark.parametrize(
    ("event", "level", "metric"),
    [
        (e.NotificationAlreadyDone("R", "slack", "done"), logging.DEBUG, Metric.NOTIFICATIONS_ALREADY_DONE),
        (e.NotificationDeferred("R", "slack", "another delivery holds the claim"), logging.INFO, None),
        (e.WaitingForClaims("R", 31, "slack not delivered yet"), logging.INFO, Metric.RUNS_WAITING_FOR_CLAIMS),
        (e.WatchFailed("R", "NotificationsIncomplete: slack not delivered yet", 30.0, True), logging.INFO, None),
        (e.CourtesySkipped("R", "still-running alert, for now", "held", expected=True), logging.INFO, None),
        (e.NotificationDeferred("R", "slack", "HTTP 503 x6", failed=True), logging.WARNING, None),
        (e.WatchFailed("R", "ClientError: DynamoDB unavailable", 0.0), logging.WARNING, None),
        (e.NotificationFailedPermanently("R", "slack", "HTTP 404"), logging.ERROR, None),
    ],
)
def test_each_event_is_logged_at_the_level_its_meaning_asks(event, level, metric):
    assert _level(event) == level
    if metric is not None:
        assert metric in _metrics(event)


def test_coordination_is_counted_apart_from_failures():
    deferred = _metrics(e.NotificationDeferred("R", "slack", "quiet hours until 07:00Z"))
    failed = _metrics(e.NotificationDeferred("R", "slack", "HTTP 503", failed=True))
    assert deferred == {Metric.NOTIFICATIONS_DEFERRED: 1}
    assert failed == {Metric.NOTIFICATION_FAILURES: 1}


def test_nothing_a_healthy_delivery_does_is_logged_at_warning_or_above():
    healthy = [
        e.ClaimTaken("R", "slack"),
        e.ClaimClosed("R", "slack", "sent"),
        e.NotificationSent("R", "slack", "HTTP 200"),
        e.NotificationAlreadyDone("R", "slack", "done"),
        e.NotificationDeferred("R", "slack", "waited for this container's other delivery"),
        e.WaitingForClaims("R", 6, "slack not delivered yet"),
        e.WatchFailed("R", "NotificationsIncomplete: slack-update not delivered yet", 10.0, True),
        e.RunRequeued("R", 15, 1, "running", "adhoc"),
    ]
    assert [type(ev).__name__ for ev in healthy if (_level(ev) or 0) >= logging.WARNING] == []
