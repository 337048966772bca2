"""Slack's Web API for bot mode: `chat.postMessage` and `chat.update`, paced per channel.

Slack answers errors as HTTP 200 with `{"ok": false, "error": ...}`: the errors that no retry
can fix are permanent (recorded and alarmed), `ratelimited` honours `Retry-After`, the rest are
retried within the destination's share of the invocation.
"""

from __future__ import annotations

import json
from typing import Any

from run_notifier.adapters.http_client import HttpClient, HttpResponse
from run_notifier.adapters.retry import Retry
from run_notifier.adapters.secret_store import SecretSource
from run_notifier.destinations.http_post import post_json, retry_after
from run_notifier.destinations.slack.limits import bounded
from run_notifier.destinations.slack.pacing import CHANNEL_PACER, Pacer
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import PermanentDeliveryError

#: `chat.postMessage` errors that no retry will fix (Slack's documented error codes).
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "restricted_action",
        "team_access_not_granted",
    }
)
#: `chat.update` errors that mean the live message cannot be updated: the final summary is posted fresh.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


RATELIMITED = "Slack: ratelimited"


#: Errors about the message itself (its blocks, its size): a route's template may have caused them.
CONTENT_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})


class MessageGone(Exception):
    """The live message was deleted (or can no longer be edited)."""


class ContentRefused(PermanentDeliveryError):
    """Slack refused the message itself (`invalid_blocks`, `msg_too_long`): the standard message may still go."""


class SlackWebApi:
    """One bot token's calls; every post waits its turn on the channel (one message a second)."""

    def __init__(
        self,
        http: HttpClient,
        api_base_url: str,
        token: SecretSource,
        *,
        allow_loopback_http: bool,
        pacer: Pacer = CHANNEL_PACER,
    ) -> None:
        self._http = http
        self._api = api_base_url
        self._token = token
        self._allow_loopback_http = allow_loopback_http
        self._pacer = pacer

    def call(
        self, method: str, message: dict[str, Any], deadline: Deadline, *, channel: str
    ) -> tuple[dict[str, Any], int]:
        """Slack's answer and how many attempts it took; raises PermanentDeliveryError, MessageGone,
        TransientDeliveryError (not done within the deadline)."""
        self._pacer.wait_turn(channel, deadline)
        headers = {
            "Authorization": f"Bearer {self._token().reveal()}",
            "Content-Type": "application/json; charset=utf-8",
        }

        def check_answer(response: HttpResponse) -> Retry | None:
            retry = _check_answer(response, method, channel)
            if retry is not None and retry.problem == RATELIMITED:  # every container waits it out, not only this one
                self._pacer.hold_off(channel, retry.pause if retry.pause is not None else 1.0)
            return retry

        receipt = post_json(
            self._http,
            f"{self._api}/{method}",
            json.dumps(bounded(message)).encode(),
            headers,
            deadline,
            f"Slack {method} to {channel}",
            allow_loopback_http=self._allow_loopback_http,
            check_answer=check_answer,
        )
        return json.loads(receipt.body), receipt.attempts


def _check_answer(response: HttpResponse, method: str, channel: str) -> Retry | None:
    try:
        answer = response.json()
    except ValueError:
        return Retry("Slack answered without JSON")
    if not isinstance(answer, dict):
        return Retry("Slack answered without a JSON object")
    if answer.get("ok") is True:
        return None
    error = str(answer.get("error", "unknown_error"))[:100]
    if error in GONE_ERRORS:
        raise MessageGone(error)
    if error == "ratelimited":
        return Retry(RATELIMITED, retry_after(response.headers.get("Retry-After")))
    if error in CONTENT_ERRORS:
        raise ContentRefused(f"Slack {method} to {channel} refused: {error}")
    if error in PERMANENT_ERRORS:
        raise PermanentDeliveryError(f"Slack {method} to {channel} refused: {error}")
    return Retry(f"Slack: {error}")
