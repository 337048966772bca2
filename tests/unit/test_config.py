from __future__ import annotations

import pytest
from run_notifier.config import ConfigError, load_settings
from run_notifier.statuses import DEFAULT_NOTIFY_ON

BASE = {"RUNS_TABLE_NAME": "t", "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q"}


def test_defaults():
    settings = load_settings(BASE)
    assert settings.apify_api_base_url == "https://api.apify.com"
    assert settings.notify_on == DEFAULT_NOTIFY_ON
    assert settings.max_watch_secs == 7 * 24 * 3600
    assert not settings.slack_configured
    assert not settings.webhook_configured
    assert settings.retry_visibility_secs == (30, 120, 300, 900)
    assert load_settings({**BASE, "RETRY_VISIBILITY_SCHEDULE": "5, 60"}).retry_visibility_secs == (5, 60)


def test_secrets_are_masked_in_repr():
    settings = load_settings({**BASE, "APIFY_TOKEN": "apify_api_SECRET", "SLACK_WEBHOOK_URL": "https://hooks/x/SECRET"})
    assert "SECRET" not in repr(settings)
    assert settings.apify_token.reveal() == "apify_api_SECRET"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "RUNS_TABLE_NAME, RUN_QUEUE_URL"),
        ({**BASE, "NOTIFY_ON": "SUCCEEDED,DONE"}, "unknown statuses"),
        ({**BASE, "MAX_WATCH_SECONDS": "soon"}, "MAX_WATCH_SECONDS must be a whole number"),
        ({**BASE, "SETTLE_SECONDS": "5000"}, "SETTLE_SECONDS must be between"),
        ({**BASE, "WEBHOOK_URL": "https://x"}, "WEBHOOK_SECRET"),
        ({**BASE, "APIFY_API_BASE_URL": "http://api.apify.com"}, "https"),
        ({**BASE, "LONG_POLL_SCHEDULE": "90"}, "long-poll"),
        ({**BASE, "RETRY_VISIBILITY_SCHEDULE": "30,soon"}, "RETRY_VISIBILITY_SCHEDULE must be comma-separated"),
        ({**BASE, "RETRY_VISIBILITY_SCHEDULE": "30,50000"}, "RETRY_VISIBILITY_SCHEDULE entries must be 0..43200"),
    ],
)
def test_bad_environment_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_notify_on_accepts_any_case_and_outcomes():
    settings = load_settings({**BASE, "NOTIFY_ON": "failed, timed-out,not_found"})
    assert settings.notify_on == {"FAILED", "TIMED-OUT", "NOT_FOUND"}
