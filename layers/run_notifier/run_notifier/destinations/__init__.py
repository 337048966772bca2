"""Where a finished run is announced: the registry of destination kinds.

A kind is a module (or a package) in this package that says its `KIND`, its settings section
(`SETTINGS`), the keys its route target accepts (`SCHEMA`), its default target (`default_target`)
and how to build itself (`build`); see `context.DestinationKind`. The registry finds kinds by
looking for `KIND` in this package's modules: it names none, and neither does the watcher.
Capabilities (`context.RunningAnnouncer`) are asked of the built destination, never of a kind by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from run_notifier.destinations.context import (
    DestinationContext,
    DestinationKind,
    RunningAnnouncer,
    Selective,
    Target,
)
from run_notifier.domain.incidents import IncidentRule, incident_key
from run_notifier.domain.ports import (
    Destination,
    IncidentAnnouncer,
    Mutes,
    ScheduleAnnouncer,
    StuckAnnouncer,
    TargetSchema,
    TransientDeliveryError,
    log,
)

if TYPE_CHECKING:
    from run_notifier.config_sections import Section
    from run_notifier.domain.deadline import Deadline
    from run_notifier.domain.missed_schedules import MissedSlot
    from run_notifier.domain.quiet_hours import QuietHours
    from run_notifier.domain.routing import Routes
    from run_notifier.domain.run_summary import RunSummary


def _discover() -> dict[str, DestinationKind]:
    """Every module or package here that declares a `KIND`, in name order."""
    found: dict[str, DestinationKind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module: ModuleType = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, str):
            if kind in found:
                raise RuntimeError(f"two destination modules declare KIND {kind!r}")
            found[kind] = cast(DestinationKind, module)
    return found


KINDS: dict[str, DestinationKind] = _discover()
#: What routing validates a routes document against.
SCHEMAS: dict[str, TargetSchema] = {kind: module.SCHEMA for kind, module in KINDS.items()}
#: Each kind's environment variables (composed into the watcher's configuration, config.py).
SECTIONS: dict[str, Section] = {kind: module.SETTINGS for kind, module in KINDS.items() if module.SETTINGS}


def may_announce_running(destinations: Mapping[str, Any]) -> bool:
    """Whether any kind's settings (`Settings.destinations`) allow announcing runs first seen running."""
    return any(
        bool(getattr(module, "may_announce_running", lambda _section: False)(destinations.get(kind)))
        for kind, module in KINDS.items()
    )


class Unusable:
    """A destination that could not be built (its secret unreadable, say): it fails transiently when sent."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self._reason = reason

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        raise TransientDeliveryError(self._reason)


def _held_in_quiet_hours(destination: Any, quiet: QuietHours) -> bool:
    """Chat always; paging only when the route's quiet hours say so."""
    return bool(getattr(destination, "chat", False) or (quiet.hold_paging and getattr(destination, "pages", False)))


class RoutedDestinations:
    """`ports.DestinationDirectory` and `ports.LiveAnnouncer`: the routes pick a target per kind,
    the kind builds the destination, and capabilities are asked of what was built."""

    def __init__(self, routes: Callable[[], Routes], context: DestinationContext, mutes: Mutes | None = None) -> None:
        self._routes = routes
        self._context = context
        self._mutes = mutes
        self._defaults: dict[str, Target | None] = {
            kind: module.default_target(context.section(kind)) for kind, module in KINDS.items()
        }

    def _targets(self, summary: RunSummary) -> list[tuple[str, Target]]:
        chosen = []
        for kind, choice in self._routes().targets_for(summary).items():
            target = self._defaults[kind] if choice is True else (choice or None)
            if target is not None:
                chosen.append((kind, target))
        return chosen

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """Every routed destination that can announce a running run does; one failing does not stop the rest."""
        for kind, target in self._targets(summary):
            try:
                destination = KINDS[kind].build(target, self._context)
                if isinstance(destination, RunningAnnouncer):
                    destination.announce_running(summary, deadline)
            except Exception as error:  # a courtesy: the final alert never depends on it
                log.warning(
                    "No running announcement",
                    extra={"destination": kind, "reason": f"{type(error).__name__}: {error}"[:300]},
                )

    def incident_for(self, summary: RunSummary) -> tuple[str, int, IncidentRule] | None:
        """(key, route index, rule) when the run's route is in incident mode (domain/incidents.py)."""
        found = self._routes().route_for(summary)
        rule = found[1].incident if found is not None else None
        if found is None or rule is None:
            return None
        return incident_key(found[0], summary.act_id, summary.actor_task_id), found[0], rule

    def incident_announcers_for(self, summary: RunSummary) -> list[IncidentAnnouncer]:
        """The run's routed destinations that announce incidents (a capability of what was built); no
        chat while a mute covers the run's Actor or task."""
        return [d for d in self._unmuted(summary) if isinstance(d, IncidentAnnouncer)]

    def stuck_announcers_for(self, summary: RunSummary) -> list[StuckAnnouncer]:
        """The running run's routed destinations that say it is stuck (no chat while a mute covers it;
        none held by quiet hours)."""
        return [d for d in self._unmuted(summary) if isinstance(d, StuckAnnouncer)]

    def schedule_announcers_for(self, missed: MissedSlot) -> list[ScheduleAnnouncer]:
        """Where a schedule's missed slot is said: routed as a FAILED run of its first Actor or task
        (destinations/schedule_facts.py); no chat while a mute covers it, none held by quiet hours."""
        from run_notifier.destinations.schedule_facts import schedule_announcers, stand_in

        return schedule_announcers(list(self._unmuted(stand_in(missed))))

    def destinations_for(self, summary: RunSummary) -> list[Destination]:
        """The run's own alerts: on a route in incident mode not those that announce incidents instead
        (chat, paging); and only where the destination takes the run (`Selective`)."""
        in_incident_mode = self.incident_for(summary) is not None
        return [
            d
            for d in self._unmuted(summary)
            if not (in_incident_mode and isinstance(d, IncidentAnnouncer) and d.instead_of_runs)
            and not (isinstance(d, Selective) and not d.accepts(summary))
        ]

    def _unmuted(self, summary: RunSummary) -> list[Destination]:
        """What was built, without chat (Slack, Teams, Discord) while a mute covers the run."""
        built = self._built(summary)
        if self._mutes is None or self._mutes.muted(summary) is None:
            return built
        return [d for d in built if not getattr(d, "chat", False)]

    def _built(self, summary: RunSummary) -> list[Destination]:
        chosen: list[Destination] = []
        found = self._routes().route_for(summary)
        quiet = found[1].quiet if found is not None else None
        for kind, target in self._targets(summary):
            try:
                built = KINDS[kind].build(target, self._context)
                if quiet is not None and found is not None and _held_in_quiet_hours(built, quiet):
                    from run_notifier.destinations.quiet_hold import QuietlyHeld

                    built = QuietlyHeld(built, quiet, found[0], self._context.table, self._context.clock)
                chosen.append(built)
            except Exception as error:
                reason = f"{kind} destination not usable: {error}"
                log.error("Destination not usable", extra={"destination": kind, "reason": reason})
                chosen.append(Unusable(kind, reason))
        return chosen
