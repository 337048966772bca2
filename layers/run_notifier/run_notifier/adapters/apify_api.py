"""A small Apify API client: one pooled HTTP client, Bearer auth, bounded retries.

Why not the official `apify-client`: it pulls in httpx and more at cold start, and its
retry loop is not bounded by a Lambda invocation's time left. This one does only the
calls the notifier makes (run reads, the run list, Actor names, creating a webhook), and
implements `ports.RunReader` and `ports.RunLister`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from run_notifier.adapters.apify_runs import listed_run, summary_from_run
from run_notifier.adapters.apify_schedules import schedule_view
from run_notifier.adapters.http_client import HttpClient, HttpError, HttpResponse
from run_notifier.adapters.retry import RetriesExhausted, Retry, retry_within
from run_notifier.adapters.secret_store import Secret
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.missed_schedules import ScheduleView
from run_notifier.domain.ports import (
    ApifyAuthError,
    ApifyRequestError,
    ApifyUnavailable,
    ListedRun,
    RunNotFound,
)
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.text import clean_text

#: Seconds of 404s tolerated right after a run starts (replica lag), as the official client.
NOT_FOUND_GRACE_SECS = 3.0
REPLICA_LAG_PAUSE_SECS = 0.5
#: Extra read timeout above `waitForFinish`, for the server to answer after the wait.
READ_TIMEOUT_MARGIN_SECS = 10.0
CONNECT_TIMEOUT_SECS = 5.0
MAX_ATTEMPTS = 9
#: A run object is a few KB and a page of 1,000 short runs about 600 KB; anything beyond this is refused.
MAX_BODY_BYTES = 2 * 1024 * 1024


class ApifyClient:
    """Apify's REST API over the shared HTTP client: bearer token, bounded retries of 429/5xx, every call within its
    deadline; never a token in a URL or an error."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], Secret | None],
        http: HttpClient,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._sleep = sleep
        self._http = http

    def get_run(self, run_id: str, wait_secs: int, deadline: Deadline) -> RunSummary:
        """`GET /v2/actor-runs/{runId}?waitForFinish=N`: the run, as the domain's typed summary."""
        params = {"waitForFinish": str(wait_secs)} if wait_secs > 0 else None
        run = self._get(f"/v2/actor-runs/{run_id}", params, wait_secs, deadline, f"run {run_id}", grace_404=True)
        return summary_from_run(run, run_id)

    def list_runs(self, started_after: str, offset: int, limit: int, deadline: Deadline) -> list[ListedRun]:
        """`GET /v2/actor-runs?startedAfter=...`, ascending by startedAt: one page of RunShort items."""
        params = {"startedAfter": started_after, "offset": str(offset), "limit": str(limit)}
        data = self._get("/v2/actor-runs", params, 0, deadline, "the run list", grace_404=False)
        items = data.get("items")
        if not isinstance(items, list):
            raise ApifyUnavailable("Apify sent a run list without items")
        return [listed_run(item) for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]

    def list_schedules(self, offset: int, limit: int, deadline: Deadline) -> list[ScheduleView]:
        """`GET /v2/schedules`: one page of ScheduleShort items (with their actions), oldest first."""
        params = {"offset": str(offset), "limit": str(limit)}
        data = self._get("/v2/schedules", params, 0, deadline, "the schedule list", grace_404=False)
        items = data.get("items")
        if not isinstance(items, list):
            raise ApifyUnavailable("Apify sent a schedule list without items")
        views = (schedule_view(item) for item in items if isinstance(item, dict))
        return [view for view in views if view is not None]

    def get_actor(self, actor_id: str, deadline: Deadline) -> dict[str, Any]:
        """`GET /v2/acts/{actorId}`; returns the Actor object."""
        return self._get(f"/v2/acts/{actor_id}", None, 0, deadline, f"actor {actor_id}", grace_404=False)

    def get_dataset(self, dataset_id: str, deadline: Deadline) -> dict[str, Any]:
        """`GET /v2/datasets/{datasetId}`; returns the Dataset object (`itemCount` among its fields)."""
        return self._get(f"/v2/datasets/{dataset_id}", None, 0, deadline, f"dataset {dataset_id}", grace_404=False)

    def get_log_tail(self, run_id: str, keep_bytes: int, deadline: Deadline) -> tuple[str, int]:
        """`GET /v2/actor-runs/{runId}/log`, streamed to its end keeping the last ``keep_bytes``.

        Returns the tail as text and how many bytes came before it (0: the whole log). One try:
        a log is a courtesy in a Slack thread, never worth a retry loop.
        """
        headers = {"User-Agent": "apify-run-notifier"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            response = self._http.request(
                "GET",
                f"{self._base_url}/v2/actor-runs/{run_id}/log",
                deadline=deadline,
                headers=headers,
                connect_timeout=CONNECT_TIMEOUT_SECS,
                read_timeout=deadline.left(),
                max_body_bytes=keep_bytes,
                keep_tail=True,
            )
        except HttpError as error:
            raise ApifyUnavailable(f"the log of run {run_id} could not be read: {error}") from None
        if response.status != 200:
            error_type, _ = _error_of(response)
            raise ApifyRequestError(f"Apify answered {response.status} {error_type} for the log of run {run_id}")
        return clean_text(response.text, keep_bytes), response.dropped_bytes

    def start_run(
        self, path: str, query: dict[str, str], run_input: dict[str, Any], deadline: Deadline
    ) -> dict[str, Any]:
        """`POST /v2/acts/{actorId}/runs` or `/v2/actor-tasks/{actorTaskId}/runs` with the input as
        the body; returns the started Run. 429/5xx are retried within the deadline (Apify has no
        idempotency key for starts: an answer lost after the start can start it twice)."""
        return self._get(
            path,
            query or None,
            0,
            deadline,
            f"the start at {path}",
            grace_404=False,
            method="POST",
            json_body=run_input,
        )

    def list_webhooks(self, deadline: Deadline) -> list[dict[str, Any]]:
        """`GET /v2/webhooks` (the first 1,000): the account's webhooks."""
        data = self._get("/v2/webhooks", {"limit": "1000"}, 0, deadline, "the webhook list", grace_404=False)
        items = data.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    def delete_webhook(self, webhook_id: str, deadline: Deadline) -> None:
        """`DELETE /v2/webhooks/{id}` (Apify answers 204)."""
        self._get(f"/v2/webhooks/{webhook_id}", None, 0, deadline, f"webhook {webhook_id}", False, "DELETE")

    def test_webhook(self, webhook_id: str, deadline: Deadline) -> dict[str, Any]:
        """`POST /v2/webhooks/{id}/test`: Apify dispatches a TEST event; returns the dispatch."""
        return self._get(f"/v2/webhooks/{webhook_id}/test", None, 0, deadline, "the test dispatch", False, "POST")

    def create_webhook(self, spec: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
        """`POST /v2/webhooks` (`WebhookCreate`); returns the Webhook. Retried on 429/5xx: give
        ``spec`` an `idempotencyKey`, so that a retry of a create whose answer was lost makes nothing new."""
        return self._get(
            "/v2/webhooks", None, 0, deadline, "the webhook", grace_404=False, method="POST", json_body=spec
        )

    def _get(
        self,
        path: str,
        params: dict[str, str] | None,
        wait_secs: int,
        deadline: Deadline,
        what: str,
        grace_404: bool,
        method: str = "GET",
        json_body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json", "User-Agent": "apify-run-notifier"}
        body = None if json_body is None else json.dumps(json_body).encode()
        if body is not None:
            headers["Content-Type"] = "application/json"
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        first_404_at: list[float] = []

        def attempt() -> dict[str, Any] | Retry:
            try:
                response = self._http.request(
                    method,
                    self._base_url + path,
                    deadline=deadline,
                    params=params,
                    headers=headers,
                    body=body,
                    connect_timeout=CONNECT_TIMEOUT_SECS,
                    read_timeout=wait_secs + READ_TIMEOUT_MARGIN_SECS,
                    max_body_bytes=MAX_BODY_BYTES,
                )
            except HttpError as error:
                return Retry(f"network error {error}")
            if response.status in (200, 201):
                return _data(response, what)
            if response.status == 204:  # a delete: nothing to say
                return {}
            error_type, message = _error_of(response)
            status = response.status
            if status == 404:
                now = time.monotonic()
                first_404_at[:] = first_404_at or [now]
                if not grace_404 or now - first_404_at[0] >= NOT_FOUND_GRACE_SECS or deadline.left() < 1.5:
                    raise RunNotFound(f"{what} not found ({error_type}: {message})")
                return Retry("404 within the replica-lag grace", pause=REPLICA_LAG_PAUSE_SECS)
            if status in (401, 403):
                hint = (
                    "Check the Apify token and its permissions."
                    if token
                    else "No Apify token is configured (APIFY_TOKEN_SECRET_ARN or APIFY_TOKEN)."
                )
                raise ApifyAuthError(f"Apify refused {what} with {status} {error_type}: {message}. {hint}")
            if status == 429 or status >= 500:
                return Retry(f"HTTP {status} {error_type}")
            raise ApifyRequestError(f"Apify answered {status} {error_type} for {what}: {message}")

        try:
            return retry_within(attempt, deadline, max_attempts=MAX_ATTEMPTS, sleep=self._sleep)
        except RetriesExhausted as exhausted:
            raise ApifyUnavailable(f"Apify unavailable for {what}: {exhausted}") from None


def _data(response: HttpResponse, what: str) -> dict[str, Any] | Retry:
    """The `data` object; a body that is not one is retried like a 5xx (a proxy's error page)."""
    try:
        payload = response.json()
    except (ValueError, RecursionError):
        return Retry(f"Apify sent a body that is not JSON for {what}")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return Retry(f"Apify sent no data object for {what}")
    return data


def _error_of(response: HttpResponse) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("type", "unknown"))[:100], str(error.get("message", ""))[:200]
    except (ValueError, AttributeError, RecursionError):
        return "unknown", response.text[:200]
