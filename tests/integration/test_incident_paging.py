"""Incident mode in Slack (bot token) and PagerDuty, through the real handler, moto, the Apify
simulator and the receiver (which plays Slack's Web API and PagerDuty's Events API v2).

N failures and a success: one top-level post (with the route's mentions, the only ones), the N-1
further failures in the thread (at most one reply per 10 s per incident, so fast failures share
one), updates of the top message coalesced to one per 10 s, a recovery reply broadcast to the
channel; PagerDuty one trigger and one resolve on the incident's ID. Per-run PagerDuty on
a route without incident mode: a trigger per failed run, nothing for the rest.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter

import pytest
from conftest import HOOK_PATH, context, event_source, send, sqs_event
from run_notifier.adapters.dynamodb import RunsTable

ACTOR = "SimActor00000001"
BOT_TOKEN = "-".join(("xoxb", "local", "test", "incidentbotpart"))
CHANNEL = "C0INCIDENTS"
PAGER = "/v2/enqueue"
ROUTING_KEY = "R" * 32


@pytest.fixture
def paging_env(all_destinations_env, receiver):
    """Every destination, Slack by bot token, PagerDuty; `env(routes)` adds a routes document."""
    receiver.slack_tokens = {BOT_TOKEN}
    base = {k: v for k, v in all_destinations_env.items() if k != "SLACK_WEBHOOK_URL"}

    def env(route: dict) -> dict[str, str]:
        return {
            **base,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_BASE_URL": receiver.base_url + "/api",
            "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "PAGERDUTY_EVENTS_URL": receiver.base_url + PAGER,
            "ROUTES_JSON": json.dumps({"routes": [route]}),
        }

    return env


INCIDENT_ROUTE = {
    "match": {"actId": [ACTOR]},
    "incident": {"after": 1},
    "slack": {"channel": CHANNEL, "mention": ["@here"]},
}


def _runs(sim, statuses: list[str], prefix: str) -> list[str]:
    ids = []
    for index, status in enumerate(statuses):
        run_id = f"{prefix}{index:05d}"
        sim.add_run(run_id, 0.0, final_status=status, exit_code=0 if status == "SUCCEEDED" else 1, settle_secs=0)
        ids.append(run_id)
        time.sleep(0.01)  # finished in this order
    return ids


def _slack(receiver, method: str) -> list[dict]:
    return [json.loads(m.body) for m in receiver.received(f"/api/{method}", ok_only=True)]


def _received_replies(receiver, thread_ts: str) -> list:
    """The thread's failure replies as the receiver got them (with their times)."""
    got = receiver.received("/api/chat.postMessage", ok_only=True)
    bodies = [(m, json.loads(m.body)) for m in got]
    return [m for m, body in bodies if body.get("thread_ts") == thread_ts and not body.get("reply_broadcast")]


def _pages(receiver) -> list[dict]:
    return [json.loads(m.body) for m in receiver.received(PAGER, ok_only=True)]


def test_failures_then_a_success_one_post_replies_one_broadcast_and_one_page(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    env = paging_env(INCIDENT_ROUTE)
    ids = _runs(sim, ["FAILED", "FAILED", "TIMED-OUT", "FAILED", "SUCCEEDED"], "RunPaging")
    for run_id in ids:  # in the order they finished, each twice
        body = json.dumps({"runId": run_id})
        assert load_app(env).lambda_handler(sqs_event([body, body]), context(30)) == {"batchItemFailures": []}
    # Deferred updates of the top message, and failures waiting for the next thread reply, come back
    # through the queue: drain it until every failure's Slack delivery is done.
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    source = event_source(load_app(env), aws_session, resources)

    def slack_done() -> bool:
        return all(((table.get(r) or {}).get("slackNotification") or {}).get("state") == "SENT" for r in ids[1:4])

    assert source.run_until(slack_done, timeout_secs=40)
    source.run_until(lambda: False, timeout_secs=2)

    posts = _slack(receiver, "chat.postMessage")
    top = [p for p in posts if "thread_ts" not in p]
    assert len(top) == 1
    assert top[0]["text"].startswith("<!here> :red_circle: Failing:")
    [(channel, ts)] = [
        key for key in receiver.slack_messages if key[1] and "thread_ts" not in receiver.slack_messages[key]
    ]
    replies = [p for p in posts if p.get("thread_ts") == ts]
    failure_replies = [p for p in replies if not p.get("reply_broadcast")]
    # N-1 failures in the thread, each once and in order; failures less than 10 s apart share a reply
    # (here #2 went out at once and #3 and #4 waited, and came out before the recovery).
    entries = re.findall(r"^((?:FAILED|TIMED-OUT) #\d+): run ", "\n".join(r["text"] for r in failure_replies), re.M)
    assert entries == ["FAILED #2", "TIMED-OUT #3", "FAILED #4"]
    assert [r["text"].splitlines()[0].split(":")[0] for r in failure_replies] == ["FAILED #2", "2 more failures"]
    assert len(_received_replies(receiver, ts)) == 2
    assert posts.index(failure_replies[-1]) < posts.index(next(p for p in replies if p.get("reply_broadcast")))
    assert all("<!here>" not in r["text"] for r in replies)  # mentions go with the opening post only
    [broadcast] = [p for p in replies if p.get("reply_broadcast")]
    assert broadcast["text"].startswith(":white_check_mark: Recovered:")
    assert "after 4 failed runs" in broadcast["text"]
    # The top message ends resolved; every update was at least 10 s after the last (here: only the resolve).
    assert receiver.slack_messages[(channel, ts)]["text"].startswith(":white_check_mark: Recovered:")
    updates = receiver.received("/api/chat.update", ok_only=True)
    assert 1 <= len(updates) <= 2
    assert all(b.at - a.at >= 10 for a, b in itertools.pairwise(updates))

    pages = _pages(receiver)
    assert [p["event_action"] for p in pages] == ["trigger", "resolve"]
    incident_id = f"incident#0#actor:{ACTOR}#{ids[0]}"
    assert {p["dedup_key"] for p in pages} == {incident_id}
    assert receiver.pagerduty.alerts[incident_id] == {"status": "resolved", "events": 2}
    assert pages[0]["payload"]["severity"] == "error"
    assert pages[0]["links"][0]["href"].startswith("https://console.apify.com/actors/")

    # Webhook and EventBridge keep their per-run events; the incident adds opened and resolved.
    types = Counter(json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH))
    assert types == {"apify.run.finished": 5, "apify.incident.opened": 1, "apify.incident.resolved": 1}
    # The ledger: the failures' thread replies were claimed on their runs' items, once each.
    for run_id in ids[1:4]:
        item = table.get(run_id) or {}
        assert item["slackNotification"]["state"] == "SENT"
        assert "thread reply" in item["slackNotification"]["detail"]
    assert "slackNotification" not in (table.get(ids[0]) or {})  # the opening post is the incident's


def test_concurrent_containers_and_duplicates_make_each_transition_once(load_app, paging_env, sim, receiver):
    env = paging_env(INCIDENT_ROUTE)
    ids = _runs(sim, ["FAILED", "FAILED", "SUCCEEDED"], "RunPagingRace")
    apps = [load_app(env) for _ in range(3)]
    errors: list[BaseException] = []

    def deliver(app) -> None:
        try:
            for run_id in ids:
                body = json.dumps({"runId": run_id})
                for _ in range(3):  # a claim held by another container makes the record come back
                    if app.lambda_handler(sqs_event([body, body]), context(30)) == {"batchItemFailures": []}:
                        break
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors

    top = [p for p in _slack(receiver, "chat.postMessage") if "thread_ts" not in p]
    assert len(top) == 1
    assert [p["event_action"] for p in _pages(receiver)] == ["trigger", "resolve"]
    types = Counter(json.loads(m.body)["type"] for m in receiver.received(HOOK_PATH))
    assert types["apify.incident.opened"] == types["apify.incident.resolved"] == 1


def test_a_deferred_update_of_the_top_message_comes_back_through_the_queue(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    """Three failures within 10 s: the later ones' updates are deferred (a fresh message with a delay),
    and the top message shows all three once the gap has passed, without another failure."""
    env = paging_env(INCIDENT_ROUTE)
    ids = _runs(sim, ["FAILED", "FAILED", "FAILED"], "RunPagingLater")
    for run_id in ids:
        send(aws_session, resources.queue_url, json.dumps({"runId": run_id}))
    source = event_source(load_app(env), aws_session, resources)

    def top_shows_three() -> bool:
        tops = [m for m in receiver.slack_messages.values() if "thread_ts" not in m]
        return len(tops) == 1 and "3 failed runs" in tops[0]["text"]

    assert source.run_until(top_shows_three, timeout_secs=60)
    [opening] = [m for m in receiver.received("/api/chat.postMessage", ok_only=True) if b"thread_ts" not in m.body]
    changes = [opening, *receiver.received("/api/chat.update", ok_only=True)]
    assert 2 <= len(changes) <= 3  # one or two updates for two further failures, never one per failure in a gap
    assert all(b.at - a.at >= 9.9 for a, b in itertools.pairwise(changes))  # at most one per 10 s


def test_without_incident_mode_pagerduty_triggers_per_failed_run_and_ignores_the_rest(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    env = paging_env({"match": {"actId": [ACTOR]}, "pagerduty": {"routingKey": "K" * 32, "severity": "critical"}})
    failed, succeeded = _runs(sim, ["FAILED", "SUCCEEDED"], "RunPagingPerRun")
    receiver.script(PAGER, (429, {"Retry-After": "0"}, '{"status":"throttle"}'), (503, {}, "busy"))
    app = load_app(env)
    for run_id in (failed, succeeded):
        body = json.dumps({"runId": run_id})
        assert app.lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}

    [page] = _pages(receiver)  # after a 429 and a 503
    assert (page["event_action"], page["routing_key"], page["payload"]["severity"]) == ("trigger", "K" * 32, "critical")
    assert page["dedup_key"].startswith(f"msg_{failed}_")
    assert page["payload"]["summary"].startswith("FAILED: ")
    assert len(receiver.received(PAGER)) == 3
    table = RunsTable(aws_session.client("dynamodb"), resources.table_name)
    assert table.get(failed)["pagerdutyNotification"]["state"] == "SENT"
    assert "pagerdutyNotification" not in table.get(succeeded)  # not a page, not a claim


def test_a_refused_page_is_recorded_failed_for_good_and_not_retried(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    env = paging_env({"match": {"actId": [ACTOR]}, "pagerduty": {"routingKey": "short"}})
    [failed] = _runs(sim, ["FAILED"], "RunPagingRefused")
    body = json.dumps({"runId": failed})
    assert load_app(env).lambda_handler(sqs_event([body]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received(PAGER)) == 1  # PagerDuty's 400 (the key is not 32 characters): no retry
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get(failed)
    assert item["pagerdutyNotification"]["state"] == "FAILED"
    assert "HTTP 400" in item["pagerdutyNotification"]["error"]
    assert "short" not in json.dumps(item, default=str)  # the routing key is a secret


def test_a_burst_of_incidents_on_one_channel_posts_a_few_then_one_grouped_message(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    """Eight Actors fail at once (a proxy outage), burstAfter 3: three messages of their own and one
    grouped message listing the other five, from two containers at once, within Slack's limit."""
    actors = [f"BurstActor{i:06d}" for i in range(8)]
    for index, actor in enumerate(actors):
        sim.add_actor(actor, "janedoe", f"scraper-{index}")
        sim.add_run(f"RunBurst{index:08d}", 0.0, final_status="FAILED", exit_code=1, settle_secs=0, act_id=actor)
    route = {
        "match": {"actId": actors},
        "incident": {"after": 1, "burstAfter": 3, "burstWindowSecs": 60},
        "slack": {"channel": "C0BURSTS"},
    }
    receiver.slack_limit = 1.0
    env = paging_env(route)
    batches = [[f"RunBurst{i:08d}" for i in range(0, 8, 2)], [f"RunBurst{i:08d}" for i in range(1, 8, 2)]]
    threads = [
        threading.Thread(target=lambda b=batch: load_app(env).lambda_handler(sqs_event(b), context(30)))
        for batch in batches
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Turns beyond a record's share, and the grouped message's other writers, come back through the queue.
    event_source(load_app(env), aws_session, resources).run_until(
        lambda: any(m["text"].startswith(":rotating_light: 5 more") for m in receiver.slack_messages.values()),
        timeout_secs=60,
    )

    tops = [m for m in receiver.slack_messages.values() if "thread_ts" not in m]
    own = [m for m in tops if m["text"].startswith(":red_circle: Failing:")]
    grouped = [m for m in tops if m["text"].startswith(":rotating_light:")]
    assert len(own) == 3
    assert len(grouped) == 1
    assert grouped[0]["text"].startswith(":rotating_light: 5 more Actors failing:")
    listed = {actor for actor in actors if actor in grouped[0]["text"]}
    named = {actor for actor in actors for m in own if actor in json.dumps(m)}
    assert listed | named == set(actors)  # every Actor once: its own message or a line in the group
    assert not listed & named
    assert receiver.slack_ratelimited == {}
    assert len(_pages(receiver)) == 8  # PagerDuty pages every incident: grouping is for chat
    # Coalesced: the five lines took one post and at most a few updates, not one call per line.
    group_ts = next(ts for (_, ts), m in receiver.slack_messages.items() if m is grouped[0])
    assert len([u for u in _slack(receiver, "chat.update") if u["ts"] == group_ts]) <= 3

    # A grouped Actor recovers: its line says so, the message stays one, and the channel hears it once
    # (a reply in the grouped message's thread, broadcast).
    recovering = next(actor for actor in actors if actor in listed)
    sim.add_run("RunBurstOk000001", 0.0, final_status="SUCCEEDED", exit_code=0, settle_secs=0, act_id=recovering)
    send(aws_session, resources.queue_url, json.dumps({"runId": "RunBurstOk000001"}))
    event_source(load_app(env), aws_session, resources).run_until(
        lambda: any(m.get("reply_broadcast") for m in receiver.slack_messages.values()), timeout_secs=60
    )
    group = receiver.slack_messages[("C0BURSTS", group_ts)]
    assert group["text"].startswith(":rotating_light: 5 more Actors failing (1 recovered):")
    assert ":white_check_mark: <" in group["text"]
    assert "recovered after 1 failed run" in group["text"]
    broadcasts = [m for m in receiver.slack_messages.values() if m.get("reply_broadcast")]
    assert len(broadcasts) == 1
    assert broadcasts[0]["thread_ts"] == group_ts
    assert len([m for m in receiver.slack_messages.values() if m["text"].startswith(":rotating_light:")]) == 1


def test_a_burst_delivered_newest_first_is_grouped_as_one_delivered_in_finish_order(
    load_app, paging_env, sim, receiver, aws_session, resources
):
    """Seven Actors fail within 3 s (burstAfter 5), their runs handed over newest first in one batch, as SQS
    may: five messages of their own and one grouped message for the other two (was: seven of their own)."""
    actors = [f"NewestActor{i:05d}" for i in range(7)]
    for index, actor in enumerate(actors):
        sim.add_actor(actor, "janedoe", f"shop-{index}")
        sim.add_run(f"RunNewest{index:07d}", 0.0, final_status="FAILED", exit_code=1, settle_secs=0, act_id=actor)
        time.sleep(0.4)  # they finish in this order, within 3 s
    route = {
        "match": {"actId": actors},
        "incident": {"after": 1, "burstAfter": 5, "burstWindowSecs": 60},
        "slack": {"channel": "C0NEWEST"},
    }
    env = paging_env(route)
    newest_first = [f"RunNewest{i:07d}" for i in reversed(range(7))]
    load_app(env).lambda_handler(sqs_event(newest_first), context(30))
    event_source(load_app(env), aws_session, resources).run_until(
        lambda: any(m["text"].startswith(":rotating_light: 2 more") for m in receiver.slack_messages.values()),
        timeout_secs=60,
    )
    tops = [m for (channel, _), m in receiver.slack_messages.items() if channel == "C0NEWEST" and "thread_ts" not in m]
    own = [m for m in tops if m["text"].startswith(":red_circle: Failing:")]
    grouped = [m for m in tops if m["text"].startswith(":rotating_light:")]
    assert (len(own), len(grouped)) == (5, 1)
    listed = {actor for actor in actors if actor in grouped[0]["text"]}
    named = {actor for actor in actors for m in own if actor in json.dumps(m)}
    assert listed | named == set(actors)  # every failure shown exactly once
    assert not listed & named
