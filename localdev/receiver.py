"""A local stand-in for Slack and webhook endpoints: records every POST, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from localdev.http_server import LoopbackServer, LoopbackService


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

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        with self._cond:
            queue = self._scripts.get(path)
            answer = queue.popleft() if queue else (self._fault(path) if self._fault else None)
            status, extra, text = answer or (200, {}, "ok")
            message = Received(path, headers, body, status, time.time())
            self.messages.append(message)
            self._cond.notify_all()
        if self._on_message:
            self._on_message(message)
        if self._latency:
            time.sleep(self._latency(path))
        return status, extra, text


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
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
