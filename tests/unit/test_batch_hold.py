"""The heartbeat that keeps an invocation's records invisible only while it lives."""

from __future__ import annotations

import threading

from run_notifier.adapters.batch_hold import BatchHold


class Extensions:
    """Records each renewal; `wait_for` polls with a deadline instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int]] = []
        self._changed = threading.Condition()

    def __call__(self, handles: list[str], seconds: int) -> None:
        with self._changed:
            self.calls.append((sorted(handles), seconds))
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.calls), timeout)


def test_records_are_renewed_while_the_invocation_lives_and_an_ended_one_no_more():
    extensions = Extensions()
    held = BatchHold(extensions, ["a", "b"], remaining_secs=60, step_secs=0.3, margin_secs=5).start()
    try:
        assert extensions.calls[0] == (["a", "b"], 1)  # the first hold is made before start() returns
        assert extensions.wait_for(lambda calls: len(calls) >= 3)
        held.release("a")
        assert extensions.wait_for(lambda calls: calls[-1][0] == ["b"])
        held.release("b")
        renewals = len(extensions.calls)
        assert held.outstanding() == []
    finally:
        held.close()
    assert not any(t.name == "batch-hold" and t.is_alive() for t in threading.enumerate())
    assert all(handles for handles, _ in extensions.calls[renewals:])  # nothing renewed once all ended


def test_no_renewal_reaches_past_the_deadline_plus_the_margin():
    now = [1000.0]
    extensions = Extensions()
    held = BatchHold(extensions, ["a"], remaining_secs=2.0, step_secs=12, margin_secs=5, clock=lambda: now[0])
    held.start()
    held.close()
    assert extensions.calls == [(["a"], 7)]
    now[0] += 6.5
    assert held._visibility() == 1  # at least a second, even half a second before the end


def test_close_does_not_wait_out_a_renewal_in_flight():
    """SqsRedelivery's extend is bounded by its client's timeouts; the handler's return must not be."""
    in_flight, let_go = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_extend(handles: list[str], seconds: int) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            in_flight.set()
            let_go.wait(5)

    held = BatchHold(slow_extend, ["a"], remaining_secs=60, step_secs=0.15, margin_secs=5).start()
    assert in_flight.wait(5)
    held.close(wait_secs=0.05)
    assert held._thread is not None
    assert held._thread.is_alive()
    let_go.set()
    held._thread.join(5)
    assert len(calls) == 2  # and the thread stopped after it, without another renewal
