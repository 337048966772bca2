"""Property tests for every parser of outside input: only the documented errors, never a hang,
never an invalid run ID accepted, and whatever Apify sends stays small enough to record and announce."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from run_notifier.adapters.apify_api import _data, _error_of
from run_notifier.adapters.apify_links import console_url, dataset_console_url, dataset_items_url
from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.adapters.http_client import HttpResponse
from run_notifier.adapters.retry import Retry
from run_notifier.destinations import SCHEMAS
from run_notifier.destinations.run_payload import run_data
from run_notifier.destinations.slack.message import build_message
from run_notifier.destinations.webhook import build_payload
from run_notifier.domain.intake_request import IntakeRefused, from_apify_webhook, from_run_list
from run_notifier.domain.routing import Routes, RoutesError, parse_routes
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.watch_request import InvalidMessage, WatchRequest, parse_body

RUN_ID = re.compile(r"[A-Za-z0-9]{1,64}")
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
run_ids = st.from_regex(RUN_ID, fullmatch=True)
field_values = st.one_of(
    json_values, run_ids, st.just("2026-11-28T10:00:00.000Z"), st.integers(65, 90).map(lambda n: "R" * n)
)
watcher_bodies = st.fixed_dictionaries(
    {"runId": field_values},
    optional={"attempt": field_values, "firstSeenAt": field_values, "settle": field_values},
)
webhook_bodies = st.fixed_dictionaries(
    {},
    optional={
        "eventType": field_values,
        "eventData": st.dictionaries(st.sampled_from(["actorRunId", "actorId"]), field_values) | field_values,
        "resource": st.dictionaries(st.sampled_from(["id", "status"]), field_values) | field_values,
    },
)
bodies = st.one_of(
    st.text(max_size=300),
    run_ids,
    json_values.map(json.dumps),
    watcher_bodies.map(json.dumps),
    webhook_bodies.map(json.dumps),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
)


@PROPERTY
@given(bodies)
def test_a_queue_body_is_a_valid_request_or_a_clear_rejection(body):
    try:
        request = parse_body(body)
    except InvalidMessage as error:
        assert str(error)
        assert len(str(error)) < 300  # never echoes a whole body
        return
    assert isinstance(request, WatchRequest)
    assert RUN_ID.fullmatch(request.run_id)
    assert isinstance(request.attempt, int)
    assert request.attempt >= 0
    assert request.first_seen_at is None or request.first_seen_at.tzinfo is not None


@settings(max_examples=25, deadline=None)
@given(st.integers(256 * 1024 + 1, 400_000).map(lambda n: "a" * n))
def test_an_oversized_body_is_refused_before_it_is_parsed(body):
    try:
        parse_body(body)
    except InvalidMessage as error:
        assert "larger than" in str(error)


apify_runs = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "actId",
            "actorTaskId",
            "status",
            "statusMessage",
            "exitCode",
            "usageTotalUsd",
            "startedAt",
            "finishedAt",
            "defaultDatasetId",
            "stats",
            "chargedEventCounts",
        ]
    ),
    st.one_of(
        field_values,
        st.integers(10_000, 200_000).map(lambda n: "x" * n),
        st.dictionaries(st.text(max_size=200), st.integers(), max_size=300),
        st.floats(),
    ),
)


@PROPERTY
@given(apify_runs)
def test_any_apify_run_becomes_a_summary_small_enough_to_record_and_announce(run):
    summary = summary_from_run(run, "RunProp000000001")
    assert summary.run_id == "RunProp000000001"
    data = json.dumps(run_data(summary))
    assert len(data.encode()) < 64 * 1024  # EventBridge's entry limit is 256 KB
    message = json.dumps(build_message(summary))
    assert len(message.encode()) < 64 * 1024
    json.dumps(build_payload(summary, datetime.now(UTC)))
    for link in (console_url(summary), dataset_items_url(summary) or "", dataset_console_url(summary) or ""):
        assert " " not in link
        assert "?" not in link.split("?format=json")[0]


@PROPERTY
@given(st.one_of(st.binary(max_size=500), json_values.map(lambda v: json.dumps(v).encode())))
def test_an_apify_answer_is_a_run_or_a_retry_never_an_exception(body):
    response = HttpResponse(200, {}, body)
    assert isinstance(_data(response, "run X"), dict | Retry)
    error_type, message = _error_of(HttpResponse(500, {}, body))
    assert len(error_type) <= 100
    assert len(message) <= 200


route_docs = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {
            "routes": st.lists(
                st.dictionaries(st.sampled_from(["match", "slack", "webhook", "eventbridge", "x"]), json_values),
                max_size=4,
            )
        }
    ).map(json.dumps),
    st.integers(1, 3000).map(lambda depth: '{"routes": ' + "[" * depth + "]" * depth + "}"),
)


@PROPERTY
@given(route_docs)
def test_a_routes_document_is_routes_or_a_routes_error(text):
    try:
        routes = parse_routes(text, SCHEMAS)
    except RoutesError as error:
        assert str(error)
        return
    assert isinstance(routes, Routes)
    summary = RunSummary(run_id="RunProp000000001", status="FAILED")
    assert set(routes.targets_for(summary)) == set(SCHEMAS)


intake_bodies = st.one_of(
    st.binary(max_size=300),
    webhook_bodies.map(lambda d: json.dumps({"eventType": "ACTOR.RUN.SUCCEEDED", **d}).encode()),
    st.fixed_dictionaries({"runIds": st.lists(field_values, max_size=120)}).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 3000).map(lambda depth: ("[" * depth + "]" * depth).encode()),
)


@PROPERTY
@given(intake_bodies)
def test_an_intake_request_is_runs_to_enqueue_or_a_4xx_refusal(body):
    for parse in (from_apify_webhook, from_run_list):
        try:
            decision = parse(body)
        except IntakeRefused as refused:
            assert 400 <= refused.status < 500
            assert refused.error_type
            continue
        assert all(RUN_ID.fullmatch(run_id) for run_id in decision.run_ids)
        assert len(decision.run_ids) <= 100
