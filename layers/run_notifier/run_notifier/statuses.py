"""Apify run statuses (hyphens, not underscores) and the watcher's own outcomes."""

from __future__ import annotations

TRANSITIONAL: frozenset[str] = frozenset({"READY", "RUNNING", "TIMING-OUT", "ABORTING"})
TERMINAL: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})

#: Outcomes the watcher records itself when Apify never gives a terminal status.
NOT_FOUND = "NOT_FOUND"
WATCH_EXPIRED = "WATCH_EXPIRED"
WATCHER_OUTCOMES: frozenset[str] = frozenset({NOT_FOUND, WATCH_EXPIRED})

NOTIFIABLE: frozenset[str] = TERMINAL | WATCHER_OUTCOMES
DEFAULT_NOTIFY_ON: frozenset[str] = TERMINAL | {WATCH_EXPIRED}


def is_terminal(status: str | None) -> bool:
    return status in TERMINAL
