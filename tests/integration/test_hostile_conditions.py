"""Issue 14: no lost alert when DynamoDB fails mid-delivery, no secret at DEBUG, bounded requests."""

from __future__ import annotations

import io
import json
import logging
import resource
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import SLACK_PATH, WEBHOOK_SECRET, App, context, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.adapters.http_client import HttpClient, HttpError
from run_notifier.config import load_settings
from run_notifier.domain.deadline import Deadline
from run_notifier.sqs_handler import make_handler
from run_notifier.wiring import build_components

from localdev.drip_server import DRIP_HEADS, DripServer


def _app_whose_dynamodb_fails(env: dict[str, str], should_fail) -> App:
    """The real handler, whose DynamoDB client refuses the UpdateItem calls ``should_fail`` picks."""
    session = boto3.session.Session(region_name="us-east-1")
    real_client = session.client

    def client(service_name: str, *args, **kwargs):
        made = real_client(service_name, *args, **kwargs)
        if service_name == "dynamodb":

            def refuse(params, **_):
                if should_fail(params):
                    raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "UpdateItem")

            made.meta.events.register("before-parameter-build.dynamodb.UpdateItem", refuse)
        return made

    session.client = client
    return App(make_handler(build_components(load_settings(env), session)))


def test_a_release_lost_to_a_dynamodb_error_never_loses_the_alert(base_env, sim, receiver, aws_session, resources):
    """Issue 14, item 1: Slack fails, the RETRYING release fails too, the claim stays held.

    Before the fix the redelivery found the claim BUSY, called it "already handled", and the
    message was deleted with nothing sent. Now the run goes round again as a fresh message
    delayed past the lease (never "done"), and once the lease has lapsed it posts.
    """
    sim.add_run("RunLostAlert0001", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, *[(500, {}, "down")] * 50)
    releases = {"left": 1}

    def fail_first_release(params) -> bool:
        body = json.dumps(params.get("ExpressionAttributeValues", {}))
        if "RETRYING" in body and "#owner" in params.get("ConditionExpression", "") and releases["left"]:
            releases["left"] -= 1
            return True
        return False

    app = _app_whose_dynamodb_fails({**base_env, "SETTLE_SECONDS": "0"}, fail_first_release)
    sqs = aws_session.client("sqs")
    assert app.lambda_handler(sqs_event(["RunLostAlert0001"]), context(12)) == {"batchItemFailures": []}
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    held = table.get("RunLostAlert0001")["slackNotification"]
    assert held["state"] == "CLAIMED"  # held: the release was lost
    assert _delayed(sqs, resources.queue_url) == 1  # the run goes round again, after the lease
    receiver.clear_script(SLACK_PATH)
    # Another copy of the message before the lease ends is not called done either: it goes round again.
    assert app.lambda_handler(sqs_event(["RunLostAlert0001"]), context(12)) == {"batchItemFailures": []}
    assert receiver.received(SLACK_PATH, ok_only=True) == []
    assert table.get("RunLostAlert0001")["slackNotification"]["state"] == "CLAIMED"
    assert _delayed(sqs, resources.queue_url) == 2
    # After the lease, the message that comes back (attempt 1, a settled re-read) posts.
    _expire_lease(aws_session, resources.table_name, "RunLostAlert0001", "slack", held["leaseUntil"])
    came_back = json.dumps({"runId": "RunLostAlert0001", "attempt": 1, "settle": True})
    assert app.lambda_handler(sqs_event([came_back]), context(12)) == {"batchItemFailures": []}
    assert len(receiver.received(SLACK_PATH, ok_only=True)) == 1
    assert table.get("RunLostAlert0001")["slackNotification"]["state"] == "SENT"


def _delayed(sqs, queue_url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"])


def _expire_lease(aws_session, table_name: str, run_id: str, kind: str, lease_until: str) -> None:
    """Move the lease into the past, as the clock would (the test does not wait a minute)."""
    aws_session.client("dynamodb").update_item(
        TableName=table_name,
        Key={"runId": {"S": run_id}},
        UpdateExpression="SET #n.#lease = :past",
        ExpressionAttributeNames={"#n": f"{kind}Notification", "#lease": "leaseUntil"},
        ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00.000Z"}},
    )
    assert lease_until > "2000"


@pytest.fixture
def root_at_debug() -> Iterator[io.StringIO]:
    """The root logger at DEBUG (Lambda's ApplicationLogLevel=DEBUG), captured with no scrubbing filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.setLevel(saved)
    root.removeHandler(handler)


def test_no_secret_value_reaches_any_log_at_debug(base_env, sim, receiver, aws_session, root_at_debug):
    sm = aws_session.client("secretsmanager")
    suffix = uuid.uuid4().hex[:6]
    slack_url = receiver.base_url + SLACK_PATH
    env = {
        **base_env,
        "SETTLE_SECONDS": "0",
        "APIFY_TOKEN": "",
        "SLACK_WEBHOOK_URL": "",
        "APIFY_TOKEN_SECRET_ARN": sm.create_secret(Name=f"tok-{suffix}", SecretString=sim.token)["ARN"],
        "SLACK_WEBHOOK_URL_SECRET_ARN": sm.create_secret(Name=f"slack-{suffix}", SecretString=slack_url)["ARN"],
        "WEBHOOK_URL": receiver.base_url + "/hooks/debug",
        "WEBHOOK_SECRET_ARN": sm.create_secret(Name=f"wh-{suffix}", SecretString=WEBHOOK_SECRET)["ARN"],
    }
    sim.require_token = True
    sim.add_run("RunDebugLogs0001", 0.0, settle_secs=0, final_usd=0.25)
    sim.add_run("RunDebugLogs0002", 0.0, settle_secs=0)
    receiver.script(SLACK_PATH, (500, {}, "down"))  # an error path too
    app = App(make_handler(build_components(load_settings(env), boto3.session.Session(region_name="us-east-1"))))
    app.lambda_handler(sqs_event(["RunDebugLogs0001", "RunDebugLogs0002", "not a run id!"]), context(20))
    text = root_at_debug.getvalue()
    assert "DEBUG" in text or len(text) > 1000  # the SDKs really logged at DEBUG where they may
    for secret in (sim.token, WEBHOOK_SECRET, SLACK_PATH.rsplit("/", 1)[-1]):
        assert secret not in text
    assert len(receiver.received(SLACK_PATH, ok_only=True)) == 2


def test_the_scrub_filter_removes_known_secret_values_from_any_record():
    from run_notifier.adapters.secret_store import Secret
    from run_notifier.observability import ScrubSecrets

    value = f"xoxb-{uuid.uuid4().hex}"
    Secret(value)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s in %s", (value, "msg"), None)
    record.reason = f"failed with {value}"
    assert ScrubSecrets().filter(record)
    assert value not in record.getMessage()
    assert value not in record.reason
    assert "***" in record.getMessage()


@pytest.mark.parametrize("where", sorted(DRIP_HEADS))
def test_a_request_to_a_dripping_server_ends_at_its_deadline(where):
    head = DRIP_HEADS[where]
    server = DripServer(interval=0.3, head=head)
    try:
        started = time.monotonic()
        with pytest.raises(HttpError, match="deadline passed"):
            HttpClient().request("POST", server.url, deadline=Deadline.after(2.0), body=b"{}", read_timeout=10)
        assert 1.9 <= time.monotonic() - started < 3.0
    finally:
        server.close()


def test_a_150_mb_answer_is_refused_within_a_fixed_memory_bound():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 157286400\r\n\r\n")
            chunk = b"x" * 1024 * 1024
            try:
                for _ in range(150):
                    conn.sendall(chunk)
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with pytest.raises(HttpError, match="larger than"):
            HttpClient().request(
                "GET", f"http://127.0.0.1:{sock.getsockname()[1]}/", deadline=Deadline.after(10), max_body_bytes=1 << 20
            )
    finally:
        sock.close()
    grew_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew_kb < 20 * 1024, f"peak RSS grew by {grew_kb} KB"


def test_no_secret_in_any_log_or_item_whatever_its_origin(
    base_env, sim, receiver, aws_session, resources, intake, root_at_debug
):
    """Issue 32's grep: DEBUG everywhere, Secrets Manager mode, the Apify token sent as a run ID (to a cold
    watcher that never read it) and in `POST /runs` (to the intake, which never holds it), and a
    destination echoing its own secret in its error: nothing of any secret in the logs or the table."""
    from conftest import INTAKE_TOKEN, load_event

    sm = aws_session.client("secretsmanager")
    suffix = uuid.uuid4().hex[:6]
    routing_key = "R0UT" + uuid.uuid4().hex[:28]
    pasted_token = "apify_api_" + uuid.uuid4().hex[:30]  # a token nobody here ever read
    echo = "/pagerduty-debug/v2/enqueue"
    env = {
        **base_env,
        "SETTLE_SECONDS": "0",
        "APIFY_TOKEN": "",
        "APIFY_TOKEN_SECRET_ARN": sm.create_secret(Name=f"tok-{suffix}", SecretString=sim.token)["ARN"],
        "PAGERDUTY_ROUTING_KEY_SECRET_ARN": sm.create_secret(Name=f"pd-{suffix}", SecretString=routing_key)["ARN"],
        "PAGERDUTY_EVENTS_URL": receiver.base_url + echo,
    }
    sim.add_run("RunNoSecret00001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    receiver.script(
        echo, (400, {}, json.dumps({"status": "invalid event", "errors": [f"bad routing_key {routing_key}"]}))
    )
    app = App(make_handler(build_components(load_settings(env), boto3.session.Session(region_name="us-east-1"))))
    app.lambda_handler(sqs_event([pasted_token, "RunNoSecret00001", json.dumps({"runId": pasted_token})]), context(20))
    event = load_event("function_url_apify_webhook.json")
    event.update(rawPath="/runs", body=json.dumps({"runIds": [pasted_token]}), isBase64Encoded=False)
    event["requestContext"]["http"]["path"] = "/runs"
    event["headers"] = {**event["headers"], "authorization": f"Bearer {INTAKE_TOKEN}"}
    assert intake(event)[0] == 400

    logs = root_at_debug.getvalue()
    items = json.dumps(
        list(RunsTable(aws_session.client("dynamodb"), resources.table_name).scan_prefix("")), default=str
    )
    assert "RunNoSecret00001" in items  # the run was recorded, its PagerDuty alert refused for good
    for secret in (sim.token, routing_key, pasted_token[10:], SLACK_PATH.rsplit("/", 1)[-1]):
        for where, text in (("logs", logs), ("table", items)):
            assert secret not in text, where
            assert secret[:12] not in text, where


def test_routes_from_ssm_are_parsed_once_per_text_and_a_change_is_seen(base_env, aws_session):
    """A run asks for its routes several times: the same document text gives the same parsed routes (parsed
    once), a changed parameter gives the new ones (SECRETS_MAX_AGE_SECONDS 0: read every time)."""
    from run_notifier.adapters.memo import Lazy
    from run_notifier.wiring import routes_source

    name = f"/routes-{uuid.uuid4().hex[:6]}"
    ssm = aws_session.client("ssm")
    ssm.put_parameter(Name=name, Value=json.dumps({"routes": [{"match": {"status": "FAILED"}}]}), Type="String")
    env = {**base_env, "ROUTES_SSM_PARAMETER": name, "SECRETS_MAX_AGE_SECONDS": "0"}
    routes = routes_source(load_settings(env), Lazy(lambda: aws_session.client("ssm")))
    first = routes()
    assert routes() is first
    ssm.put_parameter(Name=name, Value=json.dumps({"routes": []}), Type="String", Overwrite=True)
    assert routes().routes == ()
