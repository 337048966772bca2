"""One scoreboard for the local pipeline: what each destination received, per run, and how long
after the run's end the first alert came. The demo, chaos and the benchmark read their figures
from here, so "first post" and "alert latency" mean the same everywhere.

A message is attributed to a run by the run IDs the caller watches (a Slack webhook body carries
no structured run ID), and to a kind by the receiver path it came to.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from localdev.receiver import DISCORD_PREFIX, TEAMS_PREFIX, Received

#: The kinds a person reads an alert in: the latency is to the first of these.
ALERT_KINDS = ("slack", "webhook", "teams", "discord")


def percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of an ascending list; NaN when empty."""
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def kind_of(message: Received, slack_paths: Iterable[str] = (), webhook_paths: Iterable[str] = ()) -> str | None:
    """The destination kind a receiver message stands for; None for what is not an alert (a thread
    reply, a live message's "running" post, a refused or failed answer)."""
    if message.status >= 300:
        return None
    path = message.path
    if path.startswith(TEAMS_PREFIX):
        return "teams"
    if path.startswith(DISCORD_PREFIX):
        return "discord"
    if path in webhook_paths:
        return "webhook"
    if path in slack_paths:
        return "slack"
    if path.endswith("/chat.update"):
        return "slack"
    if path.endswith("/chat.postMessage"):
        body = message.json()
        running = str(body.get("text", "")).startswith(":arrow_forward: running")
        return None if running or "thread_ts" in body else "slack"
    return None


class Scoreboard:
    def __init__(self, run_ids: Iterable[str]) -> None:
        self.run_ids = list(dict.fromkeys(run_ids))
        #: (run ID, kind) -> when each delivery arrived (wall clock, seconds)
        self.deliveries: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, run_id: str, kind: str, at: float) -> None:
        self.deliveries[(run_id, kind)].append(at)

    def read(
        self, messages: Iterable[Received], *, slack_paths: Iterable[str] = (), webhook_paths: Iterable[str] = ()
    ) -> Scoreboard:
        """Count the receiver's messages (call once with all of them)."""
        slack, hooks = tuple(slack_paths), tuple(webhook_paths)
        for message in messages:
            kind = kind_of(message, slack, hooks)
            if kind is None:
                continue
            body = message.body.decode(errors="replace")
            for run_id in self.run_ids:
                if run_id in body:
                    self.add(run_id, kind, message.at)
                    break
        return self

    def count(self, run_id: str, kind: str) -> int:
        return len(self.deliveries.get((run_id, kind), []))

    def per_run(self, kinds: Iterable[str]) -> dict[str, tuple[int, ...]]:
        kinds = tuple(kinds)
        return {run_id: tuple(self.count(run_id, kind) for kind in kinds) for run_id in self.run_ids}

    def lost(self, kinds: Iterable[str]) -> list[tuple[str, str]]:
        return [(run_id, kind) for run_id in self.run_ids for kind in kinds if not self.count(run_id, kind)]

    def duplicates(self) -> dict[tuple[str, str], int]:
        return {key: len(times) - 1 for key, times in self.deliveries.items() if len(times) > 1}

    def first_alert(self, run_id: str, kinds: Iterable[str] = ALERT_KINDS) -> float | None:
        firsts = [min(self.deliveries[(run_id, k)]) for k in kinds if self.deliveries.get((run_id, k))]
        return min(firsts) if firsts else None

    def latencies(self, ended: Mapping[str, float], kinds: Iterable[str] = ALERT_KINDS) -> dict[str, float]:
        """Seconds from each run's end (wall clock) to its first alert of these kinds."""
        kinds = tuple(kinds)
        found = {}
        for run_id, end in ended.items():
            first = self.first_alert(run_id, kinds)
            if first is not None:
                found[run_id] = first - end
        return found


def latency_summary(latencies: Iterable[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "max": ordered[-1] if ordered else math.nan,
    }
