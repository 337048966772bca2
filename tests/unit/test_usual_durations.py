"""The history that times a pushed run's safety net: read once per key per container, failures are no
history, anomalous durations left out; and the run's own timeout from Apify's Run object."""

from __future__ import annotations

from botocore.exceptions import EndpointConnectionError
from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.adapters.usual_durations import TTL_SECS, CachedUsualDurations
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.health import Measured, PastRun
from run_notifier.domain.run_summary import RunSummary


class _History:
    def __init__(self, *past: PastRun, fail: bool = False) -> None:
        self.past, self.fail, self.asked = list(past), fail, []

    def past_runs(self, key, exclude_run_id, deadline):
        self.asked.append(key)
        if self.fail:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        return self.past

    def stored(self, run_id, generation):
        return None


def _past(secs: float | None, **flags: str) -> PastRun:
    return PastRun(Measured(100, secs, 0.1), flags)


def test_one_read_per_key_until_the_cache_expires():
    clock = [0.0]
    history = _History(_past(600.0), _past(610.0), _past(None), _past(9000.0, duration="high"))
    usual = CachedUsualDurations(history, clock=lambda: clock[0])
    run = RunSummary("RunA", "RUNNING", act_id="Act1", actor_task_id="Task1")
    assert usual.durations(run, Deadline.after(5)) == (600.0, 610.0)  # no duration, anomalous: left out
    assert usual.durations(run._replace(run_id="RunB"), Deadline.after(5)) == (600.0, 610.0)
    assert history.asked == ["task:Task1"]
    clock[0] = TTL_SECS + 1
    usual.durations(run, Deadline.after(5))
    assert history.asked == ["task:Task1", "task:Task1"]


def test_a_failed_read_is_no_history_and_is_tried_again_next_time():
    history = _History(fail=True)
    usual = CachedUsualDurations(history)
    run = RunSummary("RunA", "RUNNING", act_id="Act1")
    assert usual.durations(run, Deadline.after(5)) == ()
    assert usual.durations(run, Deadline.after(5)) == ()
    assert history.asked == ["actor:Act1", "actor:Act1"]
    assert CachedUsualDurations(history).durations(RunSummary("RunC", "RUNNING"), Deadline.after(5)) == ()


def test_the_runs_timeout_comes_from_its_options_and_zero_means_none():
    base = {"id": "RunT", "status": "RUNNING"}
    assert summary_from_run({**base, "options": {"timeoutSecs": 3600}}).timeout_secs == 3600.0
    assert summary_from_run({**base, "options": {"timeoutSecs": 0}}).timeout_secs is None
    assert summary_from_run({**base, "options": {"timeoutSecs": "soon"}}).timeout_secs is None
    assert summary_from_run({**base, "options": None}).timeout_secs is None
