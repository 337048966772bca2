"""Mutes in the runs table: one item (`mutes#all`, a key no run ID can take) holding every mute by
subject, read at most once per `CACHE_SECS` per container.

One item, not one per subject: a finished run then costs at most one read for every subject that
could cover it (its task, its Actor's ID and name), and `make mute --list` one read for all. A
new mute takes effect within `CACHE_SECS` in containers that read the item before it; expired
mutes are ignored when read and dropped at the next write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.domain.isotime import format_iso
from run_notifier.domain.mutes import Mute, mute_for
from run_notifier.domain.run_summary import RunSummary

MUTES_KEY = "mutes#all"
ATTRIBUTE = "mutes"
CACHE_SECS = 30.0


class DynamoMutes:
    """One-off mutes on the runs table: one item per subject (an Actor or a task), each with its end."""

    def __init__(
        self, table: RunsTable, clock: Callable[[], datetime], *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._table = table
        self._clock = clock
        self._monotonic = monotonic
        self._cached: tuple[float, list[Mute]] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[Mute]:
        """Every mute stored, active or not, read now."""
        raw = (self._table.get(MUTES_KEY) or {}).get(ATTRIBUTE) or {}
        return sorted((_mute(subject, value) for subject, value in raw.items()), key=lambda m: m.subject)

    def muted(self, summary: RunSummary) -> Mute | None:
        """The active mute covering this run (from a cache of at most CACHE_SECS)."""
        with self._lock:
            if self._cached is None or self._monotonic() - self._cached[0] > CACHE_SECS:
                self._cached = (self._monotonic(), self.all())
            mutes = self._cached[1]
        return mute_for(mutes, summary, self._clock())

    def add(self, mute: Mute) -> None:
        """Store the mute (replacing one on the same subject) and drop the expired ones."""
        now = self._clock()
        expired = [m.subject for m in self.all() if not m.active(now) and m.subject != mute.subject]
        names = {"#m": ATTRIBUTE, "#s": mute.subject}
        value = {"until": mute.until, "reason": mute.reason, "createdAt": mute.created_at or format_iso(now)}
        update = "SET #m.#s = :mute"
        for index, subject in enumerate(expired[:50]):
            names[f"#x{index}"] = subject
        if expired:
            update += " REMOVE " + ", ".join(f"#m.#x{i}" for i in range(len(expired[:50])))
        self._table.conditional_update(
            MUTES_KEY,
            "SET #m = if_not_exists(#m, :empty)",
            "attribute_not_exists(#k) OR attribute_exists(#k)",
            {"#m": ATTRIBUTE, "#k": "runId"},
            {":empty": {}},
        )
        self._table.update(MUTES_KEY, update, names, {":mute": value})
        self._cached = None

    def remove(self, subject: str) -> bool:
        """Unmute; False when there was no such mute."""
        if subject not in {m.subject for m in self.all()}:
            return False
        self._table.update(MUTES_KEY, "REMOVE #m.#s", {"#m": ATTRIBUTE, "#s": subject}, {})
        self._cached = None
        return True


def _mute(subject: str, value: Any) -> Mute:
    value = value if isinstance(value, dict) else {}
    return Mute(subject, str(value.get("until", "")), str(value.get("reason", "")), str(value.get("createdAt", "")))
