"""The watch policy is a pure function: every decision from a message, an observation and a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_notifier.config import load_settings
from run_notifier.domain import policy
from run_notifier.domain.push import PushMode
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.statuses import NOT_FOUND, WATCH_EXPIRED
from run_notifier.domain.watch_request import WatchRequest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SETTINGS = load_settings({"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "q", "MAX_WATCH_SECONDS": "7200"})
FACTS = policy.WatchFacts(SETTINGS.schedule, SETTINGS.max_watch_seconds)
RUN = "RunPolicy0000001"


def _ended(status: str = "SUCCEEDED", secs_ago: float = 0.0) -> policy.RunSeen:
    finished = (NOW - timedelta(seconds=secs_ago)).isoformat().replace("+00:00", "Z")
    return policy.RunSeen(RunSummary(RUN, status, finished_at=finished))


def test_a_run_still_going_is_requeued_on_the_poll_schedule():
    decision = policy.decide(WatchRequest(RUN), policy.RunSeen(RunSummary(RUN, "RUNNING")), FACTS, NOW)
    assert isinstance(decision, policy.Requeue)
    assert decision.delay_secs == SETTINGS.schedule.requeue_delay(0)
    assert decision.request.attempt == 1
    assert decision.request.first_seen_at == NOW
    assert not decision.trouble


def test_with_push_armed_the_requeue_is_the_safety_net():
    request = WatchRequest(RUN, attempt=1, first_seen_at=NOW, push=PushMode.ADHOC)
    decision = policy.decide(request, policy.RunSeen(RunSummary(RUN, "RUNNING")), FACTS, NOW)
    assert isinstance(decision, policy.Requeue)
    assert decision.delay_secs == SETTINGS.schedule.safety_net_delay(1)
    assert decision.request.push is PushMode.ADHOC


def test_a_run_that_just_ended_settles_first_then_finishes_with_settled_costs():
    settle = policy.decide(WatchRequest(RUN), _ended(secs_ago=2), FACTS, NOW)
    assert isinstance(settle, policy.Settle)
    assert settle.delay_secs == SETTINGS.settle_seconds - 2
    assert settle.request.settle
    assert settle.heard_by == "first-read"
    final = policy.decide(settle.request, _ended(secs_ago=10), FACTS, NOW)
    assert isinstance(final, policy.Finish)
    assert final.costs_settled
    assert not final.first_sight


def test_a_run_that_ended_long_ago_finishes_at_once():
    decision = policy.decide(WatchRequest(RUN, event="ACTOR.RUN.FAILED"), _ended("FAILED", 600), FACTS, NOW)
    assert isinstance(decision, policy.Finish)
    assert (decision.why, decision.heard_by, decision.costs_settled) == ("ended", "push", True)


def test_not_found_at_first_sight_is_recorded_but_a_vanished_run_is_watched_on():
    first = policy.decide(WatchRequest(RUN), policy.RunMissing("gone"), FACTS, NOW)
    assert isinstance(first, policy.Finish)
    assert (first.run.status, first.why) == (NOT_FOUND, "not-found")
    later = policy.decide(WatchRequest(RUN, attempt=3, first_seen_at=NOW), policy.RunMissing("gone"), FACTS, NOW)
    assert isinstance(later, policy.Requeue)
    assert later.trouble


def test_apify_down_requeues_until_the_watch_expires():
    request = WatchRequest(RUN, attempt=5, first_seen_at=NOW - timedelta(hours=3))
    expired = policy.decide(request, policy.ApifyDown("HTTP 503"), FACTS, NOW)
    assert isinstance(expired, policy.Finish)
    assert expired.run.status == WATCH_EXPIRED
    assert "HTTP 503 after" in (expired.run.status_message or "")


def test_how_a_run_is_looked_at():
    schedule = SETTINGS.schedule
    assert policy.wait_secs(WatchRequest(RUN), schedule, push_available=False, seconds_left=900) == 60
    assert policy.wait_secs(WatchRequest(RUN), schedule, push_available=True, seconds_left=900) == 0
    assert policy.wait_secs(WatchRequest(RUN, settle=True), schedule, push_available=False, seconds_left=900) == 0
    running = RunSummary(RUN, "RUNNING")
    assert policy.should_arm(WatchRequest(RUN), running, push_available=True)
    assert not policy.should_arm(WatchRequest(RUN, push=PushMode.OFF), running, push_available=True)
    assert not policy.should_arm(WatchRequest(RUN), RunSummary(RUN, "FAILED"), push_available=True)
    assert policy.is_safety_net(WatchRequest(RUN, attempt=2, push=PushMode.ACTOR))
    assert not policy.is_safety_net(WatchRequest(RUN, attempt=2, push=PushMode.ACTOR, settle=True))


STATUSES = st.sampled_from(
    ["READY", "RUNNING", "TIMING-OUT", "ABORTING", "SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"]
)


@given(
    attempt=st.integers(0, 10_000),
    claimed_secs_ago=st.floats(-1e6, 1e7, allow_nan=False),
    status=STATUSES,
    ended_secs_ago=st.floats(0, 1e6, allow_nan=False),
    settle=st.booleans(),
    push=st.sampled_from([None, *PushMode]),
    missing=st.sampled_from([None, "missing", "down"]),
)
def test_every_decision_is_bounded(attempt, claimed_secs_ago, status, ended_secs_ago, settle, push, missing):
    """Whatever the message claims: delays within SQS's bounds, attempts that grow, and a watch
    that never outlives max_watch_secs by more than one attempt's reach."""
    request = WatchRequest(RUN, attempt, NOW - timedelta(seconds=claimed_secs_ago), settle=settle, push=push)
    observation = (
        policy.RunMissing("x")
        if missing == "missing"
        else policy.ApifyDown("x")
        if missing == "down"
        else policy.RunSeen(RunSummary(RUN, status, finished_at=(NOW - timedelta(seconds=ended_secs_ago)).isoformat()))
    )
    decision = policy.decide(request, observation, FACTS, NOW)
    if isinstance(decision, policy.Requeue | policy.Settle):
        assert 1 <= decision.delay_secs <= 900
        assert decision.request.attempt == attempt + 1
        first = decision.request.first_seen_at
        assert first is not None
        assert NOW - first <= timedelta(seconds=attempt * policy.MAX_SECS_PER_ATTEMPT)
        if isinstance(decision, policy.Requeue):  # a run still going is given up on at max_watch_secs
            assert NOW - first < timedelta(seconds=FACTS.max_watch_secs)
    else:
        assert decision.run.run_id == RUN


@pytest.mark.parametrize(
    ("event", "attempt", "push", "heard"),
    [
        ("ACTOR.RUN.SUCCEEDED", 0, None, "push"),
        (None, 0, None, "first-read"),
        (None, 4, PushMode.ADHOC, "safety-net"),
        (None, 4, None, "poll"),
    ],
)
def test_how_the_end_was_heard_of(event, attempt, push, heard):
    assert policy.heard_by(WatchRequest(RUN, attempt, push=push, event=event)) == heard
