"""How long a failing destination (or Apify) may fail before a run's message reaches the DLQ."""

from __future__ import annotations

from datetime import timedelta

import pytest
from run_notifier.domain.ports import NotificationsIncomplete
from run_notifier.domain.watch_request import WatchRequest
from run_notifier.domain.watcher import Action

from localdev.aws import load_template
from tests.unit.test_watcher import RUN, World

PARAMETERS = load_template()["Parameters"]
MAX_RECEIVE_COUNT = int(PARAMETERS["MaxReceiveCount"]["Default"])


def test_with_the_templates_defaults_the_last_try_comes_at_least_24_hours_after_the_first():
    schedule = World().watcher._schedule
    delays = [schedule.redeliver_after(n, retryable=True) for n in range(1, MAX_RECEIVE_COUNT + 1)]
    last_try = sum(delays[:-1])  # the last receive's failure then waits once more, and SQS moves it to the DLQ
    assert last_try >= 24 * 3600, f"{last_try / 3600:.1f} h"
    assert sum(delays) <= 48 * 3600  # still bounded: a run that can never be announced reaches the DLQ and its alarm


def test_a_malformed_message_still_reaches_the_dlq_in_seconds():
    schedule = World().watcher._schedule
    assert sum(schedule.redeliver_after(n, retryable=False) for n in range(1, MAX_RECEIVE_COUNT + 1)) == 0


@pytest.mark.parametrize("down_hours", [3, 24])
def test_a_destination_down_for_hours_delivers_once_it_is_back(down_hours):
    """Slack answers 503 for ``down_hours`` of (simulated) time; SQS redelivers on the schedule."""
    world = World()
    schedule = world.watcher._schedule
    back_at = world.clock() + timedelta(hours=down_hours)
    world.slack.outcomes = ["transient"] * 1000
    run = world.run("FAILED", finished_ago=60)
    receive = 0
    while True:
        receive += 1
        assert receive <= MAX_RECEIVE_COUNT, f"the message would be in the DLQ after {receive - 1} receives"
        if world.clock() >= back_at:
            world.slack.outcomes = []
        world.apify.answers = [run]
        try:
            outcome = world.watch(WatchRequest(RUN))
        except NotificationsIncomplete:
            world.clock.advance(schedule.redeliver_after(receive, retryable=True))
            continue
        break
    assert outcome.action is Action.FINISHED
    assert world.slack.sent == [RUN]
