"""The intake's bearer token: compared in constant time, current and previous versions accepted.

From Secrets Manager by ARN (its AWSCURRENT and, during a rotation, its AWSPREVIOUS version,
each through its own cached Powertools provider, since the providers' cache does not key on
the version stage) or plainly for local use. The token never reaches a log or an error.

Knocking costs nothing: the Function URL is public, so the outcome of each read is kept for
`max_age_secs`, failures included. A secret that has never been rotated has no AWSPREVIOUS
version, and without a remembered failure every request carrying any bearer token would cost a
`GetSecretValue` call. A current token that cannot be read (or is empty, or not UTF-8) answers
503 for `UNREADABLE_RETRY_SECS` before it is read again, with one log line per read.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from run_notifier.adapters.memo import Lazy
from run_notifier.adapters.secret_store import Secret
from run_notifier.domain.ports import log

STAGES = ("AWSCURRENT", "AWSPREVIOUS")
#: How long an unreadable current token is not asked for again (the intake answers 503 meanwhile).
UNREADABLE_RETRY_SECS = 30.0


class _Read(NamedTuple):
    """One stage's last read: its token (None: absent or unreadable), why not, and until when it stands."""

    token: Secret | None
    problem: str
    until: float


class TokenUnavailable(Exception):
    """The current token cannot be read: the intake answers 503 (Apify retries), not 401."""


class IntakeTokens:
    """Checks a request's bearer token against the intake's secret (constant time), read from Secrets Manager with a
    cache."""

    def __init__(
        self,
        secret_arn: str | None,
        plain: Secret | None,
        client_factory: Callable[[], Any],
        max_age_secs: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._arn = secret_arn
        self._plain = plain
        self._max_age = max_age_secs
        self._clock = clock
        self._reads: dict[str, _Read] = {}
        self._lock = threading.Lock()

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
        # Any code point, lone surrogates included, compares (and never matches) without raising.
        offered = authorization[len("Bearer ") :].strip().encode("utf-8", errors="surrogatepass")
        matched = False
        for token in self._valid_tokens():
            matched |= hmac.compare_digest(offered, token.reveal().encode())
        return matched

    def _valid_tokens(self) -> list[Secret]:
        if not self._arn:
            return [self._plain] if self._plain else []
        tokens: list[Secret] = []
        for stage in STAGES:
            read = self._read(stage)
            if read.token is not None:
                tokens.append(read.token)
            elif stage == "AWSCURRENT":
                raise TokenUnavailable(read.problem)
        return tokens

    def _read(self, stage: str) -> _Read:
        """The stage's token as last read, read again once its outcome has lapsed (one reader at a time)."""
        with self._lock:
            known = self._reads.get(stage)
            if known is not None and self._clock() < known.until:
                return known
            read = self._read_now(stage)
            self._reads[stage] = read
            return read

    def _read_now(self, stage: str) -> _Read:
        assert self._arn is not None
        lasts = self._clock() + self._max_age
        try:
            value = self._providers[stage].get().get(self._arn, max_age=self._max_age, VersionStage=stage)
        except Exception as error:  # AWSPREVIOUS is absent until the first rotation; say only its kind
            problem = type(error).__name__
            if stage != "AWSCURRENT":
                return _Read(None, problem, lasts)
            log.error("Intake token unreadable", extra={"reason": problem, "answer": 503})
            return _Read(None, problem, self._clock() + min(self._max_age, UNREADABLE_RETRY_SECS))
        try:
            text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        except UnicodeDecodeError:
            text, problem = "", "the secret is binary, not a UTF-8 token"
        else:
            problem = "the secret is empty"
        if text.strip():
            return _Read(Secret(text.strip()), "", lasts)
        if stage != "AWSCURRENT":
            return _Read(None, problem, lasts)
        log.error("Intake token unreadable", extra={"reason": problem, "answer": 503})
        return _Read(None, problem, self._clock() + min(self._max_age, UNREADABLE_RETRY_SECS))
