"""What is announced: one typed value per kind of alert, each through the same claim → render → send → close.

Every announcement says three things the delivery path needs and nothing more:

- ``item`` and ``generation``: where its exactly-once claims live (a run's item under its finish's
  generation; an incident transition's, a stuck alert's, a missed slot's or a report's own item);
- ``subject``: the run that routes and mutes judge it as (the run itself; for a missed slot, a
  FAILED stand-in of its schedule's first Actor; None for reports, which name their own channel);
- the facts to render, as typed fields.

Which destinations render which announcement is theirs to declare (destinations/rendering.py);
quiet hours hold only the announcement types that say ``held_in_quiet_hours``. A new alert kind is
one class here (or in a test) and a renderer in each destination kind that wants it: the notifier,
the ports and the wiring do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from run_notifier.domain.budgets import BudgetAlert
    from run_notifier.domain.digest import Digest
    from run_notifier.domain.digest_schedule import Period
    from run_notifier.domain.health import StuckAlert
    from run_notifier.domain.incidents import IncidentEvent, RunInIncident
    from run_notifier.domain.missed_schedules import MissedSlot
    from run_notifier.domain.report_specs import BudgetSpec, DigestSpec
    from run_notifier.domain.run_summary import RunSummary


class Announcement:
    """Base of every announcement: its claims' item and generation, its routing subject, a label for logs."""

    #: Quiet hours hold this announcement in chat (and in paging where the route says so) until the window ends;
    #: a held type also says when it happened (``at``) and its line in the window's summary (``line``).
    held_in_quiet_hours: ClassVar[bool] = False
    #: On a route in incident mode, destinations that announce incidents instead of runs say nothing of it.
    told_by_incidents: ClassVar[bool] = False
    #: Days its own item is kept, made before its claims; 0: its item is made elsewhere (a run's by the
    #: ledger, an incident event's by the incident store, a quiet window's by quiet hours).
    own_item_days: ClassVar[int] = 0

    @property
    def item(self) -> str:
        """The item its claims live on (a key no run ID can take, unless it is the run's own)."""
        raise NotImplementedError

    @property
    def generation(self) -> str:
        """The generation its claims are taken under: a later finish of the same run claims anew."""
        return self.item

    @property
    def subject(self) -> RunSummary | None:
        """The run that routes and mutes judge it as; None: not routed (it names its own channel)."""
        return None

    @property
    def label(self) -> str:
        """What it is, for logs and events (``run X``, ``incident Y``)."""
        return self.item


@dataclass(frozen=True)
class OnTheRunsItem(Announcement):
    """An announcement claimed on its run's own item under the finish's generation, held by quiet hours
    as the run's finish is (a run's end, a run's part in its incident)."""

    held_in_quiet_hours: ClassVar[bool] = True
    run: RunSummary

    @property
    def item(self) -> str:
        """The run's own item."""
        return self.run.run_id

    @property
    def generation(self) -> str:
        """The finish's generation: a later finish of the run claims anew."""
        return self.run.generation

    @property
    def subject(self) -> RunSummary:
        """The run itself."""
        return self.run

    @property
    def at(self) -> str | None:
        """When the run finished."""
        return self.run.finished_at

    @property
    def line(self) -> str:
        """Its line in a quiet-hours summary."""
        return run_line(self.run)


@dataclass(frozen=True)
class RunEndAnnouncement(OnTheRunsItem):
    """A run reached a terminal status (or its watch ended): the run's own alert."""

    told_by_incidents: ClassVar[bool] = True

    @property
    def label(self) -> str:
        """`run <id>`."""
        return f"run {self.run.run_id}"


def stuck_item(run_id: str) -> str:
    """The item a run's "still running" alert is claimed on (a key no run ID can take)."""
    return f"stuck#{run_id}"


@dataclass(frozen=True)
class StuckRunAnnouncement(Announcement):
    """A run still going past its limit. Claimed on its own item, never on the run's, whose generation
    its finish may be writing at the same moment. Not held by quiet hours: it asks someone to look now."""

    own_item_days: ClassVar[int] = 30
    run: RunSummary
    alert: StuckAlert

    @property
    def item(self) -> str:
        """`stuck#<runId>`."""
        return stuck_item(self.run.run_id)

    @property
    def subject(self) -> RunSummary:
        """The run still going."""
        return self.run

    @property
    def label(self) -> str:
        """`run <id> still running`."""
        return f"run {self.run.run_id} still running"


@dataclass(frozen=True)
class MissedScheduleAnnouncement(Announcement):
    """A schedule's slot passed without a run; routed as a FAILED run of its first Actor or task
    (``stand_in``), claimed on the slot's own item so the sweep's repeats say nothing twice."""

    own_item_days: ClassVar[int] = 30
    missed: MissedSlot
    stand_in: RunSummary

    @property
    def item(self) -> str:
        """The slot's own item (one per schedule and slot)."""
        return self.missed.item

    @property
    def subject(self) -> RunSummary:
        """A FAILED run of the schedule's first Actor or task (`missed_schedules.stand_in`)."""
        return self.stand_in

    @property
    def label(self) -> str:
        """`schedule <id> missed`."""
        return f"schedule {self.missed.schedule_id} missed"


@dataclass(frozen=True)
class IncidentAnnouncement(Announcement):
    """An incident opened or resolved (``event.kind``), routed as the run that made it move; claimed on
    the transition's own item (``event.event_id``)."""

    held_in_quiet_hours: ClassVar[bool] = True
    event: IncidentEvent
    run: RunSummary

    @property
    def item(self) -> str:
        """The transition's own item (`<incidentId>#opened` / `#resolved`)."""
        return self.event.event_id

    @property
    def at(self) -> str | None:
        """When the incident moved."""
        return self.event.at

    @property
    def line(self) -> str:
        """Its line in a quiet-hours summary."""
        actor = self.event.actor_name or self.event.act_id or "unknown Actor"
        if self.event.kind.value == "resolved":
            return f"{self.event.at} Recovered: {actor} after {self.event.failures} failed run(s)"
        return f"{self.event.at} Failing: {actor} ({self.event.failures} failed run(s) since {self.event.opened_at})"

    @property
    def subject(self) -> RunSummary:
        """The run that made the incident move."""
        return self.run

    @property
    def label(self) -> str:
        """`incident <transition id>`."""
        return f"incident {self.event.event_id}"


@dataclass(frozen=True)
class IncidentPartAnnouncement(OnTheRunsItem):
    """A run's own part in its open incident (Slack: a thread reply and an update of the top message),
    claimed on the run's item under each send's own claim kind, as the run's alerts are."""

    part: RunInIncident

    @property
    def label(self) -> str:
        """`run <id> in <incident>`."""
        return f"run {self.run.run_id} in {self.part.incident_id}"


@dataclass(frozen=True)
class HeldSummaryAnnouncement(Announcement):
    """What quiet hours held, in one message at the window's end; claimed on the window's item."""

    window_item: str
    title: str
    lines: tuple[str, ...]

    @property
    def item(self) -> str:
        """The quiet window's item."""
        return self.window_item


@dataclass(frozen=True)
class DigestAnnouncement(Announcement):
    """A digest's period, claimed once per digest and period (``digest#<name>#<period>``)."""

    own_item_days: ClassVar[int] = 62
    spec: DigestSpec
    period: Period
    digest: Digest

    @property
    def item(self) -> str:
        """`digest#<name>#<period>`."""
        return digest_item(self.spec.name, self.period.key)


@dataclass(frozen=True)
class BudgetAnnouncement(Announcement):
    """A budget threshold crossed (or forecast), claimed once per budget and alert (``budget#<name>#<id>``)."""

    own_item_days: ClassVar[int] = 62
    spec: BudgetSpec
    alert: BudgetAlert

    @property
    def item(self) -> str:
        """`budget#<name>#<alert>`."""
        return budget_item(self.spec.name, self.alert.alert_id)


def digest_item(name: str, period_key: str) -> str:
    """A digest's claims' item for one period."""
    return f"digest#{name}#{period_key}"


def budget_item(name: str, alert_id: str) -> str:
    """A budget alert's claims' item."""
    return f"budget#{name}#{alert_id}"


def run_line(run: RunSummary) -> str:
    """A run's line in a list of alerts (a quiet-hours summary)."""
    actor = run.actor_name or run.act_id or "unknown Actor"
    return f"{run.finished_at or ''} {run.status}: {actor} run {run.run_id}".strip()
