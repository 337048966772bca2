from __future__ import annotations

from datetime import UTC, datetime

from run_notifier.adapters.secret_store import Secret
from run_notifier.destinations.slack.message import build_message
from run_notifier.destinations.webhook import message_id, signed_request
from run_notifier.domain.run_summary import RunSummary, format_usd, human_duration
from standardwebhooks import Webhook

SUMMARY = RunSummary(
    run_id="HG7ML7M8z78YcAPEB",
    status="FAILED",
    act_id="janedoe~my-actor",
    exit_code=1,
    usage_total_usd=0.2654,
    started_at="2019-11-30T07:34:24.202Z",
    finished_at="2019-11-30T08:36:30.202Z",
    default_dataset_id="wmKPijuyDnPZAPRMk",
    compute_units=0.0072886,
    status_message="Crashed <oops> & died",
    charged_event_counts={"page-crawled": 150},
    actor_name="janedoe/my-actor",
)


def test_slack_message_shows_the_outcome_at_a_glance():
    message = build_message(SUMMARY)
    assert message["text"].startswith("FAILED: janedoe/my-actor run HG7ML7M8z78YcAPEB")
    text = str(message["blocks"])
    for expected in (
        ":x: FAILED",
        "janedoe/my-actor",
        "HG7ML7M8z78YcAPEB",
        "*Exit code*\\n1",
        "$0.2654",
        "1h 2m",
        "0.0073",
        "page-crawled: 150",
        "Crashed &lt;oops&gt; &amp; died",
        "https://console.apify.com/storage/datasets/wmKPijuyDnPZAPRMk",
        "https://console.apify.com/actors/janedoe~my-actor/runs/HG7ML7M8z78YcAPEB",
    ):
        assert expected in text, expected


def test_unknown_cost_and_actor_are_said_plainly():
    message = build_message(RunSummary(run_id="abc", status="SUCCEEDED"))
    assert "n/a" in str(message["blocks"])
    assert "https://console.apify.com/actors/runs/abc" in str(message["blocks"])


def test_webhook_is_signed_with_a_stable_id():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    now = datetime.now(UTC)
    body, headers = signed_request(SUMMARY, Secret(secret), now)
    assert Webhook(secret).verify(body, headers)["data"]["durationSecs"] == 3726.0
    assert headers["webhook-id"] == message_id(SUMMARY)
    assert message_id(SUMMARY) == signed_request(SUMMARY, Secret(secret), now)[1]["webhook-id"]


def test_human_duration_and_usd():
    assert human_duration(None) == "unknown"
    assert human_duration(0.4) == "0s"
    assert human_duration(59) == "59s"
    assert human_duration(3726) == "1h 2m"
    assert human_duration(90061) == "1d 1h"
    assert format_usd(12.5) == "$12.50"
    assert format_usd(0.00123) == "$0.0012"


def test_an_incident_reply_for_a_warn_run_says_warn_and_why_not_succeeded():
    from run_notifier.destinations.slack.incident_message import failure_head
    from run_notifier.domain.health import Check, Health

    empty = Check("minItems", 0, "≥ 1", None, "low", True)
    summary = RunSummary(
        run_id="RunWarn000000001",
        status="SUCCEEDED",
        act_id="ActWarn000000001",
        started_at="2026-12-01T09:00:00.000Z",
        finished_at="2026-12-01T09:01:05.000Z",
        health=Health("WARN", (empty,)),
    )
    head = failure_head(summary, 3)
    assert head.startswith("WARN #3 (0 items, expected ≥ 1): run <https://console.apify.com/actors/ActWarn000000001/")
    assert "SUCCEEDED" not in head
    assert failure_head(summary._replace(status="FAILED", health=None, exit_code=1), 2).startswith("FAILED #2: run")
