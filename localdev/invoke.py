"""`make invoke EVENT=events/sqs_run_id.json`: run a function on an event file, without Docker.

The real handler runs under the real Lambda runtime interface client (`awslambdaric`, the same
program Lambda's Python images run) against a local Runtime API (localdev/runtime_api.py),
with the function's directory as the task root and the layer on `PYTHONPATH`, as in Lambda.
It prints the function's response and its log lines.

By default everything it talks to is local and started here: moto's server with the
template's queue, DLQ and table, the Apify simulator (every run the event names exists and has
just ended), and a receiver standing in for Slack. With ``--real`` nothing is started: the
function gets your environment (AWS credentials and region) plus the variables that
``--env-vars`` gives for it, in `sam local invoke --env-vars` format (see events/env.json).

    python -m localdev.invoke events/sqs_run_id.json
    python -m localdev.invoke events/function_url_apify_webhook.json --function WebhookIntakeFunction
    python -m localdev.invoke events/sqs_run_id.json --real --env-vars my-env.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = {
    "RunWatcherFunction": "functions/run_watcher",
    "WebhookIntakeFunction": "functions/webhook_intake",
    "RunSweeperFunction": "functions/run_sweeper",
}
LOCAL_INTAKE_TOKEN = "local-invoke-intake-token"
SLACK_PATH = "/services/TLOCAL/BLOCAL/invoke"
RESULT_TIMEOUT_SECS = 120


def run_ids_in(event: dict[str, Any]) -> list[str]:
    """The runs an SQS event's records name (bodies the watcher accepts; others are skipped)."""
    from run_notifier.domain.watch_request import InvalidMessage, parse_body

    ids = []
    for record in event.get("Records", []):
        try:
            ids.append(parse_body(record.get("body")).run_id)
        except InvalidMessage:
            continue
    return list(dict.fromkeys(ids))


def env_vars_for(path: Path | None, function: str) -> dict[str, str]:
    """`sam local invoke --env-vars` format: {"FunctionName": {"VAR": "value"}, "Parameters": {...}}."""
    if path is None:
        return {}
    document = json.loads(path.read_text())
    return {k: str(v) for k, v in {**document.get("Parameters", {}), **document.get(function, {})}.items()}


def invoke(event: dict[str, Any], function: str, env: dict[str, str]) -> tuple[str, Any, str]:
    """(kind, result, output): kind is "response" or "error"; output is what the function printed."""
    from localdev.runtime_api import RuntimeApi

    api = RuntimeApi([event], function)
    host_port = api.server.start().removeprefix("http://")
    task_root = ROOT / FUNCTIONS[function]
    process_env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": host_port,
        "LAMBDA_TASK_ROOT": str(task_root),
        "PYTHONPATH": str(ROOT / "layers" / "run_notifier"),  # the layer, as /opt/python
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "app.lambda_handler",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", "app.lambda_handler"],
        cwd=task_root,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        kind, result = api.results.get(timeout=RESULT_TIMEOUT_SECS)
    finally:
        process.kill()
        output = process.communicate(timeout=10)[0]
        api.server.stop()
    return kind, result, output


def _bearer(event: dict[str, Any]) -> str | None:
    """A Function URL event's bearer token: the local intake accepts the token the event carries."""
    authorization = str((event.get("headers") or {}).get("authorization", ""))
    return authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None


def _local_env(event: dict[str, Any], function: str) -> tuple[dict[str, str], list[Any]]:
    """moto, the simulator and a receiver for this one invocation; returns the env and what to stop."""
    from localdev.aws import aws_env
    from localdev.stack import LocalStack

    stack = LocalStack("invoke").start()
    sim, receiver, endpoint = stack.sim, stack.receiver, stack.endpoint
    for run_id in run_ids_in(event):
        sim.add_run(run_id, 0.0, settle_secs=0)
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        **aws_env(endpoint),
        **stack.watcher_env(slack_path=SLACK_PATH),
        "SETTLE_SECONDS": "0",
        "INTAKE_TOKEN": _bearer(event) or LOCAL_INTAKE_TOKEN,
        "ALLOW_LOOPBACK_HTTP": "true",  # the simulator and receiver are on loopback, as the Runtime API is
        "POWERTOOLS_SERVICE_NAME": "apify-run-notifier",
        "POWERTOOLS_METRICS_NAMESPACE": "ApifyRunNotifier",
    }
    print(
        f"local stack: moto at {endpoint} (queue, DLQ and table from template.yaml), Apify simulator at "
        f"{sim.base_url} ({len(sim.runs)} run(s) from the event, just ended), Slack receiver at {receiver.base_url}",
        flush=True,
    )
    return env, [stack]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a function on an event file, without Docker.")
    parser.add_argument("event", type=Path, help="an event file, e.g. events/sqs_run_id.json")
    parser.add_argument("--function", choices=sorted(FUNCTIONS), default="RunWatcherFunction")
    parser.add_argument("--env-vars", type=Path, help="variables per function (sam local invoke --env-vars format)")
    parser.add_argument("--real", action="store_true", help="start nothing: your AWS and Apify, with --env-vars")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as error:
        print(f"invoke: cannot read the event {args.event}: {error}", file=sys.stderr)
        return 2
    stop: list[Any] = []
    if args.real:
        env = {**os.environ, **env_vars_for(args.env_vars, args.function)}
    else:
        env, stop = _local_env(event, args.function)
        env.update(env_vars_for(args.env_vars, args.function))
    try:
        kind, result, output = invoke(event, args.function, env)
    finally:
        for service in stop:
            service.stop()
    print(f"\n{args.function} log lines:")
    for line in output.splitlines():
        print(f"  {line}")
    print(f"\n{args.function} {kind}:")
    print(json.dumps(result, indent=2))
    return 0 if kind == "response" else 1


if __name__ == "__main__":
    sys.exit(main())
