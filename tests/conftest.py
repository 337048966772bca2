"""Shared fixtures: moto's server, the Apify simulator, a Slack/webhook receiver, the handler.

Everything runs on 127.0.0.1; nothing reaches the internet.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from run_notifier.config import load_settings, load_sweeper_settings
from run_notifier.domain.ports import SERVICE
from run_notifier.observability import logger
from run_notifier.sqs_handler import Handler, make_handler
from run_notifier.wiring import build_components, build_sweeper

from localdev.apify_simulator import ApifySimulator
from localdev.aws import LocalResources, aws_env, create_event_bus_with_queue, create_resources, session_for, start_moto
from localdev.event_source import EventSource, to_lambda_record
from localdev.lambda_context import FakeLambdaContext
from localdev.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
SHARED_REFERENCE = ROOT.parent / "shared" / "reference"
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
#: Child processes (`python -m localdev.demo`, `python -m scripts.enqueue`) import the layer the way
#: `make` has them do (the Makefile exports the same PYTHONPATH); pytest's own `pythonpath` covers this process.
_CHILD_PATH = [str(ROOT / "layers" / "run_notifier"), str(ROOT)]
os.environ["PYTHONPATH"] = os.pathsep.join(
    dict.fromkeys([*_CHILD_PATH, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
)
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_PATH = "/services/T0SIM/B0SIM/slacksecretpart0123"
INTAKE_TOKEN = "intake-token-7f3a9c0d2b"


def run_script(name: str, args: list[str], env: dict[str, str], stdin: str | None = None) -> Any:
    """`python -m scripts.<name>` as `make` runs it: from the project root, the layer on PYTHONPATH."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", f"scripts.{name}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": os.environ["PYTHONPATH"]},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def require_shared_reference() -> Path:
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f"../shared/reference is absent ({SHARED_REFERENCE}); contract tests need the Apify OpenAPI spec")
    return SHARED_REFERENCE


#: Every secret value the suite uses; none may appear in any log line of the whole suite.
SUITE_SECRETS = (
    "sim-token-0123456789",
    WEBHOOK_SECRET,
    "slacksecretpart0123",
    INTAKE_TOKEN,
    "botsecretpart",
    "teamssecretpart",
    "discordsecretpart",
)


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """Capture all log output of the whole suite; fail the session if a secret shows up."""
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(SERVICE).addHandler(handler)
    plain = logging.StreamHandler(stream)
    logging.getLogger().addHandler(plain)
    yield
    logging.getLogger(SERVICE).removeHandler(handler)
    logging.getLogger().removeHandler(plain)
    text = stream.getvalue()
    leaked = [name for name in SUITE_SECRETS if name in text]
    where = [line for line in text.splitlines() if any(name in line for name in SUITE_SECRETS)][:3]
    for name in SUITE_SECRETS:
        where = [line.replace(name, "<SECRET>")[:400] for line in where]
    assert not leaked, f"secret values found in the suite's log output: {leaked} in {where}"


@pytest.fixture
def log_output() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The Powertools Logger's JSON lines written during the test, parsed."""
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(SERVICE).addHandler(handler)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    logging.getLogger(SERVICE).removeHandler(handler)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto()
    saved = {k: os.environ.get(k) for k in aws_env(endpoint)}
    os.environ.update(aws_env(endpoint))
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws_session(moto_endpoint: str) -> Any:
    return session_for(moto_endpoint)


@pytest.fixture
def resources(aws_session: Any) -> LocalResources:
    return create_resources(aws_session, prefix=f"t{uuid.uuid4().hex[:10]}", visibility_timeout=2, max_receive_count=3)


@pytest.fixture
def sim() -> Iterator[ApifySimulator]:
    simulator = ApifySimulator()
    simulator.add_actor("SimActor00000001", "janedoe", "web-scraper")
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rec:
        yield rec


@pytest.fixture
def base_env(resources: LocalResources, sim: ApifySimulator, receiver: Receiver) -> dict[str, str]:
    return {
        **resources.watcher_env(sim.base_url, sim.token, receiver.base_url + SLACK_PATH),
        "SETTLE_SECONDS": "1",
        "REQUEUE_DELAY_SCHEDULE": "1,1,2",
        "LONG_POLL_SCHEDULE": "60,0",
        "POWERTOOLS_METRICS_NAMESPACE": "ApifyRunNotifierTests",
    }


class App(NamedTuple):
    lambda_handler: Handler


@pytest.fixture
def load_app(moto_endpoint: str) -> Callable[[dict[str, str]], App]:
    """Cold-start a handler on this environment (settings, components, handler), as app.py does."""

    def load(env: dict[str, str]) -> App:
        settings = load_settings(env)
        return App(make_handler(build_components(settings, boto3.session.Session(region_name="us-east-1"))))

    return load


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:q") -> dict[str, Any]:
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"rh-{i}", "Body": body, "Attributes": {}}
        for i, body in enumerate(bodies)
    ]
    return {"Records": [to_lambda_record(m, queue_arn) for m in messages]}


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def context(timeout_secs: float = 30.0) -> FakeLambdaContext:
    return FakeLambdaContext(timeout_secs=timeout_secs)


def event_source(
    app: App, aws_session: Any, resources: LocalResources, timeout_secs: float = 20.0, batch_size: int = 10
) -> EventSource:
    return EventSource(
        aws_session.client("sqs"),
        resources.queue_url,
        resources.queue_arn,
        app.lambda_handler,
        timeout_secs=timeout_secs,
        batch_size=batch_size,
    )


def send(aws_session: Any, queue_url: str, body: str) -> None:
    aws_session.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)


@pytest.fixture
def intake(resources):
    """The intake's handler on the test's queue with a plain token: call(event) -> (status, body)."""
    from run_notifier.config import load_intake_settings
    from run_notifier.function_url_handler import make_intake_handler
    from run_notifier.wiring import build_intake

    settings = load_intake_settings(
        {
            "RUN_QUEUE_URL": resources.queue_url,
            "INTAKE_TOKEN": INTAKE_TOKEN,
            "RUNS_TABLE_NAME": resources.table_name,
            "SETTLE_SECONDS": "0",  # enqueued at once: the tests read the queue straight after
        }
    )
    handler = make_intake_handler(build_intake(settings, boto3.session.Session(region_name="us-east-1")))

    def call(event: dict) -> tuple[int, dict]:
        answer = handler(event, FakeLambdaContext(timeout_secs=10, function_name="WebhookIntakeFunction"))
        return answer["statusCode"], json.loads(answer["body"])

    return call


# --- every destination at once: Slack, the signed webhook, EventBridge (through a rule to a queue) ---

HOOK_PATH = "/hooks/apify"


@pytest.fixture
def event_bus(aws_session):
    """A bus with a rule that forwards our events to an SQS queue, as a follow-up job would."""
    name = f"bus-{uuid.uuid4().hex[:8]}"
    return name, create_event_bus_with_queue(aws_session, name)


def events_on(aws_session, target_url, expected, timeout=5.0):
    """Events the rule delivered to its target queue: until ``expected`` arrived, or (0) for the whole timeout."""
    sqs = aws_session.client("sqs")
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (expected and len(got) >= expected):
        response = sqs.receive_message(QueueUrl=target_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in response.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=target_url, ReceiptHandle=m["ReceiptHandle"])
    return got


@pytest.fixture
def all_destinations_env(base_env, receiver, event_bus):
    bus, _ = event_bus
    return {
        **base_env,
        "SETTLE_SECONDS": "0",
        "WEBHOOK_URL": receiver.base_url + HOOK_PATH,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVENT_BUS_NAME": bus,
    }


# --- the discovery sweep on the test's table, queue and simulator ---


@pytest.fixture
def sweeper_for(resources, sim):
    def build(page_limit: int = 1000, **env: str):
        """A sweeper over the simulator and the test's resources; ``env`` overrides its variables."""
        settings = load_sweeper_settings(
            {
                "RUNS_TABLE_NAME": resources.table_name,
                "RUN_QUEUE_URL": resources.queue_url,
                "APIFY_API_BASE_URL": sim.base_url,
                "APIFY_TOKEN": sim.token or "",
                "SWEEP_LOOKBACK_MINUTES": "10",
                "SWEEP_OVERLAP_SECONDS": "2",
                **env,
            }
        )
        return build_sweeper(settings, boto3.session.Session(region_name="us-east-1"), page_limit=page_limit)

    return build
