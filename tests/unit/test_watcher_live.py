"""Live messages at first sight of a running run: asked for once, never failing the watch."""

from __future__ import annotations

from run_notifier.domain.watch_request import WatchRequest
from run_notifier.domain.watcher import Action, RunWatcher

from tests.unit.test_watcher import RUN, World


class FakeLive:
    def __init__(self, fail: bool = False) -> None:
        self.announced: list[tuple[str, str]] = []
        self.fail = fail

    def announce_running(self, summary, deadline) -> None:
        if self.fail:
            raise RuntimeError("Slack is down")
        self.announced.append((summary.run_id, summary.actor_name))


def watcher_with(world: World, live: FakeLive, announces_running: bool = True) -> RunWatcher:
    finishing = world.finishing
    with_live = finishing._replace(live=live)
    return RunWatcher(
        world.apify,
        world.requeue,
        lambda: with_live,
        world.schedule,
        7200,
        world.events,
        world.clock,
        watch_ledger=world.ledger,
        announces_running=announces_running,
    )


def test_a_run_first_seen_running_is_announced_once_with_its_actors_name():
    world, live = World(), FakeLive()
    watcher = watcher_with(world, live)
    world.apify.answers = [world.run("RUNNING")]
    watcher.watch(WatchRequest(RUN), world.deadline())
    watcher.watch(WatchRequest(RUN, attempt=1, first_seen_at=world.clock()), world.deadline())
    assert live.announced == [(RUN, "someone/Act0000000000001")]


def test_a_failing_live_message_does_not_fail_the_watch():
    world = World()
    watcher = watcher_with(world, FakeLive(fail=True))
    world.apify.answers = [world.run("RUNNING")]
    assert watcher.watch(WatchRequest(RUN), world.deadline()).action is Action.REQUEUED


def test_without_a_bot_token_nothing_is_asked():
    world, live = World(), FakeLive()
    watcher = watcher_with(world, live, announces_running=False)
    world.apify.answers = [world.run("RUNNING")]
    watcher.watch(WatchRequest(RUN), world.deadline())
    assert live.announced == []
