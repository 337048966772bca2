"""`python -m scripts.enqueue` against moto's server."""

from __future__ import annotations

import json

from conftest import run_script


def _run(args, env, stdin=None):
    return run_script("enqueue", args, env, stdin)


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


def _bare_env(tmp_path, **extra: str) -> dict[str, str]:
    """No AWS configuration at all (and no instance metadata to fall back on)."""
    import os

    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


def test_no_credentials_is_one_line_and_exit_2(tmp_path, resources):
    result = _run(["--queue-url", resources.queue_url, "RunEnq0000000001"], _bare_env(tmp_path, AWS_REGION="us-east-1"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "enqueue: no AWS credentials: set AWS_PROFILE (or pass --profile) or AWS_ACCESS_KEY_ID/SECRET"
    ]


def test_no_region_is_one_line_and_exit_2(tmp_path):
    result = _run(["RunEnq0000000001"], _bare_env(tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y"))
    assert result.returncode == 2
    assert result.stderr.strip() == "enqueue: no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"


def test_an_unknown_stack_or_profile_is_one_line_and_exit_2(moto_endpoint, tmp_path):
    result = _run(["--stack-name", "no-such-stack", "RunEnq0000000001"], _env(moto_endpoint))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "finding the queue of stack no-such-stack: ValidationError" in result.stderr
    result = _run(["--profile", "nobody", "RunEnq0000000001"], _bare_env(tmp_path))
    assert result.returncode == 2
    assert "nobody" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_input_is_an_error_not_zero_of_zero(moto_endpoint, resources):
    result = _run(["--queue-url", resources.queue_url, "-"], _env(moto_endpoint), stdin="\n\n")
    assert result.returncode == 2
    assert "no run IDs given" in result.stderr


def test_console_and_api_run_urls_give_their_run_ids(moto_endpoint, aws_session, resources):
    urls = [
        "https://console.apify.com/actors/moJRLRc85AitArpNN/runs/RunUrl0000000001",
        "https://console.apify.com/actors/runs/RunUrl0000000002?tab=log",
        "https://api.apify.com/v2/actor-runs/RunUrl0000000003",
        "RunUrl0000000003",  # the same run twice is enqueued once
    ]
    result = _run(["--queue-url", resources.queue_url, *urls], _env(moto_endpoint))
    assert result.returncode == 0, result.stderr
    assert "enqueued 3 of 3" in result.stdout
    sqs = aws_session.client("sqs")
    got = sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert sorted(json.loads(m["Body"])["runId"] for m in got) == [f"RunUrl000000000{i}" for i in (1, 2, 3)]
