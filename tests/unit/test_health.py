"""Health checks (domain/health.py): fixed limits, anomalies against the run's own history, level
shifts; and the evaluation on the shipped fixture meets its targets."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from run_notifier.domain.health import (
    MIN_HISTORY,
    OK,
    UNKNOWN,
    WARN,
    Expectation,
    Measured,
    PastRun,
    baseline_values,
    judge,
)


def history(n: int, items: int = 1200, secs: float = 600, usd: float = 0.2, seed: int = 1) -> list[PastRun]:
    rng = random.Random(seed)
    return [
        PastRun(
            Measured(round(items * rng.uniform(0.9, 1.1)), secs * rng.uniform(0.9, 1.1), usd * rng.uniform(0.9, 1.1)),
            {},
        )
        for _ in range(n)
    ]


def test_zero_items_with_min_items_is_warn_and_says_so_in_its_headline():
    health = judge(Measured(0, 600, 0.2), Expectation(min_items=1, anomalies=False), [])
    assert health.verdict == WARN
    assert health.headline() == "0 items, expected ≥ 1"
    assert health.as_item()["checks"] == [
        {"name": "minItems", "value": 0.0, "expected": "≥ 1", "baseline": None, "flag": "low"}
    ]


def test_eight_times_the_median_cost_with_20_runs_of_history_is_warn_naming_cost():
    health = judge(Measured(1200, 600, 1.6), Expectation(), history(20))
    assert health.verdict == WARN
    assert [c.name for c in health.checks if c.failed] == ["anomaly:cost"]
    headline = health.headline()
    assert headline is not None
    assert headline.startswith("$1.60, usually ~$0.2")


def test_zero_items_against_history_says_what_is_usual():
    health = judge(Measured(0, 600, 0.2), Expectation(), history(20))
    assert health.verdict == WARN
    assert health.headline() is not None
    assert health.headline().startswith("0 items, usually ~1,")  # type: ignore[union-attr]


def test_with_5_runs_of_history_no_anomaly_is_judged_but_fixed_limits_apply():
    assert judge(Measured(1200, 600, 1.6), Expectation(), history(5)).verdict == UNKNOWN
    limited = judge(Measured(1200, 600, 1.6), Expectation(max_usd=1.0), history(5))
    assert limited.verdict == WARN
    assert [c.name for c in limited.checks] == ["maxUsd"]


def test_an_ordinary_run_is_ok():
    assert judge(Measured(1180, 610, 0.21), Expectation(min_items=1), history(20)).verdict == OK


def test_tiny_values_do_not_alarm():
    """3× a $0.001 run is $0.003: under the absolute floor."""
    assert judge(Measured(5, 20, 0.003), Expectation(), history(20, items=5, secs=20, usd=0.001)).verdict == OK


def test_runs_judged_anomalous_stay_out_of_the_baseline():
    past = history(20) + [PastRun(Measured(1200, 600, 2.0), {"cost": "high"})] * 15
    assert baseline_values("cost", past) == [r.measured.cost for r in past[:20]]
    assert judge(Measured(1200, 600, 2.0), Expectation(), past[:-2] + history(2, seed=9)).verdict == WARN


def test_a_level_shift_warns_at_most_twice_then_is_the_new_normal():
    past = history(20)
    verdicts = []
    for n in range(15):
        run = Measured(2400 + n, 1200 + n, 0.4)  # the Actor's normal doubled
        health = judge(run, Expectation(), past)
        verdicts.append(health.verdict)
        past.append(PastRun(run, health.flags()))
    assert verdicts.count(WARN) <= 2
    assert WARN not in verdicts[3:]
    # The baseline restarted at the new level: a run back at the old one is the odd one now, once it has history.
    assert len(baseline_values("duration", past)) >= MIN_HISTORY
    assert judge(Measured(1200, 600, 0.2), Expectation(), past).verdict == WARN


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.floats(0, 10**5), st.floats(0, 10**3)), max_size=45),
    st.tuples(st.integers(0, 10**6), st.floats(0, 10**5), st.floats(0, 10**3)),
)
def test_any_history_gives_a_verdict_and_a_run_at_the_median_never_warns(past, run):
    runs = [PastRun(Measured(*values), {}) for values in past]
    assert judge(Measured(*run), Expectation(), runs).verdict in (OK, WARN, UNKNOWN)
    if len(runs) >= MIN_HISTORY:
        medians = [sorted(v)[len(v) // 2] for v in zip(*past, strict=True)]
        at_median = Measured(int(medians[0]), medians[1], medians[2])
        assert not any(c.failed for c in judge(at_median, Expectation(), runs).checks)


def test_the_evaluation_on_the_shipped_fixture_meets_its_targets(capsys):
    from localdev.health_eval import main

    assert main() == 0, capsys.readouterr().out


def test_a_recorded_judgement_reads_back_as_it_was():
    from run_notifier.domain.health import health_of_item

    for health in (
        judge(Measured(0, 600, 1.6), Expectation(min_items=1), history(20)),
        judge(Measured(1200, 600, 0.2), Expectation(), history(3)),
    ):
        assert health_of_item(health.as_item()) == health


def test_a_run_is_stuck_past_its_fixed_limit_or_twice_its_usual_but_never_under_ten_minutes():
    from run_notifier.domain.health import StuckAlert, stuck_limit

    assert stuck_limit(Expectation(max_duration_secs=300), []) == (300, None)
    assert stuck_limit(Expectation(), [100.0] * 5) is None  # too little history, no fixed limit: never
    assert stuck_limit(Expectation(), [100.0] * 12) == (600.0, 100.0)  # twice 100 s is under the floor
    durations = [700.0 + i for i in range(20)]
    assert stuck_limit(Expectation(), durations) == (2 * 718.0, 718.0)  # twice the p95
    assert stuck_limit(Expectation(max_duration_secs=900), durations) == (900, 718.0)  # whichever first
    assert stuck_limit(Expectation(anomalies=False), durations) is None
    words = StuckAlert(7400, 3600, 718.0).words()
    assert words == "running for 2h 3m (limit 1h, usually done within 11m 58s)"
