"""The watcher's decisions, with in-memory ports: terminal, settle, re-enqueue, expiry, not found, stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from run_notifier.config import load_settings
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import RunRecorded, WaitingForClaims
from run_notifier.domain.policy import MAX_SECS_PER_ATTEMPT
from run_notifier.domain.ports import ApifyUnavailable, NotificationsIncomplete
from run_notifier.domain.watch_request import WatchRequest
from run_notifier.domain.watcher import Action, FinishComponents, RunWatcher

from tests.unit.fakes import (
    Clock,
    FakeActorNames,
    FakeApify,
    FakeClaims,
    FakeDestination,
    FakeEvents,
    FakeLedger,
    FakePushArming,
    FakeRequeue,
    announcer,
    not_found,
)

RUN = "RunWatch00000001"
ENV = {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "q", "MAX_WATCH_SECONDS": "7200"}


class World:
    def __init__(self, *answers, push: FakePushArming | None = None, usual=None, **env: str) -> None:
        settings = load_settings({**ENV, **env})
        self.clock = Clock()
        self.apify = FakeApify(*answers)
        self.ledger = FakeLedger()
        self.requeue = FakeRequeue()
        self.slack = FakeDestination("slack")
        self.events = FakeEvents()
        self.claims = FakeClaims()
        delivery = announcer(self.claims, self.events, self.clock, self.slack)
        finishing = FinishComponents(self.ledger, delivery, FakeActorNames(), settings.notify_on)
        self.finishing, self.schedule = finishing, settings.schedule
        self.watcher = RunWatcher(
            self.apify,
            self.requeue,
            lambda: finishing,
            settings.schedule,
            settings.max_watch_seconds,
            self.events,
            self.clock,
            watch_ledger=self.ledger,
            push=push,
            usual_durations=usual,
        )
        self.push = push

    def watch(self, request: WatchRequest):
        return self.watcher.watch(request, self.deadline())

    def deadline(self) -> Deadline:
        return Deadline.after(90)

    def run(self, status: str, finished_ago: float | None = None, **extra):
        run = {"id": RUN, "actId": "Act0000000000001", "status": status, **extra}
        if finished_ago is not None:
            run["finishedAt"] = (self.clock() - timedelta(seconds=finished_ago)).isoformat().replace("+00:00", "Z")
        return run


def test_a_running_run_is_requeued_with_the_schedules_delay_and_long_polled_first():
    world = World()
    world.apify.answers = [world.run("RUNNING")]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.REQUEUED, 5)
    assert world.apify.calls == [(RUN, 60)]
    [(request, delay)] = world.requeue.sent
    assert (request.attempt, request.first_seen_at, delay) == (1, world.clock(), 5)


def test_a_run_that_just_ended_is_reread_after_its_costs_settle():
    world = World()
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=2)]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.SETTLING, 8)
    [(request, _)] = world.requeue.sent
    assert request.settle
    assert world.slack.sent == []


def test_a_settled_terminal_run_is_recorded_and_notified():
    world = World()
    world.apify.answers = [world.run("FAILED", finished_ago=30, exitCode=1)]
    outcome = world.watch(WatchRequest(RUN, attempt=3, first_seen_at=world.clock() - timedelta(seconds=100)))
    assert (outcome.action, outcome.status) == (Action.FINISHED, "FAILED")
    assert world.ledger.items[RUN]["costs_settled"]
    assert world.slack.sent == [RUN]
    assert [e.status for e in world.events.of(RunRecorded)] == ["FAILED"]


def test_an_older_finish_arriving_late_is_stale_and_notifies_nothing():
    world = World()
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=30)]
    world.watch(WatchRequest(RUN, settle=True))
    world.apify.answers = [world.run("FAILED", finished_ago=600)]
    assert world.watch(WatchRequest(RUN, settle=True)).action is Action.STALE
    assert world.slack.sent == [RUN]


def test_a_run_watched_past_the_limit_ends_with_a_notified_watch_expired():
    world = World()
    world.apify.answers = [world.run("RUNNING")]
    first_seen = world.clock() - timedelta(seconds=7201)
    outcome = world.watch(WatchRequest(RUN, attempt=40, first_seen_at=first_seen))
    assert (outcome.action, outcome.status) == (Action.FINISHED, "WATCH_EXPIRED")
    assert "run is RUNNING after 7201 s" in world.ledger.items[RUN]["status_message"]
    assert world.requeue.sent == []
    assert world.slack.sent == [RUN]


def test_apify_unavailable_requeues_and_never_loses_the_run():
    world = World(ApifyUnavailable("Apify unavailable for run: HTTP 503"))
    assert world.watch(WatchRequest(RUN, attempt=2)).action is Action.REQUEUED
    assert world.requeue.sent[0][0].attempt == 3


def test_an_unknown_run_is_recorded_not_found_on_its_first_look():
    world = World(not_found())
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.status) == (Action.FINISHED, "NOT_FOUND")
    assert world.slack.sent == []  # NOT_FOUND does not notify by default


def test_a_run_seen_before_that_is_now_404_keeps_being_watched():
    """An Apify-side 404 incident must not make runs vanish as NOT_FOUND (issue 14, item 9)."""
    world = World(not_found())
    outcome = world.watch(WatchRequest(RUN, attempt=4, first_seen_at=world.clock() - timedelta(seconds=300)))
    assert outcome.action is Action.REQUEUED
    assert RUN not in world.ledger.items


@pytest.mark.parametrize(
    ("attempt", "claimed_offset", "expected_offset"),
    [
        (0, -10 * 86400, 0),  # a fresh message cannot claim it has been watched for ten days
        (0, +30 * 86400, 0),  # nor that it was first seen in the future
        (2, -10 * 86400, -2 * MAX_SECS_PER_ATTEMPT),
        (2, -100, -100),  # an honest value is kept
    ],
)
def test_first_seen_at_from_the_body_is_bounded_by_its_attempts(attempt, claimed_offset, expected_offset):
    world = World()
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN, attempt=attempt, first_seen_at=world.clock() + timedelta(seconds=claimed_offset)))
    [(request, _)] = world.requeue.sent
    assert request.first_seen_at == world.clock() + timedelta(seconds=expected_offset)


def _world_with_a_held_claim(world: World, generation: str) -> None:
    """Another delivery holds Slack's claim for 70 s more."""
    world.claims.claim(RUN, "slack", generation, owner="other", now=world.clock(), lease_secs=70)


def test_a_held_claim_sends_the_run_round_again_as_a_fresh_message_after_the_lease():
    """Waiting by failing the record would use up its receives: a crashed holder could send it to the DLQ."""
    world = World()
    run = world.run("SUCCEEDED", finished_ago=30)
    world.apify.answers = [run]
    _world_with_a_held_claim(world, run["finishedAt"])
    outcome = world.watch(WatchRequest(RUN, attempt=2, settle=True))
    assert outcome.action is Action.REQUEUED
    [(request, delay)] = world.requeue.sent
    assert (request.attempt, request.settle) == (3, True)
    assert delay >= 70
    assert world.slack.sent == []
    assert len(world.events.of(WaitingForClaims)) == 1


def test_a_held_claim_fails_the_record_with_the_lease_when_the_queue_refuses_the_new_message():
    world = World()
    run = world.run("SUCCEEDED", finished_ago=30)
    world.apify.answers = [run]
    _world_with_a_held_claim(world, run["finishedAt"])

    def refuse(request, delay):
        raise RuntimeError("SQS unavailable")

    world.requeue.send = refuse
    with pytest.raises(NotificationsIncomplete) as incomplete:
        world.watch(WatchRequest(RUN, settle=True))
    assert incomplete.value.retry_after_secs == pytest.approx(70)
