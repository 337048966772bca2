"""Facts about template.yaml that cfn-lint cannot know."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_every_variable_the_code_reads_is_set_by_the_template():
    code = (ROOT / "layers/run_notifier/run_notifier/config.py").read_text()
    read = set(re.findall(r'"([A-Z][A-Z_]+)"', code)) - {"SUCCEEDED"}
    read = {
        name
        for name in read
        if not name.startswith(("APIFY_TOKEN", "SLACK_WEBHOOK_URL", "WEBHOOK_SECRET")) or name.endswith("_ARN")
    }
    read -= {"ROUTES_JSON"}  # local use; deployments use ROUTES_SSM_PARAMETER
    assert read <= set(FUNCTION["Environment"]["Variables"]), read - set(FUNCTION["Environment"]["Variables"])


def test_no_wildcard_resources_in_policies():
    text = (ROOT / "template.yaml").read_text()
    assert "Resource: '*'" not in text
    assert 'Resource: "*"' not in text
