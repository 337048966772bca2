"""The benchmark's local stack: moto and the Apify simulator each in its own process (so that they
do not share the measured process's GIL), scripted over a pipe."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any


def _serve_moto(conn: Any) -> None:
    import logging

    from localdev.aws import start_moto

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server, endpoint = start_moto()
    conn.send(endpoint)
    conn.recv()  # until told to stop
    server.stop()


def _serve_simulator(conn: Any) -> None:
    """The Apify simulator in its own process, scripted over a pipe."""
    from localdev.apify_simulator import ApifySimulator

    sim = ApifySimulator()
    conn.send((sim.start(), sim.token))
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        if command == "facts":  # each run's end on the wall clock, webhook creates, run reads
            ends = {r: sim.runs[r].ended_wall() for r in args}
            wanted = {f"/v2/actor-runs/{r}" for r in args}
            reads = sum(1 for request in list(sim.requests) if request.path in wanted)
            conn.send((ends, len(sim.webhook_creates), reads))
            continue
        for run_id, duration, kwargs in args:
            sim.add_run(run_id, duration, **kwargs)
        conn.send("ok")
    sim.stop()


class _ServerProcess:
    """A server in its own process, driven over a pipe, so it does not share this process's GIL."""

    def __init__(self, target: Any) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=target, args=(child,), daemon=True)
        self._process.start()
        self.hello = self._conn.recv()

    def stop(self) -> None:
        self._conn.send(("stop", None))
        self._process.join(10)


class RemoteSimulator(_ServerProcess):
    def __init__(self) -> None:
        super().__init__(_serve_simulator)
        self.base_url, self.token = self.hello

    def add_runs(self, runs: list[tuple[str, float, dict[str, Any]]]) -> None:
        self._conn.send(("add", runs))
        self._conn.recv()

    def facts(self, run_ids: list[str]) -> tuple[dict[str, float], int, int]:
        """Each run's end (wall clock), webhooks created so far, and reads of these runs."""
        self._conn.send(("facts", run_ids))
        return self._conn.recv()


class RemoteMoto(_ServerProcess):
    def __init__(self) -> None:
        super().__init__(_serve_moto)
        self.endpoint = self.hello


def local_stack() -> tuple[Any, ...]:
    from localdev.aws import aws_env, create_resources, session_for
    from localdev.receiver import Receiver

    moto = RemoteMoto()
    endpoint = moto.endpoint
    os.environ.update(aws_env(endpoint))  # the handler's own boto3 clients find moto through AWS_ENDPOINT_URL
    aws = session_for(endpoint)
    resources = create_resources(aws, prefix=f"bench{uuid.uuid4().hex[:6]}")
    sim = RemoteSimulator()
    receiver = Receiver()
    receiver.start()
    env = {
        **resources.watcher_env(sim.base_url, sim.token, receiver.base_url + "/slack"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    return moto, endpoint, aws, resources, sim, receiver, env


def sqs_event(run_ids: list[str]) -> dict[str, Any]:
    from localdev.event_source import to_lambda_record

    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "rh", "Body": json.dumps({"runId": r})} for r in run_ids
    ]
    return {"Records": [to_lambda_record(m, "arn:aws:sqs:us-east-1:123456789012:bench") for m in messages]}
