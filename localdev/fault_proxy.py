"""An HTTP proxy on 127.0.0.1 that fails, loses and delays requests to AWS (moto) at random.

Between the handler's boto3 clients and moto's server, it does what a bad day at AWS does:

* ``refuse``: answer 500 InternalFailure without forwarding (the SDK retries);
* ``lose``: forward the request, then drop the connection before answering: the write landed
  and its answer is lost (the SDK retries it, and the retry meets the first write's effect);
* ``delay``: wait 0.2-1.5 s before forwarding.

It also notes every answer that took at least ``slow_secs`` (a client's read timeout): the request
landed, and the client may have given up on its answer and tried again.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from localdev.http_server import LoopbackServer, LoopbackService
from localdev.relay import RelayHandler, forward

KINDS = ("refuse", "lose", "delay")


class FaultProxy(LoopbackService):
    def __init__(self, upstream: str, rate: float, seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.faults: Counter[str] = Counter()
        self.requests = 0
        #: (X-Amz-Target, body) of every request whose answer was lost: its effect happened.
        self.lost_answers: list[tuple[str, bytes]] = []
        #: (X-Amz-Target, body, seconds) of every request that took at least `slow_secs` to answer: the
        #: client may have given up on it (its read timeout) while its effect happened.
        self.slow_answers: list[tuple[str, bytes, float]] = []
        self.slow_secs = float("inf")
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = LoopbackServer(_make_handler(self))

    def pick(self) -> tuple[str | None, float]:
        with self._lock:
            self.requests += 1
            if self._rng.random() >= self.rate:
                return None, 0.0
            kind = self._rng.choice(KINDS)
            self.faults[kind] += 1
            return kind, self._rng.uniform(0.2, 1.5)


def _make_handler(proxy: FaultProxy) -> type[RelayHandler]:
    class Handler(RelayHandler):
        def _relay(self) -> None:
            body, headers = self.request_parts()
            fault, pause = proxy.pick()
            began = time.monotonic()
            if fault == "refuse":
                payload = json.dumps({"__type": "InternalFailure", "message": "chaos: refused"}).encode()
                self.answer(500, [("Content-Type", "application/x-amz-json-1.0")], payload)
                return
            if fault == "delay":
                time.sleep(pause)
            status, upstream_headers, payload = forward(proxy.upstream, self.command, self.path, headers, body)
            if fault == "lose":
                with proxy._lock:
                    proxy.lost_answers.append((self.headers.get("X-Amz-Target", ""), body))
                self.close_connection = True  # the request landed; its answer never arrives
                return
            took = time.monotonic() - began
            if took >= proxy.slow_secs:
                with proxy._lock:
                    proxy.slow_answers.append((self.headers.get("X-Amz-Target", ""), body, took))
            self.answer(status, upstream_headers, payload)

        do_GET = do_POST = _relay

    return Handler
