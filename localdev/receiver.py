"""A local stand-in for Slack and webhook endpoints: records every POST, answers as scripted.

Paths ending in `/chat.postMessage` and `/chat.update` answer like Slack's Web API: bearer
auth against ``slack_tokens``, a `channel` required, `{"ok": true, "channel", "ts"}` with a
fresh `ts` for a post, `message_not_found` for an update of a message that is not there (see
`delete_slack_message`), and errors the Slack way (HTTP 200, `{"ok": false, "error"}`). The
channel's messages as they stand are in ``slack_messages``.

Slack's answers (the Web API's and incoming webhooks' under `/services/`) hold messages to Block
Kit's documented limits: `invalid_blocks` for a header over 150 characters, a section's text over
3,000, a field over 2,000 and the like, `msg_too_long` for a text over 40,000.

Paths under `/teams/` answer like a Teams Workflows webhook (202 for a message whose one
attachment is an Adaptive Card, 400 otherwise); paths under `/discord/` like a Discord webhook
with `?wait=true` (200 and the message with its `id`; 400 with Discord's error shape for a body
that breaks its embed limits or lacks `allowed_mentions`). Paths ending in `/v2/enqueue` answer
like PagerDuty's Events API v2 (`localdev/pagerduty_events.py`). Scripted answers still come first.

With ``slack_limit`` set, the Web API also answers like Slack's rate limit: more messages to one
channel than one per `slack_limit` seconds (after a burst of `SLACK_BURST`) are answered
`ratelimited` with `Retry-After`, and counted in ``slack_ratelimited``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from localdev.http_server import LoopbackServer, LoopbackService
from localdev.pagerduty_events import PagerDutyEvents

#: Messages one channel may take at once before Slack's one-a-second limit applies (a token bucket).
SLACK_BURST = 2


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what we answered
    at: float = 0.0  # wall-clock time it arrived (time.time())

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver(LoopbackService):
    def __init__(
        self,
        on_message: Callable[[Received], None] | None = None,
        latency: Callable[[str], float] | None = None,
        fault: Callable[[str], tuple[int, dict[str, str], str] | None] | None = None,
    ) -> None:
        """``latency(path)``: seconds to wait, after recording a POST, before answering (a slow receiver).
        ``fault(path)``: an answer to give instead of 200 when nothing is scripted (random failures)."""
        self.messages: list[Received] = []
        self._latency = latency
        self._fault = fault
        self._scripts: dict[str, deque[tuple[int, dict[str, str], str]]] = {}
        self._cond = threading.Condition()
        self._on_message = on_message
        #: Bot tokens the emulated Web API accepts (empty: any `xox...` token).
        self.slack_tokens: set[str] = set()
        #: (channel, ts) -> the message as it stands now (posted, then maybe updated).
        self.slack_messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = 0
        #: PagerDuty's alerts as they stand (paths ending in /v2/enqueue).
        self.pagerduty = PagerDutyEvents()
        #: Seconds per message per channel, as Slack's limit (None: no limit is played).
        self.slack_limit: float | None = None
        #: Channel -> `ratelimited` answers given.
        self.slack_ratelimited: dict[str, int] = {}
        self._slack_buckets: dict[str, tuple[float, float]] = {}
        self._server = LoopbackServer(_make_handler(self))

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, path: str, *answers: tuple[int, dict[str, str], str]) -> None:
        """Answer the next POSTs to ``path`` with these (status, headers, body); then 200."""
        with self._cond:
            self._scripts.setdefault(path, deque()).extend(answers)

    def clear_script(self, path: str) -> None:
        """Drop what is still scripted for ``path``: from now on it answers 200."""
        with self._cond:
            self._scripts.pop(path, None)

    def delete_slack_message(self, channel: str, ts: str) -> None:
        with self._cond:
            self.slack_messages.pop((channel, ts), None)

    def received(self, path: str, ok_only: bool = False) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.path == path and (not ok_only or m.status < 300)]

    def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([m for m in self.messages if m.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return [m for m in self.messages if m.path == path]

    def _default_answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        """Called with the lock held: Slack's Web API for its paths, else a plain 200."""
        if path.endswith(("/chat.postMessage", "/chat.update")):
            return _slack_web_api(self, path.rsplit("/", 1)[1], headers, body)
        if path.endswith("/v2/enqueue"):
            return self.pagerduty.answer(body)
        if path.startswith(TEAMS_PREFIX):
            return _teams_workflow(body)
        if path.startswith(DISCORD_PREFIX):
            self._ts += 1
            return _discord_webhook(path, body, self._ts)
        if path.startswith(SLACK_WEBHOOK_PREFIX):
            refused = _slack_refuses(body)
            return (400, {}, refused) if refused else (200, {}, "ok")
        return 200, {}, "ok"

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        with self._cond:
            queue = self._scripts.get(path)
            answer = queue.popleft() if queue else (self._fault(path) if self._fault else None)
            status, extra, text = answer or self._default_answer(path, headers, body)
            message = Received(path, headers, body, status, time.time())
            self.messages.append(message)
            self._cond.notify_all()
        if self._on_message:
            self._on_message(message)
        if self._latency:
            time.sleep(self._latency(path))
        return status, extra, text


def _slack_web_api(
    receiver: Receiver, method: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], str]:
    import json

    def answer(document: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps(document)

    token = headers.get("authorization", "").removeprefix("Bearer ")
    if not token.startswith("xox") or (receiver.slack_tokens and token not in receiver.slack_tokens):
        return answer({"ok": False, "error": "invalid_auth"})
    try:
        message = json.loads(body)
    except ValueError:
        return answer({"ok": False, "error": "invalid_json"})
    if not isinstance(message, dict) or not message.get("channel"):
        return answer({"ok": False, "error": "channel_not_found"})
    channel = str(message["channel"])
    refused = _slack_refuses(body)
    if refused:
        return answer({"ok": False, "error": refused})
    if receiver.slack_limit and not _slack_allows(receiver, channel):
        receiver.slack_ratelimited[channel] = receiver.slack_ratelimited.get(channel, 0) + 1
        status, headers_, text = answer({"ok": False, "error": "ratelimited"})
        return status, {**headers_, "Retry-After": "1"}, text
    if method == "chat.update":
        key = (channel, str(message.get("ts")))
        if key not in receiver.slack_messages:
            return answer({"ok": False, "error": "message_not_found"})
        receiver.slack_messages[key] = message
        return answer({"ok": True, "channel": channel, "ts": key[1]})
    receiver._ts += 1
    ts = f"{int(time.time())}.{receiver._ts:06d}"
    receiver.slack_messages[(channel, ts)] = message
    return answer({"ok": True, "channel": channel, "ts": ts})


def _slack_allows(receiver: Receiver, channel: str) -> bool:
    """A token bucket per channel: SLACK_BURST messages at once, then one per `slack_limit` seconds."""
    assert receiver.slack_limit
    now = time.monotonic()
    tokens, at = receiver._slack_buckets.get(channel, (float(SLACK_BURST), now))
    tokens = min(float(SLACK_BURST), tokens + (now - at) / receiver.slack_limit)
    if tokens < 1:
        receiver._slack_buckets[channel] = (tokens, now)
        return False
    receiver._slack_buckets[channel] = (tokens - 1, now)
    return True


#: Slack's incoming webhooks (`https://hooks.slack.com/services/T…/B…/…`).
SLACK_WEBHOOK_PREFIX = "/services/"
#: Block Kit's limits, as Slack enforces them: (header, section text, field, fields, context element, blocks, text).
_SLACK_LIMITS = (150, 3000, 2000, 10, 3000, 50, 40_000)


def _slack_refuses(body: bytes) -> str | None:
    """Slack's answer to a message over its documented limits: `invalid_blocks` or `msg_too_long`; None: fine."""
    import json

    try:
        message = json.loads(body)
    except ValueError:
        return "invalid_payload"
    header, section, field, fields, context, blocks, text = _SLACK_LIMITS
    if not isinstance(message, dict):
        return "invalid_payload"
    if len(str(message.get("text", ""))) > text:
        return "msg_too_long"
    found = message.get("blocks") or []
    if not isinstance(found, list) or len(found) > blocks:
        return "invalid_blocks"

    def over(obj: object, limit: int) -> bool:
        return isinstance(obj, dict) and len(str(obj.get("text", ""))) > limit

    for block in found:
        if not isinstance(block, dict):
            return "invalid_blocks"
        kind = block.get("type")
        if kind == "header" and over(block.get("text"), header):
            return "invalid_blocks"
        if kind == "section" and (
            over(block.get("text"), section)
            or len(block.get("fields") or []) > fields
            or any(over(f, field) for f in block.get("fields") or [])
        ):
            return "invalid_blocks"
        if kind == "context" and any(over(e, context) for e in block.get("elements") or []):
            return "invalid_blocks"
    return None


TEAMS_PREFIX = "/teams/"
DISCORD_PREFIX = "/discord/"
_JSON = {"Content-Type": "application/json"}


#: A Teams message (its card included) is refused past about 28 KB.
TEAMS_MAX_BYTES = 28_000


def _teams_workflow(body: bytes) -> tuple[int, dict[str, str], str]:
    """A Workflows webhook accepts a message whose attachment is an Adaptive Card (it then runs its flow),
    of at most about 28 KB (413 past it)."""
    import json

    if len(body) > TEAMS_MAX_BYTES:
        return 413, _JSON, json.dumps({"error": {"code": "RequestEntityTooLarge", "message": "message too large"}})

    try:
        message = json.loads(body)
        [attachment] = message["attachments"]
        card = attachment["content"]
        ok = (
            message.get("type") == "message"
            and attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
            and card.get("type") == "AdaptiveCard"
            and isinstance(card.get("body"), list)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        return 400, _JSON, json.dumps({"error": {"code": "InvalidRequestContent", "message": "not an Adaptive Card"}})
    return 202, {}, ""


#: Discord's embed limits: (title, description, field value, fields, total characters).
_DISCORD_LIMITS = (256, 4096, 1024, 25, 6000)


def _discord_webhook(path: str, body: bytes, serial: int) -> tuple[int, dict[str, str], str]:
    import json

    def invalid(why: str) -> tuple[int, dict[str, str], str]:
        return 400, _JSON, json.dumps({"code": 50035, "message": f"Invalid Form Body: {why}"})

    if "wait=true" not in path:
        return 204, {}, ""  # Discord's answer without wait: no body, nothing to say whether it was shown
    try:
        message = json.loads(body)
        embeds = message.get("embeds") or []
    except (ValueError, AttributeError):
        return invalid("not JSON")
    if not embeds and not message.get("content"):
        return invalid("cannot send an empty message")
    title, description, value, fields, total = _DISCORD_LIMITS
    for embed in embeds:
        size = len(embed.get("title", "")) + len(embed.get("description", ""))
        size += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
        if (
            len(embed.get("title", "")) > title
            or len(embed.get("description", "")) > description
            or len(embed.get("fields", [])) > fields
            or any(len(f.get("value", "")) > value or not f.get("value") for f in embed.get("fields", []))
            or size > total
            or not isinstance(embed.get("color", 0), int)
        ):
            return invalid("embed over Discord's limits")
    if "allowed_mentions" not in message:
        return invalid("this receiver insists on allowed_mentions")
    return 200, _JSON, json.dumps({"id": f"11{serial:016d}", "channel_id": "1100000000000000001", **message})


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, text = receiver._answer(self.path, headers, body)
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", extra.get("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
