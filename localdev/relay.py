"""What the local proxies in front of moto share: pass a request upstream, answer one back."""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler
from typing import Any

#: Headers a relay sets itself (or that describe the upstream connection, not the answer).
_HOP_HEADERS = ("content-length", "connection", "transfer-encoding", "date", "server")


def forward(
    upstream: tuple[str, int], method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, list, bytes]:
    connection = http.client.HTTPConnection(*upstream, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


class RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def request_parts(self) -> tuple[bytes, dict[str, str]]:
        """The request's body and the headers to pass on."""
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        return body, headers

    def answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return
