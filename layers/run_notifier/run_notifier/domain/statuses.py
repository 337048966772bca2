"""Apify run statuses (hyphens, not underscores) and the watcher's own outcomes."""

from __future__ import annotations

TERMINAL: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})

#: Outcomes the watcher records itself when Apify never gives a terminal status.
NOT_FOUND = "NOT_FOUND"
WATCH_EXPIRED = "WATCH_EXPIRED"
WATCHER_OUTCOMES: frozenset[str] = frozenset({NOT_FOUND, WATCH_EXPIRED})

NOTIFIABLE: frozenset[str] = TERMINAL | WATCHER_OUTCOMES
#: Apify's statuses of a run still going (a route may match a running run: live messages, stuck alerts).
TRANSITIONAL: frozenset[str] = frozenset({"READY", "RUNNING", "TIMING-OUT", "ABORTING"})
#: Every status a route's `match.status` may name.
MATCHABLE: frozenset[str] = NOTIFIABLE | TRANSITIONAL


def is_terminal(status: str | None) -> bool:
    """True for SUCCEEDED, FAILED, TIMED-OUT and ABORTED."""
    return status in TERMINAL


def status_name(text: str) -> str:
    """Apify's statuses use hyphens, the watcher's own outcomes underscores; accept either spelling."""
    name = text.strip().upper()
    for candidate in (name.replace("_", "-"), name.replace("-", "_")):
        if candidate in NOTIFIABLE:
            return candidate
    return name
