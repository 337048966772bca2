"""One contract for every destination kind, table-driven from the registry.

Every kind (and each mode of one, Slack's webhook and bot) is built by its own module from a
target, exactly as routes build it, and pointed at the local receiver (HTTP kinds), moto
(EventBridge) or the Apify simulator (follow-ups). Then, for each announcement it declares it
renders, the same checks:

- it renders it, within the limits its class declares (`Limits`), and the service accepts it;
- text from a run cannot ping anyone or plant a link in chat (hostile Actor names and messages);
- 429 and 5xx are retried within the send's share; another 4xx is a permanent failure;
- two deliveries of one announcement at once send it once (the claims).

`HARNESSES` must name every kind the registry finds: a new kind fails `test_every_kind_is_under_contract`
until it has its line here, and then gets every check below.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from conftest import HOOK_PATH, SLACK_PATH, WEBHOOK_SECRET, events_on
from run_notifier.config import load_settings
from run_notifier.destinations import KINDS
from run_notifier.domain.announcements import (
    Announcement,
    BudgetAnnouncement,
    DigestAnnouncement,
    HeldSummaryAnnouncement,
    IncidentAnnouncement,
    IncidentPartAnnouncement,
    MissedScheduleAnnouncement,
    RunEndAnnouncement,
    StuckRunAnnouncement,
)
from run_notifier.domain.budgets import BudgetAlert
from run_notifier.domain.claims import ExactlyOnce
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.digest import LedgerRun, build_digest
from run_notifier.domain.digest_schedule import Period
from run_notifier.domain.health import StuckAlert
from run_notifier.domain.incidents import IncidentEvent, RunInIncident, Transition
from run_notifier.domain.missed_schedules import MissedSlot, ScheduleAction, stand_in
from run_notifier.domain.notifier import Notifier
from run_notifier.domain.ports import Destination, NotificationsIncomplete
from run_notifier.domain.report_specs import BudgetSpec, DigestSpec
from run_notifier.domain.run_summary import RunSummary
from run_notifier.wiring import build_clients, destination_context

from tests.unit.fakes import FakeClaims, FakeEvents

#: What a hostile (or careless) Actor can put in its name and status message.
HOSTILE = "<!channel> <@U0BOSS> <https://evil.example|click here> [click](https://evil.example) @everyone & <b>"


def _unescaped(*texts: str) -> tuple[re.Pattern[str], ...]:
    """Each text as it must never reach chat: not escaped by a backslash (Markdown) or as entities (Slack)."""
    return tuple(re.compile(r"(?<!\\)" + re.escape(text)) for text in texts)


#: Slack's mrkdwn: `<!channel>`, `<@U…>` and `<url|text>` ping and link; `[x](url)` is plain text there.
SLACK_FORBIDDEN = _unescaped("<!channel>", "<@U0BOSS>", "<https://evil.example|")
#: Markdown (Teams, Discord): links and autolinks; pings are Discord's `allowed_mentions`, checked apart.
MARKDOWN_FORBIDDEN = _unescaped("](https://evil.example)", "<https://evil.example|", "<b>")

BOT_PATH = "/slack-api"
BOT_TOKEN = "-".join(("xoxb", "contract", "0000"))  # made up; no token-shaped literal in the tree
TEAMS_PATH = "/teams/contract"
DISCORD_PATH = "/discord/contract"
PAGERDUTY_PATH = "/pagerduty/v2/enqueue"
NOW = datetime.now(UTC).replace(microsecond=0)


class Harness(NamedTuple):
    """How to reach one kind's service locally: its target, its variables, where its requests land."""

    kind: str
    target: Callable[[Any], dict[str, Any]]
    env: Callable[[Any], dict[str, str]]
    #: The receiver path its requests go to; None: not HTTP (EventBridge on moto, follow-ups on the simulator).
    path: str | None
    #: Chat: what text from a run must never show as written; () for data (JSON payloads).
    forbidden: tuple[re.Pattern[str], ...] = ()


HARNESSES = [
    Harness(
        "slack", lambda w: {"webhookUrl": w.receiver.base_url + SLACK_PATH}, lambda w: {}, SLACK_PATH, SLACK_FORBIDDEN
    ),
    Harness(
        "slack",
        lambda w: {"channel": "C0CONTRACT"},
        lambda w: {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_BASE_URL": w.receiver.base_url + BOT_PATH},
        f"{BOT_PATH}/chat.postMessage",
        SLACK_FORBIDDEN,
    ),
    Harness(
        "webhook",
        lambda w: {"url": w.receiver.base_url + HOOK_PATH},
        lambda w: {"WEBHOOK_SECRET": WEBHOOK_SECRET},
        HOOK_PATH,
    ),
    Harness(
        "teams",
        lambda w: {"webhookUrl": w.receiver.base_url + TEAMS_PATH},
        lambda w: {},
        TEAMS_PATH,
        MARKDOWN_FORBIDDEN,
    ),
    Harness(
        "discord",
        lambda w: {"webhookUrl": w.receiver.base_url + DISCORD_PATH},
        lambda w: {},
        DISCORD_PATH + "?wait=true",
        MARKDOWN_FORBIDDEN,
    ),
    Harness(
        "pagerduty",
        lambda w: {"routingKey": "R0UTINGKEY0000000000000000000000"},
        lambda w: {"PAGERDUTY_EVENTS_URL": w.receiver.base_url + PAGERDUTY_PATH},
        PAGERDUTY_PATH,
    ),
    Harness("eventbridge", lambda w: {"eventBusName": w.bus}, lambda w: {}, None),
    Harness("followUp", lambda w: {"actorId": "ActNext000000001"}, lambda w: {}, None),
]
IDS = [f"{h.kind}-{h.path or 'aws'}" for h in HARNESSES]


def _run(status: str = "FAILED", run_id: str = "RunContract00001", **extra: Any) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        status=status,
        act_id="ActContract00001",
        actor_name=HOSTILE,
        status_message=HOSTILE * 20,
        exit_code=1,
        usage_total_usd=0.42,
        started_at=(NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        finished_at=NOW.isoformat().replace("+00:00", "Z"),
        default_dataset_id="dsContract000001",
        **extra,
    )


def _incident(kind: Transition) -> IncidentEvent:
    at = NOW.isoformat().replace("+00:00", "Z")
    return IncidentEvent(
        kind, "route#0#actor:ActContract00001", "route#0#actor:ActContract00001#RunContract00001",
        "ActContract00001", None, 0, "RunContract00001", "RunContract00001", 3, at, at,
        status="FAILED", status_message=HOSTILE, actor_name=HOSTILE,
    )  # fmt: skip


def samples() -> list[Announcement]:
    """One announcement of each type, hostile text everywhere a run can put it; incidents in order."""
    run = _run()
    missed = MissedSlot(
        "SchedContract001", HOSTILE, NOW, "no run started", "0 * * * *", "UTC",
        (ScheduleAction("ActContract00001"),), None, HOSTILE,
    )  # fmt: skip
    ledger = [LedgerRun(f"R{i}", "actor:A", HOSTILE, "FAILED", NOW - timedelta(hours=i), 60.0, 0.1) for i in range(3)]
    period = Period("day:contract", NOW - timedelta(days=1), NOW, NOW - timedelta(days=2))
    digest = build_digest(ledger, [], period.start, period.end, [], {})
    assert digest is not None
    opened_part = RunInIncident(
        _incident(Transition.OPENED).incident_id, Transition.FAILED_AGAIN, 4, run.finished_at or ""
    )
    return [
        RunEndAnnouncement(run),
        StuckRunAnnouncement(_run("RUNNING"), StuckAlert(3600.0, 1800.0, 900.0)),
        MissedScheduleAnnouncement(missed, stand_in(missed)),
        IncidentAnnouncement(_incident(Transition.OPENED), run),
        IncidentPartAnnouncement(_run(run_id="RunContract00002"), opened_part),
        IncidentAnnouncement(_incident(Transition.RESOLVED), _run("SUCCEEDED")),
        HeldSummaryAnnouncement("quiet#0#contract#w", HOSTILE, tuple([HOSTILE] * 300)),
        DigestAnnouncement(DigestSpec(HOSTILE, "C0CONTRACT", "day", "09:00", "UTC", {}), period, digest),
        BudgetAnnouncement(
            BudgetSpec(HOSTILE, 1.0, "C0CONTRACT", "UTC", {}), BudgetAlert("threshold", 100, 1.2, 1.0, None, "2026-12")
        ),
    ]


class World:
    """One kind built from its target, with the real claims and notifier on in-memory claims."""

    def __init__(self, harness: Harness, receiver: Any, sim: Any, base_env: dict[str, str], aws_session: Any, bus: str):
        self.receiver, self.sim, self.bus, self.harness = receiver, sim, bus, harness
        settings = load_settings({**base_env, **harness.env(self)})
        clients = build_clients(settings, aws_session)
        shared = (clients.http, clients.secrets, clients.apify, clients.table)
        self.context = destination_context(
            settings, aws_session, shared, lambda: datetime.now(UTC), settings.run_queue_url
        )
        self.destination: Destination = KINDS[harness.kind].build(harness.target(self), self.context)
        self.claims = FakeClaims()
        self.exactly_once = ExactlyOnce(self.claims, FakeEvents(), lambda: datetime.now(UTC), lease_margin_secs=5)
        self.notifier = Notifier(self.exactly_once, lambda: datetime.now(UTC))

    def deliver(self, announcement: Announcement, secs: float = 20.0) -> Any:
        return self.notifier.deliver(announcement, [self.destination], Deadline.after(secs))

    def deliver_all(self) -> list[Announcement]:
        """Every sample it renders; a coalesced update (Slack's top message) may wait: later, never lost."""
        rendered = [a for a in samples() if self.destination.renders(type(a))]
        for announcement in rendered:
            try:
                report = self.deliver(announcement)
            except NotificationsIncomplete as deferred:
                assert "update not delivered yet" in str(deferred), deferred
                continue
            assert report.failed_permanently == [], (type(announcement).__name__, report.failed_permanently)
        return rendered

    def bodies(self, top_level: bool = False) -> list[bytes]:
        """What its service accepted (``top_level``: not a thread reply)."""
        assert self.harness.path is not None
        return [
            m.body
            for m in self.receiver.messages
            if m.path == self.harness.path and m.status < 300 and not (top_level and b'"thread_ts"' in m.body)
        ]


@pytest.fixture(params=HARNESSES, ids=IDS)
def world(request, receiver, sim, base_env, aws_session, event_bus):
    sim.add_run("RunContract00001", 0.0, settle_secs=0, final_usd=0.42)
    sim.add_actor("ActNext000000001", "contract", "next")
    return World(request.param, receiver, sim, base_env, aws_session, event_bus[0])


def test_every_kind_is_under_contract():
    assert {h.kind for h in HARNESSES} == set(KINDS)


def _strings(value: Any, *, shown_as_markup: bool = False) -> list[str]:
    """Every string in a JSON value; ``shown_as_markup``: not those Block Kit shows as plain text."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and shown_as_markup and value.get("type") == "plain_text":
        return []  # Slack renders plain_text as written: no mention, no link
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, shown_as_markup=shown_as_markup)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v, shown_as_markup=shown_as_markup)]
    return []


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _values_of(value: Any, key: str) -> list[Any]:
    """Every value under ``key``, at any depth."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == key] + [x for v in value.values() for x in _values_of(v, key)]
    if isinstance(value, list):
        return [x for v in value for x in _values_of(v, key)]
    return []


def test_renders_what_it_declares_within_its_limits_and_the_service_takes_it(world, aws_session, event_bus):
    rendered = world.deliver_all()
    assert RunEndAnnouncement in {type(a) for a in rendered}, "every kind renders a run's end"
    limits = world.destination.limits
    if world.harness.path is None:
        if world.harness.kind == "eventbridge":
            events = events_on(aws_session, event_bus[1], expected=len(rendered))
            assert len(events) == len(rendered)
            assert all(len(json.dumps(e).encode()) <= (limits.body_bytes or 1 << 30) for e in events)
        return
    bodies = world.bodies()
    assert bodies, "its service received the announcements"
    for body in bodies:
        assert len(body) <= (limits.body_bytes or len(body)), (world.harness.path, len(body))
        if limits.text_key is not None:
            longest = max((len(s) for s in _strings(_values_of(json.loads(body), limits.text_key))), default=0)
            assert longest <= (limits.text_chars or longest), (world.harness.path, limits.text_key, longest)


def test_text_from_a_run_cannot_ping_anyone_or_plant_a_link_in_chat(world):
    if not world.harness.forbidden:
        pytest.skip("not chat: a payload's data is data (JSON), shown by nobody as written")
    world.deliver_all()
    for body in world.bodies():
        message = json.loads(body)
        leaked = [
            text
            for text in _strings(message, shown_as_markup=True)
            if any(f.search(text) for f in world.harness.forbidden)
        ]
        assert leaked == [], (world.harness.path, [text[:300] for text in leaked])
        if world.harness.kind == "discord":
            assert message["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(("status", "headers"), [(429, {"Retry-After": "0"}), (503, {}), (500, {})])
def test_429_and_5xx_are_retried_within_the_share_and_sent_once(world, status, headers):
    if world.harness.path is None:
        pytest.skip("not HTTP: the AWS SDK's and the Apify client's own retries apply")
    world.receiver.script(world.harness.path, (status, headers, json.dumps({"error": "busy"})))
    report = world.deliver(RunEndAnnouncement(_run()))
    assert report.sent == [world.destination.kind]
    assert len(world.bodies(top_level=True)) == 1


def test_another_4xx_is_a_permanent_failure_recorded_once(world):
    if world.harness.path is None:
        pytest.skip("not HTTP: refusals are the AWS SDK's and Apify's error codes")
    world.receiver.script(world.harness.path, (400, {}, json.dumps({"error": "invalid_payload"})))
    report = world.deliver(RunEndAnnouncement(_run()))
    assert report.failed_permanently == [world.destination.kind]
    assert world.deliver(RunEndAnnouncement(_run())).already == [world.destination.kind]  # never retried
    assert world.bodies() == []


def test_two_deliveries_at_once_send_once(world, aws_session, event_bus):
    announcement = RunEndAnnouncement(_run())
    reports: list[Any] = []
    threads = [threading.Thread(target=lambda: reports.append(world.deliver(announcement))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(r.sent) for r in reports) == [0, 1]
    assert [e for r in reports for e in r.already] == [world.destination.kind]
    assert world.claims.state_of(announcement.item, world.destination.kind) == "SENT"
    if world.harness.path is not None:
        assert len(world.bodies(top_level=True)) == 1
    elif world.harness.kind == "followUp":
        assert len(world.sim.started) == 1
    elif world.harness.kind == "eventbridge":
        assert len(events_on(aws_session, event_bus[1], expected=1)) == 1
