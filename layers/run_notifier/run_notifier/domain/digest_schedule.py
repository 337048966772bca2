"""When a digest is due, from the scheduled event's own `time`: pure, so tests and replays decide
exactly as the hourly invocation did (no clock is read here).

A digest says `every` ("day" or "week"), `at` ("09:00", a whole hour) and a `timezone` (IANA). The
digest function runs every hour and asks which period is the latest one due; from `at` on, that is
the new one. A daily digest covers the previous local day, a weekly one (posted on Mondays) the
previous ISO week, both as UTC bounds for the ledger's finish-time index. Across a DST change the
local clock is what counts: 09:00 Europe/Prague is 08:00 UTC in winter and 07:00 UTC in summer. The
claim on the period's key (one per digest and period) lets exactly one invocation post it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

EVERY = ("day", "week")
#: A whole hour: the digest function runs once an hour.
AT_PATTERN = re.compile(r"^([01]\d|2[0-3]):00$")


class Period(NamedTuple):
    """What a digest covers: [start, end) in UTC, and the key its once-per-period claim is taken on."""

    key: str
    start: datetime
    end: datetime
    #: The same length just before: what "the change against the previous period" compares with.
    previous_start: datetime


def parse_at(at: str) -> int:
    """The local hour of ``at`` ("09:00")."""
    matched = AT_PATTERN.fullmatch(at)
    if matched is None:
        raise ValueError(f'"at" must be a whole hour, HH:00 (the digest function runs hourly), got {at!r}')
    return int(matched.group(1))


def due_period(every: str, at: str, timezone: str, scheduled_for: datetime) -> Period:
    """The latest period whose posting time (`at`, local) has come by ``scheduled_for`` (aware, any
    zone): yesterday's for a daily digest from `at` on (the day before's until then), last week's for a
    weekly one from Monday's `at` on. Every hourly invocation asks; the period's claim lets one post,
    and an invocation that failed (Slack down at 09:00) is caught up by the next."""
    if every not in EVERY:
        raise ValueError(f'"every" must be one of {EVERY}, got {every!r}')
    zone = ZoneInfo(timezone)
    local = scheduled_for.astimezone(zone)
    posted_on = local.date() if local.hour >= parse_at(at) else local.date() - timedelta(days=1)
    if every == "day":
        start_day, days = posted_on - timedelta(days=1), 1
        key = f"day:{start_day.isoformat()}"
    else:
        posted_on -= timedelta(days=posted_on.isoweekday() - 1)  # that week's Monday
        start_day, days = posted_on - timedelta(days=7), 7
        year, week, _ = start_day.isocalendar()
        key = f"week:{year}-W{week:02d}"
    start = _local_midnight(start_day, zone)
    end = _local_midnight(start_day + timedelta(days=days), zone)
    previous = _local_midnight(start_day - timedelta(days=days), zone)
    return Period(key, start, end, previous)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
