"""Bursts: when many incidents open on one channel at once, the rest go into one grouped message.

A proxy outage fails every Actor together. With `burstAfter` 5 and `burstWindowSecs` 60 (a
route's `incident` may say otherwise), the first five incidents that open on a channel within a
minute get their own message, and the rest of that minute go into one message updated in place
("12 more Actors failing: …", a line each, linking its run). The channel's window lives in one
item (`slack-burst#<channel>`), moved by compare-and-set, so every container agrees on who is
in and who is grouped; the grouped message is posted by one delivery (a lease on the item) and
updated by the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from run_notifier.adapters.dynamodb import RunsTable

DEFAULT_BURST_AFTER = 5
DEFAULT_BURST_WINDOW_SECS = 60
#: Writers racing on one channel's window retry this often (each retry re-reads).
MAX_CONFLICTS = 20
#: How long the delivery posting the grouped message holds it (one post and its record).
POSTING_LEASE_MS = 30_000
#: Lines a grouped message shows (Slack's text limit; the rest are counted).
MAX_LINES = 100


class BurstRule(NamedTuple):
    after: int = DEFAULT_BURST_AFTER
    window_secs: int = DEFAULT_BURST_WINDOW_SECS


class Admission(NamedTuple):
    """`grouped`: this incident goes into the channel's grouped message (`group_ts`, None until posted)."""

    grouped: bool
    window_start_ms: int = 0
    group_ts: str | None = None
    lines: Mapping[str, str] = MappingProxyType({})


class BurstConflict(Exception):
    pass


def burst_key(channel: str) -> str:
    return f"slack-burst#{channel}"


class DynamoBursts:
    def __init__(self, table: RunsTable) -> None:
        self._table = table

    def admit(self, channel: str, incident_id: str, line: str, now_ms: int, rule: BurstRule) -> Admission:
        """Count this incident's opening on the channel (once, whatever the repeats); say whether it is grouped."""
        key = burst_key(channel)
        for _ in range(MAX_CONFLICTS):
            item = self._table.get(key) or {}
            version = int(item.get("version", 0))
            start = int(item.get("windowStart", 0))
            opened: list[str] = list(item.get("opened") or [])
            lines: dict[str, str] = dict(item.get("lines") or {})
            if item and now_ms - start <= rule.window_secs * 1000:
                if incident_id in opened:  # a repeat: as decided the first time
                    return Admission(incident_id in lines, start, _ts(item), lines)
                opened.append(incident_id)
                grouped = len(opened) > rule.after
                if grouped:
                    lines[incident_id] = line
                admission = Admission(grouped, start, _ts(item), lines)
                fields: dict[str, Any] = {"opened": opened, "lines": lines}
            else:  # a new window: this incident is its first
                admission = Admission(False, now_ms)
                fields = {"opened": [incident_id], "lines": {}, "windowStart": now_ms, "groupTs": None}
            if self._write(key, version, fields):
                return admission
        raise BurstConflict(f"{key}: {MAX_CONFLICTS} concurrent writers in a row")

    def claim_posting(self, channel: str, window_start_ms: int, owner: str, now_ms: int) -> bool:
        """The right to post this window's grouped message (a lease: a crashed poster frees it)."""
        stood = self._table.conditional_update(
            burst_key(channel),
            "SET #po = :owner, #pu = :until",
            "#ws = :ws AND attribute_not_exists(#ts) AND (attribute_not_exists(#pu) OR #pu < :now OR #po = :owner)",
            {"#po": "postingOwner", "#pu": "postingUntil", "#ws": "windowStart", "#ts": "groupTs"},
            {":owner": owner, ":until": now_ms + POSTING_LEASE_MS, ":ws": window_start_ms, ":now": now_ms},
        )
        return stood is None

    def record_posted(self, channel: str, window_start_ms: int, ts: str) -> None:
        self._table.conditional_update(
            burst_key(channel),
            "SET #ts = :ts",
            "#ws = :ws",
            {"#ts": "groupTs", "#ws": "windowStart"},
            {":ts": ts, ":ws": window_start_ms},
        )

    def current(self, channel: str) -> dict[str, Any]:
        return self._table.get(burst_key(channel)) or {}

    def _write(self, key: str, version: int, fields: dict[str, Any]) -> bool:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values: dict[str, Any] = {f":f{i}": value for i, value in enumerate(fields.values())}
        sets = [f"#f{i} = :f{i}" for i, value in enumerate(fields.values()) if value is not None]
        removes = [f"#f{i}" for i, value in enumerate(fields.values()) if value is None]
        values = {k: v for k, v in values.items() if v is not None}
        names["#v"] = "version"
        values[":next"] = version + 1
        update = "SET " + ", ".join([*sets, "#v = :next"]) + (" REMOVE " + ", ".join(removes) if removes else "")
        if version:
            values[":v"] = version
            condition = "#v = :v"
        else:
            condition = "attribute_not_exists(#v)"
        return self._table.conditional_update(key, update, condition, names, values) is None


def _ts(item: dict[str, Any]) -> str | None:
    ts = item.get("groupTs")
    return str(ts) if ts else None


def grouped_text(lines: Mapping[str, str]) -> str:
    """The grouped message: how many more, and a line each (already escaped by their makers)."""
    shown = sorted(lines.values())[:MAX_LINES]
    more = f"\n… and {len(lines) - MAX_LINES} more" if len(lines) > MAX_LINES else ""
    noun = "Actor" if len(lines) == 1 else "Actors"
    return f":rotating_light: {len(lines)} more {noun} failing:\n" + "\n".join(shown) + more
