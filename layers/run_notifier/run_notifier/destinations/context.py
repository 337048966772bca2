"""What a destination kind may use to build itself: the shared clients, secrets and settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import SecretStore
from run_notifier.domain.ports import Destination, TargetSchema

if TYPE_CHECKING:
    from run_notifier.adapters.live_messages import DynamoLiveMessages
    from run_notifier.config import Settings
    from run_notifier.domain.deadline import Deadline

#: A destination's target: a route's object, or the default one built from the settings.
Target = Mapping[str, Any]
#: A run's log, streamed to its end: (the last ``keep_bytes`` as text, how many bytes came before).
LogTail = Callable[[str, int, "Deadline"], tuple[str, int]]


class DestinationContext(NamedTuple):
    settings: Settings
    http: HttpClient
    secrets: SecretStore
    events_client: Callable[[], Any]
    clock: Callable[[], datetime]
    #: For the Slack thread under a failed run; None: no log replies.
    log_tail: LogTail | None = None
    #: Where runs' live Slack messages are (adapters/live_messages.py); None: no live messages.
    live_messages: DynamoLiveMessages | None = None
    #: Follow-up runs: start one (ApifyClient.start_run), then watch it and record who started it.
    start_run: Callable[..., dict[str, Any]] | None = None
    follow_up_started: Callable[[str, str], None] | None = None


class DestinationKind(Protocol):
    """What each destination module provides (see `destinations/__init__.py`)."""

    KIND: str
    SCHEMA: TargetSchema

    def default_target(self, settings: Settings) -> Target | None: ...

    def build(self, target: Target, context: DestinationContext) -> Destination: ...
