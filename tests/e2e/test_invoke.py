"""`make invoke`: the real handler under the runtime interface client on an event file, without Docker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize(
    ("event", "function", "expected"),
    [
        ("sqs_run_id.json", "RunWatcherFunction", '"batchItemFailures": []'),
        ("function_url_apify_webhook.json", "WebhookIntakeFunction", '"statusCode": 202'),
    ],
)
def test_invoke_runs_a_function_on_an_event_file_and_prints_its_response_and_logs(event, function, expected):
    result = subprocess.run(
        [sys.executable, "-m", "localdev.invoke", f"events/{event}", "--function", function],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert f"{function} log lines:" in out
    assert '"cold_start":true' in out  # the Powertools Logger's lines, from the function's process
    assert expected in out.split(f"{function} response:", 1)[1]


def test_the_env_vars_file_names_every_function_and_only_variables_they_read():
    from run_notifier.config import INTAKE_VARIABLES, SWEEPER_VARIABLES, VARIABLES

    document = json.loads((ROOT / "events" / "env.json").read_text())
    tables = {
        "RunWatcherFunction": VARIABLES,
        "WebhookIntakeFunction": INTAKE_VARIABLES,
        "RunSweeperFunction": SWEEPER_VARIABLES,
    }
    assert set(document) == set(tables)
    for function, variables in document.items():
        assert set(variables) <= {v.name for v in tables[function]}, function
