"""The one delivery path's claim → send → close, with in-memory ports (no moto, no HTTP)."""

from __future__ import annotations

import threading

import pytest
from run_notifier.domain.announcements import RunEndAnnouncement
from run_notifier.domain.claims import ExactlyOnce
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import NotifyFiltered
from run_notifier.domain.notifier import Notifier, NotifyReport
from run_notifier.domain.ports import NotificationsIncomplete, NotificationState
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.watch_request import WatchRequest

from tests.unit.fakes import Clock, FakeClaims, FakeDestination, FakeEvents
from tests.unit.test_watcher import RUN, World

SUMMARY = RunSummary(run_id="RunNotify0000001", status="FAILED", finished_at="2026-11-28T10:00:00.000Z")
DEFAULT_LEASE_MARGIN_SECS = 60.0


class _Delivery:
    """A run's end through the real notifier and claims, to the given destinations."""

    def __init__(self, claims: FakeClaims, destinations: list[FakeDestination], clock: Clock) -> None:
        exactly_once = ExactlyOnce(claims, FakeEvents(), clock, lease_margin_secs=DEFAULT_LEASE_MARGIN_SECS)
        self._notifier = Notifier(exactly_once, clock)
        self._destinations = destinations

    def notify(self, summary: RunSummary, deadline: Deadline) -> NotifyReport:
        return self._notifier.deliver(RunEndAnnouncement(summary), list(self._destinations), deadline)


def _notifier(claims: FakeClaims, *destinations: FakeDestination, clock=None) -> _Delivery:
    return _Delivery(claims, list(destinations), clock or Clock())


def test_each_destination_is_claimed_sent_and_marked_once():
    claims, slack, hook = FakeClaims(), FakeDestination("slack"), FakeDestination("webhook")
    notifier = _notifier(claims, slack, hook)
    report = notifier.notify(SUMMARY, Deadline.after(10))
    assert report.sent == ["slack", "webhook"]
    again = notifier.notify(SUMMARY, Deadline.after(10))
    assert again.already == ["slack", "webhook"]
    assert slack.sent == hook.sent == [SUMMARY.run_id]
    assert claims.state_of(SUMMARY.run_id, "slack") is NotificationState.SENT


def test_a_status_outside_notify_on_sends_nothing():
    world = World(NOTIFY_ON="SUCCEEDED")
    world.apify.answers = [world.run("FAILED", finished_ago=30)]
    world.watch(WatchRequest(RUN, settle=True))
    assert world.slack.sent == []
    assert [e.status for e in world.events.of(NotifyFiltered)] == ["FAILED"]


def test_a_permanent_failure_is_recorded_and_not_retried():
    claims, hook = FakeClaims(), FakeDestination("webhook", "permanent")
    report = _notifier(claims, hook).notify(SUMMARY, Deadline.after(10))
    assert report.failed_permanently == ["webhook"]
    assert claims.state_of(SUMMARY.run_id, "webhook") is NotificationState.FAILED
    assert _notifier(claims, hook).notify(SUMMARY, Deadline.after(10)).already == ["webhook"]


@pytest.mark.parametrize("failure", ["transient", "bug"])
def test_a_transient_failure_releases_the_claim_and_only_that_destination_is_retried(failure):
    claims, slack, hook = FakeClaims(), FakeDestination("slack", failure), FakeDestination("webhook")
    with pytest.raises(NotificationsIncomplete) as incomplete:
        _notifier(claims, slack, hook).notify(SUMMARY, Deadline.after(10))
    assert incomplete.value.retry_after_secs == 0  # released: the redelivery may come at once
    assert claims.state_of(SUMMARY.run_id, "slack") is NotificationState.RETRYING
    report = _notifier(claims, slack, hook).notify(SUMMARY, Deadline.after(10))
    assert (report.sent, report.already) == (["slack"], ["webhook"])
    assert hook.sent == [SUMMARY.run_id]


def test_a_release_that_fails_keeps_the_record_failing_until_the_lease_ends():
    """The lost alert of issue 14: the redelivery found the claim BUSY, called it done, deleted the message."""
    clock, claims = Clock(), FakeClaims()
    claims.fail["release"] = ConnectionError("DynamoDB unavailable")
    slack = FakeDestination("slack", "transient")
    with pytest.raises(NotificationsIncomplete) as first:
        _notifier(claims, slack, clock=clock).notify(SUMMARY, Deadline.after(10))
    assert first.value.retry_after_secs >= DEFAULT_LEASE_MARGIN_SECS  # not before the claim we hold lapses
    assert claims.state_of(SUMMARY.run_id, "slack") is NotificationState.CLAIMED
    del claims.fail["release"]
    clock.advance(30)  # a redelivery after the usual 30 s backoff would still find the claim held...
    with pytest.raises(NotificationsIncomplete) as second:
        _notifier(claims, slack, clock=clock).notify(SUMMARY, Deadline.after(10))
    assert second.value.retry_after_secs > 0  # ...so it fails again, never "already handled"
    clock.advance(second.value.retry_after_secs + 1)
    assert _notifier(claims, slack, clock=clock).notify(SUMMARY, Deadline.after(10)).sent == ["slack"]
    assert slack.sent == [SUMMARY.run_id]


def test_a_claim_held_by_another_container_fails_the_record_until_its_lease_ends():
    clock, claims = Clock(), FakeClaims()
    claims.claim(SUMMARY.run_id, "slack", SUMMARY.generation, owner="other", now=clock(), lease_secs=70)
    with pytest.raises(NotificationsIncomplete) as busy:
        _notifier(claims, FakeDestination("slack"), clock=clock).notify(SUMMARY, Deadline.after(10))
    assert busy.value.retry_after_secs == pytest.approx(70)


@pytest.mark.parametrize("method", ["claim", "mark_sent", "mark_failed"])
def test_a_ledger_error_at_any_step_fails_the_record_with_a_redelivery_after_the_lease(method):
    claims = FakeClaims()
    claims.fail[method] = ConnectionError("DynamoDB unavailable")
    outcome = "permanent" if method == "mark_failed" else "ok"
    with pytest.raises(NotificationsIncomplete) as incomplete:
        _notifier(claims, FakeDestination("slack", outcome)).notify(SUMMARY, Deadline.after(10))
    assert incomplete.value.retry_after_secs >= DEFAULT_LEASE_MARGIN_SECS


def test_duplicates_in_one_container_wait_for_the_holder_instead_of_failing():
    claims, entered, release = FakeClaims(), threading.Event(), threading.Event()

    def slow_send() -> None:
        entered.set()
        assert release.wait(5)

    slack = FakeDestination("slack", on_send=slow_send)
    notifier = _notifier(claims, slack)
    reports = []
    first = threading.Thread(target=lambda: reports.append(notifier.notify(SUMMARY, Deadline.after(10))))
    first.start()
    assert entered.wait(5)
    second = threading.Thread(target=lambda: reports.append(notifier.notify(SUMMARY, Deadline.after(10))))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert sorted((r.sent, r.already) for r in reports) == [([], ["slack"]), (["slack"], [])]
    assert slack.sent == [SUMMARY.run_id]


def test_no_send_starts_with_less_than_the_minimum_time_and_none_is_lost():
    from run_notifier.domain.notifier import MIN_SEND_SECS

    monotonic = [0.0]

    def slow_send() -> None:
        monotonic[0] += 3.0  # the first post takes 3 s of the 6 s left

    claims, slack, hook = FakeClaims(), FakeDestination("slack", on_send=slow_send), FakeDestination("webhook")
    with pytest.raises(NotificationsIncomplete) as incomplete:
        _notifier(claims, slack, hook).notify(SUMMARY, Deadline.after(MIN_SEND_SECS + 1, lambda: monotonic[0]))
    # the first took the minimum, the second had too little left and waits for the redelivery
    assert (slack.sent, hook.sent) == ([SUMMARY.run_id], [])
    assert incomplete.value.retry_after_secs == 0
    assert claims.state_of(SUMMARY.run_id, "webhook") is None  # never claimed: nothing to wait for
    report = _notifier(claims, slack, hook).notify(SUMMARY, Deadline.after(30))
    assert (report.sent, report.already) == (["webhook"], ["slack"])
