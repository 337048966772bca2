"""The per-destination claim on the run item, against moto's server over HTTP.

Exactly-once notification rests on these conditional writes; the batch-level tests only
reach the races by chance, so the claim's states and its atomicity are tested here directly.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from run_notifier.run_store import ClaimResult, NotificationState, RunStore
from run_notifier.run_summary import RunSummary

GENERATION = "2026-11-28T10:00:00.000Z"


@pytest.fixture
def store(aws_session, resources) -> RunStore:
    return RunStore(aws_session.client("dynamodb"), resources.table_name)


def _record(store: RunStore, run_id: str, finished_at: str = GENERATION) -> None:
    summary = RunSummary(run_id=run_id, status="SUCCEEDED", finished_at=finished_at)
    assert store.record(summary, now=datetime.now(UTC), attempts=1, first_seen_at=None, costs_settled=True).written


@pytest.fixture
def busy_interpreter() -> Iterator[None]:
    """Switch threads as often as possible, so that racing requests really interleave."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def _race_for_one_claim(racers: list[RunStore], run_id: str) -> list[ClaimResult]:
    """Every racer claims the same destination of `run_id` at the same moment."""
    barrier = threading.Barrier(len(racers))
    results: list[ClaimResult] = []

    def claim(racer: RunStore) -> None:
        barrier.wait(timeout=10)
        owner = uuid.uuid4().hex
        results.append(
            racer.claim(run_id, "eventbridge", GENERATION, owner=owner, now=datetime.now(UTC), lease_secs=120)
        )

    threads = [threading.Thread(target=claim, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_claims_of_one_destination_have_exactly_one_winner(aws_session, resources, busy_interpreter) -> None:
    # Without atomic conditional writes (moto's backend before localdev.aws made them so)
    # about 1 trial in 8 here ended with two winners, i.e. two posts.
    racers = [RunStore(aws_session.client("dynamodb"), resources.table_name) for _ in range(8)]
    trials = 25
    outcomes = []
    for trial in range(trials):
        run_id = f"RunRace{trial:09d}"
        _record(racers[0], run_id)
        outcomes.append(sorted(result.value for result in _race_for_one_claim(racers, run_id)))
    assert outcomes == [["busy"] * 7 + ["claimed"]] * trials


def test_claim_states_follow_the_lease_and_the_outcome(store: RunStore) -> None:
    run_id = "RunClaimStates01"
    _record(store, run_id)
    now = datetime.now(UTC)

    def claim(destination: str, owner: str, at: datetime = now) -> ClaimResult:
        return store.claim(run_id, destination, GENERATION, owner=owner, now=at, lease_secs=30)

    def settle(destination: str, owner: str, state: NotificationState, detail: str) -> None:
        store.settle_notification(run_id, destination, GENERATION, state, owner=owner, now=now, detail=detail)

    assert claim("slack", "a") is ClaimResult.CLAIMED
    assert claim("slack", "b") is ClaimResult.BUSY
    # another destination of the same run is independent
    assert claim("webhook", "a") is ClaimResult.CLAIMED
    # a crashed holder's lease lapses and the next delivery takes over
    assert claim("slack", "b", now + timedelta(seconds=31)) is ClaimResult.CLAIMED
    settle("slack", "b", NotificationState.SENT, "HTTP 200")
    assert claim("slack", "c", now + timedelta(hours=1)) is ClaimResult.DONE
    # a transient failure releases the claim at once; a permanent one closes it
    settle("webhook", "a", NotificationState.RETRYING, "HTTP 503")
    assert claim("webhook", "b") is ClaimResult.CLAIMED
    settle("webhook", "b", NotificationState.FAILED, "HTTP 410")
    assert claim("webhook", "c") is ClaimResult.DONE
    item = store.get(run_id)
    assert item["slackNotification"]["state"] == "SENT"
    assert "slackNotifiedAt" in item
    assert item["webhookNotification"] == {**item["webhookNotification"], "state": "FAILED", "error": "HTTP 410"}


@pytest.mark.parametrize("late_outcome", [NotificationState.RETRYING, NotificationState.SENT])
def test_a_holder_whose_lease_was_taken_over_cannot_settle_the_new_claim(
    store: RunStore, late_outcome: NotificationState
) -> None:
    run_id = f"RunTakeover{late_outcome.value[:5]}"
    _record(store, run_id)
    now = datetime.now(UTC)
    later = now + timedelta(seconds=5)
    assert store.claim(run_id, "slack", GENERATION, owner="slow", now=now, lease_secs=1) is ClaimResult.CLAIMED
    assert store.claim(run_id, "slack", GENERATION, owner="next", now=later, lease_secs=30) is ClaimResult.CLAIMED
    # the first holder wakes up late: releasing (or closing) would let a third delivery post while
    # "next" is still sending, so its settle must change nothing
    store.settle_notification(run_id, "slack", GENERATION, late_outcome, owner="slow", now=later, detail="late")
    claim = store.get(run_id)["slackNotification"]
    assert (claim["state"], claim["owner"]) == ("CLAIMED", "next")
    assert "slackNotifiedAt" not in store.get(run_id)
    assert store.claim(run_id, "slack", GENERATION, owner="third", now=later, lease_secs=30) is ClaimResult.BUSY
    store.settle_notification(run_id, "slack", GENERATION, NotificationState.SENT, owner="next", now=later)
    assert store.get(run_id)["slackNotification"]["state"] == "SENT"


def test_a_claim_for_an_older_finish_is_stale_once_the_run_finished_again(store: RunStore) -> None:
    run_id = "RunClaimStale001"
    _record(store, run_id)
    newer = "2026-11-28T11:00:00.000Z"
    _record(store, run_id, finished_at=newer)
    now = datetime.now(UTC)
    assert store.claim(run_id, "slack", GENERATION, owner="a", now=now, lease_secs=30) is ClaimResult.STALE
    assert store.claim(run_id, "slack", newer, owner="a", now=now, lease_secs=30) is ClaimResult.CLAIMED
