"""The hourly digest function's work: each digest that is due posts once for its period, each budget
alert once a month. Ports only; the clock is the scheduled event's `time`.

Once, whatever the retries: a digest's period and a budget's alert each have an item in the runs
table (`digest#<name>#<period>`, `budget#<name>#<month>#<alert>`) whose Slack and EventBridge
deliveries are claimed as a run's are (leased; a crash leaves a claim that lapses and the next
invocation, or the scheduler's retry of this one, takes it). A digest with no runs in its period
posts nothing and claims nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple, Protocol

from run_notifier.domain.announcements import BudgetAnnouncement, DigestAnnouncement, budget_item, digest_item
from run_notifier.domain.budgets import budget_alerts, claim_only, month_of
from run_notifier.domain.claims import Ended, ExactlyOnce, Taken
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import LedgerMark, LedgerRun, build_digest
from run_notifier.domain.digest_schedule import due_period
from run_notifier.domain.incidents import incident_key
from run_notifier.domain.ports import Destination, NotificationsIncomplete
from run_notifier.domain.report_specs import ReportSpecs, matches

#: How long a delivery's claim is held: longer than the function's own timeout.
LEASE_SECS = 120.0


class LedgerReader(Protocol):
    """The runs table by finish day (adapters/ledger_by_day.py)."""

    def runs_finished(self, start: datetime, end: datetime) -> Iterable[LedgerRun]:
        """The runs that finished in [start, end)."""
        ...

    def read(self, start: datetime, end: datetime) -> tuple[list[LedgerRun], list[LedgerMark]]:
        """The runs and the marks (incidents opened, alerts muted or held) of [start, end)."""
        ...


class OpenIncidents(Protocol):
    """Which incidents are open now."""

    def open_among(self, keys: list[str]) -> set[str]:
        """Which of these incident keys (domain/incidents.py `incident_key`) hold an open incident now."""
        ...


#: The destinations that post a report in a channel (destinations.report_destinations).
ReportDestinations = Callable[[str], list[Destination]]


class ReportOutcome(NamedTuple):
    """What one invocation did."""

    #: Item keys delivered now (to every destination not delivered before).
    posted: tuple[str, ...]
    #: Due, but with no runs in the period (nothing posted).
    empty: tuple[str, ...]
    #: Item keys another delivery holds or already made.
    already: tuple[str, ...]


class FleetReporter:
    """Each due digest and budget alert, claimed per destination before anything is read, posted once."""

    def __init__(
        self,
        reports: Callable[[], ReportSpecs],
        ledger: LedgerReader,
        exactly_once: ExactlyOnce,
        prepare: Callable[[str], None],
        destinations: ReportDestinations,
        incidents: OpenIncidents | None = None,
    ) -> None:
        """``prepare(item)``: make the item a claim can be taken on (its `generation` is its key)."""
        self._reports = reports
        self._ledger = ledger
        self._exactly_once = exactly_once
        self._prepare = prepare
        self._destinations = destinations
        self._incidents = incidents

    def run(self, scheduled_for: datetime, deadline: Deadline) -> ReportOutcome:
        """Every digest due at ``scheduled_for`` and every budget alert of its month, each once.

        Raises NotificationsIncomplete when a post failed: its claim (and every one not yet used) is
        released, and a later invocation (the scheduler's retry, the next hour) posts it."""
        posted: list[str] = []
        empty: list[str] = []
        already: list[str] = []
        reports = self._reports()
        for spec in reports.digests:
            period = due_period(spec.every, spec.at, spec.timezone, scheduled_for)
            item = digest_item(spec.name, period.key)
            taken = self._take(item, self._destinations(spec.channel), DigestAnnouncement)
            if not taken:
                already.append(item)  # posted (or being posted) by an earlier invocation
                continue
            read, marks = self._ledger.read(period.previous_start, period.end)
            runs = [r for r in read if matches(spec.match, r)]
            current = [r for r in runs if r.finished_at >= period.start]
            previous = [r for r in runs if r.finished_at < period.start]
            still_open = self._still_open(current, reports.incident_routes)
            digest = build_digest(current, previous, period.start, period.end, marks, still_open)
            if digest is None:
                for _, claim in taken:
                    claim.sent("no runs: nothing posted")
                empty.append(item)
                continue
            self._deliver(DigestAnnouncement(spec, period, digest), taken, deadline)
            posted.append(item)
        for budget in reports.budgets:
            month = month_of(scheduled_for, budget.timezone)
            spent = sum(
                r.usd
                for r in self._ledger.runs_finished(month.start, scheduled_for)
                if r.usd is not None and matches(budget.match, r)
            )
            destinations = self._destinations(budget.channel)
            to_send, to_mark = claim_only(budget_alerts(spent, budget.monthly_usd, month, scheduled_for))
            for alert in to_mark:  # crossed together with a higher one: fired with it, not sent
                for _, claim in self._take(budget_item(budget.name, alert.alert_id), destinations, BudgetAnnouncement):
                    claim.sent("a higher threshold was sent")
            for alert in to_send:
                item = budget_item(budget.name, alert.alert_id)
                taken = self._take(item, destinations, BudgetAnnouncement)
                if not taken:
                    already.append(item)
                    continue
                self._deliver(BudgetAnnouncement(budget, alert), taken, deadline)
                posted.append(item)
        return ReportOutcome(tuple(posted), tuple(empty), tuple(already))

    def _still_open(self, runs: list[LedgerRun], routes: tuple[int, ...]) -> dict[str, int]:
        """Per line key, the incidents open now on the routes in incident mode (one read per key and route)."""
        if self._incidents is None or not routes:
            return {}
        subjects = {run.key: (run.act_id, run.task_id) for run in runs}
        asked = {
            incident_key(route, act_id, task_id): key for key, (act_id, task_id) in subjects.items() for route in routes
        }
        found = Counter(asked[open_key] for open_key in self._incidents.open_among(sorted(asked)))
        return dict(found)

    def _take(
        self, item: str, destinations: list[Destination], kind: type[DigestAnnouncement | BudgetAnnouncement]
    ) -> list[tuple[Destination, Taken]]:
        """The destinations of ``item`` this invocation may deliver to, each claimed under its kind."""
        chosen = [d for d in destinations if d.renders(kind)]
        if not chosen:
            return []
        self._prepare(item)
        taken = []
        for destination in chosen:
            claim = self._exactly_once.take(item, destination.kind, item, LEASE_SECS)
            if isinstance(claim, Taken):
                taken.append((destination, claim))
        return taken

    def _deliver(
        self,
        announcement: DigestAnnouncement | BudgetAnnouncement,
        taken: list[tuple[Destination, Taken]],
        deadline: Deadline,
    ) -> None:
        """Each claimed destination sent and closed; a send that is not done releases every claim not yet
        used and raises: the invocation fails, and a later one takes them again."""
        for index, (destination, claim) in enumerate(taken):
            for _, send in destination.deliveries(announcement):
                outcome = self._exactly_once.send(claim, send, deadline)
                if outcome.ended is Ended.NOT_DONE:
                    for _, left in taken[index + 1 :]:
                        left.release(outcome.detail[:300])
                    raise NotificationsIncomplete(f"{announcement.item}: {claim.kind} not posted: {outcome.detail}")
