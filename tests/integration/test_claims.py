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
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.notification_claims import DynamoNotificationClaims
from run_notifier.adapters.run_ledger import DynamoRunLedger
from run_notifier.domain.ports import ClaimResult
from run_notifier.domain.run_summary import RunSummary

GENERATION = "2026-11-28T10:00:00.000Z"


@pytest.fixture
def table(aws_session, resources) -> RunsTable:
    return RunsTable(aws_session.client("dynamodb"), resources.table_name)


@pytest.fixture
def claims(table) -> DynamoNotificationClaims:
    return DynamoNotificationClaims(table)


def _record(table: RunsTable, run_id: str, finished_at: str = GENERATION) -> None:
    summary = RunSummary(run_id=run_id, status="SUCCEEDED", finished_at=finished_at)
    ledger = DynamoRunLedger(table, ttl_days=90)
    assert ledger.record(summary, now=datetime.now(UTC), attempts=1, first_seen_at=None, costs_settled=True).written


@pytest.fixture
def busy_interpreter() -> Iterator[None]:
    """Switch threads as often as possible, so that racing requests really interleave."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def _race_for_one_claim(racers: list[DynamoNotificationClaims], run_id: str) -> list[ClaimResult]:
    """Every racer claims the same destination of `run_id` at the same moment."""
    barrier = threading.Barrier(len(racers))
    results: list[ClaimResult] = []

    def claim(racer: DynamoNotificationClaims) -> None:
        barrier.wait(timeout=10)
        owner = uuid.uuid4().hex
        results.append(
            racer.claim(run_id, "eventbridge", GENERATION, owner=owner, now=datetime.now(UTC), lease_secs=120).result
        )

    threads = [threading.Thread(target=claim, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_claims_of_one_destination_have_exactly_one_winner(aws_session, resources, busy_interpreter) -> None:
    # Without atomic conditional writes (moto's backend before localdev/moto_atomic_writes.py)
    # about 1 trial in 8 here ended with two winners, i.e. two posts.
    racers = [
        DynamoNotificationClaims(RunsTable(aws_session.client("dynamodb"), resources.table_name)) for _ in range(8)
    ]
    trials = 25
    outcomes = []
    for trial in range(trials):
        run_id = f"RunRace{trial:09d}"
        _record(RunsTable(aws_session.client("dynamodb"), resources.table_name), run_id)
        outcomes.append(sorted(result.value for result in _race_for_one_claim(racers, run_id)))
    assert outcomes == [["busy"] * 7 + ["claimed"]] * trials


def test_claim_states_follow_the_lease_and_the_outcome(table: RunsTable, claims: DynamoNotificationClaims) -> None:
    run_id = "RunClaimStates01"
    _record(table, run_id)
    now = datetime.now(UTC)

    def claim(destination: str, owner: str, at: datetime = now) -> ClaimResult:
        return claims.claim(run_id, destination, GENERATION, owner=owner, now=at, lease_secs=30).result

    assert claim("slack", "a") is ClaimResult.CLAIMED
    assert claim("slack", "b") is ClaimResult.BUSY
    # a refused claim says, from the write itself, when the holder's lease ends
    busy = claims.claim(run_id, "slack", GENERATION, owner="b", now=now, lease_secs=30)
    assert busy.lease_until == now.replace(microsecond=now.microsecond // 1000 * 1000) + timedelta(seconds=30)
    # another destination of the same run is independent
    assert claim("webhook", "a") is ClaimResult.CLAIMED
    # a crashed holder's lease lapses and the next delivery takes over
    assert claim("slack", "b", now + timedelta(seconds=31)) is ClaimResult.CLAIMED
    claims.mark_sent(run_id, "slack", GENERATION, owner="b", now=now, detail="HTTP 200")
    assert claim("slack", "c", now + timedelta(hours=1)) is ClaimResult.DONE
    # a transient failure releases the claim at once; a permanent one closes it
    claims.release(run_id, "webhook", GENERATION, owner="a", now=now, error="HTTP 503")
    assert claim("webhook", "b") is ClaimResult.CLAIMED
    claims.mark_failed(run_id, "webhook", GENERATION, owner="b", now=now, error="HTTP 410")
    assert claim("webhook", "c") is ClaimResult.DONE
    item = table.get(run_id)
    assert item["slackNotification"]["state"] == "SENT"
    assert "slackNotifiedAt" in item
    assert item["webhookNotification"] == {**item["webhookNotification"], "state": "FAILED", "error": "HTTP 410"}


@pytest.mark.parametrize("late_outcome", ["release", "mark_sent", "mark_failed"])
def test_a_holder_whose_lease_was_taken_over_cannot_settle_the_new_claim(
    table: RunsTable, claims: DynamoNotificationClaims, late_outcome: str
) -> None:
    run_id = f"RunTakeover{late_outcome[-4:]}"
    _record(table, run_id)
    now = datetime.now(UTC)
    later = now + timedelta(seconds=5)
    assert claims.claim(run_id, "slack", GENERATION, owner="slow", now=now, lease_secs=1).result is ClaimResult.CLAIMED
    assert (
        claims.claim(run_id, "slack", GENERATION, owner="next", now=later, lease_secs=30).result is ClaimResult.CLAIMED
    )
    # the first holder wakes up late: releasing (or closing) would let a third delivery post while
    # "next" is still sending, so its settle must change nothing
    text = {"detail": "late"} if late_outcome == "mark_sent" else {"error": "late"}
    getattr(claims, late_outcome)(run_id, "slack", GENERATION, owner="slow", now=later, **text)
    claim = table.get(run_id)["slackNotification"]
    assert (claim["state"], claim["owner"]) == ("CLAIMED", "next")
    assert "slackNotifiedAt" not in table.get(run_id)
    third = claims.claim(run_id, "slack", GENERATION, owner="third", now=later, lease_secs=30)
    assert third.result is ClaimResult.BUSY
    claims.mark_sent(run_id, "slack", GENERATION, owner="next", now=later, detail="HTTP 200")
    assert table.get(run_id)["slackNotification"]["state"] == "SENT"


def test_a_claim_for_an_older_finish_is_stale_once_the_run_finished_again(
    table: RunsTable, claims: DynamoNotificationClaims
) -> None:
    run_id = "RunClaimStale001"
    _record(table, run_id)
    newer = "2026-11-28T11:00:00.000Z"
    _record(table, run_id, finished_at=newer)
    now = datetime.now(UTC)
    assert claims.claim(run_id, "slack", GENERATION, owner="a", now=now, lease_secs=30).result is ClaimResult.STALE
    assert claims.claim(run_id, "slack", newer, owner="a", now=now, lease_secs=30).result is ClaimResult.CLAIMED


def test_a_claim_write_retried_after_its_answer_was_lost_is_still_ours(table, claims) -> None:
    """The SDK retries a write whose answer was lost; the retry is refused by our own claim."""
    run_id = "RunClaimRetry001"
    _record(table, run_id)
    now = datetime.now(UTC)
    first = claims.claim(run_id, "slack", GENERATION, owner="me", now=now, lease_secs=30)
    retried = claims.claim(run_id, "slack", GENERATION, owner="me", now=now, lease_secs=30)
    assert (first.result, retried.result) == (ClaimResult.CLAIMED, ClaimResult.CLAIMED)
    assert claims.claim(run_id, "slack", GENERATION, owner="other", now=now, lease_secs=30).result is ClaimResult.BUSY
