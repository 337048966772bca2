"""ISO 8601 times as Apify writes them (UTC, millisecond precision, trailing ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_iso(moment: datetime) -> str:
    """``2026-11-28T10:00:03.120Z``: the one format the ledger, the queue and payloads use."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: object) -> datetime | None:
    """A timezone-aware datetime, or None when ``value`` is not an ISO 8601 string."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float | None) -> str:
    """At most two units, largest first ("2h 5m", "45s"); "unknown" for None."""
    if seconds is None:
        return "unknown"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])
