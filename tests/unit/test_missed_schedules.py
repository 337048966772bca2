"""Schedules that never fired, judged purely: one alert per missed slot, none for history,
none for a disabled schedule, none when a run started for the slot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.missed_schedules import (
    NO_RUN,
    NOT_FIRED,
    MissedSlot,
    ScheduleAction,
    ScheduleView,
    judge,
)
from run_notifier.domain.schedule_check import ScheduleCheck, SchedulePolicy
from run_notifier.domain.watch_request import InvalidMessage, parse_body, parse_message

from tests.unit.fakes import FakeBodyQueue, FakeEvents, FakeScheduleLister, FakeScheduleMemories

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
GRACE = 300


def view(last: datetime | None, next_: datetime | None, enabled: bool = True) -> ScheduleView:
    return ScheduleView(
        "SchedDaily000001",
        "daily-shop",
        enabled,
        "0 * * * *",
        "Europe/Prague",
        last,
        next_,
        (ScheduleAction(act_id="ShopScraper00001"),),
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_schedule_first_seen_settles_its_past_and_alerts_on_nothing():
    memory, missed = judge(view(T0 - 5 * HOUR, T0 - 4 * HOUR), None, None, T0, GRACE)  # long dead already
    assert missed is None
    assert memory is not None
    assert memory.settled_slot == T0 - 4 * HOUR


def test_a_slot_that_fired_and_started_a_run_is_settled_silently():
    memory, _ = judge(view(T0 - HOUR, T0), None, None, at(-10), GRACE)
    memory, missed = judge(view(T0, T0 + HOUR), memory, T0, at(1), GRACE)  # fired, its run seen
    assert missed is None
    memory, missed = judge(view(T0, T0 + HOUR), memory, None, at(6), GRACE)
    assert missed is None
    assert memory is not None
    assert memory.settled_slot == T0


def test_a_scheduler_that_did_not_fire_is_one_alert_however_many_sweeps_see_it():
    memory, _ = judge(view(T0 - HOUR, T0), None, None, at(-10), GRACE)
    alerts = []
    for minute in range(0, 120):  # a sweep a minute for two hours; nextRunAt stays at T0
        memory, missed = judge(view(T0 - HOUR, T0), memory, None, at(minute), GRACE)
        if missed is not None:
            alerts.append((minute, missed))
    assert [(m, a.reason, a.slot) for m, a in alerts] == [(5, NOT_FIRED, T0)]  # grace + one sweep at most


def test_a_slot_that_fired_without_a_run_is_announced_once_and_the_next_good_slot_is_quiet():
    memory, _ = judge(view(T0 - HOUR, T0), None, T0 - HOUR, at(-10), GRACE)
    seen = []
    for minute in range(0, 120):  # until the 11:00 slot
        last, next_ = (T0, T0 + HOUR) if minute < 60 else (T0 + HOUR, T0 + 2 * HOUR)
        started = T0 + HOUR if minute == 61 else None  # the 10:00 slot started its run
        memory, missed = judge(view(last, next_), memory, started, at(minute), GRACE)
        if missed:
            seen.append(missed)
    assert [(m.slot, m.reason) for m in seen] == [(T0, NO_RUN)]


def test_a_disabled_schedule_is_never_announced_and_is_forgotten():
    memory, _ = judge(view(T0 - HOUR, T0), None, None, at(-10), GRACE)
    for minute in range(0, 60):
        forgotten, missed = judge(view(T0 - HOUR, T0, enabled=False), memory, None, at(minute), GRACE)
        assert (forgotten, missed) == (None, None)


def test_a_run_scheduled_a_little_before_the_slot_still_covers_it():
    memory, _ = judge(view(T0 - HOUR, T0), None, None, at(-10), GRACE)
    _, missed = judge(view(T0, T0 + HOUR), memory, T0 - timedelta(seconds=5), at(6), GRACE)
    assert missed is None
    _, missed = judge(view(T0, T0 + HOUR), memory, T0 - HOUR, at(6), GRACE)
    assert missed is not None
    assert missed.reason == NO_RUN


@settings(max_examples=200, deadline=None)
@given(
    fired=st.lists(st.booleans(), min_size=1, max_size=8),
    started=st.lists(st.booleans(), min_size=8, max_size=8),
    sweep_every=st.integers(min_value=1, max_value=20),
)
def test_every_missed_slot_is_announced_exactly_once_and_no_good_slot_ever(fired, started, sweep_every):
    """An hourly schedule over hours where the scheduler fired (or not) and a run started (or not),
    swept every few minutes: each slot without a run is announced once, at most grace + one sweep late.
    A scheduler that stops firing leaves nextRunAt put, so a dead stretch is one alert (its first slot)."""
    memory, _ = judge(view(T0 - HOUR, T0), None, T0 - HOUR, T0 - timedelta(minutes=30), GRACE)
    last, next_ = T0 - HOUR, T0
    announced: dict[datetime, float] = {}
    expected: set[datetime] = set()
    latest_start: datetime | None = None
    stuck_at: datetime | None = None
    end = len(fired) * 60  # the last slot modelled is the one before this minute
    for minute in range(0, end, sweep_every):
        now = at(minute)
        hour = minute // 60
        if hour < len(fired) and stuck_at is None and now >= next_:
            if fired[hour]:
                last, next_ = next_, next_ + HOUR
                if started[hour]:
                    latest_start = last
                else:
                    expected.add(last)
            else:
                stuck_at = next_
                expected.add(next_)
        memory, missed = judge(view(last, next_), memory, latest_start, now, GRACE)
        if missed is not None:
            assert missed.slot not in announced
            announced[missed.slot] = (now - missed.slot).total_seconds()
    due = {slot for slot in expected if slot + timedelta(seconds=GRACE + sweep_every * 60) <= at(end)}
    assert due <= set(announced) <= expected
    assert all(late <= GRACE + sweep_every * 60 for late in announced.values())


def test_a_missed_slot_round_trips_through_its_queue_body():
    missed = MissedSlot(
        "SchedDaily000001",
        "daily-shop",
        T0,
        NOT_FIRED,
        "0 * * * *",
        "Europe/Prague",
        (ScheduleAction(act_id="ShopScraper00001"), ScheduleAction(actor_task_id="Task000000000001")),
        T0 - HOUR,
    )
    parsed = parse_message(json.dumps(missed.to_body()))
    assert parsed == missed
    assert missed.item == "schedule-missed#SchedDaily000001#2026-12-01T09:00:00.000Z"
    with pytest.raises(InvalidMessage, match="not a run"):
        parse_body(json.dumps(missed.to_body()))


@pytest.mark.parametrize(
    ("inner", "why"),
    [
        ("x", "must be an object"),
        ({"slot": "2026-12-01T09:00:00Z", "reason": NOT_FIRED}, "scheduleId"),
        ({"scheduleId": "bad id!", "slot": "2026-12-01T09:00:00Z", "reason": NOT_FIRED}, "scheduleId"),
        ({"scheduleId": "S1", "slot": "yesterday", "reason": NOT_FIRED}, "slot"),
        ({"scheduleId": "S1", "slot": "2026-12-01T09:00:00Z", "reason": "bored"}, "reason"),
        ({"scheduleId": "S1", "slot": "2026-12-01T09:00:00Z", "reason": NO_RUN, "actions": "all"}, "actions"),
    ],
)
def test_a_bad_missed_slot_body_is_rejected_saying_which_field(inner, why):
    with pytest.raises(InvalidMessage, match=why):
        parse_message(json.dumps({"missedSchedule": inner}))


def test_a_slot_is_enqueued_before_it_is_remembered_so_no_failure_loses_it():
    """The queue down: nothing remembered, the next sweep enqueues it. The table down after the
    enqueue: the next sweep enqueues it again (the watcher's claims make that a no-op)."""
    now = [at(-10)]
    memories, queue = FakeScheduleMemories(), FakeBodyQueue()
    lister = FakeScheduleLister([view(T0 - HOUR, T0)])
    check = ScheduleCheck(lister, memories, queue, SchedulePolicy(GRACE, None), FakeEvents(), lambda: now[0])
    check.check({}, Deadline.after(30))  # first sight
    now[0] = at(6)
    queue.fail = True
    assert check.check({}, Deadline.after(30)).reason.startswith("RuntimeError")
    assert memories.items["SchedDaily000001"].settled_slot == T0 - HOUR  # not moved past the 09:00 slot
    queue.fail, memories.fail_writes = False, True
    check.check({}, Deadline.after(30))
    memories.fail_writes = False
    check.check({}, Deadline.after(30))
    check.check({}, Deadline.after(30))
    assert [b["missedSchedule"]["slot"] for b in queue.bodies] == ["2026-12-01T09:00:00.000Z"] * 2


def test_only_chosen_schedules_of_the_swept_actors_are_judged():
    policy = SchedulePolicy(GRACE, frozenset({"daily-shop"}), actor_ids=frozenset({"ShopScraper00001"}))
    assert policy.wants(view(None, T0))
    assert not policy.wants(view(None, T0)._replace(name="other", schedule_id="SchedOther000001"))
    assert not SchedulePolicy(GRACE, None, actor_ids=frozenset({"SomeoneElse00001"})).wants(view(None, T0))
