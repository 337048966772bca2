from __future__ import annotations

import json

import pytest
from run_notifier.domain.watch_request import InvalidMessage, WatchRequest, parse_body


@pytest.mark.parametrize(
    ("body", "run_id", "source"),
    [
        ('{"runId": "abcDEF0123456789"}', "abcDEF0123456789", "runId"),
        ("abcDEF0123456789", "abcDEF0123456789", "bare"),
        ('  "abcDEF0123456789"  ', "abcDEF0123456789", "bare"),
        (json.dumps({"eventData": {"actorRunId": "R1"}, "resource": {"id": "R2"}}), "R1", "apify-webhook"),
        (json.dumps({"eventData": {}, "resource": {"id": "R2"}}), "R2", "apify-webhook"),
        ("x" * 64, "x" * 64, "bare"),
    ],
)
def test_accepted_shapes(body, run_id, source):
    request = parse_body(body)
    assert request.run_id == run_id
    assert request.source == source


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("{oops", "neither JSON nor a bare run ID"),
        ("[1, 2]", "must be an object or a string"),
        ('{"foo": 1}', "no run ID"),
        ('{"runId": "../../users/me"}', "1-64 characters"),
        ('{"runId": ""}', "1-64 characters"),
        ('{"runId": 12}', "must be a string"),
        ("x" * 65, "neither JSON nor a bare run ID"),
        ('{"runId": "abc", "attempt": -1}', "attempt"),
        ('{"runId": "abc", "attempt": true}', "attempt"),
        ('{"runId": "abc", "firstSeenAt": "yesterday"}', "ISO 8601"),
        ('{"runId": "abc", "settle": "yes"}', "settle"),
        ("a" * (257 * 1024), "larger than"),
    ],
)
def test_rejected_with_a_reason(body, reason):
    with pytest.raises(InvalidMessage, match=reason) as caught:
        parse_body(body)
    assert len(str(caught.value)) < 200


def test_watcher_fields_round_trip():
    request = parse_body('{"runId": "abc", "attempt": 4, "firstSeenAt": "2026-11-28T10:00:00Z", "settle": true}')
    assert request.attempt == 4
    assert request.settle
    again = parse_body(json.dumps(request.to_body()))
    assert again == WatchRequest("abc", 4, request.first_seen_at, True, source="watcher")


def test_a_safety_net_body_keeps_its_read_after_and_a_bad_one_is_refused():
    from datetime import UTC, datetime

    from run_notifier.domain.push import PushMode

    later = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    request = WatchRequest("RunSleep00000001", attempt=3, first_seen_at=later, push=PushMode.ADHOC, read_after=later)
    assert parse_body(json.dumps(request.to_body())).read_after == later
    bad = {**request.to_body(), "readAfter": "after lunch"}
    with pytest.raises(InvalidMessage, match="readAfter must be an ISO 8601 time"):
        parse_body(json.dumps(bad))
