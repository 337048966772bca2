"""AWS on 127.0.0.1: moto's server, with the queue, DLQ and table declared in template.yaml.

The resources are read from the template (not restated here), so the demo and the tests
cannot drift from what `sam deploy` creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from localdev.moto_atomic_writes import make_dynamodb_writes_atomic

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML's stubs are not installed
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !GetAtt, ...) as dicts."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class LocalResources:
    queue_url: str
    queue_arn: str
    dlq_url: str
    table_name: str
    max_receive_count: int
    visibility_timeout: int
    function_timeout: int

    def watcher_env(self, apify_base_url: str, apify_token: str | None, slack_webhook_url: str) -> dict[str, str]:
        """The watcher's variables for these resources, an Apify (simulator) and a Slack (receiver)."""
        return {
            "RUNS_TABLE_NAME": self.table_name,
            "RUN_QUEUE_URL": self.queue_url,
            "APIFY_API_BASE_URL": apify_base_url,
            "APIFY_TOKEN": apify_token or "",
            "SLACK_WEBHOOK_URL": slack_webhook_url,
        }


def start_moto() -> tuple[Any, str]:
    """Start moto's server on 127.0.0.1 (ephemeral port); return (server, endpoint URL)."""
    from moto.server import ThreadedMotoServer

    make_dynamodb_writes_atomic()  # see localdev/moto_atomic_writes.py

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def aws_env(endpoint: str, dynamodb_endpoint: str | None = None) -> dict[str, str]:
    """The variables that point the code's own clients at moto (DynamoDB at a moto of its own, when given)."""
    env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    if dynamodb_endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint  # botocore's per-service endpoint variable
    return env


def session_for(endpoint: str, dynamodb_endpoint: str | None = None) -> boto3.session.Session:
    """A boto3 session with fake credentials; its clients talk to moto at ``endpoint``.

    Changes no environment variable. The code under test builds its own clients, which find
    moto through `AWS_ENDPOINT_URL`: the caller sets `aws_env(endpoint)` where it wants that.
    """
    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )
    client = session.client

    def client_at_moto(service_name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault(
            "endpoint_url", dynamodb_endpoint if dynamodb_endpoint and service_name == "dynamodb" else endpoint
        )
        return client(service_name, *args, **kwargs)

    session.client = client_at_moto
    return session


def _param_default(template: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict) and "Ref" in value:
        return template["Parameters"][value["Ref"]]["Default"]
    return value


def create_resources(
    session: boto3.session.Session,
    prefix: str = "local",
    *,
    visibility_timeout: int | None = None,
    max_receive_count: int | None = None,
) -> LocalResources:
    """Create the template's queue, DLQ and table in moto. Overrides only shrink waits for demos."""
    template = load_template()
    resources = template["Resources"]
    queue_props = resources["RunQueue"]["Properties"]
    dlq_props = resources["RunDeadLetterQueue"]["Properties"]
    table_props = resources["RunsTable"]["Properties"]
    function_props = resources["RunWatcherFunction"]["Properties"]

    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-RunDeadLetterQueue",
        Attributes={"MessageRetentionPeriod": str(dlq_props["MessageRetentionPeriod"])},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    receive_count = int(max_receive_count or _param_default(template, queue_props["RedrivePolicy"]["maxReceiveCount"]))
    visibility = int(visibility_timeout or queue_props["VisibilityTimeout"])
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-RunQueue",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "MessageRetentionPeriod": str(queue_props["MessageRetentionPeriod"]),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(receive_count)}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    table_name = f"{prefix}-RunsTable"
    ddb = session.client("dynamodb")
    ddb.create_table(
        TableName=table_name,
        BillingMode=table_props["BillingMode"],
        AttributeDefinitions=table_props["AttributeDefinitions"],
        KeySchema=table_props["KeySchema"],
        **(
            {"GlobalSecondaryIndexes": table_props["GlobalSecondaryIndexes"]}
            if "GlobalSecondaryIndexes" in table_props
            else {}
        ),
    )
    ttl = table_props["TimeToLiveSpecification"]
    ddb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
    return LocalResources(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        table_name=table_name,
        max_receive_count=receive_count,
        visibility_timeout=visibility,
        function_timeout=int(function_props["Timeout"]),
    )


def create_event_bus_with_queue(session: boto3.session.Session, name: str) -> str:
    """An EventBridge bus named ``name`` whose rule forwards the notifier's events to an SQS queue,
    as a follow-up job would; returns the queue's URL."""
    events, sqs = session.client("events"), session.client("sqs")
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=f"{name}-run-finished",
        EventBusName=name,
        EventPattern=json.dumps({"source": ["apify.run-notifier"]}),  # runs and incidents alike
    )
    events.put_targets(Rule=f"{name}-run-finished", EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    return queue_url
