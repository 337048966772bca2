"""scripts/enqueue.py against moto's server."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def _run(args, env, stdin=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "enqueue.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _env(moto_endpoint):
    import os

    from localdev.aws import aws_env

    return {**os.environ, **aws_env(moto_endpoint)}


def test_enqueues_ids_by_queue_url_and_from_stdin(moto_endpoint, aws_session, resources):
    env = _env(moto_endpoint)
    ids = [f"RunEnq{i:011d}" for i in range(12)]
    result = _run(["--queue-url", resources.queue_url, *ids[:11]], env)
    assert result.returncode == 0, result.stderr
    assert "enqueued 11 of 11" in result.stdout
    assert _run(["--queue-url", resources.queue_url, "-"], env, stdin=ids[11] + "\n").returncode == 0
    sqs = aws_session.client("sqs")
    got = []
    for _ in range(5):
        got += sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(json.loads(m["Body"])["runId"] for m in got) == ids


def test_finds_the_queue_in_the_stack_outputs(moto_endpoint, aws_session, resources):
    cloudformation = aws_session.client("cloudformation")
    template = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "stack-run-queue"}}},
        "Outputs": {"RunQueueUrl": {"Value": {"Ref": "Q"}}},
    }
    cloudformation.create_stack(StackName="notifier-test", TemplateBody=json.dumps(template))
    result = _run(["--stack-name", "notifier-test", "RunStack00000001"], _env(moto_endpoint))
    assert result.returncode == 0, result.stderr
    url = aws_session.client("sqs").get_queue_url(QueueName="stack-run-queue")["QueueUrl"]
    [message] = aws_session.client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert json.loads(message["Body"]) == {"runId": "RunStack00000001"}


def test_bad_ids_are_refused_before_sending(moto_endpoint, resources):
    result = _run(["--queue-url", resources.queue_url, "ok123", "../../users/me"], _env(moto_endpoint))
    assert result.returncode == 2
    assert "1-64 characters" in result.stderr
