"""Where a finished run is announced: one module per destination kind, and their registry.

A destination module says its `KIND`, the keys its route target accepts (`SCHEMA`), its
default target from the settings (`default_target`), and how to build itself from a target
(`build`); the object it builds implements `ports.Destination`. Adding a kind means a new
module here, one line in `KINDS`, and its settings and permissions in config.py and the template.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import cast

from run_notifier.destinations import eventbridge, follow_up, slack, webhook
from run_notifier.destinations.context import DestinationContext, DestinationKind, Target
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Destination, TargetSchema, TransientDeliveryError, log
from run_notifier.domain.routing import Routes
from run_notifier.domain.run_summary import RunSummary

_MODULES: tuple[ModuleType, ...] = (slack, webhook, eventbridge, follow_up)
KINDS: dict[str, DestinationKind] = {module.KIND: cast(DestinationKind, module) for module in _MODULES}
#: What routing validates a routes document against.
SCHEMAS: dict[str, TargetSchema] = {kind: module.SCHEMA for kind, module in KINDS.items()}


class Unusable:
    """A destination that could not be built (its secret unreadable, say): it fails transiently when sent."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self._reason = reason

    def send(self, summary: RunSummary, deadline: Deadline) -> str:
        raise TransientDeliveryError(self._reason)


class RoutedDestinations:
    """`ports.DestinationDirectory`: the routes pick a target per kind; the kind builds the destination."""

    def __init__(self, routes: Callable[[], Routes], context: DestinationContext) -> None:
        self._routes = routes
        self._context = context
        self._defaults: dict[str, Target | None] = {
            kind: module.default_target(context.settings) for kind, module in KINDS.items()
        }

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """`ports.LiveAnnouncer`: the live Slack message, when the route for this run asks for one."""
        choice = self._routes().targets_for(summary).get(slack.KIND, True)
        target = self._defaults[slack.KIND] if choice is True else (choice or None)
        if target and target.get("live") and "channel" in target:
            slack.build_bot(target, self._context).post_running(summary, deadline)

    def destinations_for(self, summary: RunSummary) -> list[Destination]:
        chosen: list[Destination] = []
        for kind, choice in self._routes().targets_for(summary).items():
            target = self._defaults[kind] if choice is True else (choice or None)
            if target is None:
                continue
            try:
                chosen.append(KINDS[kind].build(target, self._context))
            except Exception as error:
                reason = f"{kind} destination not usable: {error}"
                log.error("Destination not usable", extra={"destination": kind, "reason": reason})
                chosen.append(Unusable(kind, reason))
        return chosen
