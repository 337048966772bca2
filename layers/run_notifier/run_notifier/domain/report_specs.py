"""The routes document's `digests` and `budgets`: what the hourly digest function posts, parsed and
checked. Pure.

    {"routes": [...],
     "digests": [{"name": "weekly", "channel": "C0...", "every": "week", "at": "09:00",
                  "timezone": "Europe/Prague", "match": {"actId": [...]}}],
     "budgets": [{"name": "scrapers", "match": {...}, "monthlyUsd": 200, "channel": "C0...",
                  "timezone": "Europe/Prague"},
                 {"name": "account", "monthlyUsd": 1000, "channel": "C0..."}]}

`match` takes the routes' keys (`actId`, `actorTaskId`, `status`); a budget without one covers the
whole account. A digest's or budget's `name` is part of its once-per-period claim, so renaming one
posts it again for the current period; without a name, its position in the list is its name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from run_notifier.domain.digest import LedgerRun
from run_notifier.domain.digest_schedule import EVERY, parse_at
from run_notifier.domain.routing import RoutesError, parse_match

MATCH_KEYS = frozenset({"actId", "actorTaskId", "status"})
_FIELDS = {"actId": "act_id", "actorTaskId": "task_id", "status": "status"}
CHANNEL_MAX = 80
NAME_MAX = 64


class DigestSpec(NamedTuple):
    """One digest of the routes document: its channel, daily or weekly at a local hour, and which runs it sums."""

    name: str
    channel: str
    every: str
    at: str
    timezone: str
    match: Mapping[str, frozenset[str]]


class BudgetSpec(NamedTuple):
    """One monthly budget of the routes document: its USD, its channel, its time zone and which runs count."""

    name: str
    monthly_usd: float
    channel: str
    timezone: str
    match: Mapping[str, frozenset[str]]


class ReportSpecs(NamedTuple):
    """The routes document's digests and budgets, and the routes in incident mode (for "still open")."""

    digests: tuple[DigestSpec, ...] = ()
    budgets: tuple[BudgetSpec, ...] = ()
    #: The positions of the routes in incident mode: a digest asks their incidents whether still open.
    incident_routes: tuple[int, ...] = ()


def matches(match: Mapping[str, frozenset[str]], run: LedgerRun) -> bool:
    """True when the run fits every key of the match (`actorId`, `actorTaskId`, `status`)."""
    return all(getattr(run, _FIELDS[key]) in allowed for key, allowed in match.items())


def parse_report_specs(text: str | None) -> ReportSpecs:
    """The document's digests and budgets (none when it has neither); RoutesError says where it is wrong."""
    if not text:
        return ReportSpecs()
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise RoutesError("routes document is not JSON") from None
    if not isinstance(document, dict):
        raise RoutesError("routes document must be an object")
    digests = _list(document, "digests")
    budgets = _list(document, "budgets")
    routes = document.get("routes", [])
    return ReportSpecs(
        tuple(_digest(i, raw) for i, raw in enumerate(digests)),
        tuple(_budget(i, raw) for i, raw in enumerate(budgets)),
        tuple(
            i
            for i, raw in enumerate(routes if isinstance(routes, list) else [])
            if isinstance(raw, dict) and raw.get("incident")
        ),
    )


def _list(document: dict[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise RoutesError(f'"{key}" must be a list')
    return value


def _digest(index: int, raw: Any) -> DigestSpec:
    where = f"digests[{index}]"
    _object(where, raw, {"name", "channel", "every", "at", "timezone", "match"})
    every = raw.get("every", "week")
    if every not in EVERY:
        raise RoutesError(f"{where}.every must be one of {list(EVERY)}, got {every!r}")
    at = raw.get("at", "09:00")
    try:
        parse_at(at if isinstance(at, str) else "")
    except ValueError as error:
        raise RoutesError(f"{where}.{error}") from None
    return DigestSpec(
        _name(where, raw, index),
        _channel(where, raw),
        every,
        at,
        _timezone(where, raw),
        parse_match(where, raw.get("match", {}), MATCH_KEYS),
    )


def _budget(index: int, raw: Any) -> BudgetSpec:
    where = f"budgets[{index}]"
    _object(where, raw, {"name", "channel", "monthlyUsd", "timezone", "match"})
    usd = raw.get("monthlyUsd")
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not 0 < usd <= 10**7:
        raise RoutesError(f"{where}.monthlyUsd must be a number of US dollars above 0, got {usd!r}")
    return BudgetSpec(
        _name(where, raw, index),
        float(usd),
        _channel(where, raw),
        _timezone(where, raw),
        parse_match(where, raw.get("match", {}), MATCH_KEYS),
    )


def _object(where: str, raw: Any, keys: set[str]) -> None:
    if not isinstance(raw, dict):
        raise RoutesError(f"{where} must be an object")
    unknown = set(raw) - keys
    if unknown:
        raise RoutesError(f"{where} has unknown keys {sorted(unknown)}; it takes {sorted(keys)}")


def _name(where: str, raw: dict[str, Any], index: int) -> str:
    name = raw.get("name", str(index))
    if not isinstance(name, str) or not 0 < len(name) <= NAME_MAX or "#" in name:
        raise RoutesError(f"{where}.name must be 1-{NAME_MAX} characters without '#'")
    return name


def _channel(where: str, raw: dict[str, Any]) -> str:
    channel = raw.get("channel")
    if not isinstance(channel, str) or not 0 < len(channel) <= CHANNEL_MAX:
        raise RoutesError(f"{where}.channel must be a Slack channel ID or name")
    return channel


def _timezone(where: str, raw: dict[str, Any]) -> str:
    zone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: a directory or a long name, on 3.11
        raise RoutesError(f"{where}.timezone must be an IANA time zone like Europe/Prague, got {zone!r}") from None
    return str(zone)
