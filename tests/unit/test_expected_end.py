"""Timing a pushed run's safety-net reads from its history and its timeout (domain/expected_end.py)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from run_notifier.domain.expected_end import (
    EARLY_FRACTION,
    MAX_READ_GAP_SECS,
    MAX_STEP_SECS,
    MIN_HISTORY,
    MIN_STEP_SECS,
    PRE_WINDOW_READ_SECS,
    TIMEOUT_GRACE_SECS,
    ExpectedEnd,
    expected_end,
    next_read_in,
)

durations = st.lists(st.floats(min_value=1, max_value=86_400), min_size=MIN_HISTORY, max_size=40)


def test_too_little_history_says_nothing_and_the_period_applies():
    assert expected_end([600.0] * (MIN_HISTORY - 1)) is None
    assert expected_end([600.0, math.nan, -1.0, 0.0, 620.0, 610.0]) is None  # unusable values do not count
    assert next_read_in(900, 30.0, None, None) == 900


def test_a_run_far_from_its_usual_end_is_read_hourly_then_when_the_window_opens():
    window = expected_end([30000.0, 31000.0, 32000.0, 30500.0, 31500.0])
    assert window is not None
    assert next_read_in(900, 100.0, window, None) == PRE_WINDOW_READ_SECS  # hours before it: once an hour
    assert next_read_in(900, 29000.0, window, None) == 30000 * EARLY_FRACTION - 29000


def test_inside_the_window_reads_come_every_step_and_stop_after_it():
    window = expected_end([3000.0, 3100.0, 3200.0, 3050.0, 3150.0])
    assert window is not None
    inside = next_read_in(900, 3000.0, window, None)
    assert inside == window.step
    assert MIN_STEP_SECS <= window.step <= MAX_STEP_SECS
    assert next_read_in(900, window.latest + 1, window, None) == 900


def test_the_timeout_is_read_just_after_it_whatever_the_history():
    assert next_read_in(900, 3500.0, None, 3600.0) == 100 + TIMEOUT_GRACE_SECS
    assert next_read_in(900, 3600.0 + TIMEOUT_GRACE_SECS + 1, None, 3600.0) == 900  # past it: the period
    assert next_read_in(900, None, ExpectedEnd(1.0, 2.0, 1.0), 10.0) == 900  # no start, no timing


@given(
    history=durations,
    running=st.floats(min_value=0, max_value=200_000),
    period=st.integers(min_value=1, max_value=900),
    timeout=st.none() | st.floats(min_value=1, max_value=200_000),
)
def test_a_timed_read_is_never_immediate_and_never_later_than_the_longest_gap(history, running, period, timeout):
    """Never later than the period either, except before the window, where the history says the run goes on."""
    window = expected_end(history)
    read_in = next_read_in(period, running, window, timeout)
    assert 1 <= read_in <= MAX_READ_GAP_SECS
    if window is None or running >= window.earliest:
        assert read_in <= period


@given(history=durations, ends_at=st.floats(min_value=0, max_value=1), period=st.sampled_from([300, 900]))
def test_a_run_that_ends_inside_its_window_is_read_within_one_step_of_its_end(history, ends_at, period):
    """Walk the reads the delays give, from the run's start: the first read after a run that ends inside
    its history's window comes at most one step (plus the rounding up to whole seconds) after its end."""
    window = expected_end(history)
    assert window is not None
    end = window.earliest + ends_at * (window.latest - window.earliest)
    at = 0.0
    while at < end:
        at += next_read_in(period, at, window, None)
    assert at - end <= window.step + 1e-6
    reads_inside = 0
    at = window.earliest
    while at < window.latest:
        at += next_read_in(period, at, window, None)
        reads_inside += 1
    assert reads_inside <= max(31, (window.latest - window.earliest) / MAX_STEP_SECS + 2)
