"""POST a JSON body to an HTTPS endpoint with bounded retries.

429 honours `Retry-After`; 5xx and network errors back off with jitter; all of it stays
within the invocation's deadline, after which SQS redelivers. Any other 4xx is permanent.
Error messages name the destination and host, never the URL (a Slack webhook URL is a
secret in itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from run_notifier.http import HttpClient, HttpError
from run_notifier.timebudget import Deadline, jittered_backoff

MAX_ATTEMPTS = 6
REQUEST_TIMEOUT_SECS = 10.0


class DeliveryError(Exception):
    pass


class PermanentDeliveryError(DeliveryError):
    """The destination rejected the message; sending it again will not help."""


class TransientDeliveryError(DeliveryError):
    """Not delivered in this invocation's time; a later delivery may succeed."""


@dataclass(frozen=True)
class DeliveryReceipt:
    status: int
    attempts: int


def check_target_url(url: str) -> None:
    """Only https, except plain http to loopback for local use."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise PermanentDeliveryError(f"target must be https (http only for loopback), got scheme {parts.scheme!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def describe(url: str) -> str:
    """A URL safe to log: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def post_json(
    http: HttpClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: Deadline,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReceipt:
    check_target_url(url)
    backoff = jittered_backoff()
    problem = "no attempt made"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if deadline.left() < 0.5:
            break
        try:
            response = http.request(
                "POST",
                url,
                body=body,
                headers={"Content-Type": "application/json", **headers},
                connect_timeout=5.0,
                read_timeout=min(REQUEST_TIMEOUT_SECS, max(0.5, deadline.left())),
            )
        except HttpError as error:
            problem = f"network error {error}"
            pause = next(backoff)
        else:
            status = response.status
            if 200 <= status < 300:
                return DeliveryReceipt(status, attempt)
            detail = response.text[:200].strip()
            if status == 429:
                problem = "HTTP 429 rate limited"
                pause = _retry_after(response.headers.get("Retry-After"), next(backoff))
            elif status >= 500:
                problem = f"HTTP {status}"
                pause = next(backoff)
            else:
                raise PermanentDeliveryError(f"{what} at {describe(url)} rejected the message: HTTP {status} {detail}")
        if pause >= deadline.left():
            break
        sleep(pause)
    raise TransientDeliveryError(f"{what} at {describe(url)} not delivered within the time left: {problem}")


def _retry_after(header: str | None, fallback: float) -> float:
    if header is None:
        return fallback
    try:
        return max(0.0, float(header))
    except ValueError:
        return fallback
