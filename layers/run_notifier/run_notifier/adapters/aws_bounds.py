"""How long one AWS SDK call can take at most, from the client's own settings.

boto3's defaults (60 s to connect, 60 s to read, retries) let one DynamoDB write take minutes,
so nothing that waits for one could be bounded. Every client here is built with short
timeouts, and `worst_call_secs` adds them up the way botocore's standard retry mode spends
them: each attempt may use its whole connect and read timeouts, and each retry waits at most
`min(2 ** i, 20)` s of jittered backoff plus up to 5 s more when AWS sends
`x-amz-retry-after` (botocore's `ExponentialBackoff`). The notification lease is derived
from it (domain/notifier.py): a claim must outlive the mark that closes it.

The read timeout bounds each wait for bytes, not a whole answer: an endpoint that dripped a
byte every few seconds would outlast it. AWS's endpoints send these answers (a few KB) at
once; the project's own HTTP client, which talks to servers it does not control, has a total
deadline instead (adapters/http_client.py).
"""

from __future__ import annotations

from botocore.config import Config

#: An AWS endpoint in the function's own Region answers a TCP connect in milliseconds.
CONNECT_TIMEOUT_SECS = 1.0
#: DynamoDB, SQS, Secrets Manager, SSM and EventBridge answer these small requests in
#: milliseconds; a read that takes seconds is a sick connection, better retried on a new one.
READ_TIMEOUT_SECS = 4.0
#: Attempts in all, the first included (botocore's `total_max_attempts`; its `max_attempts`
#: counts retries only).
MAX_ATTEMPTS = 3
#: Botocore's cap on one backoff, and the most it adds for an `x-amz-retry-after` header.
_MAX_BACKOFF_SECS = 20.0
_RETRY_AFTER_EXTRA_SECS = 5.0


def client_config(
    max_pool_connections: int,
    max_attempts: int = MAX_ATTEMPTS,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECS,
    read_timeout: float = READ_TIMEOUT_SECS,
) -> Config:
    """A botocore Config whose worst case (connect + read timeouts times attempts) is known, so that claims can
    outlive it."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
    )


def worst_call_secs(config: Config) -> float:
    """The longest one call on a client with this config can take, retries and backoff included."""
    retries = config.retries or {}
    attempts = int(retries.get("total_max_attempts", retries.get("max_attempts", 4) + 1))
    per_attempt = float(config.connect_timeout) + float(config.read_timeout)
    backoff = sum(min(2.0**i, _MAX_BACKOFF_SECS) + _RETRY_AFTER_EXTRA_SECS for i in range(attempts - 1))
    return attempts * per_attempt + backoff
