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
    if "VmRSS" not in fields:
        return None  # a zombie: exited, not yet reaped
    rss_kb = int(fields["VmRSS"].split()[0])
    return ProcessSample(rss_kb / 1024, fds, int(fields["Threads"]))


def cpu_secs(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # after the command's ")": state is field 3 of proc(5), utime 14 and stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
