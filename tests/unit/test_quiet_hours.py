"""Quiet-hours windows in the route's own time zone: across midnight and through DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from run_notifier.domain.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours

NIGHT = QuietHours(time(22, 0), time(7, 0), "Europe/Prague")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "window"),
    [
        (utc(2026, 12, 2, 21, 0), (utc(2026, 12, 2, 21, 0), utc(2026, 12, 3, 6, 0))),  # 22:00 CET: starts
        (utc(2026, 12, 2, 23, 30), (utc(2026, 12, 2, 21, 0), utc(2026, 12, 3, 6, 0))),  # past midnight
        (utc(2026, 12, 3, 5, 59), (utc(2026, 12, 2, 21, 0), utc(2026, 12, 3, 6, 0))),
        (utc(2026, 12, 3, 6, 0), None),  # 07:00 CET: over
        (utc(2026, 12, 2, 12, 0), None),
        # Summer time (CEST, UTC+2): the same clock times are an hour earlier in UTC.
        (utc(2026, 7, 1, 20, 30), (utc(2026, 7, 1, 20, 0), utc(2026, 7, 2, 5, 0))),
        # The night the clocks go back (25 Oct 2026, 03:00 CEST -> 02:00 CET): a ten-hour night.
        (utc(2026, 10, 25, 2, 0), (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 6, 0))),
    ],
)
def test_the_window_a_time_falls_in(at, window):
    found = NIGHT.window_of(at)
    assert (found and (found.start, found.end)) == window or (found is None and window is None)


def test_a_day_window_that_does_not_cross_midnight():
    lunch = QuietHours(time(12, 0), time(13, 30), "America/New_York")
    assert lunch.window_of(utc(2026, 12, 2, 17, 15)).end == utc(2026, 12, 2, 18, 30)
    assert lunch.window_of(utc(2026, 12, 2, 18, 30)) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"from": "22:00", "to": "07:00"}, "must be an object"),
        ({"from": "22:00", "to": "07:00", "timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"from": "22:00", "to": "07:00", "timezone": "/etc/passwd"}, "IANA time zone"),
        ({"from": "24:00", "to": "07:00", "timezone": "UTC"}, "time of day"),
        ({"from": "7:00", "to": "08:00", "timezone": "UTC"}, "time of day"),
        ({"from": "07:00", "to": "07:00", "timezone": "UTC"}, "the same time"),
        ({"from": "22:00", "to": "07:00", "timezone": "UTC", "pagerduty": "yes"}, "true or false"),
        ({"from": "22:00", "to": "07:00", "timezone": "UTC", "colour": 1}, "must be an object"),
    ],
)
def test_bad_quiet_hours_say_where_and_why(raw, message):
    with pytest.raises(QuietHoursError, match=message):
        parse_quiet_hours(raw, "routes[0].quietHours", frozenset({"pagerduty"}))


def test_a_paging_kind_is_held_only_where_the_route_names_it():
    raw = {"from": "22:00", "to": "07:00", "timezone": "UTC"}
    assert not parse_quiet_hours(raw, "q", frozenset({"pagerduty"})).holds_paging("pagerduty")
    assert parse_quiet_hours({**raw, "pagerduty": True}, "q", frozenset({"pagerduty"})).holds_paging("pagerduty")
    with pytest.raises(QuietHoursError, match="must be an object"):  # a kind that does not page is no key here
        parse_quiet_hours({**raw, "slack": True}, "q", frozenset({"pagerduty"}))
