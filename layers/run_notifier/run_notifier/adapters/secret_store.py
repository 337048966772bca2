"""Secret values: masked in every repr, read from Secrets Manager by ARN (Powertools
Parameters, cached for `SECRETS_MAX_AGE_SECONDS`) or given plainly for local use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from run_notifier.adapters.memo import Lazy
from run_notifier.domain.credentials import mask_credentials
from run_notifier.domain.ports import TransientDeliveryError

#: Every secret value this process has held, so log output can be scrubbed of them (observability.py).
_known_values: set[str] = set()
_known_lock = threading.Lock()
#: Shorter values are not scrubbed: they would mangle ordinary words, and no real secret is this short.
MIN_SCRUBBED_LENGTH = 8


def known_secret_values() -> frozenset[str]:
    """Every secret value read so far in this process: the log scrubber masks each."""
    with _known_lock:
        return frozenset(_known_values)


#: A secret's prefix this long or longer is masked too: an error message that previews a value cuts
#: it (a token sent by mistake as a run ID shows as its first 39 characters), and a cut secret is
#: no longer the whole value the scrubber knows.
MIN_MASKED_PREFIX = 12


def scrub_known(text: str, secrets: frozenset[str] | None = None) -> str:
    """``text`` with every secret value this process has read (and any long prefix of one) replaced by ***."""
    for value in sorted(known_secret_values() if secrets is None else secrets, key=len, reverse=True):
        text = text.replace(value, "***")
        if len(value) > MIN_MASKED_PREFIX and value[:MIN_MASKED_PREFIX] in text:
            for length in range(len(value) - 1, MIN_MASKED_PREFIX - 1, -1):
                text = text.replace(value[:length], "***")
    return text


def holds_known(text: str, secrets: frozenset[str]) -> bool:
    """True when ``text`` holds one of these secret values (or a long prefix of one)."""
    return any(value in text or value[:MIN_MASKED_PREFIX] in text for value in secrets)


def redact(text: str) -> str:
    """``text`` safe to log or store: every known secret and everything shaped like a credential masked."""
    return mask_credentials(scrub_known(text))


class Secret:
    """Wraps a secret string. Only ``reveal()`` gives the value back; repr/str mask it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= MIN_SCRUBBED_LENGTH:
            with _known_lock:
                _known_values.add(value)

    def reveal(self) -> str:
        """The secret's value: only for the one call that needs it, never for a log, a link or an exception."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def aws_error_text(error: BaseException) -> str:
    """AWS's error code and message (a wrong ARN and a missing kms:Decrypt read differently), bounded.

    Powertools raises its own GetParameterError from the botocore ClientError; the cause holds
    the code. Neither carries a secret's value (AWS never echoes it).
    """
    cause = error.__cause__ or error.__context__ or error
    response = getattr(cause, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        detail = response["Error"]
        return f"{detail.get('Code', type(cause).__name__)}: {str(detail.get('Message', ''))[:300]}"
    return f"{type(cause).__name__}: {str(cause)[:300]}"


def is_signing_secret(value: str) -> bool:
    """A Standard Webhooks signing secret: `whsec_` and non-empty base64 (what `standardwebhooks` accepts)."""
    import base64
    import binascii

    if not value.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(value.removeprefix("whsec_"), validate=True)) > 0
    except (binascii.Error, ValueError):
        return False


class SecretUnavailable(TransientDeliveryError):
    """The secret could not be read (yet): a delivery that needs it is retried later."""


#: A getter, so a secret from Secrets Manager is read on first use and re-read after rotation.
SecretSource = Callable[[], Secret]


class SecretStore:
    """Reads secrets through one Powertools SecretsProvider, built on first use."""

    def __init__(self, client_factory: Callable[[], Any], max_age_secs: int) -> None:
        self._max_age = max_age_secs

        def provider() -> Any:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            return SecretsProvider(boto3_client=client_factory())

        self._provider = Lazy(provider)

    def source(self, arn: str | None, plain: Secret | str | None, what: str) -> SecretSource:
        """A getter for the secret named by ARN, else the plain value; raises SecretUnavailable if neither."""
        if arn:
            return lambda: self._read(arn, what)
        if plain:
            value = plain if isinstance(plain, Secret) else Secret(plain)
            return lambda: value
        raise SecretUnavailable(f"no {what} configured")

    def _read(self, arn: str, what: str) -> Secret:
        try:
            value = self._provider.get().get(arn, max_age=self._max_age)
        except Exception as error:  # Powertools wraps the boto error: say what AWS said (never the value)
            raise SecretUnavailable(f"could not read the {what} secret {arn}: {aws_error_text(error)}") from None
        if isinstance(value, bytes):
            value = value.decode()
        if not isinstance(value, str) or not value.strip():
            raise SecretUnavailable(f"the {what} secret is empty")
        return Secret(value.strip())
