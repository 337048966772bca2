"""The intake's bearer token: compared in constant time, current and previous versions accepted.

From Secrets Manager by ARN (its AWSCURRENT and, during a rotation, its AWSPREVIOUS version,
each through its own cached Powertools provider, since the providers' cache does not key on
the version stage) or plainly for local use. The token never reaches a log or an error.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.secret_store import Secret
from run_notifier.domain.ports import log

STAGES = ("AWSCURRENT", "AWSPREVIOUS")


class TokenUnavailable(Exception):
    """The current token cannot be read: the intake answers 503 (Apify retries), not 401."""


class IntakeTokens:
    def __init__(
        self,
        secret_arn: str | None,
        plain: Secret | None,
        client_factory: Callable[[], Any],
        max_age_secs: int,
    ) -> None:
        self._arn = secret_arn
        self._plain = plain
        self._max_age = max_age_secs

        def provider() -> Any:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            return SecretsProvider(boto3_client=client_factory())

        self._providers = {stage: Lazy(provider) for stage in STAGES}

    def matches(self, authorization: str | None) -> bool:
        """True when the header is `Bearer <a valid token>`; constant time for every candidate.

        Raises TokenUnavailable when the current token cannot be read at all.
        """
        if not authorization or not authorization.startswith("Bearer "):
            return False
        offered = authorization[len("Bearer ") :].strip().encode()
        matched = False
        for token in self._valid_tokens():
            matched |= hmac.compare_digest(offered, token.reveal().encode())
        return matched

    def _valid_tokens(self) -> list[Secret]:
        if not self._arn:
            return [self._plain] if self._plain else []
        tokens: list[Secret] = []
        for stage in STAGES:
            try:
                value = self._providers[stage].get().get(self._arn, max_age=self._max_age, VersionStage=stage)
            except Exception as error:  # AWSPREVIOUS is absent until the first rotation; say only its kind
                if stage == "AWSCURRENT":
                    log.error("Intake token unreadable", extra={"reason": type(error).__name__})
                    raise TokenUnavailable(type(error).__name__) from None
                continue
            if isinstance(value, bytes):
                value = value.decode()
            if isinstance(value, str) and value.strip():
                tokens.append(Secret(value.strip()))
        return tokens
