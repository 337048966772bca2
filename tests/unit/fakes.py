"""In-memory fakes of the domain's ports: the domain's unit tests run in milliseconds with these."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.domain.announcements import Announcement, RunEndAnnouncement
from run_notifier.domain.claims import ExactlyOnce
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.isotime import parse_iso
from run_notifier.domain.notifier import Announcer, Notifier
from run_notifier.domain.ports import (
    Claim,
    ClaimResult,
    Destination,
    NotificationState,
    PermanentDeliveryError,
    RecordResult,
    RunNotFound,
    TransientDeliveryError,
)
from run_notifier.domain.push import PushArmed, PushMode
from run_notifier.domain.run_summary import RunSummary
from run_notifier.domain.watch_request import WatchRequest


class Clock:
    def __init__(self, start: datetime = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeApify:
    """Answers from a script: a run dict, or an exception to raise."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def get_run(self, run_id: str, wait_secs: int, deadline: Deadline) -> RunSummary:
        self.calls.append((run_id, wait_secs))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return summary_from_run(answer, run_id)  # as the Apify adapter does


class FakePushArming:
    """Arms by script: a PushArmed, or an exception to raise; counts webhooks per run like Apify's idempotency key."""

    def __init__(self, *answers: PushArmed | Exception) -> None:
        self.answers = list(answers) or [PushArmed(PushMode.ADHOC, "Hook000000000001")]
        self.calls: list[str] = []

    def arm(self, run_id: str, deadline: Deadline) -> PushArmed:
        self.calls.append(run_id)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeActorPushArming(FakePushArming):
    """Also arms an Actor's webhook (`ports.ActorPushArming`): covered Actors, and the Actor creates asked for."""

    def __init__(self, *answers: PushArmed | Exception, covered: set[str] | None = None) -> None:
        super().__init__(*answers)
        self.covered = covered or set()
        self.actor_calls: list[str] = []

    def actor_covered(self, act_id: str) -> bool:
        return act_id in self.covered

    def arm_actor(self, act_id: str, deadline: Deadline) -> PushArmed:
        self.actor_calls.append(act_id)
        self.covered.add(act_id)
        return PushArmed(PushMode.ACTOR, "ActorHook0000001")


class FakeActorNames:
    def name_of(self, actor_id: str, deadline: Deadline) -> str:
        return f"someone/{actor_id}"


class FakeRequeue:
    def __init__(self) -> None:
        self.sent: list[tuple[WatchRequest, int]] = []

    def send(self, request: WatchRequest, delay_secs: int) -> str:
        self.sent.append((request, delay_secs))
        return f"m{len(self.sent)}"


class FakeLedger:
    """The run ledger and the watch ledger (`ports.RunLedger`, `ports.WatchLedger`) in one dict."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.push: dict[str, list[PushArmed]] = {}
        self.reads = 0

    def note_push(self, run_id: str, armed: PushArmed, now: datetime) -> None:
        self.push.setdefault(run_id, []).append(armed)

    def notified_since(self, run_id: str, since: datetime) -> bool:
        self.reads += 1
        item = self.items.get(run_id) or {}
        finished = parse_iso(item.get("finished_at"))
        return bool(finished and finished >= since and item.get("notified") == item.get("generation"))

    def mark_notified(self, run_id: str, generation: str, now: datetime) -> None:
        item = self.items.get(run_id)
        if item and item["generation"] == generation:
            item["notified"] = generation

    def record(
        self,
        summary: RunSummary,
        *,
        now: datetime,
        attempts: int,
        first_seen_at: datetime | None,
        costs_settled: bool,
        muted_by: Any = None,
    ) -> RecordResult:
        stored = self.items.get(summary.run_id)
        newer_stored = stored and stored["finished_at"] and stored["finished_at"] > (summary.finished_at or "")
        if newer_stored:
            return RecordResult(False, stored["generation"])
        self.items[summary.run_id] = {
            "status": summary.status,
            "generation": summary.generation,
            "finished_at": summary.finished_at,
            "first_seen_at": first_seen_at,
            "costs_settled": costs_settled,
            "status_message": summary.status_message,
        }
        return RecordResult(True, summary.generation)


class FakeClaims:
    """The claim rules of `adapters/notification_claims.py`, in memory; any method can be made to fail."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail: dict[str, Exception] = {}
        self._lock = threading.Lock()

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def claim(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, lease_secs: float) -> Claim:
        with self._lock:
            self._maybe_fail("claim")
            current = self.state.get((run_id, kind))
            until = now + timedelta(seconds=lease_secs)
            free = (
                current is None
                or current["generation"] != generation
                or current["state"] == NotificationState.RETRYING
                or (current["state"] == NotificationState.CLAIMED and current["lease_until"] < now)
            )
            if free:
                self.state[(run_id, kind)] = {
                    "state": NotificationState.CLAIMED,
                    "generation": generation,
                    "owner": owner,
                    "lease_until": until,
                }
                return Claim(ClaimResult.CLAIMED, until)
            if current["state"] == NotificationState.CLAIMED:
                return Claim(ClaimResult.BUSY, current["lease_until"])
            return Claim(ClaimResult.DONE)

    def _close(self, method: str, run_id: str, kind: str, owner: str, state: NotificationState, text: str) -> None:
        with self._lock:
            self._maybe_fail(method)
            current = self.state.get((run_id, kind))
            if current and current["state"] == NotificationState.CLAIMED and current["owner"] == owner:
                self.state[(run_id, kind)] = {**current, "state": state, "text": text}

    def mark_sent(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, detail: str) -> None:
        self._close("mark_sent", run_id, kind, owner, NotificationState.SENT, detail)

    def mark_failed(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        self._close("mark_failed", run_id, kind, owner, NotificationState.FAILED, error)

    def release(self, run_id: str, kind: str, generation: str, *, owner: str, now: datetime, error: str) -> None:
        self._close("release", run_id, kind, owner, NotificationState.RETRYING, error)

    def state_of(self, run_id: str, kind: str) -> NotificationState | None:
        current = self.state.get((run_id, kind))
        return current["state"] if current else None


class FakeDestination(Rendering):
    """Renders a run's end by appending to `sent`; `outcomes` scripts failures ("permanent", "transient", "bug")."""

    kind = "fake"

    def __init__(self, kind: str, *outcomes: str, on_send: Callable[[], None] | None = None) -> None:
        self.kind = kind  # type: ignore[misc]
        self.outcomes = list(outcomes)
        self.sent: list[str] = []
        self._on_send = on_send

    @renders(RunEndAnnouncement)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        if self._on_send:
            self._on_send()
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "permanent":
            raise PermanentDeliveryError(f"{self.kind} said 410")
        if outcome == "transient":
            raise TransientDeliveryError(f"{self.kind} said 503")
        if outcome == "bug":
            raise KeyError("oops")
        self.sent.append(announcement.run.run_id)
        return "HTTP 200"


class FakeDirectory:
    """Every announcement to the same destinations, those that render it."""

    def __init__(self, *destinations: Destination) -> None:
        self.destinations = list(destinations)

    def destinations_for(self, announcement: Announcement) -> list[Destination]:
        return [d for d in self.destinations if d.renders(type(announcement))]


def announcer(claims: Any, events: Any, clock: Callable[[], datetime], *destinations: Destination) -> Announcer:
    """The real delivery path (claims, notifier) over in-memory claims and these destinations."""
    exactly_once = ExactlyOnce(claims, events, clock, lease_margin_secs=60.0)
    return Announcer(FakeDirectory(*destinations), Notifier(exactly_once, clock), lambda announcement: None)


class FakeEvents:
    """`events.Events` that keeps what was emitted, for assertions on what happened."""

    def __init__(self) -> None:
        self.emitted: list[Any] = []
        self._lock = threading.Lock()

    def emit(self, event: Any) -> None:
        with self._lock:
            self.emitted.append(event)

    def of(self, kind: type) -> list[Any]:
        with self._lock:
            return [e for e in self.emitted if isinstance(e, kind)]


def not_found() -> RunNotFound:
    return RunNotFound("run X not found (record-not-found: gone)")


class FakeScheduleMemories:
    """`ports.ScheduleMemories` in memory; `fail_writes` plays the table refusing."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.fail_writes = False

    def recall(self, schedule_ids):
        return {i: self.items[i] for i in schedule_ids if i in self.items}

    def remember(self, schedule_id, memory, now):
        if self.fail_writes:
            raise RuntimeError("table unavailable")
        self.items[schedule_id] = memory

    def forget(self, schedule_id):
        self.items.pop(schedule_id, None)


class FakeBodyQueue:
    """`ports.EnqueueBodies` in memory; `fail` plays the queue refusing."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.fail = False

    def enqueue_bodies(self, bodies):
        if self.fail:
            raise RuntimeError("queue unavailable")
        self.bodies += bodies


class FakeScheduleLister:
    """`ports.ScheduleLister` over a fixed list."""

    def __init__(self, views: list[Any]) -> None:
        self.views = views

    def list_schedules(self, offset, limit, deadline):
        return self.views[offset : offset + limit]
