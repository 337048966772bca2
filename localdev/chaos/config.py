"""What a chaos run is: its settings, its fixed paths and secrets, and the poison messages."""

from __future__ import annotations

import json
from dataclasses import dataclass

SLACK_PATH = "/services/TCHAOS/BCHAOS/chaossecretpath01"
HOOK_PATH = "/hooks/chaos"
WEBHOOK_SECRET = "whsec_Y2hhb3MtY2hhb3MtY2hhb3MtY2hhb3MtMTIz"
KINDS = ("slack", "webhook", "eventbridge")
#: With --incidents chat is per incident: each run's own alerts are the webhook's and EventBridge's.
INCIDENT_RUN_KINDS = ("webhook", "eventbridge")
INCIDENT_ACTORS = tuple(f"ChaosIncident{i:04d}" for i in range(5))
PAGER_PATH = "/v2/enqueue"
POISON = (
    "[" * 5000 + "]" * 5000,
    json.dumps({"runId": "x" * 200_000}),
    json.dumps({"runId": 12345}),
    json.dumps({"runId": "AbC", "attempt": "many"}),
    json.dumps({"eventData": {"actorRunId": ["not", "an", "id"]}}),
    "not a run id; DROP TABLE runs",
)


@dataclass
class Config:
    runs: int = 200
    workers: int = 4
    fault_rate: float = 0.15
    kill_every: float = 4.0
    slow_rate: float = 0.3
    seed: int = 20261129
    timeout: float = 900.0
    function_timeout: float = 20.0
    visibility_timeout: int = 30
    #: Push: the watcher arms each run's ad-hoc webhook to a real intake (through the fault proxy);
    #: the simulator loses and duplicates dispatches, refuses some creates, and the safety net must cover.
    push: bool = False
    #: Incidents: the runs belong to five Actors in incident mode, with PagerDuty; every transition the
    #: product makes must reach PagerDuty and the webhook, repeats only in a kill window.
    incidents: bool = False
    work_dir: str = ""
