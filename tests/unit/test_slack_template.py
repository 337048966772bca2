"""Slack message templates: checked when the routes are read, filled and escaped per run."""

from __future__ import annotations

import json

import pytest
from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.destinations import SCHEMAS
from run_notifier.destinations.slack.template import render, template_problem
from run_notifier.domain.routing import RoutesError, parse_routes
from run_notifier.domain.run_summary import RunSummary

RUN = {
    "id": "RunTemplate00001",
    "actId": "Act0000000000001",
    "status": "FAILED",
    "statusMessage": "boom <!channel> & <https://evil.example|click>",
    "exitCode": 1,
    "usageTotalUsd": 0.0421,
    "startedAt": "2026-11-28T10:00:00.000Z",
    "finishedAt": "2026-11-28T10:01:05.000Z",
    "defaultDatasetId": "ds0000000000001",
}


def summary() -> RunSummary:
    return summary_from_run(RUN, "RunTemplate00001")._replace(actor_name="jane/<scraper>")


SECTION = "{{emoji}} {{statusMessage}} ({{cost}}, {{duration}})"


def test_placeholders_are_filled_and_escaped_where_slack_parses_markup():
    template = {
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "{{status}}: {{actorName}}"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "{{emoji}} {{statusMessage}} ({{cost}}, {{duration}})"},
            },
        ]
    }
    message = render(template, summary(), "fallback")
    assert message["blocks"][0]["text"]["text"] == "FAILED: jane/<scraper>"  # plain_text: no markup to fear
    section = message["blocks"][1]["text"]["text"]
    assert section == ":x: boom &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; ($0.0421, 1m 5s)"
    assert message["text"] == "fallback"
    assert template["blocks"][1]["text"]["text"].startswith("{{emoji}}")  # the template itself is untouched


def test_a_template_text_is_filled_too():
    message = render({"text": "{{ status }} run {{runId}} <{{consoleUrl}}|console>"}, summary(), "fallback")
    assert message["text"].startswith("FAILED run RunTemplate00001 <https://console.apify.com/")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "{{stauts}}"}}]}, "unknown placeholders"),
        ({"fields": []}, 'with "blocks"'),
        ({"blocks": {"type": "section"}}, "must be a list"),
        ({"text": 5}, "must be a string"),
    ],
)
def test_bad_templates_say_what_is_wrong(template, problem):
    assert problem in (template_problem(template) or "")


def test_an_unknown_placeholder_stops_the_routes_naming_the_route():
    document = {
        "routes": [
            {"slack": {"channel": "C0OK", "template": {"text": "{{status}}"}}},
            {"slack": {"channel": "C0BAD", "template": {"text": "{{status}} {{costInEuro}}"}}},
        ]
    }
    with pytest.raises(RoutesError, match=r"routes\[1\]\.slack: template has unknown placeholders \['costInEuro'\]"):
        parse_routes(json.dumps(document), SCHEMAS)


def test_a_template_must_be_an_object_in_the_routes():
    document = {"routes": [{"slack": {"channel": "C0OK", "template": "{{status}}"}}]}
    with pytest.raises(RoutesError, match=r"routes\[0\]\.slack\.template must be an object"):
        parse_routes(json.dumps(document), SCHEMAS)
