"""A small Apify API client: one pooled HTTP client, Bearer auth, bounded retries.

Why not the official `apify-client`: it pulls in httpx and more at cold start, and its
retry loop is not bounded by a Lambda invocation's time left. This one does only the two
reads the watcher needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from run_notifier.http import HttpClient, HttpError, HttpResponse
from run_notifier.secret import Secret
from run_notifier.timebudget import Deadline, jittered_backoff

#: Seconds of 404s tolerated right after a run starts (replica lag), as the official client.
NOT_FOUND_GRACE_SECS = 3.0
#: Extra read timeout above `waitForFinish`, for the server to answer after the wait.
READ_TIMEOUT_MARGIN_SECS = 10.0
CONNECT_TIMEOUT_SECS = 5.0
MAX_RETRIES = 8


class ApifyError(Exception):
    """Base class; messages never contain the token."""


class ApifyNotFound(ApifyError):
    pass


class ApifyAuthError(ApifyError):
    """401/403: retrying will not help until the token or its permissions change."""


class ApifyRequestError(ApifyError):
    """400 or another 4xx that says the request itself is wrong."""


class ApifyUnavailable(ApifyError):
    """429, 5xx or network errors until the time budget ran out."""


class ApifyClient:
    def __init__(
        self,
        base_url: str,
        token: Secret | Callable[[], Secret] | None,
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # A getter lets a token from Secrets Manager be read on first use and re-read on rotation.
        self._token_source: Callable[[], Secret | None] = token if callable(token) else (lambda: token)
        self._sleep = sleep
        self._http = http or HttpClient()

    def get_run(self, run_id: str, wait_secs: int, deadline: Deadline) -> dict[str, Any]:
        """`GET /v2/actor-runs/{runId}?waitForFinish=N`; returns the Run object."""
        params = {"waitForFinish": str(wait_secs)} if wait_secs > 0 else None
        return self._get(f"/v2/actor-runs/{run_id}", params, wait_secs, deadline, f"run {run_id}", grace_404=True)

    def get_actor(self, actor_id: str, deadline: Deadline) -> dict[str, Any]:
        """`GET /v2/acts/{actorId}`; returns the Actor object."""
        return self._get(f"/v2/acts/{actor_id}", None, 0, deadline, f"actor {actor_id}", grace_404=False)

    def _get(
        self,
        path: str,
        params: dict[str, str] | None,
        wait_secs: int,
        deadline: Deadline,
        what: str,
        grace_404: bool,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "User-Agent": "apify-run-notifier"}
        token = self._token_source()
        if token:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        backoff = jittered_backoff()
        first_404_at: float | None = None
        lagging = False  # the last answer was a 404 inside the replica-lag grace
        last_problem = "no attempt made"
        for _ in range(MAX_RETRIES + 1):
            read_timeout = min(wait_secs + READ_TIMEOUT_MARGIN_SECS, max(1.0, deadline.left()))
            try:
                response = self._http.request(
                    "GET",
                    self._base_url + path,
                    params=params,
                    headers=headers,
                    connect_timeout=CONNECT_TIMEOUT_SECS,
                    read_timeout=read_timeout,
                )
            except HttpError as error:
                last_problem = f"network error {error}"
            else:
                status = response.status
                if status == 200:
                    return _data(response, what)
                error_type, message = _error_of(response)
                if status == 404:
                    now = time.monotonic()
                    first_404_at = first_404_at if first_404_at is not None else now
                    if not grace_404 or now - first_404_at >= NOT_FOUND_GRACE_SECS or deadline.left() < 1.5:
                        raise ApifyNotFound(f"{what} not found ({error_type}: {message})")
                    last_problem = "404 within the replica-lag grace"
                    lagging = True
                elif status in (401, 403):
                    raise ApifyAuthError(
                        f"Apify refused {what} with {status} {error_type}: {message}. "
                        + (
                            "Check the Apify token and its permissions."
                            if token
                            else "No Apify token is configured (APIFY_TOKEN_SECRET_ARN or APIFY_TOKEN)."
                        )
                    )
                elif status == 429 or status >= 500:
                    last_problem = f"HTTP {status} {error_type}"
                else:
                    raise ApifyRequestError(f"Apify answered {status} {error_type} for {what}: {message}")
            pause = 0.5 if lagging else next(backoff)
            lagging = False
            if pause >= deadline.left():
                break
            self._sleep(pause)
        raise ApifyUnavailable(f"Apify unavailable for {what}: {last_problem}")


def _data(response: HttpResponse, what: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise ApifyUnavailable(f"Apify sent a body that is not JSON for {what}") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ApifyUnavailable(f"Apify sent no data object for {what}")
    return data


def _error_of(response: HttpResponse) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("type", "unknown")), str(error.get("message", ""))[:200]
    except (ValueError, AttributeError):
        return "unknown", response.text[:200]
