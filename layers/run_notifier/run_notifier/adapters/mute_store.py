"""Mutes in the runs table: one item per subject (`mute#<subject>`, a key no run ID can take).

One item per subject, not one for all: the store grows with what users add, never into one
item's 400 KB (about 700 long mutes), and a write touches only its subject. A finished run costs at
most one read per subject that could cover it (its task, its Actor's ID and its Actor's name),
each cached per container for `CACHE_SECS`; a new mute takes effect within that in containers
that read the subject before it. An item expires through the table's TTL a day after its mute
ends. `all` (for `make mute --list`) scans the table for the prefix: an operator's command, never
a run's path.

Mutes written by an earlier version in the one item `mutes#all` are still honoured until they end
(read with the same cache) and are removed from it when their subject is muted or unmuted again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.isotime import format_iso, parse_iso
from run_notifier.domain.mutes import Mute, mute_for, subjects_of
from run_notifier.domain.run_summary import RunSummary

PREFIX = "mute#"
#: The one item of every mute, as an earlier version kept them (read until its mutes end).
LEGACY_KEY = "mutes#all"
LEGACY_ATTRIBUTE = "mutes"
CACHE_SECS = 30.0
#: An ended mute's item is kept this long for `make mute --list`, then the table's TTL removes it.
KEPT_AFTER_END = timedelta(days=1)


def mute_key(subject: str) -> str:
    """The runs-table key of a subject's mute."""
    return PREFIX + subject


class DynamoMutes:
    """One-off mutes on the runs table: one item per subject (an Actor or a task), each with its end."""

    def __init__(
        self, table: RunsTable, clock: Callable[[], datetime], *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._table = table
        self._clock = clock
        self._monotonic = monotonic
        #: Per key (a subject's, or the legacy item's): when it was read, and what it held.
        self._cached: dict[str, tuple[float, list[Mute]]] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Mute]:
        """Every mute stored, active or not, read now (a scan for the prefix, and the legacy item)."""
        found = {m.subject: m for m in self._legacy()}
        for item in self._table.scan_prefix(PREFIX):
            mute = _mute(str(item["runId"]).removeprefix(PREFIX), item)
            found[mute.subject] = mute
        return sorted(found.values(), key=lambda m: m.subject)

    def muted(self, summary: RunSummary) -> Mute | None:
        """The active mute covering this run (each subject read at most once per CACHE_SECS)."""
        mutes = [m for subject in subjects_of(summary) for m in self._cached_read(mute_key(subject))]
        mutes += self._cached_read(LEGACY_KEY)
        return mute_for(mutes, summary, self._clock())

    def add(self, mute: Mute) -> None:
        """Store the mute, replacing one on the same subject (its legacy entry too)."""
        now = self._clock()
        until = parse_iso(mute.until) or now
        names = {"#u": "until", "#r": "reason", "#c": "createdAt", "#x": "expiresAt"}
        values = {
            ":u": mute.until,
            ":r": mute.reason,
            ":c": mute.created_at or format_iso(now),
            ":x": int((until + KEPT_AFTER_END).timestamp()),
        }
        self._table.update(mute_key(mute.subject), "SET #u = :u, #r = :r, #c = :c, #x = :x", names, values)
        self._drop_legacy(mute.subject)
        self._forget(mute.subject)

    def remove(self, subject: str) -> bool:
        """Unmute; False when there was no such mute."""
        removed = self._table.delete_if_exists(mute_key(subject))
        removed = self._drop_legacy(subject) or removed
        self._forget(subject)
        return removed

    def _cached_read(self, key: str) -> list[Mute]:
        with self._lock:
            cached = self._cached.get(key)
            if cached is not None and self._monotonic() - cached[0] <= CACHE_SECS:
                return cached[1]
        item = self._table.get(key)
        if key == LEGACY_KEY:
            found = _legacy_mutes(item)
        else:
            found = [] if item is None else [_mute(key.removeprefix(PREFIX), item)]
        with self._lock:
            self._cached[key] = (self._monotonic(), found)
        return found

    def _legacy(self) -> list[Mute]:
        return _legacy_mutes(self._table.get(LEGACY_KEY))

    def _drop_legacy(self, subject: str) -> bool:
        """Remove the subject from the legacy item, if it is there; True when it was."""
        if subject not in {m.subject for m in self._cached_read(LEGACY_KEY)}:
            return False
        stood = self._table.conditional_update(
            LEGACY_KEY,
            "REMOVE #m.#s",
            "attribute_exists(#m.#s)",
            {"#m": LEGACY_ATTRIBUTE, "#s": subject},
            {},
        )
        return stood is None

    def _forget(self, subject: str) -> None:
        with self._lock:
            self._cached.pop(mute_key(subject), None)
            self._cached.pop(LEGACY_KEY, None)


def _legacy_mutes(item: dict[str, Any] | None) -> list[Mute]:
    raw = (item or {}).get(LEGACY_ATTRIBUTE) or {}
    return [_mute(str(subject), value) for subject, value in raw.items()]


def _mute(subject: str, value: Any) -> Mute:
    value = value if isinstance(value, dict) else {}
    return Mute(subject, str(value.get("until", "")), str(value.get("reason", "")), str(value.get("createdAt", "")))
