"""What every destination kind is given, and what every kind module provides.

The context is the shared infrastructure, the same for every kind: it never grows a field for
one kind. A kind builds the few adapters it needs from it (Slack its live-message store on the
runs table, follow-ups their queue client) inside its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from run_notifier.adapters.apify_api import ApifyClient
    from run_notifier.adapters.dynamodb import RunsTable
    from run_notifier.adapters.http_client import HttpClient
    from run_notifier.adapters.secret_store import SecretStore
    from run_notifier.config_sections import Section
    from run_notifier.domain.deadline import Deadline
    from run_notifier.domain.ports import Destination, TargetSchema
    from run_notifier.domain.run_summary import RunSummary

#: A destination's target: a route's object, or the default one built from the kind's settings.
Target = Mapping[str, Any]


class SharedSettings(Protocol):
    """What every kind may read of its function's settings (the watcher's, or the digest function's)."""

    @property
    def allow_loopback_http(self) -> bool:
        """Plain http to loopback is allowed (local receivers)."""
        ...

    @property
    def destinations(self) -> Mapping[str, Any]:
        """Each kind's own settings section, by kind."""
        ...


class DestinationContext(NamedTuple):
    """The shared clients a kind builds itself from (one per container, built lazily)."""

    settings: SharedSettings
    http: HttpClient
    secrets: SecretStore
    clock: Callable[[], datetime]
    #: A boto3 client by service name ("events", "sqs"), built on first use and kept; one attempt
    #: each, so that a send through the AWS SDK ends within its time share (wiring._SEND_CONFIG).
    aws: Callable[[str], Any]
    apify: ApifyClient
    table: RunsTable
    #: The run queue, where a run started by a destination is watched in turn; None: none here.
    queue_url: str | None = None

    def section(self, kind: str) -> Any:
        """The kind's own settings section (its module's `SETTINGS`), as read at cold start."""
        return self.settings.destinations.get(kind)


class DestinationKind(Protocol):
    """What each destination module (or package) provides; the registry finds it by `KIND`.

    Optional, module level: ``may_announce_running(section) -> bool``, true when this kind's
    settings allow a destination with the `RunningAnnouncer` capability (so the watcher builds
    the finishing side for a run first seen running only when some kind could use it).
    """

    KIND: str
    #: Its environment variables (config_sections.Section), or None.
    SETTINGS: Section | None
    SCHEMA: TargetSchema

    def default_target(self, section: Any) -> Target | None:
        """The target when no route names one, from the kind's own settings; None: no default."""
        ...

    def build(self, target: Target, context: DestinationContext) -> Destination:
        """The destination for this target, its clients made from the shared context."""
        ...


@runtime_checkable
class RunningAnnouncer(Protocol):
    """Capability: announce a run first seen running (Slack's live message). Best effort, once per run."""

    def announce_running(self, summary: RunSummary, deadline: Deadline) -> None:
        """Announce a run first seen running (at most once per run and destination)."""
        ...
