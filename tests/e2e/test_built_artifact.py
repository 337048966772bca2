"""Smoke test of what `sam build` packaged: the real Lambda runtime interface client
(`awslambdaric`, Python 3.13) runs the built function with the built layer on its path,
against a small Runtime API endpoint served here, fed a sample from events/.

Skips when there is no build (`make build`); `.ci/run` sets REQUIRE_BUILT_ARTIFACT=1 so a
missing or broken build fails instead.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import ROOT, SLACK_PATH, load_event

from localdev.runtime_api import RuntimeApi

BUILD = ROOT / ".aws-sam" / "build"
SMOKE_PYTHON = ROOT / ".venv-smoke" / "bin" / "python"


def test_built_function_and_layer_answer_under_the_runtime_interface_client(base_env, sim, receiver):
    if not (BUILD / "RunWatcherFunction" / "app.py").exists() or not SMOKE_PYTHON.exists():
        message = "no sam build in .aws-sam/build or no .venv-smoke (run `make build smoke-env`)"
        if os.environ.get("REQUIRE_BUILT_ARTIFACT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    sim.add_run("EvRunId0000000001", 0.0, settle_secs=0)
    api = RuntimeApi([load_event("sqs_run_id.json"), load_event("sqs_mixed_batch.json")])
    host_port = api.server.start().removeprefix("http://")
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("AWS_", "PATH", "HOME"))},
        **base_env,
        "SETTLE_SECONDS": "0",
        "AWS_LAMBDA_RUNTIME_API": host_port,
        "ALLOW_LOOPBACK_HTTP": "true",  # the simulator and receiver are on loopback, as the Runtime API is
        "LAMBDA_TASK_ROOT": str(BUILD / "RunWatcherFunction"),
        "PYTHONPATH": str(BUILD / "RunNotifierLayer" / "python"),  # the layer, as /opt/python
        "AWS_LAMBDA_FUNCTION_NAME": "smoke",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "app.lambda_handler",
    }
    process = subprocess.Popen(
        [str(SMOKE_PYTHON), "-m", "awslambdaric", "app.lambda_handler"],
        cwd=BUILD / "RunWatcherFunction",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = api.results.get(timeout=60)
        second = api.results.get(timeout=60)
    finally:
        process.kill()
        output = process.communicate(timeout=10)[0]
        api.server.stop()
    assert first == ("response", {"batchItemFailures": []}), output[-3000:]
    kind, result = second
    assert kind == "response", output[-3000:]
    mixed = load_event("sqs_mixed_batch.json")["Records"]
    # the two malformed records fail; the four valid ones are unknown to the simulator (NOT_FOUND, handled)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {r["messageId"] for r in mixed[4:]}
    [post] = receiver.received(SLACK_PATH)
    assert "EvRunId0000000001" in post.body.decode()
    assert '"cold_start":true' in output  # the packaged Powertools Logger ran
    assert str(ROOT / "layers") not in output  # nothing was imported from the source tree
