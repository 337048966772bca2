"""The simulator and our parsers against Apify's official OpenAPI spec and real payloads.

These read ../shared/reference (present in this workspace, absent in a user's clone, where
they skip and say why).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import require_shared_reference
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from run_notifier.adapters.apify_links import console_url
from run_notifier.adapters.apify_runs import listed_run, summary_from_run
from run_notifier.adapters.apify_schedules import schedule_view
from run_notifier.destinations.run_payload import run_data
from run_notifier.domain.missed_schedules import ScheduleAction
from run_notifier.domain.watch_request import parse_body

from localdev.apify_simulator import ApifySimulator


def _validator(schema_path: Path) -> Draft202012Validator:
    def retrieve(uri: str) -> Resource:
        path = Path(uri.removeprefix("file://"))
        return Resource.from_contents(yaml.safe_load(path.read_text()), default_specification=_SPEC)

    from referencing.jsonschema import DRAFT202012 as _SPEC

    schema = yaml.safe_load(schema_path.read_text())
    schema["$id"] = f"file://{schema_path}"
    registry = Registry(retrieve=retrieve)
    return Draft202012Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def run_schema() -> Draft202012Validator:
    reference = require_shared_reference()
    return _validator(reference / "apify-openapi/components/schemas/actor-runs/Run.yaml")


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(instance)]


def test_the_schema_catches_a_broken_run(run_schema):
    assert _errors(run_schema, {"id": "x", "status": "DONE"})  # the check itself can fail


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"])
def test_simulator_runs_match_the_run_schema_in_every_state(run_schema, status):
    with ApifySimulator() as sim:
        run = sim.add_run(
            "SchemaRun0000001",
            1.2,
            final_status=status,
            task_id="Task000000000001",
            charged_event_counts={"actor-start": 1},
            settle_secs=0.2,
        )
        seen = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = time.monotonic()
            for with_usage in (True, False):
                obj = sim.run_object(run, now, with_usage)
                assert _errors(run_schema, obj) == [], obj["status"]
                seen.add(obj["status"])
            if now > run.end_mono() + 0.3:
                break
            time.sleep(0.05)
    assert {"READY", "RUNNING", status} <= seen


def test_simulator_hides_usage_without_a_token():
    with ApifySimulator() as sim:
        run = sim.add_run("Usage00000000001", 0.0)
        assert "usageTotalUsd" not in sim.run_object(run, time.monotonic(), with_usage=False)
        assert "usageTotalUsd" in sim.run_object(run, time.monotonic(), with_usage=True)


def test_reference_run_examples_parse_into_summaries(run_schema):
    reference = require_shared_reference()
    aborted = json.loads(
        (reference / "apify-examples/run_get_response_ABORTED__openapi_AbortedRunExample.json").read_text()
    )["data"]
    assert _errors(run_schema, aborted) == []
    summary = summary_from_run(aborted)
    assert summary.status == "ABORTED"
    assert summary.usage_total_usd == 0.2654
    assert console_url(summary) == "https://console.apify.com/actors/janedoe~my-actor/runs/HG7ML7M8z78YcAPEB"
    assert run_data(summary)["durationSecs"] > 0


def test_reference_webhook_payloads_are_accepted_by_intake():
    reference = require_shared_reference()
    payload = json.loads(
        (reference / "apify-examples/webhook_default_payload__apify-docs_webhooks_actions_md.json").read_text()
    )
    assert parse_body(json.dumps(payload)).run_id == payload["eventData"]["actorRunId"]


def test_simulator_errors_use_the_official_shapes():
    reference = require_shared_reference()
    official = json.loads((reference / "apify-examples/error_responses__openapi_components_responses.json").read_text())
    official_types = json.dumps(official)
    with ApifySimulator() as sim:
        for status in (404, 429, 500):
            sim.inject("*", status)
            code, _, body = sim.handle_get("/v2/actor-runs/Nope", {}, {})
            assert code == status
            assert set(body) == {"error"}
            assert set(body["error"]) == {"type", "message"}
        code, _, body = sim.handle_get("/v2/actor-runs/Nope", {}, {})
        assert (code, body["error"]["type"]) == (404, "record-not-found")
        assert "record-not-found" in official_types
        assert (
            "rate-limit-exceeded" in official_types
            or "rate-limit-exceeded"
            in (reference / "apify-examples/error_429_rate_limit__docs_and_real.json").read_text()
        )


def test_the_simulator_run_list_matches_list_of_runs_response():
    reference = require_shared_reference()
    validator = _validator(reference / "apify-openapi/components/schemas/actor-runs/ListOfRunsResponse.yaml")
    with ApifySimulator() as sim:
        for i in range(3):
            sim.add_run(f"ListRun{i:09d}", 0.0 if i else 30.0, task_id="Task000000000001" if i == 1 else None)
        status, _, body = sim.handle_get(
            "/v2/actor-runs", {"limit": ["2"], "offset": ["1"]}, {"authorization": f"Bearer {sim.token}"}
        )
    assert status == 200
    assert _errors(validator, body) == []
    assert (body["data"]["total"], body["data"]["count"], body["data"]["offset"]) == (3, 2, 1)
    assert [item["id"] for item in body["data"]["items"]] == ["ListRun000000001", "ListRun000000002"]
    assert _errors(validator, {"data": {"items": "nope"}})  # the check itself can fail


def test_the_simulator_dataset_matches_the_dataset_schema_and_counts_the_runs_items():
    reference = require_shared_reference()
    validator = _validator(reference / "apify-openapi/components/schemas/datasets/Dataset.yaml")
    with ApifySimulator() as sim:
        sim.add_run("DatasetRun000001", 0.0, item_count=1234)
        auth = {"authorization": f"Bearer {sim.token}"}
        status, _, body = sim.handle_get("/v2/datasets/dsDatasetRun00000", {}, auth)
        missing, _, _ = sim.handle_get("/v2/datasets/dsNoSuchDataset0", {}, auth)
    assert status == 200
    assert _errors(validator, body["data"]) == []
    assert body["data"]["itemCount"] == 1234
    assert missing == 404
    assert _errors(validator, {**body["data"], "itemCount": -1})  # the check itself can fail


def test_the_simulator_schedules_match_the_schedule_list_and_parse_into_views():
    reference = require_shared_reference()
    validator = _validator(reference / "apify-openapi/components/schemas/schedules/ListOfSchedulesResponse.yaml")
    run_validator = _validator(reference / "apify-openapi/components/schemas/actor-runs/RunMeta.yaml")
    with ApifySimulator() as sim:
        sim.add_task("Task000000000001", "SimActor00000001")
        sim.add_schedule("SchedActor000001", "actor-hourly", 3600, 0.0, act_id="SimActor00000001", cron="0 * * * *")
        sim.add_schedule("SchedTask0000001", "task-daily", 86400, 60.0, task_id="Task000000000001", enabled=False)
        auth = {"authorization": f"Bearer {sim.token}"}
        give_up = time.monotonic() + 5
        while not sim.schedules["SchedActor000001"].fired and time.monotonic() < give_up:
            time.sleep(0.05)  # the simulator's own tick fires the due slot
        status, _, body = sim.handle_get("/v2/schedules", {"limit": ["10"]}, auth)
        _, _, runs = sim.handle_get("/v2/actor-runs", {}, auth)
    assert status == 200
    assert _errors(validator, body) == []
    views = [schedule_view(item) for item in body["data"]["items"]]
    assert [(v.schedule_id, v.enabled, v.actions) for v in views if v] == [
        ("SchedActor000001", True, (ScheduleAction(act_id="SimActor00000001"),)),
        ("SchedTask0000001", False, (ScheduleAction(actor_task_id="Task000000000001"),)),
    ]
    [scheduled] = runs["data"]["items"]
    assert _errors(run_validator, scheduled["meta"]) == []
    listed = listed_run(scheduled)
    assert (listed.schedule_id, listed.scheduled_at) == ("SchedActor000001", views[0].last_run_at)
    assert _errors(validator, {"data": {**body["data"], "items": [{"id": "x"}]}})  # the check itself can fail


def test_make_enrolls_webhook_and_the_simulators_answer_match_the_webhook_schemas():

    reference = require_shared_reference()
    create = _validator(reference / "apify-openapi/components/schemas/webhooks/WebhookCreate.yaml")
    webhook = _validator(reference / "apify-openapi/components/schemas/webhooks/Webhook.yaml")
    from run_notifier.adapters.apify_api import ApifyClient
    from run_notifier.adapters.http_client import HttpClient
    from run_notifier.adapters.secret_store import Secret
    from run_notifier.domain.deadline import Deadline

    from scripts import enroll

    sent: list[dict[str, Any]] = []

    class Recording(ApifyClient):
        def create_webhook(self, spec: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
            sent.append(spec)
            return super().create_webhook(spec, deadline)

    with ApifySimulator() as sim:
        sim.add_actor("SchemaActor00001", "jane", "scraper")
        enroll.enroll(
            Recording(sim.base_url, lambda: Secret(sim.token or ""), HttpClient(pool_size=2)),
            "https://x.lambda-url.eu-west-1.on.aws/",
            "t0k3n",
            ["SchemaActor00001"],
            ["SchemaTask000001"],
        )
        created = list(sim.webhooks.webhooks.values())
    assert len(sent) == 2
    for body in sent:
        assert _errors(create, body) == []
    for obj in created:
        assert _errors(webhook, obj) == []
    assert _errors(create, {"eventTypes": ["NOT.AN.EVENT"], "condition": {}, "requestUrl": "x"})  # it can fail


def test_the_watchers_ad_hoc_webhook_matches_the_webhook_create_schema():
    from run_notifier.adapters.apify_api import ApifyClient
    from run_notifier.adapters.http_client import HttpClient
    from run_notifier.adapters.push_arming import ApifyPushArming
    from run_notifier.adapters.secret_store import Secret
    from run_notifier.domain.deadline import Deadline
    from run_notifier.domain.push import PushMode

    reference = require_shared_reference()
    create = _validator(reference / "apify-openapi/components/schemas/webhooks/WebhookCreate.yaml")
    webhook = _validator(reference / "apify-openapi/components/schemas/webhooks/Webhook.yaml")
    sent: list[dict[str, Any]] = []

    class Recording(ApifyClient):
        def create_webhook(self, spec: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
            sent.append(spec)
            return super().create_webhook(spec, deadline)

    with ApifySimulator() as sim:
        client = Recording(sim.base_url, lambda: Secret(sim.token or ""), HttpClient(pool_size=2))
        push_url = "https://abc.lambda-url.eu-west-1.on.aws/apify/webhooks"
        arming = ApifyPushArming(client, push_url, lambda: Secret("t0k3n"))
        armed = arming.arm("SchemaRun0000001", Deadline.after(10))
        created = list(sim.webhooks.webhooks.values())
    [body] = sent
    assert _errors(create, body) == []
    assert body["condition"] == {"actorRunId": "SchemaRun0000001"}
    assert body["isAdHoc"] is True
    [obj] = created
    assert _errors(webhook, obj) == []
    assert (armed.mode, armed.webhook_id) == (PushMode.ADHOC, obj["id"])


def test_the_simulators_run_start_answers_a_run_and_takes_the_specs_query_parameters(run_schema):
    import urllib.request

    reference = require_shared_reference()
    spec = yaml.safe_load((reference / "apify-openapi/paths/actors/acts@{actorId}@runs.yaml").read_text())
    parameters = {p["$ref"].rsplit("/", 1)[1] for p in spec["post"]["parameters"] if "$ref" in p}
    assert {
        "build",
        "memory",
        "timeout",
    } <= parameters  # what follow-up targets send (build, memoryMbytes, timeoutSecs)
    assert {"201", "400", "402", "403", "404", "429"} <= set(spec["post"]["responses"])
    with ApifySimulator() as sim:
        sim.add_actor("SchemaActor00001", "jane", "loader")
        request = urllib.request.Request(
            f"{sim.base_url}/v2/acts/jane~loader/runs?memory=512&build=latest",
            data=json.dumps({"datasetId": "abc"}).encode(),
            headers={"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            run = json.loads(response.read())["data"]
        assert _errors(run_schema, run) == []
        assert run["actId"] == "SchemaActor00001"
        assert sim.started[run["id"]] == ({"datasetId": "abc"}, {"memory": "512", "build": "latest"})
