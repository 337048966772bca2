"""The hourly digest function's work: each digest that is due posts once for its period, each budget
alert once a month. Ports only; the clock is the scheduled event's `time`.

Once, whatever the retries: a digest's period and a budget's alert each have an item in the runs
table (`digest#<name>#<period>`, `budget#<name>#<month>#<alert>`) whose Slack and EventBridge
deliveries are claimed as a run's are (leased; a crash leaves a claim that lapses and the next
invocation, or the scheduler's retry of this one, takes it). A digest with no runs in its period
posts nothing and claims nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple, Protocol

from run_notifier.domain.budgets import BudgetAlert, budget_alerts, claim_only, month_of
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import Digest, LedgerMark, LedgerRun, build_digest
from run_notifier.domain.digest_schedule import Period, due_period
from run_notifier.domain.fleet_reports import BudgetSpec, DigestSpec, FleetReports, matches
from run_notifier.domain.incidents import incident_key
from run_notifier.domain.ports import ClaimResult, NotificationClaims

#: How long a delivery's claim is held: longer than the function's own timeout.
LEASE_SECS = 120.0
KINDS = ("slack", "eventbridge")


class LedgerReader(Protocol):
    def runs_finished(self, start: datetime, end: datetime) -> Iterable[LedgerRun]: ...

    def read(self, start: datetime, end: datetime) -> tuple[list[LedgerRun], list[LedgerMark]]:
        """The runs and the marks (incidents opened, alerts muted or held) of [start, end)."""
        ...


class OpenIncidents(Protocol):
    def open_among(self, keys: list[str]) -> set[str]:
        """Which of these incident keys (domain/incidents.py `incident_key`) hold an open incident now."""
        ...


class ReportPoster(Protocol):
    """Slack (``kind`` "slack") and EventBridge ("eventbridge") for digests and budget alerts."""

    def kinds(self) -> tuple[str, ...]: ...

    def post_digest(self, kind: str, spec: DigestSpec, period: Period, digest: Digest, deadline: Deadline) -> None: ...

    def post_budget(self, kind: str, spec: BudgetSpec, alert: BudgetAlert, deadline: Deadline) -> None: ...


class ReportOutcome(NamedTuple):
    #: Item keys delivered now (to every kind not delivered before).
    posted: tuple[str, ...]
    #: Due, but with no runs in the period (nothing posted).
    empty: tuple[str, ...]
    #: Item keys another delivery holds or already made.
    already: tuple[str, ...]


class FleetReporter:
    def __init__(
        self,
        reports: Callable[[], FleetReports],
        ledger: LedgerReader,
        claims: NotificationClaims,
        prepare: Callable[[str], None],
        poster: ReportPoster,
        clock: Callable[[], datetime],
        incidents: OpenIncidents | None = None,
    ) -> None:
        """``prepare(item)``: make the item a claim can be taken on (its `generation` is its key);
        ``clock``: the wall clock, for the claims' leases (the scheduled time decides only what is due)."""
        self._clock = clock
        self._reports = reports
        self._ledger = ledger
        self._claims = claims
        self._prepare = prepare
        self._poster = poster
        self._incidents = incidents

    def run(self, scheduled_for: datetime, deadline: Deadline) -> ReportOutcome:
        posted: list[str] = []
        empty: list[str] = []
        already: list[str] = []
        reports = self._reports()
        for spec in reports.digests:
            period = due_period(spec.every, spec.at, spec.timezone, scheduled_for)
            item = f"digest#{spec.name}#{period.key}"
            taken = self._take(item)
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
                self._deliver(item, taken, lambda kind: None, detail="no runs: nothing posted")
                empty.append(item)
                continue
            self._deliver(item, taken, self._digest_sender(spec, period, digest, deadline))
            posted.append(item)
        for budget in reports.budgets:
            month = month_of(scheduled_for, budget.timezone)
            spent = sum(
                r.usd
                for r in self._ledger.runs_finished(month.start, scheduled_for)
                if r.usd is not None and matches(budget.match, r)
            )
            to_send, to_mark = claim_only(budget_alerts(spent, budget.monthly_usd, month, scheduled_for))
            for alert in to_mark:  # crossed together with a higher one: fired with it, not sent
                item = f"budget#{budget.name}#{alert.alert_id}"
                self._deliver(item, self._take(item), lambda kind: None, detail="a higher threshold was sent")
            for alert in to_send:
                item = f"budget#{budget.name}#{alert.alert_id}"
                taken = self._take(item)
                if not taken:
                    already.append(item)
                    continue
                self._deliver(item, taken, self._budget_sender(budget, alert, deadline))
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

    def _digest_sender(
        self, spec: DigestSpec, period: Period, digest: Digest, deadline: Deadline
    ) -> Callable[[str], None]:
        return lambda kind: self._poster.post_digest(kind, spec, period, digest, deadline)

    def _budget_sender(self, budget: BudgetSpec, alert: BudgetAlert, deadline: Deadline) -> Callable[[str], None]:
        return lambda kind: self._poster.post_budget(kind, budget, alert, deadline)

    def _take(self, item: str) -> list[tuple[str, str]]:
        """The kinds of ``item`` this invocation may deliver, each claimed under its own owner name."""
        self._prepare(item)
        now = self._clock()
        taken = []
        for kind in self._poster.kinds():
            owner = uuid.uuid4().hex  # this delivery's name on the claim
            claim = self._claims.claim(item, kind, item, owner=owner, now=now, lease_secs=LEASE_SECS)
            if claim.result is ClaimResult.CLAIMED:
                taken.append((kind, owner))
        return taken

    def _deliver(
        self, item: str, taken: list[tuple[str, str]], send: Callable[[str], None], detail: str = "posted"
    ) -> None:
        """Each claimed kind sent and marked; a failed send releases its claim (and every claim not yet
        used) and raises: the invocation fails, and a later one (the scheduler's retry, the next hour)
        takes them again."""
        for index, (kind, owner) in enumerate(taken):
            try:
                send(kind)
            except Exception as error:
                for left, left_owner in taken[index:]:
                    self._claims.release(item, left, item, owner=left_owner, now=self._clock(), error=str(error)[:300])
                raise
            self._claims.mark_sent(item, kind, item, owner=owner, now=self._clock(), detail=detail)
