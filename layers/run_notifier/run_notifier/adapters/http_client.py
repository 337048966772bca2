"""A pooled HTTP client on urllib3 (which botocore already loads), with a total deadline per request.

Why not requests: it adds ~35 ms to every cold start (measured by `make bench`) for features
the watcher does not use. One PoolManager is shared by all worker threads (it is
thread-safe); retries are ours, because they must respect the invocation's deadline.

Why a watchdog: urllib3's timeouts bound each socket operation, not the request, so a server
that drips one byte every few seconds keeps a request alive for as long as it likes. Each
request here has a total deadline: a timer shuts the request's socket down when it passes,
which ends any blocking connect, send or read at once. The socket is remembered when the
connection connects or is reused, not looked up on the connection when the timer fires: an
answer with `Connection: close` (or an HTTP/1.0 one) takes the socket away from the connection
and hands it to the response, and would otherwise drip on past its deadline. Response bodies
are read in chunks up to a byte bound, so a huge or endless answer costs bounded memory.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from run_notifier.domain.deadline import Deadline

#: The largest response body read (an Apify run object is a few KB; a Slack answer a few bytes).
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
_CHUNK = 64 * 1024


class HttpError(Exception):
    """A network-level failure; the message names only the kind of error, never the URL."""


class HttpResponse(NamedTuple):
    """One HTTP answer: status, headers (lower-cased names) and a body read up to its bound."""

    status: int
    headers: Mapping[str, str]  # urllib3's: names are case-insensitive
    body: bytes
    #: With ``keep_tail``: how many bytes before ``body`` were read and dropped.
    dropped_bytes: int = 0

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


class _InFlight:
    """The sockets one request is using, so the watchdog can cut them whoever holds them then."""

    __slots__ = ("cut", "lock", "sockets")

    def __init__(self) -> None:
        self.sockets: list[Any] = []
        self.cut = False
        self.lock = threading.Lock()

    def add(self, sock: Any) -> None:
        with self.lock:
            if sock is None or any(s is sock for s in self.sockets):
                return
            self.sockets.append(sock)
            cut = self.cut
        if cut:  # the deadline passed while this socket was being made
            _shutdown(sock)

    def shut(self) -> None:
        with self.lock:
            self.cut = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: Any) -> None:
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)  # a reused keep-alive connection: its socket is already there
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _track(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(self.sock)
        super().request(*args, **kwargs)


def _track(sock: Any) -> None:
    in_flight = getattr(_current, "in_flight", None)
    if in_flight is not None:
        in_flight.add(sock)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class HttpClient:
    """Pooled urllib3 requests that end at their deadline whatever the server does (slow headers, a trickled body,
    keep-alive)."""

    def __init__(self, pool_size: int = 100) -> None:
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=pool_size, retries=False)
        self._pool.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def reset(self) -> None:
        """Drop every pooled connection (after a SnapStart restore its sockets are the snapshot's, dead)."""
        self._pool.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        keep_tail: bool = False,
    ) -> HttpResponse:
        """One request that ends by ``deadline`` whatever the server does; raises HttpError.

        A body larger than ``max_body_bytes`` raises, unless ``keep_tail``: then the whole body
        is read (a log of many MB) and only its last ``max_body_bytes`` are kept.
        """
        total = deadline.left()
        if total <= 0:
            raise HttpError("no time left")
        if params:
            url = f"{url}?{urlencode(params)}"
        in_flight = _InFlight()
        _current.in_flight = in_flight
        watchdog = threading.Timer(total, in_flight.shut)
        watchdog.daemon = True
        watchdog.start()
        try:
            response = self._pool.request(
                method,
                url,
                headers=dict(headers or {}),
                body=body,
                timeout=urllib3.Timeout(connect=min(connect_timeout, total), read=min(read_timeout, total)),
                redirect=False,
                preload_content=False,
            )
            try:
                data, dropped = _read_bounded(response, max_body_bytes, keep_tail)
            except BaseException:
                response.close()  # never put a half-read connection back in the pool
                raise
            finally:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as error:  # a cut socket can surface as a bare OSError
            raise HttpError("deadline passed" if in_flight.cut else type(error).__name__) from None
        finally:
            watchdog.cancel()
            _current.in_flight = None
        if in_flight.cut:
            raise HttpError("deadline passed")
        return HttpResponse(response.status, response.headers, data, dropped)


def _read_bounded(response: Any, max_bytes: int, keep_tail: bool) -> tuple[bytes, int]:
    """The body, and how many bytes were dropped from its front (only with ``keep_tail``)."""
    data = bytearray()
    dropped = 0
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            return bytes(data), dropped
        data += chunk
        if len(data) > max_bytes:
            if not keep_tail:
                raise HttpError(f"response body larger than {max_bytes} bytes")
            excess = len(data) - max_bytes
            del data[:excess]
            dropped += excess
