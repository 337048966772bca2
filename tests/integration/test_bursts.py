"""The burst store against moto's DynamoDB: who is grouped, and the grouped message's lease and gap.

The grouped message is posted or updated by one delivery at a time (a lease that a crashed holder
loses), at most once per `GROUP_UPDATE_GAP_MS`, and a line counts as shown only once its holder
recorded Slack's answer.
"""

from __future__ import annotations

import pytest
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.destinations.slack.bursts import (
    GROUP_UPDATE_GAP_MS,
    POSTING_LEASE_MS,
    BurstRule,
    DynamoBursts,
    grouped_text,
    recovered_key,
)

T0 = 1_796_000_000_000


@pytest.fixture
def bursts(aws_session, resources) -> DynamoBursts:
    return DynamoBursts(RunsTable(aws_session.client("dynamodb"), resources.table_name))


def test_the_first_after_own_their_message_the_rest_are_grouped_and_repeats_decide_alike(bursts):
    rule = BurstRule(after=2, window_secs=60)
    decided = [bursts.admit("C0B", f"incident-{i}", T0 + i, rule).grouped for i in range(4)]
    assert decided == [False, False, True, True]
    assert [bursts.admit("C0B", f"incident-{i}", T0 + 50, rule).grouped for i in range(4)] == decided
    later = bursts.admit("C0B", "incident-9", T0 + 61_000, rule)  # a new window
    assert later == (False, T0 + 61_000)
    assert bursts.admit("C0B", "incident-3", T0 + 3, rule) == (True, T0)  # a late repeat, as decided then
    assert bursts.admit("C0B", "incident-0", T0, rule) == (False, T0)
    assert not bursts.admit("C0B", "incident-x", T0 - 5, rule).grouped  # older than the windows kept: its own


def test_a_crashed_holder_delays_the_grouped_message_by_its_lease_and_never_records_a_line_shown(
    bursts, aws_session, resources
):
    for key in ("incident-a", "incident-b"):
        bursts.add_line("C0B", T0, key, f"• {key}")
    bursts.add_line("C0B", T0, "incident-a", "• incident-a")  # a repeat: still one line
    assert set(bursts.group("C0B", T0).lines) == {"incident-a", "incident-b"}
    window = RunsTable(aws_session.client("dynamodb"), resources.table_name).get(f"slack-burst#C0B#{T0}") or {}
    assert window["expiresAt"] == T0 // 1000 + 30 * 24 * 3600
    assert bursts.hold("C0B", T0, "crashed", T0)
    assert not bursts.hold("C0B", T0, "other", T0 + 1_000)
    assert bursts.group("C0B", T0).wait_secs(T0 + 1_000) == pytest.approx((POSTING_LEASE_MS - 1_000) / 1000)
    later = T0 + POSTING_LEASE_MS + 1
    assert bursts.hold("C0B", T0, "other", later)  # the lease lapsed: the next delivery takes over
    assert not bursts.record_shown("C0B", T0, "crashed", "1.0001", frozenset({"incident-a"}), later)
    assert bursts.group("C0B", T0).shown == frozenset()  # the crashed holder's late answer is not recorded
    assert bursts.record_shown("C0B", T0, "other", "1.0001", frozenset({"incident-a", "incident-b"}), later)
    group = bursts.group("C0B", T0)
    assert (group.ts, group.shown, group.held_until) == ("1.0001", frozenset({"incident-a", "incident-b"}), 0)


def test_the_grouped_message_is_updated_at_most_once_per_gap(bursts):
    bursts.add_line("C0B", T0, "incident-a", "• a")
    assert bursts.hold("C0B", T0, "first", T0)
    assert bursts.record_shown("C0B", T0, "first", "1.0001", frozenset({"incident-a"}), T0)
    bursts.add_line("C0B", T0, "incident-b", "• b")
    assert not bursts.hold("C0B", T0, "second", T0 + GROUP_UPDATE_GAP_MS - 1)
    assert bursts.group("C0B", T0).wait_secs(T0 + GROUP_UPDATE_GAP_MS - 1_000) == pytest.approx(1.0)
    assert bursts.hold("C0B", T0, "second", T0 + GROUP_UPDATE_GAP_MS)


def test_a_recovered_line_replaces_its_failing_line_and_is_counted():
    lines = {"i-1": "• b failing", "i-2": "• a failing", recovered_key("i-1"): "• :white_check_mark: b recovered"}
    text = grouped_text(lines)
    assert text.splitlines() == [
        ":rotating_light: 2 more Actors failing (1 recovered):",
        "• :white_check_mark: b recovered",
        "• a failing",
    ]


def test_an_incidents_replies_hold_each_failure_once_however_often_its_delivery_comes_back(aws_session, resources):
    from run_notifier.destinations.slack.incident_replies import DynamoIncidentReplies, ReplyEntry, entry_key

    replies = DynamoIncidentReplies(RunsTable(aws_session.client("dynamodb"), resources.table_name))
    entries = [ReplyEntry(n, f"Run{n:013d}", f"FAILED #{n}: run …", "FAILED", "Proxy 403") for n in (2, 3)]
    assert [replies.add("incident-x", "C0B", e, T0) for e in entries] == ["added", "added"]
    assert replies.add("incident-x", "C0B", entries[0], T0) == "added"  # pending already: still one entry
    assert replies.hold("incident-x", "C0B", "holder", T0)
    assert not replies.hold("incident-x", "C0B", "other", T0 + 1)
    keys = [entry_key(e) for e in entries]
    assert replies.record_posted("incident-x", "C0B", "holder", keys, T0 + 2)
    state = replies.state("incident-x", "C0B")
    assert (state.pending, state.posted) == ({}, frozenset(keys))
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("slack-replies#incident-x#C0B") or {}
    assert item["expiresAt"] == T0 // 1000 + 30 * 24 * 3600  # the table's TTL takes it away
    # A delivery that came back after the reply went out does not put its entry in the next one.
    assert replies.add("incident-x", "C0B", entries[1], T0) == "posted"
    assert replies.state("incident-x", "C0B").pending == {}
    # The next reply waits out the gap, unless the recovery flushes the thread.
    assert not replies.hold("incident-x", "C0B", "next", T0 + 3)
    assert replies.hold("incident-x", "C0B", "recovery", T0 + 3, wait_for_gap=False)


# --- grouping does not depend on the order deliveries come in (issue 38) ----------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BURST = 7  # seven Actors fail within 3 s on one incident route
RULE = BurstRule(after=5, window_secs=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(BURST)), spread_ms=st.integers(min_value=0, max_value=3_000), data=st.data())
def test_a_burst_is_grouped_alike_in_every_delivery_order(bursts, order, spread_ms, data):
    channel = f"C0P{data.draw(st.uuids()).hex[:12]}"  # a channel of its own per example
    opened = {i: T0 + i * spread_ms // (BURST - 1) for i in range(BURST)}
    decided = {i: bursts.admit(channel, f"incident-{i}", opened[i], RULE) for i in order}
    grouped = [i for i, admission in decided.items() if admission.grouped]
    assert len(decided) - len(grouped) == RULE.after  # five messages of their own
    assert len(grouped) == BURST - RULE.after  # and the rest in one grouped message
    assert len({decided[i].window_start_ms for i in grouped}) == 1
    again = {i: bursts.admit(channel, f"incident-{i}", opened[i], RULE) for i in reversed(order)}
    assert again == decided  # every repeat, in any order, as decided the first time
