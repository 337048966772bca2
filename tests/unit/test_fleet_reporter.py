"""The digest function's work with in-memory ports: a failed post loses nothing (its claims are released
and the next invocation posts), every destination once, an empty period claims and posts nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.domain.announcements import BudgetAnnouncement, DigestAnnouncement
from run_notifier.domain.claims import ExactlyOnce
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import LedgerRun
from run_notifier.domain.fleet_reporter import FleetReporter
from run_notifier.domain.ports import NotificationsIncomplete
from run_notifier.domain.report_specs import parse_report_specs

from tests.unit.fakes import FakeClaims, FakeEvents

DOC = (
    '{"routes": [], "digests": [{"name": "d", "channel": "C0", "every": "day", "at": "09:00"}],'
    ' "budgets": [{"name": "b", "monthlyUsd": 1, "channel": "C0"}]}'
)
NINE = datetime(2026, 12, 2, 9, tzinfo=UTC)


class _Ledger:
    def __init__(self, runs):
        self.runs = runs

    def runs_finished(self, start, end):
        return [r for r in self.runs if start <= r.finished_at < end]

    def read(self, start, end):
        return self.runs_finished(start, end), []


class _Reported(Rendering):
    """A destination kind that renders reports into the shared list `sent`; a kind in `down` fails."""

    def __init__(self, kind: str, sent: list[tuple[str, str]], down: set[str]) -> None:
        self.kind = kind  # type: ignore[misc]
        self._sent = sent
        self._down = down

    def _post(self, text: str) -> str:
        if self.kind in self._down:
            raise ConnectionError(f"{self.kind} is down")
        self._sent.append((self.kind, text))
        return "posted"

    @renders(DigestAnnouncement)
    def _digest(self, announcement: DigestAnnouncement, deadline) -> str:
        return self._post(f"digest {announcement.period.key} {announcement.digest.runs}")

    @renders(BudgetAnnouncement)
    def _budget(self, announcement: BudgetAnnouncement, deadline) -> str:
        return self._post(f"budget {announcement.alert.alert_id}")


class _Poster:
    def __init__(self):
        self.sent: list[tuple[str, str]] = []
        self.down: set[str] = set()

    def destinations(self, channel: str):
        return [_Reported("slack", self.sent, self.down), _Reported("eventbridge", self.sent, self.down)]


def _reporter(runs, poster, claims):
    clock = lambda: datetime.now(UTC)  # noqa: E731
    return FleetReporter(
        lambda: parse_report_specs(DOC),
        _Ledger(runs),
        ExactlyOnce(claims, FakeEvents(), clock, lease_margin_secs=60.0),
        lambda item: None,
        poster.destinations,
    )


def _runs(day: datetime, count: int, usd: float) -> list[LedgerRun]:
    return [
        LedgerRun(f"R{i}", "actor:A", "a", "SUCCEEDED", day + timedelta(hours=1 + i), 60.0, usd) for i in range(count)
    ]


def test_a_failed_post_releases_its_claims_and_the_next_invocation_posts_each_kind_once():
    poster, claims = _Poster(), FakeClaims()
    runs = _runs(datetime(2026, 12, 1, tzinfo=UTC), 3, 0.1)
    reporter = _reporter(runs, poster, claims)
    poster.down = {"eventbridge"}
    with pytest.raises(NotificationsIncomplete):
        reporter.run(NINE, Deadline.after(30))
    assert poster.sent == [("slack", "digest day:2026-12-01 3")]  # slack went out before eventbridge failed
    poster.down = set()
    outcome = reporter.run(NINE + timedelta(hours=1), Deadline.after(30))  # the next hour catches it up
    assert ("eventbridge", "digest day:2026-12-01 3") in poster.sent
    assert poster.sent.count(("slack", "digest day:2026-12-01 3")) == 1
    assert "digest#d#day:2026-12-01" in outcome.posted
    again = reporter.run(NINE + timedelta(hours=2), Deadline.after(30))
    assert "digest#d#day:2026-12-01" in again.already
    assert [s for s in poster.sent if s[1].startswith("digest")] == [
        ("slack", "digest day:2026-12-01 3"),
        ("eventbridge", "digest day:2026-12-01 3"),
    ]


def test_an_empty_period_posts_nothing_and_is_not_read_again():
    poster, claims = _Poster(), FakeClaims()
    reporter = _reporter([], poster, claims)
    first = reporter.run(NINE, Deadline.after(30))
    assert first.empty == ("digest#d#day:2026-12-01",)
    assert reporter.run(NINE + timedelta(hours=1), Deadline.after(30)).already == ("digest#d#day:2026-12-01",)
    assert poster.sent == []


def test_a_budget_crossed_in_steps_alerts_at_each_threshold_once():
    poster, claims = _Poster(), FakeClaims()
    ledger_runs = _runs(datetime(2026, 12, 1, tzinfo=UTC), 6, 0.1)  # $0.60 of $1 by 07:00 on the 1st
    reporter = _reporter(ledger_runs, poster, claims)
    reporter.run(NINE, Deadline.after(30))
    ledger_runs += _runs(datetime(2026, 12, 2, tzinfo=UTC), 5, 0.1)  # $1.10 by the 2nd
    reporter.run(NINE + timedelta(hours=1), Deadline.after(30))
    reporter.run(NINE + timedelta(hours=2), Deadline.after(30))
    budgets = [s for s in poster.sent if s[1].startswith("budget")]
    assert budgets == [
        ("slack", "budget 2026-12#50"),
        ("eventbridge", "budget 2026-12#50"),
        ("slack", "budget 2026-12#forecast"),  # $0.60 in a day and a third: on course for far more than $1
        ("eventbridge", "budget 2026-12#forecast"),
        ("slack", "budget 2026-12#100"),  # 80 % was crossed with it: marked, not sent
        ("eventbridge", "budget 2026-12#100"),
    ]
