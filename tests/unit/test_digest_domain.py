"""Digests and budgets, pure: when a digest is due (across DST), what it sums, and budget alerts once a month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_notifier.domain.budgets import budget_alerts, claim_only, forecast_usd, month_of
from run_notifier.domain.digest import (
    HELD,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    MUTED,
    IncidentCount,
    LedgerMark,
    LedgerRun,
    build_digest,
    sparkline,
)
from run_notifier.domain.digest_schedule import due_period

PRAGUE = "Europe/Prague"


def _hours(start: datetime, count: int):
    return (start + timedelta(hours=h) for h in range(count))


def _first_hours(every: str, start: datetime, hours: int) -> dict[str, datetime]:
    """Each period key, and the first hourly invocation that found it due."""
    first: dict[str, datetime] = {}
    for moment in _hours(start, hours):
        first.setdefault(due_period(every, "09:00", PRAGUE, moment).key, moment)
    return first


def test_a_daily_digest_is_due_from_nine_in_prague_each_local_day_across_both_dst_changes():
    first = _first_hours("day", datetime(2026, 1, 2, 8, tzinfo=UTC), 364 * 24)
    fresh = list(first.values())[1:]  # the first key was already due when the hours began
    assert len(fresh) == 363
    assert {t.astimezone(ZoneInfo(PRAGUE)).hour for t in fresh} == {9}
    assert datetime(2026, 3, 28, 8, tzinfo=UTC) in fresh  # winter: UTC+1
    assert datetime(2026, 3, 30, 7, tzinfo=UTC) in fresh  # summer: UTC+2
    assert datetime(2026, 10, 26, 8, tzinfo=UTC) in fresh  # winter again


def test_until_nine_the_previous_period_is_still_the_one_due_so_a_failed_hour_is_caught_up():
    before = due_period("day", "09:00", PRAGUE, datetime(2026, 12, 2, 7, tzinfo=UTC))  # 08:00 in Prague
    after = due_period("day", "09:00", PRAGUE, datetime(2026, 12, 2, 8, tzinfo=UTC))
    assert (before.key, after.key) == ("day:2026-11-30", "day:2026-12-01")
    assert due_period("day", "09:00", PRAGUE, datetime(2026, 12, 2, 20, tzinfo=UTC)).key == "day:2026-12-01"


def test_a_weekly_digest_is_due_from_monday_morning_and_covers_the_previous_local_week():
    first = _first_hours("week", datetime(2026, 1, 5, 8, tzinfo=UTC), 364 * 24)
    fresh = list(first.values())[1:]
    assert len(fresh) == 51
    assert {(t.astimezone(ZoneInfo(PRAGUE)).isoweekday(), t.astimezone(ZoneInfo(PRAGUE)).hour) for t in fresh} == {
        (1, 9)
    }
    across_dst = due_period("week", "09:00", PRAGUE, datetime(2026, 3, 30, 7, tzinfo=UTC))
    assert across_dst.key == "week:2026-W13"
    assert (across_dst.start, across_dst.end) == (
        datetime(2026, 3, 22, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
    )
    assert across_dst.end - across_dst.start == timedelta(hours=167)  # the week that lost an hour
    assert across_dst.previous_start == datetime(2026, 3, 15, 23, tzinfo=UTC)


def test_a_bad_schedule_is_refused_with_what_it_expects():
    with pytest.raises(ValueError, match="whole hour"):
        due_period("day", "09:30", PRAGUE, datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match='"every"'):
        due_period("month", "09:00", PRAGUE, datetime(2026, 1, 1, tzinfo=UTC))


START = datetime(2026, 11, 23, tzinfo=UTC)
END = START + timedelta(days=7)
runs_strategy = st.lists(
    st.builds(
        LedgerRun,
        run_id=st.uuids().map(lambda u: u.hex[:17]),
        key=st.sampled_from(["actor:A", "actor:B", "task:C"]),
        name=st.just("scraper"),
        status=st.sampled_from(["SUCCEEDED", "SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"]),
        finished_at=st.integers(0, 7 * 86400 - 1).map(lambda s: START + timedelta(seconds=s)),
        duration_secs=st.none() | st.floats(1, 86400),
        usd=st.none() | st.floats(0, 50).map(lambda x: round(x, 4)),
        items=st.none() | st.integers(0, 10_000),
        health=st.sampled_from([None, "OK", "WARN"]),
    ),
    max_size=60,
)


@given(runs=runs_strategy, previous=runs_strategy)
def test_a_digest_sums_exactly_what_the_ledger_holds_and_says_what_it_cannot_price(runs, previous):
    digest = build_digest(runs, previous, START, END)
    if not runs:
        assert digest is None  # nothing is posted for a period with no runs
        return
    assert digest is not None
    assert digest.runs == len(runs)
    assert digest.failures == sum(r.status in {"FAILED", "TIMED-OUT", "ABORTED"} for r in runs)
    assert digest.usd == pytest.approx(sum(r.usd for r in runs if r.usd is not None))
    assert digest.cost_unavailable == sum(r.usd is None for r in runs)
    for line in digest.lines:
        assert sum(line.runs_per_day) == line.runs == sum(line.by_status.values())
        assert sum(line.failures_per_day) == line.failures
        assert len(line.sparkline) == 7
    failures = [line.failures for line in digest.lines]
    assert failures == sorted(failures, reverse=True)  # what needs attention first


def test_the_change_against_the_previous_period_and_incidents_are_on_the_line():
    at = START + timedelta(days=1)
    now = [LedgerRun(f"R{i}", "actor:A", "a", "SUCCEEDED", at, 60.0, 0.5) for i in range(3)]
    before = [LedgerRun("P1", "actor:A", "a", "FAILED", at - timedelta(days=7), 30.0, 0.25)]
    marks = [
        LedgerMark(INCIDENT_OPENED, "actor:A", at),
        LedgerMark(INCIDENT_OPENED, "actor:A", START - timedelta(hours=1)),  # the period before: not counted
        LedgerMark(INCIDENT_RESOLVED, "actor:A", at),
        LedgerMark(MUTED, "actor:A", at),
        LedgerMark(MUTED, "actor:A", at + timedelta(hours=1)),
        LedgerMark(HELD, "actor:A", at),
        LedgerMark(MUTED, "actor:B", at),  # an Actor with no runs in the period: no line
    ]
    digest = build_digest(now, before, START, END, marks, still_open={"actor:A": 1})
    assert digest is not None
    [line] = digest.lines
    assert (line.runs_change, line.usd_change) == (2, 1.25)
    assert line.incidents == IncidentCount(opened=1, still_open=1)
    assert (line.muted, line.held) == (2, 1)
    assert line.success_rate == 1.0
    assert (line.p50_secs, line.p95_secs) == (60.0, 60.0)


def test_a_muted_or_held_mark_counts_only_when_its_run_is_on_the_line():
    """A digest whose `match` leaves some runs out (a status, say) leaves their marks out too."""
    at = START + timedelta(days=1)
    failed = [LedgerRun("RunF", "actor:A", "a", "FAILED", at, 60.0, 0.5)]
    marks = [
        LedgerMark(MUTED, "actor:A", at, "RunF"),
        LedgerMark(MUTED, "actor:A", at, "RunOk"),  # a SUCCEEDED run the digest's match left out
        LedgerMark(HELD, "actor:A", at, "RunOk"),
        LedgerMark(INCIDENT_OPENED, "actor:A", at),  # an incident's: per key
    ]
    digest = build_digest(failed, [], START, END, marks)
    assert digest is not None
    [line] = digest.lines
    assert (line.muted, line.held, line.incidents.opened) == (1, 0, 1)


def test_sparkline():
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0, 0]) == "▁▁"


@given(
    spends=st.lists(st.floats(0, 20), min_size=1, max_size=40),
    budget=st.floats(1, 300),
    days=st.lists(st.floats(0, 30.9), min_size=40, max_size=40),
)
def test_each_budget_alert_fires_at_most_once_a_month_and_every_threshold_crossed_is_accounted(spends, budget, days):
    month = month_of(datetime(2026, 12, 15, tzinfo=UTC), "UTC")
    fired: set[str] = set()
    sent: list[str] = []
    spent = 0.0
    for spend, day in zip(spends, sorted(days), strict=False):
        spent += spend
        now = month.start + timedelta(days=day)
        to_send, marked = claim_only(budget_alerts(spent, budget, month, now, fired))
        for alert in to_send + marked:
            assert alert.alert_id not in fired
            fired.add(alert.alert_id)
        sent += [a.alert_id for a in to_send]
    assert len(sent) == len(set(sent))
    crossed = {f"2026-12#{t}" for t in (50, 80, 100) if spent / budget * 100 >= t}
    assert crossed <= fired


def test_the_forecast_waits_for_a_day_and_fires_once_and_month_bounds_are_local():
    month = month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), PRAGUE)
    assert month.key == "2027-01"  # already January in Prague
    assert month.start == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert forecast_usd(10, month, month.start + timedelta(hours=5)) is None
    alerts = budget_alerts(30, 200, month, month.start + timedelta(days=3), fired=())
    assert [(a.kind, a.alert_id) for a in alerts] == [("forecast", "2027-01#forecast")]
    assert budget_alerts(31, 200, month, month.start + timedelta(days=3), fired={"2027-01#forecast"}) == []
