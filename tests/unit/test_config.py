from __future__ import annotations

import pytest
from run_notifier.config import (
    DEFAULT_NOTIFY_ON,
    DIGEST_VARIABLES,
    INTAKE_VARIABLES,
    SWEEPER_VARIABLES,
    VARIABLES,
    WATCHER_SECTIONS,
    ConfigError,
    Settings,
    load_settings,
)
from run_notifier.destinations import KINDS, SECTIONS

BASE = {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}
GOOD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_the_sections_and_the_settings_name_the_same_fields():
    shared = [v.field for section in WATCHER_SECTIONS for v in section.variables]
    assert [*shared, "destinations"] == list(Settings._fields)
    for kind, section in SECTIONS.items():
        assert section.model is None or [v.field for v in section.variables] == list(section.model._fields), kind


@pytest.mark.parametrize(
    "table",
    [VARIABLES, INTAKE_VARIABLES, SWEEPER_VARIABLES, DIGEST_VARIABLES],
    ids=["watcher", "intake", "sweeper", "digest"],
)
def test_no_variable_is_declared_twice(table):
    names = [v.name for v in table]
    assert len(names) == len(set(names))


def test_every_kind_gets_its_own_section_in_the_settings():
    settings = load_settings(BASE)
    assert set(settings.destinations) == set(SECTIONS) <= set(KINDS)


def test_defaults_come_from_the_table():
    settings = load_settings(BASE)
    assert settings.apify_api_base_url == "https://api.apify.com"
    assert settings.notify_on == frozenset(DEFAULT_NOTIFY_ON.split(","))
    assert settings.max_watch_seconds == 7 * 24 * 3600
    assert settings.destinations["slack"].slack_webhook_url is None
    assert settings.destinations["webhook"].webhook_url is None
    assert settings.retry_visibility_schedule == (30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
    assert settings.schedule.long_poll_secs == (60, 0)
    assert settings.enable_tracer is False
    assert load_settings({**BASE, "RETRY_VISIBILITY_SCHEDULE": "5, 60"}).retry_visibility_schedule == (5, 60)


def test_secrets_are_masked_in_repr():
    settings = load_settings({**BASE, "APIFY_TOKEN": "apify_api_SECRET", "SLACK_WEBHOOK_URL": "https://hooks/x/SECRET"})
    assert "SECRET" not in repr(settings)
    assert settings.apify_token.reveal() == "apify_api_SECRET"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "RUNS_TABLE_NAME, RUN_QUEUE_URL"),
        ({**BASE, "NOTIFY_ON": "SUCCEEDED,DONE"}, "NOTIFY_ON has unknown statuses"),
        ({**BASE, "MAX_WATCH_SECONDS": "soon"}, "MAX_WATCH_SECONDS must be a whole number"),
        ({**BASE, "SETTLE_SECONDS": "5000"}, "SETTLE_SECONDS must be between"),
        ({**BASE, "WEBHOOK_URL": "https://x.example"}, "WEBHOOK_SECRET"),
        ({**BASE, "APIFY_API_BASE_URL": "http://api.apify.com"}, "APIFY_API_BASE_URL must be https"),
        ({**BASE, "LONG_POLL_SCHEDULE": "90"}, "LONG_POLL_SCHEDULE entries must be 0..60"),
        ({**BASE, "REQUEUE_DELAY_SCHEDULE": "-5"}, "REQUEUE_DELAY_SCHEDULE entries must be 0..900"),
        ({**BASE, "REQUEUE_DELAY_SCHEDULE": ","}, "REQUEUE_DELAY_SCHEDULE must list at least one value"),
        ({**BASE, "MAX_REQUEUE_DELAY_SECONDS": "901"}, "MAX_REQUEUE_DELAY_SECONDS must be between 1 and 900"),
        ({**BASE, "RETRY_VISIBILITY_SCHEDULE": "30,soon"}, "RETRY_VISIBILITY_SCHEDULE must be comma-separated"),
        ({**BASE, "RETRY_VISIBILITY_SCHEDULE": "30,50000"}, "RETRY_VISIBILITY_SCHEDULE entries must be 0..43200"),
        ({**BASE, "ENABLE_TRACER": "yes"}, 'ENABLE_TRACER must be "true" or "false"'),
        ({**BASE, "WEBHOOK_URL": "http://example.com/h", "WEBHOOK_SECRET": GOOD_SECRET}, "WEBHOOK_URL must be https"),
        ({**BASE, "WEBHOOK_SECRET": "plain-secret-123"}, "WEBHOOK_SECRET must be a Standard Webhooks secret"),
        ({**BASE, "WEBHOOK_SECRET": "whsec_not*base64"}, "WEBHOOK_SECRET must be a Standard Webhooks secret"),
        ({**BASE, "INTAKE_URL": "https://abc.lambda-url.eu-west-1.on.aws/"}, "INTAKE_URL needs INTAKE_TOKEN"),
        ({**BASE, "INTAKE_URL": "http://abc.example/", "INTAKE_TOKEN": "t"}, "INTAKE_URL must be https"),
        ({**BASE, "SAFETY_NET_DELAY_SCHEDULE": "0"}, "SAFETY_NET_DELAY_SCHEDULE entries must be 1..900"),
    ],
)
def test_bad_environment_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(env)
    assert "plain-secret-123" not in str(raised.value)


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("1", True), ("FALSE", False), ("0", False)])
def test_booleans_are_true_false_1_or_0(raw, value):
    assert load_settings({**BASE, "ALLOW_LOOPBACK_HTTP": raw}).allow_loopback_http is value


def test_notify_on_accepts_any_case_and_outcomes():
    settings = load_settings({**BASE, "NOTIFY_ON": "failed, timed-out,not_found"})
    assert settings.notify_on == {"FAILED", "TIMED-OUT", "NOT_FOUND"}


@pytest.mark.parametrize("url", ["http://localhost.attacker.example", "http://127.0.0.1.nip.io"])
def test_apify_base_url_on_plain_http_must_really_be_loopback(url):
    with pytest.raises(ConfigError, match="APIFY_API_BASE_URL"):
        load_settings({**BASE, "APIFY_API_BASE_URL": url})


@pytest.mark.parametrize("url", ["http://[::1]:8080", "http://localhost:8080", "http://127.0.0.1:9"])
def test_apify_base_url_on_loopback_is_accepted_for_local_use(url):
    assert load_settings({**BASE, "APIFY_API_BASE_URL": url}).apify_api_base_url == url


def test_inside_lambda_plain_http_to_loopback_needs_an_explicit_yes():
    inside = {**BASE, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "APIFY_API_BASE_URL": "http://127.0.0.1:9001"}
    with pytest.raises(ConfigError, match="APIFY_API_BASE_URL"):
        load_settings(inside)
    assert load_settings({**inside, "ALLOW_LOOPBACK_HTTP": "true"}).allow_loopback_http
