"""Push-accelerated watching, with in-memory ports: arming, the safety net, cheap stale messages."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from run_notifier.domain.ports import ApifyUnavailable, ArmingPaced, NotificationsIncomplete
from run_notifier.domain.push import PushArmed, PushMode
from run_notifier.domain.watch_request import WatchRequest
from run_notifier.domain.watcher import Action

from tests.unit.fakes import FakeActorPushArming, FakePushArming
from tests.unit.test_watcher import RUN, World

REFUSED = PushArmed(PushMode.OFF, reason="Apify refused the webhook with 403 insufficient-permissions")


def test_a_running_run_gets_its_webhook_is_read_again_and_backs_off_to_the_safety_net():
    world = World(push=FakePushArming())
    world.apify.answers = [world.run("RUNNING")]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.REQUEUED, 900)
    assert world.push.calls == [RUN]
    # no long poll: a plain read, the webhook, and a second plain read for a run that ended meanwhile
    assert world.apify.calls == [(RUN, 0), (RUN, 0)]
    [(request, _)] = world.requeue.sent
    assert (request.push, request.attempt) == (PushMode.ADHOC, 1)
    assert world.ledger.push[RUN] == [PushArmed(PushMode.ADHOC, "Hook000000000001")]


def test_a_run_that_ended_while_its_webhook_was_made_is_settled_without_waiting_for_the_safety_net():
    world = World(push=FakePushArming())
    world.apify.answers = [world.run("RUNNING"), world.run("SUCCEEDED", finished_ago=0.2)]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.SETTLING, 10)


def test_an_armed_run_is_not_armed_again_and_stays_on_the_safety_net_schedule():
    world = World(push=FakePushArming(), SAFETY_NET_DELAY_SCHEDULE="300,900")
    world.apify.answers = [world.run("RUNNING")]
    first = WatchRequest(RUN, attempt=1, first_seen_at=world.clock(), push=PushMode.ADHOC)
    assert world.watch(first).delay_secs == 900  # attempt 1 takes the schedule's second entry
    assert world.push.calls == []
    assert world.apify.calls == [(RUN, 0)]
    assert world.requeue.sent[0][0].push is PushMode.ADHOC


def test_a_refused_webhook_falls_back_to_todays_poll_schedule_and_is_not_asked_again():
    world = World(push=FakePushArming(REFUSED))
    world.apify.answers = [world.run("RUNNING")]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.REQUEUED, 5)
    assert world.apify.calls == [(RUN, 0), (RUN, 60)]  # the second read is today's long poll
    [(request, _)] = world.requeue.sent
    assert request.push is PushMode.OFF
    assert world.ledger.push[RUN] == [REFUSED]
    world.watch(request)
    assert world.push.calls == [RUN]  # once per run
    assert world.requeue.sent[1][1] == 20  # today's schedule goes on


def test_arming_that_cannot_be_tried_now_polls_this_time_and_tries_again_next_attempt():
    world = World(push=FakePushArming(ApifyUnavailable("429"), PushArmed(PushMode.ADHOC, "Hook2")))
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    [(request, delay)] = world.requeue.sent
    assert (request.push, delay) == (None, 5)
    assert RUN not in world.ledger.push
    world.watch(request)
    assert world.push.calls == [RUN, RUN]
    assert world.requeue.sent[1][0].push is PushMode.ADHOC


def test_a_spent_arming_budget_reads_without_a_long_poll_and_arms_on_the_next_look():
    """A burst: this second's webhook creates are spent. The run is read plainly (not held for a minute
    in a long poll), comes back after the first requeue delay, and is armed then."""
    world = World(push=FakePushArming(ArmingPaced("spent"), PushArmed(PushMode.ADHOC, "Hook3")))
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    assert world.apify.calls == [(RUN, 0), (RUN, 0)]  # the first look's read, and a plain read after the budget
    [(request, delay)] = world.requeue.sent
    assert (request.push, delay) == (None, 5)
    world.watch(request)
    assert world.push.calls == [RUN, RUN]
    assert world.requeue.sent[1][0].push is PushMode.ADHOC


def test_a_run_paced_on_two_looks_is_polled_and_stops_asking_for_a_webhook():
    """Creates saturated (a fleet far above the budget): each ask is a write on the budget's one item, so a
    run refused twice is watched by polling (today's schedule) and never asks again."""
    world = World(push=FakePushArming(ArmingPaced("spent"), ArmingPaced("spent again")))
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    second = world.requeue.sent[0][0]
    world.watch(second)
    [(third, delay)] = world.requeue.sent[1:]
    assert (third.push, delay) == (PushMode.OFF, 20)  # polling's second delay
    assert world.ledger.push[RUN][0].mode is PushMode.OFF
    world.watch(third)
    assert world.push.calls == [RUN, RUN]  # not asked a third time


def test_saturated_creates_give_the_runs_actor_one_webhook_and_its_later_runs_need_none():
    """Refused twice, the run's Actor gets one Actor-level webhook (one create for all its runs); the run is
    then on the safety net, and a later run of that Actor is covered without a create of its own."""
    push = FakeActorPushArming(ArmingPaced("spent"), ArmingPaced("spent again"))
    world = World(push=push)
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    world.watch(world.requeue.sent[0][0])
    [(third, delay)] = world.requeue.sent[1:]
    assert (third.push, delay) == (PushMode.ACTOR, 900)
    assert push.actor_calls == ["Act0000000000001"]
    assert world.ledger.push[RUN] == [PushArmed(PushMode.ACTOR, "ActorHook0000001")]
    later = "RunOfTheSameActr"
    world.watch(WatchRequest(later))
    assert push.calls == [RUN, RUN]  # the later run made no create
    assert world.requeue.sent[-1][0].push is PushMode.ACTOR


def test_a_polled_run_drops_to_the_safety_net_once_its_actor_has_the_actor_webhook():
    """Push was off for this run (its creates were saturated and its Actor's could not be made then); a
    later run of the Actor got the Actor-level webhook here, which reaches this run's end too: the next
    look notes it and waits on the safety net instead of polling. No create, no read of the table."""
    push = FakeActorPushArming(ArmingPaced("spent"), ArmingPaced("spent again"))
    world = World(push=push)
    world.apify.answers = [world.run("RUNNING")]
    polled = WatchRequest(RUN, attempt=3, first_seen_at=world.clock(), push=PushMode.OFF)
    assert world.watch(polled).delay_secs != 900  # not covered yet: polled
    assert world.requeue.sent[-1][0].push is PushMode.OFF
    later = "RunOfTheSameActr"
    world.watch(WatchRequest(later))
    world.watch(world.requeue.sent[-1][0])  # refused twice: its Actor gets the webhook
    assert push.actor_calls == ["Act0000000000001"]
    outcome = world.watch(polled._replace(attempt=4))
    assert outcome.delay_secs == 900
    assert world.requeue.sent[-1][0].push is PushMode.ACTOR
    assert world.ledger.push[RUN] == [PushArmed(PushMode.ACTOR)]
    assert push.calls == [later, later]


def test_a_run_of_an_actor_known_covered_before_it_was_read_needs_no_second_read():
    """The second read closes the race of a webhook made while the run ended. A run read running after
    this container learned of its Actor's webhook has no such race: one read, then the safety net."""
    world = World(push=FakeActorPushArming(covered={"Act0000000000001"}))
    world.apify.answers = [world.run("RUNNING")]
    first = "RunOfTheSameActr"
    world.watch(WatchRequest(first))
    assert world.apify.calls == [(first, 0), (first, 0)]  # learned during this look: read again
    world.clock.advance(5)
    world.apify.calls.clear()
    assert world.watch(WatchRequest(RUN)).delay_secs == 900
    assert world.apify.calls == [(RUN, 0)]
    assert world.requeue.sent[-1][0].push is PushMode.ACTOR
    assert world.ledger.push[RUN] == [PushArmed(PushMode.ACTOR)]


def test_a_run_already_over_at_first_sight_arms_nothing():
    world = World(push=FakePushArming())
    world.apify.answers = [world.run("FAILED", finished_ago=30)]
    assert world.watch(WatchRequest(RUN)).action is Action.FINISHED
    assert world.push.calls == []


def test_an_actor_webhook_that_covers_the_end_needs_no_ad_hoc_one():
    world = World(push=FakePushArming())
    world.apify.answers = [world.run("RUNNING")]
    outcome = world.watch(WatchRequest(RUN, push=PushMode.ACTOR, event="ACTOR.RUN.CREATED"))
    assert outcome.delay_secs == 900
    assert world.push.calls == []
    assert world.ledger.push[RUN] == [PushArmed(PushMode.ACTOR)]


def test_without_an_intake_the_watch_is_todays():
    world = World()
    world.apify.answers = [world.run("RUNNING")]
    assert world.watch(WatchRequest(RUN)).delay_secs == 5
    assert world.apify.calls == [(RUN, 60)]


def _notified_by_push(world: World) -> WatchRequest:
    """Arm, then let the terminal webhook's message finish the run; return the pending safety-net message."""
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    safety_net = world.requeue.sent[-1][0]
    world.clock.advance(30)
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=15)]
    assert world.watch(WatchRequest(RUN, event="ACTOR.RUN.SUCCEEDED")).action is Action.FINISHED
    assert world.slack.sent == [RUN]
    return safety_net


def test_a_safety_net_message_after_a_push_notified_finish_ends_from_the_ledger_without_an_apify_call():
    world = World(push=FakePushArming())
    safety_net = _notified_by_push(world)
    world.clock.advance(870)
    calls, messages = len(world.apify.calls), len(world.requeue.sent)
    outcome = world.watch(safety_net)
    assert outcome.action is Action.ALREADY_NOTIFIED
    assert len(world.apify.calls) == calls  # no Apify call
    assert len(world.requeue.sent) == messages  # and the chain ends here
    assert world.slack.sent == [RUN]


def test_a_safety_net_message_reads_apify_while_a_destination_is_not_done():
    world = World(push=FakePushArming())
    world.slack.outcomes = ["transient"]
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN))
    safety_net = world.requeue.sent[-1][0]
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=15)]
    with contextlib.suppress(NotificationsIncomplete):  # the record fails; meanwhile the safety net comes
        world.watch(WatchRequest(RUN, event="ACTOR.RUN.SUCCEEDED"))
    calls = len(world.apify.calls)
    assert world.watch(safety_net).action is Action.FINISHED
    assert len(world.apify.calls) == calls + 1
    assert world.slack.sent == [RUN]


def test_a_resurrected_runs_safety_net_is_not_fooled_by_the_earlier_notified_finish():
    world = World(push=FakePushArming())
    _notified_by_push(world)
    world.clock.advance(60)
    # The RESURRECTED webhook reopens the watch: a new chain whose first sight is after the old finish.
    world.apify.answers = [world.run("RUNNING")]
    world.watch(WatchRequest(RUN, push=PushMode.ADHOC, event="ACTOR.RUN.RESURRECTED"))
    chain = world.requeue.sent[-1][0]
    assert chain.push is PushMode.ADHOC
    world.clock.advance(900)
    world.apify.answers = [world.run("RUNNING")]
    outcome = world.watch(chain)
    assert outcome.action is Action.REQUEUED  # read from Apify, not dropped from the ledger
    world.clock.advance(900)
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=20)]
    assert world.watch(world.requeue.sent[-1][0]).action is Action.FINISHED
    assert world.slack.sent == [RUN, RUN]  # announced for its new finish


def test_a_settle_message_is_never_dropped_from_the_ledger():
    world = World(push=FakePushArming())
    _notified_by_push(world)
    reads, calls = world.ledger.reads, len(world.apify.calls)
    world.apify.answers = [world.run("SUCCEEDED", finished_ago=15)]
    settle = WatchRequest(RUN, attempt=3, first_seen_at=world.clock() - timedelta(seconds=100), settle=True)
    world.watch(settle._replace(push=PushMode.ADHOC))
    assert (world.ledger.reads, len(world.apify.calls)) == (reads, calls + 1)
    assert world.slack.sent == [RUN]


class _Usual:
    """`ports.UsualDurations` in memory: the same history for every run; what it was asked."""

    def __init__(self, durations):
        self.durations_given = list(durations)
        self.asked: list[str] = []

    def durations(self, run, deadline):
        self.asked.append(run.run_id)
        return self.durations_given


def _started(world, secs_ago: float) -> str:
    return (world.clock() - timedelta(seconds=secs_ago)).isoformat().replace("+00:00", "Z")


def test_a_pushed_run_near_its_usual_end_is_read_again_then_not_a_period_later():
    """Its Actor's runs take 10-11 minutes; it has run 9: the safety net reads it when the window opens."""
    usual = _Usual([600.0, 630.0, 660.0, 615.0, 645.0])
    world = World(push=FakePushArming(), usual=usual)
    world.apify.answers = [world.run("RUNNING", startedAt=_started(world, 540))]
    outcome = world.watch(WatchRequest(RUN))
    assert (outcome.action, outcome.delay_secs) == (Action.REQUEUED, 48)  # 600 * 0.98 - 540
    assert usual.asked == [RUN]
    [(request, delay)] = world.requeue.sent
    assert (request.push, delay, request.read_after) == (PushMode.ADHOC, 48, None)


def test_a_pushed_run_is_read_just_after_its_own_timeout_without_any_history():
    world = World(push=FakePushArming(), usual=_Usual([]))
    world.apify.answers = [world.run("RUNNING", startedAt=_started(world, 250), options={"timeoutSecs": 300})]
    assert world.watch(WatchRequest(RUN)).delay_secs == 60  # 300 + 10 - 250


def test_a_polled_run_keeps_the_poll_schedule_and_asks_no_history():
    usual = _Usual([600.0] * 5)
    world = World(usual=usual)
    world.apify.answers = [world.run("RUNNING", startedAt=_started(world, 590), options={"timeoutSecs": 600})]
    assert world.watch(WatchRequest(RUN)).delay_secs == 5
    assert usual.asked == []


def test_hours_before_its_usual_end_a_run_sleeps_through_queue_delays_without_reading_apify():
    """Its Actor's runs take ~10 h; an hour between reads is longer than SQS's 900 s delay: the message
    carries `readAfter` and comes back without an Apify call until then, then the read happens."""
    usual = _Usual([36000.0, 36500.0, 37000.0, 35500.0, 36200.0])
    world = World(push=FakePushArming(), usual=usual)
    world.apify.answers = [world.run("RUNNING", startedAt=_started(world, 60))]
    world.watch(WatchRequest(RUN))
    [(request, delay)] = world.requeue.sent
    assert delay == 900
    assert request.read_after == world.clock() + timedelta(seconds=3600)
    calls = len(world.apify.calls)
    for expected in (900, 900, 900):
        world.clock.advance(delay)
        outcome = world.watch(request)
        assert (outcome.action, outcome.delay_secs) == (Action.REQUEUED, expected)
        request, delay = world.requeue.sent[-1]
    assert len(world.apify.calls) == calls  # slept: no read
    assert request.read_after is None  # the next arrival reads
    world.clock.advance(delay)
    world.watch(request)
    assert len(world.apify.calls) == calls + 1


def test_a_body_cannot_put_its_read_off_beyond_the_longest_gap():
    world = World(push=FakePushArming())
    far = world.clock() + timedelta(days=3650)
    request = WatchRequest(RUN, attempt=2, first_seen_at=world.clock(), push=PushMode.ADHOC, read_after=far)
    world.watch(request)
    later, _ = world.requeue.sent[-1]
    assert later.read_after == world.clock() + timedelta(seconds=3600)  # re-anchored: read within the hour
    assert world.apify.calls == []
