"""5. The total deadline against a server that drips its answer, in every answer shape."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from run_notifier.adapters.http_client import HttpClient, HttpError
from run_notifier.domain.deadline import Deadline

from localdev.drip_server import DRIP_HEADS, DripServer

DEADLINE_SECS = 2.0
REPEATS = 3


def bench_deadline() -> dict[str, Any]:
    """The longest of REPEATS requests per shape, each with a 2 s deadline and a 10 s read timeout."""
    client = HttpClient(pool_size=4)
    longest: dict[str, float] = {}
    for shape, head in DRIP_HEADS.items():
        server = DripServer(interval=0.3, head=head)
        try:
            for _ in range(REPEATS):
                started = time.monotonic()
                with contextlib.suppress(HttpError):  # "deadline passed" is the expected end
                    client.request(
                        "POST", server.url, deadline=Deadline.after(DEADLINE_SECS), body=b"{}", read_timeout=10
                    )
                longest[shape] = max(longest.get(shape, 0.0), time.monotonic() - started)
        finally:
            server.close()
    return {"deadline": DEADLINE_SECS, "longest": longest, "worst": max(longest.values())}
