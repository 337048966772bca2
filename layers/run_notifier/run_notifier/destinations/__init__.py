"""Where announcements are made: the registry of destination kinds, and where each announcement goes.

A kind is a module (or a package) in this package that says its `KIND`, its settings section
(`SETTINGS`), the keys its route target accepts (`SCHEMA`), its default target (`default_target`)
and how to build itself (`build`: a `rendering.Rendering` class with its traits, limits and
renderers); see `context.DestinationKind`. The registry finds kinds by looking for `KIND` in this
package's modules: it names none, and neither does anything outside this package.
`RoutedDestinations.destinations_for` reads an announcement's route once and keeps the destinations
that render it, as their traits, mutes and quiet hours say; `report_destinations` finds the kinds
that post digests and budget alerts.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from run_notifier.destinations.context import DestinationContext, DestinationKind, RunningAnnouncer, Target
from run_notifier.domain.announcements import Announcement, RunEndAnnouncement
from run_notifier.domain.incidents import IncidentRule, incident_key
from run_notifier.domain.ports import (
    Destination,
    Limits,
    Mutes,
    Send,
    TargetSchema,
    Traits,
    TransientDeliveryError,
    log,
)

if TYPE_CHECKING:
    from run_notifier.config_sections import Section
    from run_notifier.domain.claims import ExactlyOnce
    from run_notifier.domain.deadline import Deadline
    from run_notifier.domain.quiet_hours import QuietHours
    from run_notifier.domain.routing import Choice, Route, Routes
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
#: The sections of the kinds that can post a digest or budget alert (their module's `report_target`).
REPORT_SECTIONS: dict[str, Section] = {
    kind: module.SETTINGS for kind, module in KINDS.items() if module.SETTINGS and hasattr(module, "report_target")
}


def may_announce_running(destinations: Mapping[str, Any]) -> bool:
    """Whether any kind's settings (`Settings.destinations`) allow announcing runs first seen running."""
    return any(
        bool(getattr(module, "may_announce_running", lambda _section: False)(destinations.get(kind)))
        for kind, module in KINDS.items()
    )


class Unusable:
    """A destination that could not be built (its secret unreadable, say): a run's end fails transiently
    (retried until it can be built); it says nothing of other announcements, as it cannot know which its
    kind renders."""

    traits = Traits()
    limits = Limits()

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self._reason = reason

    def renders(self, announcement_type: type[Announcement]) -> bool:
        """Only a run's end: the alert every kind renders."""
        return announcement_type is RunEndAnnouncement

    def deliveries(self, announcement: Announcement) -> list[Send]:
        """A send that fails transiently, for a run's end."""
        return [(self.kind, self._fail)] if isinstance(announcement, RunEndAnnouncement) else []

    def _fail(self, deadline: Deadline) -> str:
        raise TransientDeliveryError(self._reason)


class RoutedDestinations:
    """`ports.DestinationDirectory` and `ports.LiveAnnouncer`: the route picks a target per kind, the kind
    builds the destination, mutes and quiet hours hold what their traits say, and each destination says
    which announcements it renders."""

    def __init__(
        self,
        routes: Callable[[], Routes],
        context: DestinationContext,
        exactly_once: ExactlyOnce,
        mutes: Mutes | None = None,
    ) -> None:
        self._routes = routes
        self._context = context
        self._exactly_once = exactly_once
        self._mutes = mutes
        self._defaults: dict[str, Target | None] = {
            kind: module.default_target(context.section(kind)) for kind, module in KINDS.items()
        }

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """Every routed destination that can announce a running run does; one failing does not stop the rest."""
        routes = self._routes()
        for kind, target in self._targets(routes, routes.route_for(summary)):
            try:
                destination = KINDS[kind].build(target, self._context)
                if isinstance(destination, RunningAnnouncer):
                    destination.announce_running(summary, deadline)
            except Exception as error:  # a courtesy: the final alert never depends on it
                log.info(
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

    def destinations_for(self, announcement: Announcement) -> list[Destination]:
        """Where the announcement goes: its subject's route read once; each destination built, held in quiet
        hours where its traits say, without chat while a mute covers the subject, and only those that
        render it (on a route in incident mode, a run's end not to those that announce incidents instead)."""
        subject = announcement.subject
        if subject is None:
            return []  # not routed: a report names its own destinations (`report_destinations`)
        routes = self._routes()
        found = routes.route_for(subject)
        muted = self._mutes is not None and self._mutes.muted(subject) is not None
        in_incident_mode = found is not None and found[1].incident is not None
        chosen: list[Destination] = []
        for kind, target in self._targets(routes, found):
            destination = self._built(kind, target, found)
            if not destination.renders(type(announcement)):
                continue
            if muted and destination.traits.chat:
                continue
            if in_incident_mode and announcement.told_by_incidents and destination.traits.incidents_instead_of_runs:
                continue
            chosen.append(destination)
        return chosen

    def _targets(self, routes: Routes, found: tuple[int, Route] | None) -> list[tuple[str, Target]]:
        choices: dict[str, Choice] = dict.fromkeys(routes.kinds, True)
        if found is not None:
            choices.update(found[1].targets)
        chosen = []
        for kind, choice in choices.items():
            target = self._defaults[kind] if choice is True else (choice or None)
            if target is not None:
                chosen.append((kind, target))
        return chosen

    def _built(self, kind: str, target: Target, found: tuple[int, Route] | None) -> Destination:
        try:
            built: Destination = KINDS[kind].build(target, self._context)
        except Exception as error:
            reason = f"{kind} destination not usable: {error}"
            log.error("Destination not usable", extra={"destination": kind, "reason": reason})
            return Unusable(kind, reason)
        quiet = found[1].quiet if found is not None else None
        if found is not None and quiet is not None and held_in_quiet_hours(built, quiet):
            from run_notifier.destinations.quiet_hold import QuietlyHeld

            table, clock = self._context.table, self._context.clock
            return QuietlyHeld(built, quiet, found[0], table, clock, self._exactly_once)
        return built


def held_in_quiet_hours(destination: Destination, quiet: QuietHours) -> bool:
    """Chat always; paging only when the route's quiet hours name its kind."""
    return destination.traits.chat or (destination.traits.pages and quiet.holds_paging(destination.kind))


def report_destinations(settings: Mapping[str, Any], context: DestinationContext, channel: str) -> list[Destination]:
    """Where a digest or budget alert in ``channel`` goes: each kind whose settings can post a report
    there (its module's optional ``report_target(section, channel)``), built, that renders reports."""
    found: list[Destination] = []
    for kind, module in KINDS.items():
        report_target = getattr(module, "report_target", None)
        target = report_target(settings.get(kind), channel) if report_target is not None else None
        if target is not None:
            found.append(module.build(target, context))
    return found
