"""After a run of a route in incident mode is announced: move its incident, announce what the
incident has to say (opened, resolved), then the run's own part in it (Slack: a thread reply and
an update of the top message), each exactly once per destination.

Zero lost transitions: the store writes a transition's event into the incident's item in the
same conditional write that makes the transition, as pending; it leaves only when every
destination is done with it. Whoever next processes a run of that incident (the same message
redelivered, or a later run) finds it pending and announces it; the claims on the incident's
item (`IncidentAnnouncement`) make a repeat cost nothing. A run's own part is claimed on the
run's item: a redelivery learns the part from the incident (`part_of`), so it is never lost with
the delivery that made the transition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from run_notifier.domain.announcements import IncidentAnnouncement, IncidentPartAnnouncement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.events import Events, IncidentAnnounced, IncidentStepped
from run_notifier.domain.incidents import FinishedRun, IncidentEvent, IncidentRule, RunInIncident, Transition
from run_notifier.domain.notifier import Announcer
from run_notifier.domain.run_summary import RunSummary

#: (incident key, route index, rule) when the run's route is in incident mode; None: it is not.
IncidentFor = Callable[[RunSummary], "tuple[str, int, IncidentRule] | None"]


class IncidentStore(Protocol):
    """Where incidents live: one per route and key, moved by compare-and-set, with their pending transitions."""

    def apply(
        self, key: str, run: FinishedRun, rule: IncidentRule, *, route_index: int, summary: RunSummary
    ) -> tuple[Transition, RunInIncident | None, list[IncidentEvent]]:
        """Apply the run to the incident (compare-and-set): the transition it made (NONE for a repeat),
        the run's part in an incident (a repeat learns it too), and every event still pending."""
        ...

    def prepare(self, event: IncidentEvent) -> None:
        """The item the event's claims live on (keyed by its ID), so that they can be taken."""
        ...

    def done(self, key: str, event_id: str) -> None:
        """Every destination is done with this event: it is no longer pending."""
        ...


class IncidentFlow:
    """Moves a run's incident and announces what it has to say, each transition exactly once."""

    def __init__(self, store: IncidentStore, incident_for: IncidentFor, announcer: Announcer, events: Events) -> None:
        self._store = store
        self._incident_for = incident_for
        self._announcer = announcer
        self._events = events

    def after_announced(self, summary: RunSummary, deadline: Deadline) -> None:
        """Raises NotificationsIncomplete (the record comes back) while an event is not announced everywhere."""
        found = self._incident_for(summary)
        if found is None or not summary.finished_at:
            return
        key, route_index, rule = found
        # A run that SUCCEEDED wrongly (health WARN) counts as failing where the route's `on` says WARN.
        warned = summary.status == "SUCCEEDED" and summary.health_verdict == "WARN" and "WARN" in rule.on
        run = FinishedRun(summary.run_id, "WARN" if warned else summary.status, summary.finished_at)
        transition, part, pending = self._store.apply(key, run, rule, route_index=route_index, summary=summary)
        if transition is not Transition.NONE:
            self._events.emit(IncidentStepped(key, summary.run_id, transition.value))
        for event in pending:
            self._store.prepare(event)
            report = self._announcer.announce(IncidentAnnouncement(event, summary), deadline)
            self._store.done(key, event.event_id)
            self._events.emit(IncidentAnnounced(event.event_id, event.kind.value, tuple(report.sent)))
        if part is not None:
            self._announcer.announce(IncidentPartAnnouncement(summary, part), deadline)
