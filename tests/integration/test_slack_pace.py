"""The Slack pace shared by every container (one item per channel in the runs table, on moto):
turns never closer than the pace, and a turn woken up late is never used."""

from __future__ import annotations

import itertools
import threading
import time

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.destinations.slack.shared_pacing import LATE_SECS, SharedChannelPacer
from run_notifier.domain.deadline import Deadline


def _table(aws_session, resources) -> RunsTable:
    return RunsTable(aws_session.client("dynamodb"), resources.table_name)


def test_calls_from_two_containers_get_turns_a_pace_apart(aws_session, resources):
    containers = [SharedChannelPacer(_table(aws_session, resources)) for _ in range(2)]
    turns: list[float] = []
    lock = threading.Lock()

    def post(pacer: SharedChannelPacer) -> None:
        turn = pacer.wait_turn("C0PACE", Deadline.after(30))
        with lock:
            turns.append(turn)

    # Four calls at once: within a call's reach (MAX_WAIT_SECS), so each gets a turn.
    threads = [threading.Thread(target=post, args=(containers[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    turns.sort()
    assert len(turns) == 4
    assert min(b - a for a, b in itertools.pairwise(turns)) >= 1.1 - 0.002


def test_a_turn_woken_up_late_is_given_up_for_a_fresh_one(aws_session, resources):
    """A starved container oversleeps its turn by 2 s: it does not post then (the next turn's holder is
    posting), it takes a fresh turn and posts on time for that one."""
    table = _table(aws_session, resources)
    SharedChannelPacer(table).wait_turn("C0LATE", Deadline.after(30))  # someone posted: the channel is busy
    asked: list[float] = []  # the turns it was asked to sleep until

    def starved_sleep(seconds: float) -> None:
        asked.append(time.time() + seconds)
        time.sleep(seconds + (2.0 if len(asked) == 1 else 0.0))

    turn = SharedChannelPacer(table, sleep=starved_sleep).wait_turn("C0LATE", Deadline.after(30))
    assert asked  # it had to wait for a turn
    assert turn >= asked[0] + 2.0 - LATE_SECS  # not the turn it overslept: a fresh one, after it woke
    assert time.time() - turn <= LATE_SECS
