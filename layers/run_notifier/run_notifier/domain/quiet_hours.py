"""Quiet hours: a route's nightly window in which chat holds its alerts for one summary at the end.

`"quietHours": {"from": "22:00", "to": "07:00", "timezone": "Europe/Prague"}`:
a run that finishes inside the window (in the route's own time zone, across midnight, through
daylight-saving changes) is not announced in chat while the window lasts; when it ends, the
first of its runs to come back posts one summary of everything the window held, and the rest
find themselves in it. A paging kind is held too only when the route names it with true (`"<kind>": true`).

Which window a run belongs to is decided by when it finished, so every delivery of it agrees;
whether to hold is decided by the time now (a run that finished at 06:59 and is read at 07:01 is
summarised at once).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
KEYS = frozenset({"from", "to", "timezone"})


class QuietHoursError(ValueError):
    """A route's `quietHours` is invalid; the message says where and why."""

    pass


class QuietWindow(NamedTuple):
    """One night's window, in UTC; `key` names it for its summary (the window's end)."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The window's name: its end in UTC."""
        return self.end.strftime("%Y-%m-%dT%H:%MZ")


class QuietHours(NamedTuple):
    """A route's nightly window: from, to, in its own time zone; the paging kinds it holds too."""

    start: time
    end: time
    zone: str
    #: The paging kinds held too, by the route's `"<kind>": true` (default: paging is never held).
    held_paging: frozenset[str] = frozenset()

    def holds_paging(self, kind: str) -> bool:
        """Whether this paging kind is held in the window too."""
        return kind in self.held_paging

    def window_of(self, at: datetime) -> QuietWindow | None:
        """The window `at` falls in, or None."""
        tz = ZoneInfo(self.zone)
        local = at.astimezone(tz)
        for day in (local.date() - timedelta(days=1), local.date()):
            start, end = self._bounds(day, tz)
            if start <= local < end:
                return QuietWindow(start.astimezone(UTC), end.astimezone(UTC))
        return None

    def _bounds(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return datetime.combine(day, self.start, tz), datetime.combine(end_day, self.end, tz)


def parse_quiet_hours(raw: object, where: str, paging_kinds: frozenset[str] = frozenset()) -> QuietHours:
    """A route's `quietHours`; QuietHoursError says what is wrong, with `where` (routes[i].quietHours).

    ``paging_kinds``: the kinds that page someone (the registry's); each may be named with true or
    false to hold it in the window too."""
    if not isinstance(raw, dict) or set(raw) - KEYS - paging_kinds or not set(raw) >= KEYS:
        optional = "".join(f' and optionally "{kind}"' for kind in sorted(paging_kinds))
        raise QuietHoursError(f'{where} must be an object with "from", "to", "timezone"{optional}')
    clocks = []
    for key in ("from", "to"):
        match = CLOCK.match(raw[key]) if isinstance(raw[key], str) else None
        if not match:
            raise QuietHoursError(f'{where}.{key} must be a time of day like "22:00"')
        clocks.append(time(int(match.group(1)), int(match.group(2))))
    if clocks[0] == clocks[1]:
        raise QuietHoursError(f"{where}: from and to are the same time")
    zone = raw["timezone"]
    try:
        if not isinstance(zone, str) or not zone or zone.startswith(("/", ".")):
            raise ValueError
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("America") or a long name, on 3.11
        raise QuietHoursError(f"{where}.timezone must be an IANA time zone like Europe/Prague") from None
    held = set()
    for kind in sorted(paging_kinds & set(raw)):
        if not isinstance(raw[kind], bool):
            raise QuietHoursError(f"{where}.{kind} must be true or false")
        if raw[kind]:
            held.add(kind)
    return QuietHours(clocks[0], clocks[1], zone, frozenset(held))
