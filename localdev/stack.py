"""The local stack, one way: moto's server with the template's resources, the Apify simulator and
the receiver (Slack, webhook, Teams, Discord), all on 127.0.0.1, started and stopped together.

The demo, chaos and `make invoke` build on it (and the test fixtures on the same pieces:
`localdev.aws`, the simulator, the receiver), so what each of them runs is the same pipeline.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from localdev.apify_simulator import ApifySimulator
from localdev.aws import LocalResources, aws_env, create_event_bus_with_queue, create_resources, session_for, start_moto
from localdev.receiver import Receiver

#: Where the receiver plays each destination (any path works; these are the stack's defaults).
SLACK_PATH = "/services/TLOCAL/BLOCAL/slacksecretpart"
HOOK_PATH = "/hooks/apify"
TEAMS_PATH = "/teams/workflows/local/invoke"
DISCORD_PATH = "/discord/api/webhooks/1100/local"


class LocalStack:
    def __init__(
        self,
        prefix: str,
        *,
        simulator: ApifySimulator | None = None,
        receiver: Receiver | None = None,
        visibility_timeout: int | None = None,
        max_receive_count: int | None = None,
        event_bus: str | None = None,
        moto_in_own_process: bool = False,
        dynamodb_in_own_process: bool = False,
    ) -> None:
        """``event_bus``: also an EventBridge bus with a rule that forwards to a queue (`event_queue_url`);
        ``moto_in_own_process``: moto gets its own interpreter (localdev/moto_process.py);
        ``dynamodb_in_own_process``: and DynamoDB a second one (`dynamodb_endpoint`), as a burst needs: one
        moto serves one request at a time, and SQS and DynamoDB each keep one busy."""
        self._moto_in_own_process = moto_in_own_process or dynamodb_in_own_process
        self._dynamodb_in_own_process = dynamodb_in_own_process
        self._dynamodb_moto: Any = None
        #: With ``dynamodb_in_own_process``: DynamoDB's endpoint (every other service is at `endpoint`).
        self.dynamodb_endpoint: str | None = None
        self.prefix = prefix
        self.sim = simulator or ApifySimulator()
        self.receiver = receiver or Receiver()
        self._visibility_timeout = visibility_timeout
        self._max_receive_count = max_receive_count
        self.event_bus = event_bus
        #: With ``event_bus``: the queue its rule forwards to.
        self.event_queue_url = ""
        self._moto: Any = None
        self.endpoint = ""
        self.aws: Any = None
        self.resources: LocalResources  # set by start()

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        if self._moto_in_own_process:
            from localdev.moto_process import MotoProcess

            self._moto = MotoProcess()
            self.endpoint = self._moto.endpoint
            if self._dynamodb_in_own_process:
                self._dynamodb_moto = MotoProcess()
                self.dynamodb_endpoint = self._dynamodb_moto.endpoint
        else:
            self._moto, self.endpoint = start_moto()
        os.environ.update(self.client_env())
        self.aws = session_for(self.endpoint, self.dynamodb_endpoint)
        options = {
            k: v
            for k, v in (
                ("visibility_timeout", self._visibility_timeout),
                ("max_receive_count", self._max_receive_count),
            )
            if v is not None
        }
        self.resources = create_resources(self.aws, prefix=self.prefix, **options)
        if self.event_bus:
            self.event_queue_url = create_event_bus_with_queue(self.aws, self.event_bus)
        self.sim.start()
        self.receiver.start()
        return self

    def stop(self) -> None:
        for service in (self.receiver, self.sim, self._moto, self._dynamodb_moto):
            if service is not None:
                service.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_env(self) -> dict[str, str]:
        """The variables that point a process's own AWS clients at this stack's moto."""
        return aws_env(self.endpoint, self.dynamodb_endpoint)

    def moto_pids(self) -> list[int]:
        """moto's processes (when it runs in its own), to measure what they spend."""
        return [m.process.pid for m in (self._moto, self._dynamodb_moto) if m is not None and hasattr(m, "process")]

    def watcher_env(self, *, slack_path: str = SLACK_PATH, **extra: str) -> dict[str, str]:
        """The watcher's variables for this stack (Slack's incoming webhook at ``slack_path``), plus ``extra``."""
        return {
            **self.resources.watcher_env(self.sim.base_url, self.sim.token, self.receiver.base_url + slack_path),
            **extra,
        }

    def url(self, path: str) -> str:
        """A receiver URL (a destination's target)."""
        return self.receiver.base_url + path
