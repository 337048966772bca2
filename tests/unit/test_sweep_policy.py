"""Where the sweep starts reading, and which runs it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from run_notifier.domain.ports import ListedRun
from run_notifier.domain.sweep import SweepPolicy

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_a_fresh_deployment_starts_at_the_lookback_not_at_the_beginning_of_history():
    policy = SweepPolicy(lookback_secs=3600, overlap_secs=120, actor_ids=frozenset(), task_ids=frozenset())
    assert policy.started_after(None, NOW) == NOW - timedelta(seconds=3600 + 120)


def test_later_sweeps_start_at_the_watermark_minus_the_overlap():
    policy = SweepPolicy(lookback_secs=3600, overlap_secs=120, actor_ids=frozenset(), task_ids=frozenset())
    watermark = NOW - timedelta(minutes=5)
    assert policy.started_after(watermark, NOW) == watermark - timedelta(seconds=120)


def test_the_filter_keeps_named_actors_and_tasks_or_everything_when_empty():
    everything = SweepPolicy(60, 0, frozenset(), frozenset())
    named = SweepPolicy(60, 0, frozenset({"ActorA"}), frozenset({"TaskB"}))
    assert everything.wants(ListedRun("R1", "Other", None, None))
    assert named.wants(ListedRun("R1", "ActorA", None, None))
    assert named.wants(ListedRun("R1", "Other", "TaskB", None))
    assert not named.wants(ListedRun("R1", "Other", None, None))
