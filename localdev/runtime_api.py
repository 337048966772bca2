"""The Lambda Runtime API on 127.0.0.1, as much of it as a function uses: the next invocation, and
its response or error. The real runtime interface client (`awslambdaric`) runs a handler against
it: the built artifact's smoke test, and `make invoke` (localdev/invoke.py), without Docker."""

from __future__ import annotations

import json
import queue
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from localdev.http_server import LoopbackServer

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
#: How long each invocation may run (the function's timeout, as Lambda tells the handler).
INVOCATION_SECS = 30


class RuntimeApi:
    """The two Runtime API calls a function makes: next invocation, and its response."""

    def __init__(self, events: list[dict[str, Any]], function_name: str = "smoke") -> None:
        self.function_name = function_name
        self.pending: queue.Queue[dict[str, Any]] = queue.Queue()
        for event in events:
            self.pending.put(event)
        self.results: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.server = LoopbackServer(self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                event = api.pending.get()  # blocks until the test has another event
                request_id = str(uuid.uuid4())
                deadline_ms = str(int((time.time() + INVOCATION_SECS) * 1000))
                self._reply(
                    200,
                    json.dumps(event).encode(),
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": deadline_ms,
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN + api.function_name,
                        "Content-Type": "application/json",
                    },
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                kind = "response" if self.path.endswith("/response") else "error"
                api.results.put((kind, json.loads(body or b"null")))
                self._reply(202)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
