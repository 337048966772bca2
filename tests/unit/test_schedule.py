from __future__ import annotations

import pytest
from run_notifier.schedule import Schedule, parse_int_list


def test_first_attempt_long_polls_up_to_60s_within_the_budget():
    schedule = Schedule()
    assert schedule.wait_for_finish(0, seconds_left=90) == 60
    assert schedule.wait_for_finish(0, seconds_left=20) == 8  # 20 - 12 s margin
    assert schedule.wait_for_finish(0, seconds_left=5) == 0
    assert schedule.wait_for_finish(5, seconds_left=90) == 0  # later attempts: plain reads


def test_requeue_delays_grow_to_the_cap_and_are_never_zero():
    schedule = Schedule(requeue_delays_secs=(0, 10, 100, 2000), max_requeue_delay_secs=900)
    assert [schedule.requeue_delay(a) for a in range(6)] == [1, 10, 100, 900, 900, 900]
    assert Schedule().requeue_delay(50) == 65


def test_settle_delay_counts_from_the_finish():
    schedule = Schedule(settle_secs=10)
    assert schedule.settle_delay(0.2) == 10
    assert schedule.settle_delay(7.5) == 3
    assert schedule.settle_delay(30) == 0
    assert Schedule(settle_secs=0).settle_delay(0) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"long_poll_secs": (61,)},
        {"requeue_delays_secs": ()},
        {"max_requeue_delay_secs": 901},
        {"settle_secs": -1},
        {"requeue_delays_secs": (-5,)},
    ],
)
def test_invalid_schedules_are_refused(kwargs):
    with pytest.raises(ValueError, match=r"must|need"):
        Schedule(**kwargs)


def test_parse_int_list():
    assert parse_int_list("60, 30,0", "X") == (60, 30, 0)
    with pytest.raises(ValueError, match="X must be"):
        parse_int_list("a,b", "X")
