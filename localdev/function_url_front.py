"""A Lambda Function URL on 127.0.0.1: each HTTP request becomes a payload-format-2.0 event for a
handler, and its answer the HTTP response (as `event_source.py` does for SQS)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from localdev.http_server import LoopbackServer, LoopbackService
from localdev.lambda_context import FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_function_url_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


#: What a Function URL answers when the function's reserved concurrency is taken (Lambda's throttle).
THROTTLED = (
    429,
    {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."},
)


class FunctionUrlFront(LoopbackService):
    def __init__(
        self, handler: Handler, function_name: str = "WebhookIntakeFunction", reserved_concurrency: int | None = None
    ) -> None:
        """``reserved_concurrency``: at most this many invocations at once; a request beyond them is answered
        429 at once, as Lambda throttles a function at its reserved concurrency (None: no limit)."""
        self.handler = handler
        self.function_name = function_name
        self._slots = threading.BoundedSemaphore(reserved_concurrency) if reserved_concurrency else None
        #: Requests answered 429 for the reserved concurrency.
        self.throttled = 0
        self._server = LoopbackServer(_make_handler(self))

    def acquire(self) -> bool:
        if self._slots is None:
            return True
        if self._slots.acquire(blocking=False):
            return True
        self.throttled += 1
        return False

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()


def _make_handler(front: FunctionUrlFront) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _invoke(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            parts = urlsplit(self.path)
            event = to_function_url_event(self.command, parts.path, parts.query, dict(self.headers.items()), body)
            if not front.acquire():
                status, document = THROTTLED
                answer: dict[str, Any] = {"statusCode": status, "body": json.dumps(document)}
            else:
                try:
                    answer = front.handler(event, FakeLambdaContext(timeout_secs=10, function_name=front.function_name))
                finally:
                    front.release()
            payload = (answer.get("body") or "").encode()
            if answer.get("isBase64Encoded"):
                payload = base64.b64decode(payload)
            self.send_response(int(answer.get("statusCode", 200)))
            for name, value in (answer.get("headers") or {}).items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _invoke

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
