from __future__ import annotations

from run_notifier.config import load_settings

BASE = {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}


def _schedule(**env: str):
    return load_settings({**BASE, **env}).schedule


def test_first_attempt_long_polls_up_to_60s_within_the_budget():
    schedule = _schedule()
    assert schedule.wait_for_finish(0, seconds_left=90) == 60
    assert schedule.wait_for_finish(0, seconds_left=20) == 8  # 20 - 12 s margin
    assert schedule.wait_for_finish(0, seconds_left=5) == 0
    assert schedule.wait_for_finish(5, seconds_left=90) == 0  # later attempts: plain reads


def test_requeue_delays_grow_to_the_cap_and_are_never_zero():
    schedule = _schedule(REQUEUE_DELAY_SCHEDULE="0,10,100,900", MAX_REQUEUE_DELAY_SECONDS="900")
    assert [schedule.requeue_delay(a) for a in range(6)] == [1, 10, 100, 900, 900, 900]
    assert _schedule().requeue_delay(50) == 65
    assert _schedule(MAX_REQUEUE_DELAY_SECONDS="30").requeue_delay(50) == 30


def test_settle_delay_counts_from_the_finish():
    schedule = _schedule(SETTLE_SECONDS="10")
    assert schedule.settle_delay(0.2) == 10
    assert schedule.settle_delay(7.5) == 3
    assert schedule.settle_delay(30) == 0
    assert _schedule(SETTLE_SECONDS="0").settle_delay(0) == 0


def test_a_malformed_record_comes_back_at_once_whatever_the_schedule():
    assert _schedule().redeliver_after(3, retryable=False) == 0
    assert _schedule().redeliver_after(3, retryable=False, not_before_secs=12.5) == 13
