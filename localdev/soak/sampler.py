"""What a worker process holds right now, from /proc (Linux): resident memory, open file
descriptors and threads. Read from outside, so the measuring adds nothing to what is measured."""

from __future__ import annotations

import os
from typing import NamedTuple


class ProcessSample(NamedTuple):
    rss_mb: float
    fds: int
    threads: int


def sample(pid: int) -> ProcessSample | None:
    """None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss_kb = int(fields["VmRSS"].split()[0])
    return ProcessSample(rss_kb / 1024, fds, int(fields["Threads"]))
