"""A new kind of alert is one value and one renderer per destination kind that wants it.

"Run resurrected" does not exist in the product. This test's fixture writes it: an announcement
type, and a renderer for the signed webhook and for Slack (webhook mode); EventBridge gets none.
Everything else is the product as deployed: `wiring.build_finishing`'s announcer (the route read
once, mutes, quiet hours, the destinations' traits), the one claims module on moto's DynamoDB,
real HTTP to the local receiver. The fixture is the whole diff such a feature needs outside its
renderers: nothing in the watcher, the notifier, the ports or the wiring changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from conftest import HOOK_PATH, SLACK_PATH, WEBHOOK_SECRET, events_on
from run_notifier.config import load_settings
from run_notifier.destinations.rendering import add_renderer
from run_notifier.destinations.slack.webhook_mode import SlackDestination
from run_notifier.destinations.webhook import WebhookDestination
from run_notifier.domain.announcements import Announcement
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.run_summary import RunSummary
from run_notifier.wiring import build_clients, build_finishing
from standardwebhooks import Webhook

from tests.unit.fakes import FakeEvents

RUN = RunSummary(
    run_id="RunRisen00000001",
    status="RUNNING",
    act_id="ActRisen00000001",
    actor_name="someone/scraper",
    finished_at="2026-12-08T10:00:00.000Z",
)


# --- the new alert kind: the whole of it ---------------------------------------------------


@dataclass(frozen=True)
class RunResurrectedAnnouncement(Announcement):
    """A finished run was resurrected: claimed on an item of its own, routed as the run."""

    own_item_days = 30
    run: RunSummary
    by: str

    @property
    def item(self) -> str:
        return f"resurrected#{self.run.run_id}"

    @property
    def subject(self) -> RunSummary:
        return self.run


def _webhook(destination: WebhookDestination, a: RunResurrectedAnnouncement, deadline: Deadline) -> str:
    payload = {"type": "apify.run.resurrected", "timestamp": "now", "data": {"runId": a.run.run_id, "by": a.by}}
    return destination.post_signed(payload, f"msg_{a.run.run_id}_resurrected", deadline)


def _slack(destination: SlackDestination, a: RunResurrectedAnnouncement, deadline: Deadline) -> str:
    return destination.post_lines(f"♻ Resurrected: {a.run.actor_name}", [f"by {a.by}", a.run.run_id], deadline)


@pytest.fixture
def run_resurrected():
    undo = [add_renderer(WebhookDestination, RunResurrectedAnnouncement, _webhook)]
    undo.append(add_renderer(SlackDestination, RunResurrectedAnnouncement, _slack))
    yield RunResurrectedAnnouncement
    for step in undo:
        step()


# --- the product, unchanged ----------------------------------------------------------------


def test_a_new_alert_kind_reaches_every_destination_that_renders_it_exactly_once(
    run_resurrected, all_destinations_env, aws_session, receiver, event_bus
):
    settings = load_settings(all_destinations_env)
    events = FakeEvents()
    finishing = build_finishing(settings, build_clients(settings, aws_session), events, lambda: datetime.now(UTC))
    announcement = run_resurrected(RUN, by="U0ALICE")

    first = finishing.announcer.announce(announcement, Deadline.after(20))
    again = finishing.announcer.announce(announcement, Deadline.after(20))  # a redelivery

    assert sorted(first.sent) == ["slack", "webhook"]  # EventBridge has no renderer: not asked, not claimed
    assert sorted(again.already) == ["slack", "webhook"]
    [hook] = receiver.received(HOOK_PATH)
    assert Webhook(WEBHOOK_SECRET).verify(hook.body, hook.headers)["data"] == {"runId": RUN.run_id, "by": "U0ALICE"}
    assert hook.headers["webhook-id"] == "msg_RunRisen00000001_resurrected"
    [slack] = receiver.received(SLACK_PATH)
    assert "Resurrected: someone/scraper" in json.loads(slack.body)["text"]
    assert events_on(aws_session, event_bus[1], expected=0, timeout=1.0) == []


def test_without_its_renderers_nobody_is_asked(all_destinations_env, aws_session, receiver):
    """The same value with no renderer anywhere: no destination, no claim, no item."""

    @dataclass(frozen=True)
    class Unrendered(Announcement):
        run: RunSummary

        @property
        def item(self) -> str:
            return f"unrendered#{self.run.run_id}"

        @property
        def subject(self) -> RunSummary:
            return self.run

    settings = load_settings(all_destinations_env)
    finishing = build_finishing(settings, build_clients(settings, aws_session), FakeEvents(), lambda: datetime.now(UTC))
    report = finishing.announcer.announce(Unrendered(RUN), Deadline.after(20))
    assert (report.sent, report.already, report.retrying) == ([], [], [])
    assert receiver.received(HOOK_PATH) == receiver.received(SLACK_PATH) == []
