"""POST a JSON body to a destination with bounded retries, each try with a total deadline.

429 honours `Retry-After`; 5xx and network errors back off with jitter; all of it stays
within the destination's share of the invocation's time, after which SQS redelivers. Any
other 4xx is permanent. Error messages name the destination and host, never the URL (a
Slack webhook URL is a secret in itself).

Why the read timeout is the whole share (not a fixed 10 s): a receiver slower than a fixed
timeout that still accepts the post would get a retry and so a second post. Waiting for
the answer as long as the share allows leaves a duplicate only where the share itself ran
out, and the claim's lease outlives the share, so no other delivery posts meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from run_notifier.adapters.http_client import HttpClient, HttpError, HttpResponse
from run_notifier.adapters.retry import RetriesExhausted, Retry, retry_within
from run_notifier.adapters.url_policy import UrlRefused, check_url, describe
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import PermanentDeliveryError, TransientDeliveryError

MAX_ATTEMPTS = 6
CONNECT_TIMEOUT_SECS = 5.0
#: No attempt starts with less time than this: a receiver that answers within it is never cut off
#: mid-answer (the post would have landed, and the retry would be a second one). The notifier gives
#: every destination at least `MIN_SEND_SECS` (5 s), so the first attempt always starts.
MIN_ATTEMPT_SECS = 4.0
#: A destination's answer is a few bytes; read at most this much of it.
MAX_ANSWER_BYTES = 64 * 1024


class DeliveryReceipt(NamedTuple):
    """What a POST came to: its status, how many attempts it took, the answer's body (bounded)."""

    status: int
    attempts: int
    #: The receiver's answer (bounded), for destinations that read it (Slack's Web API says `ok` in it).
    body: bytes = b""


#: Looks at a 2xx answer: None accepts it, a Retry tries again, PermanentDeliveryError gives up.
AnswerCheck = Callable[[HttpResponse], Retry | None]
#: Seconds a 429 answer asks to wait (None: the jittered backoff); default: its `Retry-After` header.
RateLimitWait = Callable[[HttpResponse], float | None]


def post_json(
    http: HttpClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    deadline: Deadline,
    what: str,
    *,
    allow_loopback_http: bool,
    sleep: Callable[[float], None] = time.sleep,
    check_answer: AnswerCheck | None = None,
    rate_limit_wait: RateLimitWait | None = None,
) -> DeliveryReceipt:
    """POST a JSON body within the deadline: 429 and 5xx retried (honouring `Retry-After`), another 4xx a
    PermanentDeliveryError, the time run out a TransientDeliveryError."""
    try:
        check_url(url, allow_loopback_http=allow_loopback_http)
    except UrlRefused as error:
        raise PermanentDeliveryError(f"{what} target refused: {error}") from None
    attempts = 0

    def attempt() -> DeliveryReceipt | Retry:
        nonlocal attempts
        attempts += 1
        try:
            response = http.request(
                "POST",
                url,
                deadline=deadline,
                body=body,
                headers={"Content-Type": "application/json", **headers},
                connect_timeout=CONNECT_TIMEOUT_SECS,
                read_timeout=deadline.left(),
                max_body_bytes=MAX_ANSWER_BYTES,
            )
        except HttpError as error:
            return Retry(f"network error {error}")
        status = response.status
        if 200 <= status < 300:
            retry = check_answer(response) if check_answer else None
            return retry if retry is not None else DeliveryReceipt(status, attempts, response.body)
        if status == 429:
            wait = rate_limit_wait(response) if rate_limit_wait else retry_after(response.headers.get("Retry-After"))
            return Retry("HTTP 429 rate limited", wait)
        if status >= 500:
            return Retry(f"HTTP {status}")
        detail = response.text[:200].strip()
        raise PermanentDeliveryError(f"{what} at {describe(url)} rejected the message: HTTP {status} {detail}")

    try:
        return retry_within(attempt, deadline, max_attempts=MAX_ATTEMPTS, min_time_left=MIN_ATTEMPT_SECS, sleep=sleep)
    except RetriesExhausted as exhausted:
        raise TransientDeliveryError(
            f"{what} at {describe(url)} not delivered within the time left: {exhausted}"
        ) from None


def retry_after(header: str | None) -> float | None:
    """Seconds from a `Retry-After` header; None (the jittered backoff) when absent or not a number."""
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
