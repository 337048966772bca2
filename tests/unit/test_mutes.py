"""Mutes as the domain reads them: subjects, durations, and which mute covers a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from run_notifier.domain.mutes import InvalidMute, Mute, duration_of, mute_for, reason_of, subject_of
from run_notifier.domain.run_summary import RunSummary

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
RUN = RunSummary("Run1", "FAILED", act_id="Act1", actor_task_id="Task1", actor_name="janedoe/web-scraper")


@pytest.mark.parametrize(("text", "secs"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("7d", 604800), (" 1h ", 3600)])
def test_durations(text, secs):
    assert duration_of(text) == timedelta(seconds=secs)


@pytest.mark.parametrize("text", ["", "2", "h", "0h", "-1h", "1.5h", "2w", "31d", "1h30m", "99999999s"])
def test_bad_durations_say_how(text):
    with pytest.raises(InvalidMute):
        duration_of(text)


def test_subjects_take_an_id_or_a_name_and_exactly_one_of_actor_and_task():
    assert subject_of(actor="janedoe/web-scraper") == "actor:janedoe~web-scraper"
    assert subject_of(task="Tk01") == "task:Tk01"
    for actor, task in [(None, None), ("A", "T"), ("../x", None), ("a b", None), ("\ud800", None)]:
        with pytest.raises(InvalidMute):
            subject_of(actor, task)


def test_a_mute_covers_the_runs_of_its_actor_by_id_or_name_and_of_its_task_while_it_lasts():
    later = (NOW + timedelta(hours=1)).isoformat()
    for subject in ("actor:Act1", "actor:janedoe~web-scraper", "task:Task1"):
        assert mute_for([Mute(subject, later)], RUN, NOW) == Mute(subject, later)
    assert mute_for([Mute("actor:Other", later)], RUN, NOW) is None
    assert mute_for([Mute("actor:Act1", (NOW - timedelta(seconds=1)).isoformat())], RUN, NOW) is None
    longest = Mute("task:Task1", (NOW + timedelta(days=2)).isoformat())
    assert mute_for([Mute("actor:Act1", later), longest], RUN, NOW) == longest


def test_a_reason_is_bounded_text():
    assert reason_of("  known outage ") == "known outage"
    for bad in ("x" * 301, "\udc00"):
        with pytest.raises(InvalidMute):
            reason_of(bad)
