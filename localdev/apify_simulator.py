"""A local Apify API: scripted run lifecycles over real HTTP on 127.0.0.1.

What it does like the real API (see ../shared/reference and the product brief):

* `GET /v2/actor-runs/{runId}` returns `{"data": Run}`; `waitForFinish` (max 60) really
  blocks until the run ends or the wait passes, then answers 200 either way;
* statuses READY -> RUNNING -> (TIMING-OUT | ABORTING) -> terminal, with resurrection;
* Bearer auth: an invalid token gets 401 `invalid-token`; without a token `usageUsd` and
  `usageTotalUsd` are hidden (or 401 `token-not-provided` with ``require_token``);
* costs are preliminary right after the end and settle ``settle_secs`` later;
* the official error shapes, and injected 404 / 429 / 5xx answers;
* `GET /v2/acts/{actorId}` for Actor names.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.apify_webhooks import TERMINAL_EVENTS, SimulatedWebhooks
from localdev.http_server import LoopbackServer, LoopbackService

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"}
_TRANSITION_SECS = 0.5  # how long TIMING-OUT / ABORTING last before the terminal status


@dataclass
class SimRun:
    id: str
    act_id: str
    duration_secs: float
    final_status: str = "SUCCEEDED"
    exit_code: int | None = 0
    task_id: str | None = None
    status_message: str | None = None
    prelim_usd: float = 0.01
    final_usd: float = 0.0123
    settle_secs: float = 5.0
    compute_units: float = 0.0042
    charged_event_counts: dict[str, int] = field(default_factory=dict)
    created_mono: float = field(default_factory=time.monotonic)
    created_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    resurrect_count: int = 0
    finished_mono: float | None = None  # set by finish() to end a run now
    #: The log's last lines (GET .../log), and how many bytes of earlier lines come before them.
    log_tail: list[str] = field(default_factory=list)
    log_filler_bytes: int = 0
    #: Its default dataset's item count (GET /v2/datasets/{id}), as the run ends with it.
    item_count: int = 0
    #: It started this long before it was added (its `startedAt`; a long-running or stuck run).
    started_earlier_secs: float = 0.0
    #: Its `options.timeoutSecs` (0: no limit).
    timeout_secs: int = 3600
    #: The schedule that started it, and the slot it was started for (`meta.scheduleId`, `meta.scheduledAt`).
    schedule_id: str | None = None
    scheduled_at: datetime | None = None

    def log_chunks(self, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
        """The log as Apify serves it: plain text, streamed; filler lines first, then the tail."""
        filler = b"2026-11-28T10:00:00.000Z INFO  PuppeteerCrawler: Crawled a page, 0 errors so far.\n"
        block = filler * max(1, chunk_bytes // len(filler))
        remaining = self.log_filler_bytes
        while remaining > 0:
            piece = block[: min(remaining, len(block))]
            remaining -= len(piece)
            yield piece
        yield self._tail_bytes()

    def log_size(self) -> int:
        return self.log_filler_bytes + len(self._tail_bytes())

    def _tail_bytes(self) -> bytes:
        lines = self.log_tail or [f"ACTOR: Run {self.id} started.", f"ACTOR: Run ended: {self.final_status}."]
        return ("\n".join(lines) + "\n").encode()

    def end_mono(self) -> float:
        if self.finished_mono is not None:
            return self.finished_mono
        return self.created_mono + self.duration_secs

    def ended_wall(self) -> float:
        """When the run ends (or ended), on the wall clock (epoch seconds): what alert latency is measured from."""
        return self.created_wall.timestamp() + (self.end_mono() - self.created_mono)

    def status_at(self, now: float) -> str:
        elapsed = now - self.created_mono
        if elapsed < min(0.2, self.duration_secs) and self.finished_mono is None:
            return "READY"
        end = self.end_mono()
        if now >= end:
            return self.final_status
        if end - now < _TRANSITION_SECS and self.final_status == "TIMED-OUT":
            return "TIMING-OUT"
        if end - now < _TRANSITION_SECS and self.final_status == "ABORTED":
            return "ABORTING"
        return "RUNNING"


@dataclass
class SimSchedule:
    """A schedule that fires by itself every `every_secs` (the simulator does no cron arithmetic:
    `cron` is what it shows). `fires=False` plays a scheduler that does not fire (its `nextRunAt`
    stays in the past); `starts_runs=False` one that fires but starts nothing (credits, a limit)."""

    id: str
    name: str
    every_secs: float
    next_run_at: datetime
    act_id: str | None = None
    task_id: str | None = None
    cron: str = "* * * * *"
    timezone: str = "UTC"
    enabled: bool = True
    fires: bool = True
    starts_runs: bool = True
    run_secs: float = 1.0
    last_run_at: datetime | None = None
    fired: int = 0

    def short(self, user_id: str) -> dict[str, Any]:
        """Its `ScheduleShort`, as `GET /v2/schedules` lists it."""
        action = (
            {"id": f"act{self.id}"[:17], "type": "RUN_ACTOR_TASK", "actorTaskId": self.task_id}
            if self.task_id
            else {"id": f"act{self.id}"[:17], "type": "RUN_ACTOR", "actorId": self.act_id}
        )
        return {
            "id": self.id,
            "userId": user_id,
            "name": self.name,
            "cronExpression": self.cron,
            "timezone": self.timezone,
            "isEnabled": self.enabled,
            "isExclusive": False,
            "createdAt": "2026-01-05T08:00:00.000Z",
            "modifiedAt": "2026-01-05T08:00:00.000Z",
            "nextRunAt": _iso(self.next_run_at),
            "lastRunAt": _iso(self.last_run_at) if self.last_run_at else None,
            "actions": [action],
        }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float


class ApifySimulator(LoopbackService):
    def __init__(
        self,
        token: str | None = "sim-token-0123456789",
        require_token: bool = False,
        user_id: str = "SimUser0000000001",
    ) -> None:
        self.token = token
        self.require_token = require_token
        self.user_id = user_id
        self.runs: dict[str, SimRun] = {}
        self.actors: dict[str, dict[str, str]] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, deque[tuple[int, dict[str, str]]]] = {}
        self._list_faults: dict[int, deque[int]] = {}
        self._webhook_faults: deque[int] = deque()
        self._start_faults: deque[int] = deque()
        self.tasks: dict[str, str] = {}  # task ID -> its Actor's ID
        self.schedules: dict[str, SimSchedule] = {}
        #: Runs started through the API: run ID -> (the input body, the query's run options).
        self.started: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        #: How long a run started through the API runs.
        self.started_run_secs = 3.0
        #: Every status each webhook create was answered with (to count arming calls).
        self.webhook_creates: list[int] = []
        #: Apify's 60 requests a second on `POST /v2/webhooks` (one resource), when set; and when each came.
        self.webhook_creates_per_second: int | None = None
        self.webhook_create_times: list[float] = []
        self.webhooks = SimulatedWebhooks(user_id)
        self._announced: dict[str, str] = {}  # run -> the last state dispatched to webhooks
        self._stopping = threading.Event()
        threading.Thread(target=self._dispatch_state_changes, daemon=True).start()
        self._lock = threading.Condition()
        self._server = LoopbackServer(_make_handler(self))

    def __enter__(self) -> ApifySimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def _dispatch_state_changes(self) -> None:
        """Every 50 ms: a new run is CREATED, a run that reached its end is announced, a run that
        came back to life is RESURRECTED; each goes to the matching webhooks."""
        while not self._stopping.wait(0.05):
            self._fire_schedules()
            now = time.monotonic()
            events = []
            with self._lock:
                for run in self.runs.values():
                    status = run.status_at(now)
                    state = status if status in TERMINAL else "LIVE"
                    before = self._announced.get(run.id)
                    if before == state:
                        continue
                    self._announced[run.id] = state
                    if not self.webhooks.webhooks:
                        continue  # nobody to tell; a webhook created later hears only what happens next
                    short = self.run_object(run, now, with_usage=True)
                    if before is None:
                        events.append(("ACTOR.RUN.CREATED", short))
                    elif state == "LIVE":
                        events.append(("ACTOR.RUN.RESURRECTED", short))
                    if state != "LIVE":
                        events.append((TERMINAL_EVENTS[state], short))
            for event_type, run_object in events:
                self.webhooks.on_run_event(event_type, run_object)

    def _fire_schedules(self) -> None:
        """Each enabled schedule whose `nextRunAt` came: fired (a run started for that slot), unless
        it is scripted not to fire or to start nothing."""
        wall = datetime.now(UTC)
        with self._lock:
            due = [s for s in self.schedules.values() if s.enabled and s.fires and s.next_run_at <= wall]
            for schedule in due:
                slot = schedule.next_run_at
                schedule.last_run_at, schedule.fired = slot, schedule.fired + 1
                schedule.next_run_at = slot + timedelta(seconds=schedule.every_secs)
                if schedule.starts_runs:
                    run_id = f"Sched{schedule.id[:6]}{schedule.fired:06d}"
                    act_id = schedule.act_id or self.tasks.get(schedule.task_id or "", "SimActor00000001")
                    run = SimRun(id=run_id, act_id=act_id, duration_secs=schedule.run_secs, task_id=schedule.task_id)
                    run.schedule_id, run.scheduled_at = schedule.id, slot
                    self.runs[run_id] = run
            if due:
                self._lock.notify_all()

    # scripting -----------------------------------------------------------------------
    def add_schedule(
        self, schedule_id: str, name: str, every_secs: float, first_in_secs: float, **kwargs: Any
    ) -> SimSchedule:
        """A schedule whose first slot is ``first_in_secs`` from now, then every ``every_secs``."""
        schedule = SimSchedule(
            id=schedule_id,
            name=name,
            every_secs=every_secs,
            next_run_at=datetime.now(UTC) + timedelta(seconds=first_in_secs),
            **kwargs,
        )
        with self._lock:
            self.schedules[schedule_id] = schedule
        return schedule

    def add_actor(self, actor_id: str, username: str, name: str) -> None:
        self.actors[actor_id] = {"id": actor_id, "username": username, "name": name}

    def add_run(self, run_id: str, duration_secs: float, **kwargs: Any) -> SimRun:
        kwargs.setdefault("act_id", "SimActor00000001")
        run = SimRun(id=run_id, duration_secs=duration_secs, **kwargs)
        with self._lock:
            self.runs[run_id] = run
            self._lock.notify_all()
        return run

    def dispatched(self, run_ids: list[str]) -> bool:
        """Whether the webhook dispatcher has seen each of these runs (a run it saw before any webhook
        existed is never announced as CREATED: a burst of runs started earlier)."""
        with self._lock:
            return all(run_id in self._announced for run_id in run_ids)

    def finish(self, run_id: str, status: str | None = None) -> None:
        with self._lock:
            run = self.runs[run_id]
            if status:
                run.final_status = status
            run.finished_mono = time.monotonic()
            self._lock.notify_all()

    def resurrect(self, run_id: str, extra_secs: float) -> None:
        with self._lock:
            run = self.runs[run_id]
            run.finished_mono = None
            run.duration_secs = (time.monotonic() - run.created_mono) + extra_secs
            run.resurrect_count += 1
            self._lock.notify_all()

    def inject(self, key: str, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next requests for run ``key`` (or "*" for any path) with these statuses."""
        with self._lock:
            queue = self._faults.setdefault(key, deque())
            for status in statuses:
                queue.append((status, headers or {}))

    def inject_list(self, offset: int, *statuses: int) -> None:
        """Answer the next requests for the run list's page at ``offset`` with these statuses."""
        with self._lock:
            self._list_faults.setdefault(offset, deque()).extend(statuses)

    def add_task(self, task_id: str, actor_id: str) -> None:
        self.tasks[task_id] = actor_id

    def inject_starts(self, *statuses: int) -> None:
        """Answer the next run starts (`POST .../runs`) with these statuses (402, 404, 429...)."""
        with self._lock:
            self._start_faults.extend(statuses)

    def handle_start(
        self, path: str, query: dict[str, list[str]], body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict, dict]:
        """`POST /v2/acts/{actorId}/runs` and `/v2/actor-tasks/{actorTaskId}/runs`: a new run that goes
        through the usual lifecycle; the body is the run's input (a JSON object)."""
        with self._lock:
            self.requests.append(RecordedRequest("POST", path, query, headers, time.monotonic()))
            fault = self._start_faults.popleft() if self._start_faults else None
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, _error("token-not-provided", "Authentication token was not provided or is not valid")
        if fault is not None:
            if fault == 402:
                return 402, {}, _error("not-enough-usage-to-run-paid-actor", "You have exceeded your usage limit")
            return fault, {}, _error_for(fault)
        kind, target = path.split("/")[2:4]
        task_id = target if kind == "actor-tasks" else None
        actor_id = self.tasks.get(target) if task_id else self._actor_id(target)
        if actor_id is None:
            what = "Actor task" if task_id else "Actor"
            return 404, {}, _error("record-not-found", f"{what} was not found")
        try:
            run_input = json.loads(body or b"{}")
        except ValueError:
            return 400, {}, _error("invalid-input", "Input is not valid JSON")
        if not isinstance(run_input, dict):
            return 400, {}, _error("invalid-input", "Input must be a JSON object")
        run_id = uuid.uuid4().hex[:17]
        run = self.add_run(run_id, self.started_run_secs, act_id=actor_id, task_id=task_id, settle_secs=1)
        with self._lock:
            self.started[run_id] = (run_input, {k: v[0] for k, v in query.items()})
        return (
            201,
            {"Location": f"{self.base_url}/v2/actor-runs/{run_id}"},
            {"data": self.run_object(run, time.monotonic(), True)},
        )

    def _actor_id(self, id_or_name: str) -> str | None:
        if id_or_name in self.actors:
            return id_or_name
        for actor in self.actors.values():
            if f"{actor['username']}~{actor['name']}" == id_or_name:
                return actor["id"]
        return None

    def _over_create_limit(self) -> int | None:
        """Apify's limit on one resource: more creates than `webhook_creates_per_second` within a second -> 429."""
        now = time.monotonic()
        with self._lock:
            recent = [at for at in self.webhook_create_times if now - at < 1.0]
            self.webhook_create_times = [*recent, now]
            return (
                429
                if self.webhook_creates_per_second is not None and len(recent) >= self.webhook_creates_per_second
                else None
            )

    def inject_webhooks(self, *statuses: int) -> None:
        """Answer the next `POST /v2/webhooks` (creates) with these statuses (403: no permission)."""
        with self._lock:
            self._webhook_faults.extend(statuses)

    def requests_for(self, run_id: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(f"/{run_id}")]

    # the API ------------------------------------------------------------------------
    def run_object(self, run: SimRun, now: float, with_usage: bool) -> dict[str, Any]:
        status = run.status_at(now)
        terminal = status in TERMINAL
        end_wall = run.created_wall + timedelta(seconds=run.end_mono() - run.created_mono)
        running_secs = min(now, run.end_mono()) - run.created_mono
        settled = terminal and now >= run.end_mono() + run.settle_secs
        usd = run.final_usd if settled else (run.prelim_usd if terminal else run.prelim_usd / 2)
        obj: dict[str, Any] = {
            "id": run.id,
            "actId": run.act_id,
            "userId": self.user_id,
            "actorTaskId": run.task_id,
            "startedAt": _iso(run.created_wall - timedelta(seconds=run.started_earlier_secs)),
            "finishedAt": _iso(end_wall) if terminal else None,
            "status": status,
            "statusMessage": run.status_message or _default_message(status),
            "isStatusMessageTerminal": terminal,
            "meta": _meta(run),
            "stats": {
                "inputBodyLen": 42,
                "migrationCount": 0,
                "restartCount": 0,
                "resurrectCount": run.resurrect_count,
                "memAvgBytes": 35914228.4,
                "memMaxBytes": 38244352,
                "memCurrentBytes": 0 if terminal else 30000000,
                "cpuAvgUsage": 0.5,
                "cpuMaxUsage": 3.1,
                "cpuCurrentUsage": 0 if terminal else 1.0,
                "netRxBytes": 2652,
                "netTxBytes": 1338,
                "durationMillis": int(running_secs * 1000),
                "runTimeSecs": round(running_secs, 3),
                "metamorph": 0,
                "computeUnits": run.compute_units if settled else run.compute_units / 2,
            },
            "options": {"build": "latest", "timeoutSecs": run.timeout_secs, "memoryMbytes": 1024, "diskMbytes": 2048},
            "buildId": "SimBuild00000001",
            "buildNumber": "0.0.1",
            "exitCode": run.exit_code if terminal else None,
            "generalAccess": "RESTRICTED",
            "defaultKeyValueStoreId": f"kvs{run.id}"[:17],
            "defaultDatasetId": f"ds{run.id}"[:17],
            "defaultRequestQueueId": f"rq{run.id}"[:17],
            "containerUrl": "https://sim0000000000.runs.apify.net",
            "chargedEventCounts": dict(run.charged_event_counts),
        }
        if with_usage:
            obj["usageTotalUsd"] = round(usd, 6)
            obj["usageUsd"] = {"ACTOR_COMPUTE_UNITS": round(usd, 6)}
        return obj

    def _dataset(self, dataset_id: str) -> tuple[int, dict, dict]:
        """A run's default dataset (Apify's Dataset object); its count is the run's `item_count`."""
        with self._lock:
            run = next((r for r in self.runs.values() if f"ds{r.id}"[:17] == dataset_id), None)
        if run is None:
            return 404, {}, _error("record-not-found", "Dataset was not found")
        at = run.created_wall.isoformat().replace("+00:00", "Z")
        data = {
            "id": dataset_id,
            "name": None,
            "userId": self.user_id,
            "createdAt": at,
            "modifiedAt": at,
            "accessedAt": at,
            "itemCount": run.item_count,
            "cleanItemCount": run.item_count,
            "actId": run.act_id,
            "actRunId": run.id,
            "consoleUrl": f"https://console.apify.com/storage/datasets/{dataset_id}",
        }
        return 200, {}, {"data": data}

    def handle_webhooks(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, dict]:
        """`/v2/webhooks...`: the token is required, as on the real API."""
        with self._lock:
            self.requests.append(RecordedRequest(method, path, {}, headers, time.monotonic()))
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, _error("token-not-provided", "Authentication token was not provided or is not valid")
        creating = method == "POST" and path.rstrip("/") == "/v2/webhooks"
        if creating:
            with self._lock:
                fault = self._webhook_faults.popleft() if self._webhook_faults else None
            if fault is None and self.webhook_creates_per_second is not None:
                fault = self._over_create_limit()
            if fault is not None:
                with self._lock:
                    self.webhook_creates.append(fault)
                return fault, {}, _error_for(fault)
        answer = self.webhooks.handle(method, path, body)
        if creating:
            with self._lock:
                self.webhook_creates.append(answer[0])
        return answer

    def handle_get(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict, dict]:
        with self._lock:
            self.requests.append(RecordedRequest("GET", path, query, headers, time.monotonic()))
            run_id = path.rsplit("/", 1)[-1]
            for key in (run_id, "*"):
                faults = self._faults.get(key)
                if faults:
                    status, extra = faults.popleft()
                    return status, extra, _error_for(status)
        auth = headers.get("authorization", "")
        presented = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if presented is not None and presented != self.token:
            return 401, {}, _error("invalid-token", "Authentication token is not valid.")
        if presented is None and self.require_token:
            return 401, {}, _error("token-not-provided", "Authentication token was not provided")
        with_usage = presented is not None
        if path.startswith("/v2/acts/"):
            actor = self.actors.get(run_id)
            if actor is None:
                return 404, {}, _error("record-not-found", "Actor was not found")
            return 200, {}, {"data": {**actor, "userId": self.user_id}}
        if path.startswith("/v2/datasets/"):
            return self._dataset(path.removeprefix("/v2/datasets/").strip("/"))
        if path.rstrip("/") == "/v2/actor-runs":
            return self._list_runs(query, with_usage)
        if path.rstrip("/") == "/v2/schedules":
            return self._list_schedules(query)
        if not path.startswith("/v2/actor-runs/"):
            return 404, {}, _error("page-not-found", "Page not found")
        try:
            wait = min(60.0, max(0.0, float(query.get("waitForFinish", ["0"])[0])))
        except ValueError:
            return 400, {}, _error("invalid-parameter", "waitForFinish must be a number")
        give_up = time.monotonic() + wait
        with self._lock:
            while True:
                run = self.runs.get(run_id)
                if run is None:
                    return 404, {}, _error("record-not-found", "Actor run was not found")
                now = time.monotonic()
                run_status = run.status_at(now)
                if run_status in TERMINAL or now >= give_up:
                    return 200, {}, {"data": self.run_object(run, now, with_usage)}
                self._lock.wait(timeout=min(give_up, run.end_mono()) - now + 0.001)

    def _list_schedules(self, query: dict[str, list[str]]) -> tuple[int, dict, dict]:
        """`GET /v2/schedules`: the user's schedules as ScheduleShort, oldest first unless `desc`."""
        try:
            offset = max(0, int(query.get("offset", ["0"])[0]))
            limit = min(1000, max(1, int(query.get("limit", ["1000"])[0])))
        except ValueError:
            return 400, {}, _error("invalid-parameter", "offset and limit must be whole numbers")
        desc = query.get("desc", [""])[0] in ("1", "true")
        with self._lock:
            items = [s.short(self.user_id) for s in self.schedules.values()]
        items = items[::-1] if desc else items
        page = items[offset : offset + limit]
        data = {"total": len(items), "offset": offset, "limit": limit, "desc": desc, "count": len(page), "items": page}
        return 200, {}, {"data": data}

    def _list_runs(self, query: dict[str, list[str]], with_usage: bool) -> tuple[int, dict, dict]:
        """`GET /v2/actor-runs`: the user's runs as RunShort, ascending by startedAt unless `desc`."""

        def one(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        try:
            offset = max(0, int(one("offset", "0")))
            limit = min(1000, max(1, int(one("limit", "1000"))))
        except ValueError:
            return 400, {}, _error("invalid-parameter", "offset and limit must be whole numbers")
        with self._lock:
            faults = self._list_faults.get(offset)
            if faults:
                status = faults.popleft()
                return status, {}, _error_for(status)
        desc = one("desc") in ("1", "true")
        statuses = {s for s in one("status").split(",") if s}
        after, before = one("startedAfter"), one("startedBefore")
        now = time.monotonic()
        with self._lock:
            runs = sorted(self.runs.values(), key=lambda r: r.created_wall, reverse=desc)
            short = []
            for run in runs:
                full = self.run_object(run, now, with_usage)
                if (after and full["startedAt"] < after) or (before and full["startedAt"] > before):
                    continue
                if statuses and full["status"] not in statuses:
                    continue
                short.append({k: full[k] for k in _RUN_SHORT_KEYS if k in full})
        page = short[offset : offset + limit]
        data = {"total": len(short), "offset": offset, "limit": limit, "desc": desc, "count": len(page), "items": page}
        return 200, {}, {"data": data}


_RUN_SHORT_KEYS = (
    "id",
    "actId",
    "actorTaskId",
    "status",
    "startedAt",
    "finishedAt",
    "buildId",
    "buildNumber",
    "meta",
    "usageTotalUsd",
    "defaultKeyValueStoreId",
    "defaultDatasetId",
    "defaultRequestQueueId",
)


def _meta(run: SimRun) -> dict[str, Any]:
    if run.schedule_id:
        scheduled = _iso(run.scheduled_at) if run.scheduled_at else None
        return {"origin": "SCHEDULER", "scheduleId": run.schedule_id, "scheduledAt": scheduled}
    return {"origin": "API", "userAgent": "apify-run-notifier-simulator"}


def _default_message(status: str) -> str:
    return {
        "READY": "Starting the Actor",
        "RUNNING": "Actor is running",
        "SUCCEEDED": "Actor finished successfully",
        "FAILED": "Actor failed",
        "TIMED-OUT": "Actor timed out",
        "ABORTED": "Actor was aborted",
        "TIMING-OUT": "Actor is timing out",
        "ABORTING": "Actor is aborting",
    }.get(status, status)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"error": {"type": error_type, "message": message}}


def _error_for(status: int) -> dict[str, Any]:
    if status == 400:
        return _error("invalid-input", "Input is not valid for this Actor")
    if status == 429:
        return _error("rate-limit-exceeded", "You have exceeded the rate limit of 60 requests per second")
    if status == 404:
        return _error("record-not-found", "Actor run was not found")
    if status == 401:
        return _error("invalid-token", "Authentication token is not valid.")
    if status == 403:
        return _error("insufficient-permissions", "Insufficient permissions for the Actor run")
    return _error("internal-server-error", "Internal server error")


def _make_handler(sim: ApifySimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if parts.path.startswith("/v2/actor-runs/") and parts.path.endswith("/log"):
                self._stream_log(parts.path, headers)
                return
            if parts.path.startswith("/v2/webhooks"):
                self._answer(*sim.handle_webhooks("GET", parts.path, b"", headers))
                return
            self._answer(*sim.handle_get(parts.path, parse_qs(parts.query), headers))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            parts = urlsplit(self.path)
            if parts.path.startswith(("/v2/acts/", "/v2/actor-tasks/")) and parts.path.endswith("/runs"):
                self._answer(*sim.handle_start(parts.path, parse_qs(parts.query), body, headers))
                return
            self._answer(*sim.handle_webhooks("POST", parts.path, body, headers))

        def do_DELETE(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._answer(*sim.handle_webhooks("DELETE", urlsplit(self.path).path, b"", headers))

        def _stream_log(self, path: str, headers: dict[str, str]) -> None:
            """`GET /v2/actor-runs/{runId}/log`: the run's log as text/plain, streamed (logs can be many MB)."""
            run_id = path.split("/")[3]
            with sim._lock:
                sim.requests.append(RecordedRequest("GET", path, {}, headers, time.monotonic()))
                run = sim.runs.get(run_id)
            if headers.get("authorization") != f"Bearer {sim.token}":
                self._answer(401, {}, _error("invalid-token", "Authentication token is not valid."))
                return
            if run is None:
                self._answer(404, {}, _error("record-not-found", "Actor run was not found"))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(run.log_size()))
            self.end_headers()
            try:
                for chunk in run.log_chunks():
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return  # the reader stopped early

        def _answer(self, status: int, extra_headers: dict[str, str], body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode() if status != 204 else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tests assert on sim.requests instead

    return Handler
