"""A server that answers one byte at a time, forever: what a request's total deadline must beat.

`DRIP_HEADS` are the answer shapes it can start with: a dripping body behind keep-alive,
`Connection: close`, HTTP/1.0 (with and without a length) or chunked framing, and dripping headers.
`Connection: close` and HTTP/1.0 hand the socket from the connection to the response, which once let
a body drip on past the deadline. Used by the tests and by `make bench`.
"""

from __future__ import annotations

import socket
import threading
import time


class DripServer:
    """Accepts a POST and answers one byte every `interval` seconds, forever."""

    def __init__(self, interval: float = 0.5, head: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.interval = interval
        self.head = head
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/drip"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                for byte in self.head:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.interval / 10)
                while not self.stop.wait(self.interval):
                    conn.sendall(b"x")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


#: Every answer shape the deadline must hold for.
DRIP_HEADS = {
    "body": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    "connection-close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n",
    "http-1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n",
    "http-1.0-no-length": b"HTTP/1.0 200 OK\r\n\r\n",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n",
    "headers": b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 500,
}
