"""Secrets from Secrets Manager by ARN (Powertools Parameters, cached) or plain for local use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from run_notifier.secret import Secret


class SecretResolver:
    """Reads secrets through one Powertools SecretsProvider; values are cached for max_age."""

    def __init__(self, client_factory: Callable[[], Any], max_age_secs: int = 300) -> None:
        self._client_factory = client_factory
        self._max_age = max_age_secs
        self._provider: Any = None
        self._lock = threading.Lock()

    def _get_provider(self) -> Any:
        with self._lock:
            if self._provider is None:
                from aws_lambda_powertools.utilities.parameters import SecretsProvider

                self._provider = SecretsProvider(boto3_client=self._client_factory())
            return self._provider

    def source(self, arn: str | None, plain: Secret | None, what: str) -> Callable[[], Secret]:
        """A getter for the secret; read lazily so a cold start does not wait for it."""
        if arn:

            def read() -> Secret:
                try:
                    value = self._get_provider().get(arn, max_age=self._max_age)
                except Exception as error:  # Powertools wraps the boto error; keep only its kind.
                    raise SecretUnavailable(f"could not read the {what} secret: {type(error).__name__}") from None
                if isinstance(value, bytes):
                    value = value.decode()
                if not isinstance(value, str) or not value.strip():
                    raise SecretUnavailable(f"the {what} secret is empty")
                return Secret(value.strip())

            return read
        if plain:
            return lambda: plain
        raise SecretUnavailable(f"no {what} configured")


class SecretUnavailable(Exception):
    pass
