"""Every role proven enough and no more, under enforced IAM.

Each function runs its paths with its own credentials through `localdev.iam_gate.IamGate`, which
holds each request to the statements of that function's role as `template.yaml` deploys them
(`localdev.template_policies`, with this test's parameters): the watcher with Slack, the signed
webhook, EventBridge, Teams and Discord, routes from SSM naming a routed secret (without its
suffix), a routed bus and a follow-up run, push arming and its SQS event source; the watcher
again as deployed with a Slack bot token, with a live message; the intake on both routes with
the webhook token's current and previous versions and the runs token; the sweep. No request
may be denied. Then, per statement, the gate's record must show a request that only that
statement allowed: the same run with the statement removed would have been denied, so every
grant is needed; one control removes a statement for real. What the gate does not model
(conditions, KMS) is said in its docstring; the KMS grant is checked in tests/unit/test_template.py.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from run_notifier.adapters.dynamodb import from_item
from run_notifier.config import load_digest_settings, load_intake_settings, load_settings, load_sweeper_settings
from run_notifier.domain.deadline import Deadline
from run_notifier.function_url_handler import make_intake_handler
from run_notifier.sqs_handler import make_handler
from run_notifier.wiring import build_components, build_fleet_reporter, build_intake, build_sweeper

from localdev.apify_simulator import ApifySimulator
from localdev.aws import REGION, create_resources, session_for
from localdev.event_source import EventSource
from localdev.iam_gate import IamGate
from localdev.lambda_context import FakeLambdaContext
from localdev.receiver import Receiver
from localdev.template_policies import ACCOUNT_ID, TemplatePolicies
from tests.integration.test_intake import RUN, url_event, webhook

ROLES = {
    "RunWatcherFunction": "RunWatcherRole",
    "WebhookIntakeFunction": "WebhookIntakeRole",
    "RunSweeperFunction": "RunSweeperRole",
    "DigestFunction": "DigestRole",
}
#: Statements the functions' code never uses, and why that is right.
NOT_CALLED_BY_THE_CODE = {
    "Logs": "the Lambda runtime writes the function's logs with the role, not the code",
    "XRaySegments": "only with EnableTracer=true (the tracer's own calls)",
}
HOOK_PATH, ROUTED_HOOK_PATH, TEAMS_PATH, DISCORD_PATH = "/hooks/iam", "/hooks/routed", "/teams/iam", "/discord/iam/1"
BUS = "runs-bus"
#: The watcher's role as deployed with a Slack bot token instead of the other destinations.
BOT_WATCHER = "RunWatcherRoleWithSlackBot"
#: The digest function's role in that deployment (it posts with the bot).
BOT_DIGEST = "DigestRoleWithSlackBot"


class World:
    """moto behind the gate, secrets, the routes parameter and a bus, and the template's policies."""

    def __init__(self, aws_session: Any, moto_endpoint: str, resources: Any, sim: Any, receiver: Any) -> None:
        self.admin, self.resources, self.sim, self.receiver = aws_session, resources, sim, receiver
        sm = aws_session.client("secretsmanager")
        self.gate = IamGate(moto_endpoint, lambda secret_id: sm.describe_secret(SecretId=secret_id)["ARN"])
        self.gate.start()

        def secret(value: str) -> str:
            return sm.create_secret(Name=f"iam-{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]

        self.intake_token = f"intake-{uuid.uuid4().hex}"
        self.runs_token = f"runs-{uuid.uuid4().hex}"
        self.parameters = {
            "ApifyTokenSecretArn": secret(sim.token),
            "SlackWebhookUrlSecretArn": secret(receiver.base_url + "/services/TIAM/BIAM/iamsecretpath"),
            "WebhookUrl": receiver.base_url + HOOK_PATH,
            "WebhookSecretArn": secret("whsec_aWFtLWlhbS1pYW0taWFtLWlhbS1pYW0tMTIzNA=="),
            "TeamsWebhookUrlSecretArn": secret(receiver.base_url + TEAMS_PATH),
            "DiscordWebhookUrlSecretArn": secret(receiver.base_url + DISCORD_PATH),
            "PagerDutyRoutingKeySecretArn": secret("R0" + uuid.uuid4().hex[:30]),
            "EventBusName": BUS,
            "RoutesSsmParameterName": f"/iam-{uuid.uuid4().hex[:6]}/routes",
            "IntakeTokenSecretArn": secret(self.intake_token),
            "RunsTokenSecretArn": secret(self.runs_token),
        }
        # Named without its random suffix, as a user may copy it: IAM compares the full ARN.
        self.routed_secret = secret("whsec_cm91dGVkLXJvdXRlZC1yb3V0ZWQtcm91dGVkLTE=")[: -len("-AbCdEf")]
        self.parameters["RoutedSecretArns"] = self.routed_secret
        self.routed_bus = aws_session.client("events").create_event_bus(Name="jobs-bus")["EventBusArn"]
        self.parameters["RoutedEventBusArns"] = self.routed_bus
        routes = {
            "routes": [
                {
                    "match": {"status": ["FAILED"]},
                    "webhook": {"url": receiver.base_url + ROUTED_HOOK_PATH, "secretArn": self.routed_secret},
                    "followUp": {"actorId": "SimActor00000001"},
                    "eventbridge": {"eventBusName": "jobs-bus"},
                },
                {"match": {"status": ["SUCCEEDED"]}, "expect": {"minItems": 1}},  # health checks read the history
            ],
            # The digest function: yesterday's digest (no runs: claimed, nothing posted), and a budget the
            # watcher's runs overrun today (posted to EventBridge: this deployment has no Slack bot).
            "digests": [{"name": "iam", "channel": "C0IAM", "every": "day", "at": "00:00"}],
            "budgets": [{"name": "iam", "monthlyUsd": 0.01, "channel": "C0IAM"}],
        }
        aws_session.client("ssm").put_parameter(
            Name=self.parameters["RoutesSsmParameterName"], Value=json.dumps(routes), Type="String"
        )
        aws_session.client("events").create_event_bus(Name=BUS)
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{resources.table_name}"
        self.policies = TemplatePolicies(
            self.parameters,
            {
                "RunQueue": resources.queue_url,
                "RunQueue.Arn": resources.queue_arn,
                "RunsTable": resources.table_name,
                "RunsTable.Arn": table_arn,
                "WebhookIntakeFunctionUrl.FunctionUrl": "https://abcdefghij.lambda-url.us-east-1.on.aws/",
                **{f"{group}.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/{group}" for group in LOG_GROUPS},
            },
        )
        for role in ROLES.values():
            self.gate.grant(role, self.policies.statements(role))
        # The watcher again with Slack's bot token (one bot for many channels) and a live route.
        bot_routes = f"/iam-{uuid.uuid4().hex[:6]}/bot-routes"
        aws_session.client("ssm").put_parameter(
            Name=bot_routes,
            Value=json.dumps(
                {
                    "routes": [{"slack": {"channel": "C0LIVE", "live": True}}],
                    "budgets": [{"name": "iam-bot", "monthlyUsd": 0.01, "channel": "C0IAM"}],
                }
            ),
            Type="String",
        )
        self.bot_parameters = {
            "ApifyTokenSecretArn": self.parameters["ApifyTokenSecretArn"],
            "SlackBotTokenSecretArn": secret("-".join(("xoxb", "iam", "local", "botsecretpart"))),
            "SlackChannel": "C0DEFAULT",
            "RoutesSsmParameterName": bot_routes,
        }
        self.bot_policies = TemplatePolicies(self.bot_parameters, self.policies.attributes)
        self.gate.grant(BOT_WATCHER, self.bot_policies.statements("RunWatcherRole"))
        self.gate.grant(BOT_DIGEST, self.bot_policies.statements("DigestRole"))

    def session(self, role: str) -> boto3.session.Session:
        """A session signed with the role's credentials; its clients talk to the gate."""
        session = boto3.session.Session(
            aws_access_key_id=role, aws_secret_access_key="local", aws_session_token="local", region_name=REGION
        )
        client = session.client

        def at_gate(service_name: str, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("endpoint_url", self.gate.base_url)
            return client(service_name, *args, **kwargs)

        session.client = at_gate  # type: ignore[method-assign]
        return session

    def environment(self, function: str, policies: TemplatePolicies | None = None) -> dict[str, str]:
        """The function's environment as the template deploys it with these parameters."""
        policies = policies or self.policies
        variables = policies.resolve(policies.template["Resources"][function]["Properties"]["Environment"])
        return {k: str(v) for k, v in variables["Variables"].items()}

    def stop(self) -> None:
        self.gate.stop()


LOG_GROUPS = ("RunWatcherLogGroup", "WebhookIntakeLogGroup", "RunSweeperLogGroup", "DigestLogGroup")


@pytest.fixture(scope="module")
def world(request):
    """One world for the module: each function's paths run once; the tests read the gate's record."""
    moto_endpoint = request.getfixturevalue("moto_endpoint")
    admin = session_for(moto_endpoint)
    resources = create_resources(admin, prefix=f"iam{uuid.uuid4().hex[:8]}", visibility_timeout=2, max_receive_count=5)
    sim = ApifySimulator()
    sim.add_actor("SimActor00000001", "janedoe", "web-scraper")
    sim.start()
    receiver = Receiver()
    receiver.start()
    built = World(admin, moto_endpoint, resources, sim, receiver)
    _run_the_watcher(built)
    _run_the_watcher(built, BOT_WATCHER, built.bot_policies, {"RunIamLiveBot0001": "FAILED"}, ("slack",))
    _run_the_intake(built)
    _run_the_sweep(built)
    _run_the_digests(built, "DigestRole", None, "eventbridge")
    _run_the_digests(built, BOT_DIGEST, built.bot_policies, "slack")
    yield built
    built.stop()
    receiver.stop()
    sim.stop()


def _run_the_watcher(
    world: World,
    role: str = "RunWatcherRole",
    policies: TemplatePolicies | None = None,
    runs: dict[str, str] | None = None,
    kinds: tuple[str, ...] = ("slack", "webhook", "eventbridge", "teams", "discord", "pagerduty"),
) -> None:
    env = {
        **world.environment("RunWatcherFunction", policies),
        "APIFY_API_BASE_URL": world.sim.base_url,
        "SLACK_API_BASE_URL": world.receiver.base_url + "/api",
        "PAGERDUTY_EVENTS_URL": world.receiver.base_url + "/v2/enqueue",
        "ALLOW_LOOPBACK_HTTP": "true",
        "SETTLE_SECONDS": "0",
        "LONG_POLL_SCHEDULE": "1,0",
        "REQUEUE_DELAY_SCHEDULE": "1",
        "SAFETY_NET_DELAY_SCHEDULE": "1",
    }
    session = world.session(role)
    handler = make_handler(build_components(load_settings(env), session))
    runs = runs or {"RunIamSucceeded1": "SUCCEEDED", "RunIamFailed00001": "FAILED"}
    for run_id, status in runs.items():
        # Long enough to be seen running under a loaded CI machine (the live message needs a running run).
        world.sim.add_run(run_id, 4.0, final_status=status, exit_code=0 if status == "SUCCEEDED" else 1, settle_secs=0)
        world.admin.client("sqs").send_message(
            QueueUrl=world.resources.queue_url, MessageBody=json.dumps({"runId": run_id})
        )
    # The SQS event source polls with the function's role, as Lambda's does.
    source = EventSource(
        session.client("sqs"), world.resources.queue_url, world.resources.queue_arn, handler, timeout_secs=20
    )

    def announced() -> bool:
        table = world.admin.client("dynamodb")
        for run_id in runs:
            key = {"runId": {"S": run_id}}
            item = from_item(table.get_item(TableName=world.resources.table_name, Key=key).get("Item") or {})
            paged = [k for k in kinds if k != "pagerduty" or runs[run_id] == "FAILED"]  # it pages failures only
            if not all((item.get(f"{kind}Notification") or {}).get("state") == "SENT" for kind in paged):
                return False
        return True

    assert source.run_until(announced, 60), list(world.gate.denied())


def _run_the_intake(world: World) -> None:
    sm = world.admin.client("secretsmanager")
    old = world.intake_token
    world.intake_token = f"intake-new-{uuid.uuid4().hex}"
    sm.put_secret_value(SecretId=world.parameters["IntakeTokenSecretArn"], SecretString=world.intake_token)
    env = world.environment("WebhookIntakeFunction")
    intake = make_intake_handler(build_intake(load_intake_settings(env), world.session("WebhookIntakeRole")))
    context = FakeLambdaContext(timeout_secs=10, function_name="WebhookIntakeFunction")
    for token in (old, world.intake_token):  # AWSPREVIOUS and AWSCURRENT
        assert intake(url_event("/apify/webhooks", webhook(), token=token), context)["statusCode"] == 202
    posted = url_event("/runs", json.dumps({"runIds": [RUN]}), token=world.runs_token)
    assert intake(posted, context)["statusCode"] == 202
    mute = url_event("/mutes", json.dumps({"actor": "janedoe~web-scraper", "for": "1h"}), token=world.runs_token)
    assert intake(mute, context)["statusCode"] == 201
    unmute = url_event("/mutes", json.dumps({"actor": "janedoe~web-scraper", "unmute": True}), token=world.runs_token)
    assert intake(unmute, context)["statusCode"] == 200


def _run_the_sweep(world: World) -> None:
    env = {
        **world.environment("RunSweeperFunction"),
        "APIFY_API_BASE_URL": world.sim.base_url,
        "ALLOW_LOOPBACK_HTTP": "true",
    }
    world.sim.add_run("RunIamSwept00001", 0.1)
    # Schedules that never fired: the sweep remembers each schedule and enqueues a missed slot.
    env |= {"SWEEP_SCHEDULES_ENABLED": "true", "SCHEDULE_GRACE_SECONDS": "0"}
    schedule = world.sim.add_schedule("SchedIamDown0001", "iam-down", 3600, 0.5, fires=False)
    time.sleep(0.2)
    sweeper = build_sweeper(load_sweeper_settings(env), world.session("RunSweeperRole"))
    report = sweeper.sweep(Deadline.after(20))
    assert report.complete
    assert report.enrolled >= 1
    while schedule.next_run_at.timestamp() >= time.time():  # its slot passes (bounded: 0.5 s)
        time.sleep(0.05)
    assert sweeper.sweep(Deadline.after(20)).complete
    key = {"runId": {"S": "schedule#SchedIamDown0001"}}
    memory = from_item(world.admin.client("dynamodb").get_item(TableName=world.resources.table_name, Key=key)["Item"])
    assert memory["settledSlot"] is not None  # the missed slot was enqueued, then remembered


def _run_the_digests(world: World, role: str, policies: TemplatePolicies | None, kind: str) -> None:
    """The hourly digest function, now: yesterday's digest claimed (no runs), today's budget overrun posted."""
    env = {
        **world.environment("DigestFunction", policies),
        "SLACK_API_BASE_URL": world.receiver.base_url + "/api",
        "ALLOW_LOOPBACK_HTTP": "true",
    }
    reporter = build_fleet_reporter(load_digest_settings(env), world.session(role))
    outcome = reporter.run(datetime.now(UTC), Deadline.after(30))
    assert any(item.startswith("budget#") for item in outcome.posted), (outcome, list(world.gate.denied()))
    assert outcome.empty or outcome.posted or outcome.already


def test_no_request_of_any_function_is_denied(world):
    principals = {*ROLES.values(), BOT_WATCHER, BOT_DIGEST}
    denied = [d for d in world.gate.denied() if d.principal in principals]
    assert denied == [], [(d.principal, d.action, d.resources) for d in denied]
    assert {d.principal for d in world.gate.decisions} >= principals  # every function ran under its own role
    live = [m for m in world.receiver.messages if m.path.endswith(("/chat.postMessage", "/chat.update"))]
    assert {m.path.rsplit("/", 1)[1] for m in live} == {"chat.postMessage", "chat.update"}  # live: posted, then updated


def _all_statements() -> list[tuple[str, str]]:
    """(role, Sid) of every statement the full configuration deploys, for the parametrised test."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"
    secrets = (
        "ApifyTokenSecretArn",
        "SlackWebhookUrlSecretArn",
        "WebhookSecretArn",
        "TeamsWebhookUrlSecretArn",
        "DiscordWebhookUrlSecretArn",
        "PagerDutyRoutingKeySecretArn",
        "RoutedSecretArns",
        "IntakeTokenSecretArn",
        "RunsTokenSecretArn",
    )
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/jobs-bus"
    parameters = {
        **dict.fromkeys(secrets, arn),
        "EventBusName": BUS,
        "RoutedEventBusArns": bus,
        "RoutesSsmParameterName": "/x/routes",
    }
    policies = TemplatePolicies(parameters, _DummyAttributes())
    bot = TemplatePolicies(
        {
            "ApifyTokenSecretArn": arn,
            "SlackBotTokenSecretArn": arn,
            "SlackChannel": "C0",
            "RoutesSsmParameterName": "/r",
        },
        _DummyAttributes(),
    )
    pairs = [(role, s.get("Sid", "?")) for role in ROLES.values() for s in policies.statements(role)]
    # The bot deployment's one statement the first lacks, in the watcher's role and the digest function's.
    pairs += [(BOT_WATCHER, s["Sid"]) for s in bot.statements("RunWatcherRole") if s["Sid"] == "SlackBotToken"]
    pairs += [(BOT_DIGEST, s["Sid"]) for s in bot.statements("DigestRole") if s["Sid"] == "SlackBotToken"]
    return pairs


class _DummyAttributes(dict):
    def __missing__(self, key: str) -> str:
        return f"arn:aws:local:::{key}"


@pytest.mark.parametrize(("role", "sid"), _all_statements())
def test_every_statement_is_needed(world, role, sid):
    if sid in NOT_CALLED_BY_THE_CODE:
        pytest.skip(NOT_CALLED_BY_THE_CODE[sid])
    assert sid in world.gate.sole_allowers(role), (
        f"{role}.{sid}: no request needed it; the role grants more than the code uses"
    )


def test_the_gate_denies_what_a_role_does_not_grant(world):
    """The negative control, end to end: the sweep's role without its EnqueueRuns statement."""
    statements = [s for s in world.policies.statements("RunSweeperRole") if s.get("Sid") != "EnqueueRuns"]
    world.gate.grant("RunSweeperRoleWithoutEnqueue", statements)
    env = {
        **world.environment("RunSweeperFunction"),
        "APIFY_API_BASE_URL": world.sim.base_url,
        "ALLOW_LOOPBACK_HTTP": "true",
    }
    world.sim.add_run("RunIamDenied0001", 0.1)
    time.sleep(0.2)
    report = build_sweeper(load_sweeper_settings(env), world.session("RunSweeperRoleWithoutEnqueue")).sweep(
        Deadline.after(20)
    )
    assert not report.complete  # nothing enrolled past the refusal: the next sweep retries the window
    denied = [d for d in world.gate.denied() if d.principal == "RunSweeperRoleWithoutEnqueue"]
    assert [d.action for d in denied] == ["sqs:SendMessage"]


def test_the_intakes_mutes_grant_reaches_the_mutes_items_and_no_run(world):
    """The intake's Mutes statement is narrowed by `dynamodb:LeadingKeys` to `mute#*` (one item per subject)
    and the legacy `mutes#all`: with its role, a mute's item can be read, written and deleted, a run's
    item cannot (the intake never needs one)."""
    dynamodb = world.session("WebhookIntakeRole").client("dynamodb")
    table = world.resources.table_name
    dynamodb.get_item(TableName=table, Key={"runId": {"S": "mutes#all"}})  # allowed: no exception
    mute = {"runId": {"S": "mute#actor:janedoe~web-scraper"}}
    dynamodb.update_item(
        TableName=table,
        Key=mute,
        UpdateExpression="SET #u = :u",
        ExpressionAttributeNames={"#u": "until"},
        ExpressionAttributeValues={":u": {"S": "2030-01-01T00:00:00.000Z"}},
    )
    dynamodb.delete_item(TableName=table, Key=mute)
    with pytest.raises(ClientError, match="AccessDenied"):
        dynamodb.get_item(TableName=table, Key={"runId": {"S": "RunIamSucceeded1"}})
    with pytest.raises(ClientError, match="AccessDenied"):
        dynamodb.update_item(
            TableName=table,
            Key={"runId": {"S": "RunIamSucceeded1"}},
            UpdateExpression="SET #n = :v",
            ExpressionAttributeNames={"#n": "slackNotification"},
            ExpressionAttributeValues={":v": {"S": "forged"}},
        )
