"""Facts about template.yaml that cfn-lint cannot know."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from run_notifier.config import (
    DIGEST_SECTIONS,
    DIGEST_VARIABLES,
    INTAKE_VARIABLES,
    REQUIRED,
    SWEEPER_VARIABLES,
    VARIABLES,
    _variables,
)
from run_notifier.wiring import MAX_CONCURRENT_RECORDS

from localdev.aws import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTION = RESOURCES["RunWatcherFunction"]["Properties"]


def test_visibility_timeout_is_at_least_six_function_timeouts():
    assert RESOURCES["RunQueue"]["Properties"]["VisibilityTimeout"] >= 6 * FUNCTION["Timeout"]


def test_dlq_is_on_the_source_queue_redrive_policy():
    redrive = RESOURCES["RunQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["RunDeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}


def test_sqs_event_reports_partial_failures_and_batch_fits_the_worker_pool():
    event = FUNCTION["Events"]["RunQueueEvent"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert TEMPLATE["Parameters"]["BatchSize"]["MaxValue"] <= MAX_CONCURRENT_RECORDS
    assert "MaximumConcurrency" in event["ScalingConfig"]


def test_function_runtime_and_layer():
    assert FUNCTION["Runtime"] == "python3.13"
    assert FUNCTION["Architectures"] == ["arm64"]
    assert FUNCTION["Handler"] == "app.lambda_handler"
    layer = RESOURCES["RunNotifierLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"


#: Variables for local use only: plain secrets and inline routes (deployments use ARNs and SSM).
LOCAL_ONLY = {
    "APIFY_TOKEN",
    "SLACK_WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "ROUTES_JSON",
    "ALLOW_LOOPBACK_HTTP",
    "INTAKE_TOKEN",
    "SLACK_BOT_TOKEN",
    "TEAMS_WEBHOOK_URL",
    "PAGERDUTY_ROUTING_KEY",
    "DISCORD_WEBHOOK_URL",
}
ENVIRONMENT = FUNCTION["Environment"]["Variables"]


def test_every_variable_in_the_config_table_is_set_by_the_template_and_nothing_else():
    names = {v.name for v in VARIABLES}
    assert names - LOCAL_ONLY <= set(ENVIRONMENT), (names - LOCAL_ONLY) - set(ENVIRONMENT)
    extra = {n for n in ENVIRONMENT if not n.startswith("POWERTOOLS_")} - names
    assert not extra, f"the template sets variables the code never reads: {extra}"


@pytest.mark.parametrize("variable", [v for v in VARIABLES if v.default not in (None, REQUIRED)], ids=lambda v: v.name)
def test_template_defaults_match_the_config_table(variable):
    value = ENVIRONMENT[variable.name]
    if isinstance(value, dict) and "Ref" in value:
        value = TEMPLATE["Parameters"][value["Ref"]]["Default"]
    assert variable.parse(str(value)) == variable.parse(variable.default)


ROLE = RESOURCES["RunWatcherRole"]["Properties"]


def _statements(policy: dict) -> list[dict]:
    found = []
    for entry in policy["PolicyDocument"]["Statement"]:
        if isinstance(entry, dict) and "Fn::If" in entry:
            entry = entry["Fn::If"][1]
        found.append(entry)
    return found


def test_the_function_runs_under_its_own_role_with_no_sam_managed_policies():
    assert FUNCTION["Role"] == {"Fn::GetAtt": ["RunWatcherRole", "Arn"]}
    assert "Policies" not in FUNCTION
    assert "ManagedPolicyArns" not in ROLE


def test_only_the_optional_xray_statement_has_a_wildcard_resource():
    base, xray = ROLE["Policies"]
    assert all(statement["Resource"] != "*" for statement in _statements(base))
    condition, policy, otherwise = xray["Fn::If"]
    assert (condition, otherwise) == ("TracerOn", {"Ref": "AWS::NoValue"})
    assert [s["Action"] for s in _statements(policy)] == [["xray:PutTraceSegments", "xray:PutTelemetryRecords"]]


def test_the_routes_parameter_arn_has_one_slash_for_hierarchical_names():
    [routes] = [s for s in _statements(ROLE["Policies"][0]) if s.get("Sid") == "RoutesDocument"]
    hierarchical, flat = routes["Resource"]["Fn::If"][1:]
    assert hierarchical["Fn::Sub"].endswith(":parameter${RoutesSsmParameterName}")
    assert flat["Fn::Sub"].endswith(":parameter/${RoutesSsmParameterName}")


def test_a_large_batch_without_a_batching_window_is_refused_by_a_rule():
    rule = TEMPLATE["Rules"]["LargeBatchesNeedABatchingWindow"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "MaximumBatchingWindowInSeconds"}, "0"]}
    allowed, ref = rule["Assertions"][0]["Assert"]["Fn::Contains"]
    assert (allowed, ref) == ([str(n) for n in range(1, 11)], {"Ref": "BatchSize"})


def test_every_skipped_checkov_finding_says_why():
    skipped = [
        (name, entry)
        for name, resource in RESOURCES.items()
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skipped, "the template justifies its checkov findings in Metadata"
    for name, entry in skipped:
        assert entry["id"].startswith("CKV_"), name
        assert len(entry.get("comment", "")) >= 60, f"{name}: {entry['id']} needs a reason a reviewer would accept"


INTAKE = RESOURCES["WebhookIntakeFunction"]
INTAKE_ENVIRONMENT = INTAKE["Properties"]["Environment"]["Variables"]


def test_the_intake_reads_what_the_template_sets_and_nothing_else():
    names = {v.name for v in INTAKE_VARIABLES}
    assert names - {"INTAKE_TOKEN", "RUNS_TOKEN"} <= set(INTAKE_ENVIRONMENT)
    assert {n for n in INTAKE_ENVIRONMENT if not n.startswith("POWERTOOLS_")} <= names
    for variable in INTAKE_VARIABLES:
        if variable.default not in (None, REQUIRED):
            value = INTAKE_ENVIRONMENT[variable.name]
            if isinstance(value, dict) and "Ref" in value:  # the watcher's own parameter (SettleSeconds)
                value = TEMPLATE["Parameters"][value["Ref"]]["Default"]
            assert variable.parse(str(value)) == variable.parse(variable.default)


def test_the_intake_exists_only_with_a_token_and_is_capped():
    assert INTAKE["Condition"] == "HasIntake"
    assert TEMPLATE["Conditions"]["HasIntake"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "IntakeTokenSecretArn"}, ""]}]}
    properties = INTAKE["Properties"]
    assert properties["FunctionUrlConfig"] == {"AuthType": "NONE"}  # its own bearer-token auth (checkov justified)
    assert properties["ReservedConcurrentExecutions"] == {"Ref": "IntakeReservedConcurrency"}
    assert TEMPLATE["Outputs"]["IntakeUrl"]["Value"] == {"Fn::GetAtt": ["WebhookIntakeFunctionUrl", "FunctionUrl"]}


def test_the_intake_may_only_enqueue_keep_mutes_and_read_its_tokens():
    [policy] = RESOURCES["WebhookIntakeRole"]["Properties"]["Policies"]
    statements = {s["Sid"]: s for s in _statements(policy)}
    assert {sid: s["Action"] for sid, s in statements.items()} == {
        "Logs": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "EnqueueRuns": "sqs:SendMessage",
        "Mutes": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        "IntakeToken": "secretsmanager:GetSecretValue",
        "RunsToken": "secretsmanager:GetSecretValue",
        "SecretsKmsKey": "kms:Decrypt",
    }
    assert statements["RunsToken"]["Resource"][0] == {"Ref": "RunsTokenSecretArn"}
    # the mutes' own items (one per subject, and an earlier version's one item), never a run's
    keys = statements["Mutes"]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert keys == ["mute#*", "mutes#all"]


def test_the_runs_token_is_read_and_granted_only_when_set():
    assert INTAKE_ENVIRONMENT["RUNS_TOKEN_SECRET_ARN"] == {
        "Fn::If": ["HasRunsToken", {"Ref": "RunsTokenSecretArn"}, {"Ref": "AWS::NoValue"}]
    }
    [policy] = RESOURCES["WebhookIntakeRole"]["Properties"]["Policies"]
    conditions = [s["Fn::If"][0] for s in policy["PolicyDocument"]["Statement"] if "Fn::If" in s]
    assert "HasRunsToken" in conditions


SWEEPER = RESOURCES["RunSweeperFunction"]["Properties"]


def test_the_sweeper_reads_what_the_template_sets_with_the_tables_defaults():
    environment = SWEEPER["Environment"]["Variables"]
    names = {v.name for v in SWEEPER_VARIABLES}
    assert names - {"APIFY_TOKEN", "ALLOW_LOOPBACK_HTTP"} <= set(environment)
    assert {n for n in environment if not n.startswith("POWERTOOLS_")} <= names
    for variable in SWEEPER_VARIABLES:
        if variable.default not in (None, REQUIRED):
            value = environment[variable.name]
            if isinstance(value, dict) and "Ref" in value:
                value = TEMPLATE["Parameters"][value["Ref"]]["Default"]
            assert variable.parse(str(value)) == variable.parse(variable.default), variable.name


def test_the_digest_function_reads_what_the_template_sets_every_hour_on_the_hour():
    digest = RESOURCES["DigestFunction"]
    environment = digest["Properties"]["Environment"]["Variables"]
    names = {v.name for v in DIGEST_VARIABLES}
    own = {v.name for v in _variables(DIGEST_SECTIONS)}
    assert own - {"ALLOW_LOOPBACK_HTTP", "ROUTES_JSON"} <= set(environment)
    # The kinds that post reports read their own sections; the template gives the bot and the bus.
    assert {"SLACK_BOT_TOKEN_SECRET_ARN", "SLACK_API_BASE_URL", "EVENT_BUS_NAME"} <= set(environment)
    assert all(v.default is not REQUIRED for v in DIGEST_VARIABLES if v.name not in environment)
    assert {n for n in environment if not n.startswith("POWERTOOLS_")} <= names
    assert digest["Condition"] == "HasRoutes"  # digests and budgets live in the routes document
    assert digest["Properties"]["Events"]["Hourly"]["Properties"]["Schedule"] == "cron(0 * * * ? *)"
    index = {i["IndexName"]: i for i in RESOURCES["RunsTable"]["Properties"]["GlobalSecondaryIndexes"]}["RunsByDay"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["finishDay", "finishedAt"]


def test_one_sweep_at_a_time_on_a_schedule_that_can_be_turned_off():
    assert SWEEPER["ReservedConcurrentExecutions"] == 1
    event = SWEEPER["Events"]["Sweep"]
    assert event["Type"] == "Schedule"
    assert event["Properties"]["State"] == {"Fn::If": ["SweepOn", "ENABLED", "DISABLED"]}


def test_push_is_armed_only_with_the_intake_and_the_watcher_may_read_its_token():
    assert ENVIRONMENT["INTAKE_URL"] == {
        "Fn::If": ["PushOn", {"Fn::GetAtt": ["WebhookIntakeFunctionUrl", "FunctionUrl"]}, {"Ref": "AWS::NoValue"}]
    }
    assert ENVIRONMENT["INTAKE_TOKEN_SECRET_ARN"] == {
        "Fn::If": ["PushOn", {"Ref": "IntakeTokenSecretArn"}, {"Ref": "AWS::NoValue"}]
    }
    assert TEMPLATE["Conditions"]["PushOn"] == {
        "Fn::And": [{"Condition": "HasIntake"}, {"Fn::Equals": [{"Ref": "PushEnabled"}, "true"]}]
    }
    [policy] = [p for p in ROLE["Policies"] if p.get("PolicyName") == "run-watcher"]
    statements = {s["Sid"]: s for s in _statements(policy)}
    assert statements["IntakeTokenForPushWebhooks"]["Resource"][0] == {"Ref": "IntakeTokenSecretArn"}


ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:apify-token-AbCdEf"


@pytest.mark.parametrize(
    ("parameter", "bad", "good"),
    [
        ("ApifyTokenSecretArn", "apify-token", ARN),  # a bare secret name fails only when IAM rejects the policy
        ("SlackWebhookUrlSecretArn", "arn:aws:ssm:eu-west-1:123456789012:parameter/slack", ARN),
        ("WebhookSecretArn", "whsec_abc", ARN),
        ("IntakeTokenSecretArn", "intake-token", ARN),
        ("WebhookUrl", "http://example.com/hook", "https://example.com/hook"),
        ("WebhookUrl", "example.com/hook", ""),
        ("ApifyApiBaseUrl", "http://api.apify.com", "https://api.apify.com"),
        ("EventBusName", "arn:aws:events:eu-west-1:123456789012:event-bus/x y", "apify-runs"),
        ("NotifyOn", "SUCCEEDED, FAILED", "FAILED,TIMED-OUT"),
        ("NotifyOn", "TIMED_OUT", "NOT_FOUND"),
        ("RoutesSsmParameterName", "arn:aws:ssm:eu-west-1:123456789012:parameter/routes", "/notifier/routes"),
        ("RoutesSsmParameterName", "notifier/routes", "routes"),  # SSM: a name with a slash starts with one
        ("RoutesSsmParameterName", "/notifier//routes", "/notifier/apify/routes"),
        ("RoutedSecretArns", "jobs-whsec", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jobs-whsec"),
        ("RoutedEventBusArns", "jobs-bus", "arn:aws:events:eu-west-1:123456789012:event-bus/jobs-bus"),
        (
            "SecretsKmsKeyArn",
            "alias/secrets",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        ("LongPollSchedule", "60 0", "60,0"),
        ("RequeueDelaySchedule", "5s,20s", "5,20,40,65"),
        ("RetryVisibilitySchedule", "", "30,120"),
        ("SafetyNetDelaySchedule", "15m", "300,900"),
        ("SweepSchedule", "every minute", "rate(5 minutes)"),
        ("SweepActorIds", "a b", "moJRLRc85AitArpNN,apify~web-scraper"),
        ("AlarmTopicArn", "ops-alerts", "arn:aws:sns:eu-west-1:123456789012:ops-alerts"),
    ],
)
def test_each_parameter_refuses_a_bad_value_with_a_message_saying_what_is_expected(parameter, bad, good):
    import re

    spec = TEMPLATE["Parameters"][parameter]
    pattern = re.compile(spec["AllowedPattern"])
    assert pattern.fullmatch(bad) is None, f"{parameter} accepts {bad!r}"
    assert pattern.fullmatch(good), f"{parameter} refuses {good!r}"
    assert pattern.fullmatch(str(spec["Default"])), f"{parameter} refuses its own default"
    assert len(spec["ConstraintDescription"]) > 15


def test_every_parameter_says_what_it_is():
    for name, spec in TEMPLATE["Parameters"].items():
        assert len(spec.get("Description", "")) > 20, name


def test_the_alarms_cover_what_fails():
    alarms = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert ("ApifyRunNotifier", "NotificationsFailedPermanently") in metrics
    failed = alarms["NotificationFailedAlarm"]
    assert ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"] == failed["Namespace"]  # where the function's EMF lands
    assert failed["Dimensions"] == [{"Name": "service", "Value": ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]}]
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics  # the DLQ
    errors = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values() if a["MetricName"] == "Errors"}
    assert errors == {"RunWatcherFunction", "WebhookIntakeFunction", "RunSweeperFunction", "DigestFunction"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
        assert alarm["TreatMissingData"] == "notBreaching"


def test_samconfig_names_the_stack_the_scripts_default_to():
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["default"]["global"]["parameters"]["stack_name"] == "apify-run-notifier"
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert 'DEFAULT_STACK = "apify-run-notifier"' in (ROOT / "scripts" / "enqueue.py").read_text()


def test_the_demos_pins_are_the_dev_pins_and_a_subset_of_them():
    def pins(name: str) -> dict[str, str]:
        lines = (ROOT / name).read_text().splitlines()
        pairs = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
        return {package.lower().replace("_", "-"): version for package, version in pairs}

    demo, dev = pins("requirements-demo.txt"), pins("requirements-dev.txt")
    assert demo.items() <= dev.items(), {k: (v, dev.get(k)) for k, v in demo.items() if dev.get(k) != v}
    assert len(demo) < len(dev) / 2  # the demo does not install the test and benchmark tools
    assert "matplotlib" not in demo
    assert "cfn-lint" not in demo


SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jobs-whsec"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_READERS = ("RunWatcherRole", "WebhookIntakeRole", "RunSweeperRole")


def _deployed(parameters: dict[str, str]):
    from localdev.template_policies import TemplatePolicies

    class Attributes(dict):
        def __missing__(self, key: str) -> str:
            return f"arn:aws:local:::{key}"

    return TemplatePolicies(parameters, Attributes())


def _with_secrets(**extra: str) -> dict[str, str]:
    return {"ApifyTokenSecretArn": SECRET, "IntakeTokenSecretArn": SECRET, **extra}


def test_a_secrets_kms_key_adds_exactly_decrypt_through_secrets_manager_to_each_secret_reader():
    policies = _deployed(_with_secrets(SecretsKmsKeyArn=KEY))
    for role in SECRET_READERS:
        [statement] = [s for s in policies.statements(role) if s.get("Sid") == "SecretsKmsKey"]
        assert statement == {
            "Sid": "SecretsKmsKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        }
    unset = _deployed(_with_secrets())
    for role in SECRET_READERS:
        assert not [s for s in unset.statements(role) if "kms" in json.dumps(s["Action"])], role


def test_each_secret_is_granted_with_and_without_its_suffix():
    """IAM compares the full ARN even when the caller passes one without its random suffix."""
    routed = f"{SECRET},{SECRET}2-AbCdEf"
    policies = _deployed(_with_secrets(RoutedSecretArns=routed))
    statements = {s["Sid"]: s for s in policies.statements("RunWatcherRole")}
    assert statements["ApifyToken"]["Resource"] == [SECRET, f"{SECRET}-??????"]
    assert statements["RoutedSecrets"]["Resource"] == [
        SECRET,
        f"{SECRET}2-AbCdEf",
        f"{SECRET}-??????",
        f"{SECRET}2-AbCdEf-??????",
    ]


def test_routed_buses_are_granted_only_when_listed():
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/jobs"
    listed = {s["Sid"]: s for s in _deployed({"RoutedEventBusArns": bus}).statements("RunWatcherRole")}
    assert listed["RoutedEventBuses"] == {
        "Sid": "RoutedEventBuses",
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": [bus],
    }
    assert "RoutedEventBuses" not in {s["Sid"] for s in _deployed({}).statements("RunWatcherRole")}
    assert ENVIRONMENT["ROUTED_EVENT_BUS_ARNS"] == {"Fn::Join": [",", {"Ref": "RoutedEventBusArns"}]}
    assert ENVIRONMENT["ROUTED_SECRET_ARNS"] == {"Fn::Join": [",", {"Ref": "RoutedSecretArns"}]}


def test_the_serverless_application_repository_listing_is_publishable():
    """What `sam publish` requires and checks: required fields, their patterns and lengths, the license
    file matching its SPDX id, and the version the project itself carries."""
    import re
    import tomllib

    listing = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", listing["Name"])
    assert 0 < len(listing["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", listing["Author"])
    assert len(listing["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in listing["Labels"])
    assert (ROOT / listing["ReadmeUrl"]).is_file()
    license_text = (ROOT / listing["LicenseUrl"]).read_text()
    assert listing["SpdxLicenseId"] == "Apache-2.0"
    assert "Apache License" in license_text
    assert "Version 2.0" in license_text
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert listing["SemanticVersion"] == version
