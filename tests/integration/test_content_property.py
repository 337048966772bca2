"""A property over content: whatever text an Apify run carries, every destination takes exactly one message
for it, and no mention or link from the run survives into chat.

Hypothesis draws runs as Apify sends them (status messages, Actor names, costs, exit codes) from
ordinary and hostile text: lone surrogates, control characters, 100 KB strings, Slack and Markdown
markup, mentions. Each run goes in at the edge (`summary_from_run`, the Actor name cleaned as the
names adapter cleans it) and out through the one delivery path to every kind under contract, each
against a receiver that refuses what its service refuses (Slack's `invalid_blocks` and
`msg_too_long`, Discord's 400 for an embed over its limits, Teams' 413, PagerDuty's 400).

`make test` draws `CONTENT_EXAMPLES` runs (30 by default); CI draws 2,000 (`.ci/run`).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from run_notifier.adapters.actor_names import MAX_NAME
from run_notifier.adapters.apify_runs import summary_from_run
from run_notifier.destinations import KINDS
from run_notifier.domain.announcements import RunEndAnnouncement
from run_notifier.domain.text import clean_text

from tests.integration.test_destination_contract import HARNESSES, World, _strings

EXAMPLES = int(os.environ.get("CONTENT_EXAMPLES", "30"))
SERIAL = itertools.count()
CHAT = [h for h in HARNESSES if h.path is not None]

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<@U0BOSS>",
    "<https://evil.example|click>",
    "[click](https://evil.example)",
    "@everyone",
    "&amp;",
    "&",
    "```",
    "*bold* _it_ ~s~ `code`",
    "# heading\n- list\n1. item",
    "\ud800",
    "\udfff\ud83d",
    "\x00\x1b[31m\x07",
    "\u202e",
    "🙂" * 3,
]
texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=300),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=40).map("".join),
    st.sampled_from(["x" * 100_000, "&" * 5_000, "<!channel>" * 3_000, "```" * 2_000]),
)
runs = st.fixed_dictionaries(
    {
        # A failure's log goes in a Slack thread, a second post that waits the channel's next second: failures
        # are one run in ten here (their content is the same), so that 2,000 runs take minutes, not an hour.
        "status": st.sampled_from(["SUCCEEDED"] * 6 + ["ABORTED"] * 3 + ["FAILED"]),
        "statusMessage": st.one_of(st.none(), texts),
        "exitCode": st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31)),
        "usageTotalUsd": st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
    }
)


@pytest.fixture
def worlds(receiver, sim, base_env, aws_session, event_bus) -> list[World]:
    sim.add_actor("ActNext000000001", "contract", "next")
    return [World(harness, receiver, sim, base_env, aws_session, event_bus[0]) for harness in CHAT]


@pytest.mark.timeout(max(120, EXAMPLES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=runs, name=texts)
def test_every_destination_takes_one_message_per_run_and_no_mention_or_link_survives(worlds, raw, name):
    run_id = f"RunContent{next(SERIAL):07d}"  # a run of its own per example, however often hypothesis replays one
    summary = summary_from_run(
        {
            **raw,
            "id": run_id,
            "actId": "ActContent000001",
            "startedAt": "2026-12-08T10:00:00.000Z",
            "finishedAt": "2026-12-08T10:05:00.000Z",
            "defaultDatasetId": "dsContent0000001",
        },
        run_id,
    )
    summary = summary._replace(actor_name=clean_text(name, MAX_NAME))
    for world in worlds:
        if "channel" in world.harness.target(world):  # a channel of its own per run: Slack's pace is per channel
            target = {**world.harness.target(world), "channel": f"C0{run_id.upper()}"}
            world.destination = KINDS[world.harness.kind].build(target, world.context)
        before = len(world.receiver.messages)
        report = world.deliver(RunEndAnnouncement(summary))
        new = [m for m in world.receiver.messages[before:] if m.path == world.harness.path]
        answered = [m.status for m in new if b'"thread_ts"' not in m.body]
        if not world.destination.deliveries(RunEndAnnouncement(summary)):
            assert answered == []  # it takes no such run (PagerDuty pages failures only)
            continue
        assert report.sent == [world.destination.kind], (world.harness.path, answered, report.failed_permanently)
        assert len(answered) == 1, (world.harness.path, answered)  # one message, and the service took it
        assert answered[0] < 300, (world.harness.path, answered)
        for message in new:
            _no_mention_or_link(world, json.loads(message.body))


def _no_mention_or_link(world: World, message: Any) -> None:
    if not world.harness.forbidden:
        return
    shown = _strings(message, shown_as_markup=True)
    leaked = [t[:200] for t in shown if any(f.search(t) for f in world.harness.forbidden)]
    assert leaked == [], (world.harness.path, leaked)
    if world.harness.kind == "discord":
        assert message["allowed_mentions"] == {"parse": []}
