"""What a destination kind may use to build itself: the shared clients, secrets and settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from run_notifier.adapters.http_client import HttpClient
from run_notifier.adapters.secret_store import Secret, SecretStore
from run_notifier.domain.ports import Destination, TargetSchema

if TYPE_CHECKING:
    from run_notifier.config import Settings

#: A destination's target: a route's object, or the default one built from the settings.
Target = Mapping[str, str | Secret]


class DestinationContext(NamedTuple):
    settings: Settings
    http: HttpClient
    secrets: SecretStore
    events_client: Callable[[], Any]
    clock: Callable[[], datetime]


class DestinationKind(Protocol):
    """What each destination module provides (see `destinations/__init__.py`)."""

    KIND: str
    SCHEMA: TargetSchema

    def default_target(self, settings: Settings) -> Target | None: ...

    def build(self, target: Target, context: DestinationContext) -> Destination: ...
