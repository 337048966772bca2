"""Slack bot-token mode against the receiver's Web API emulation: channels per route, mentions,
Slack's HTTP-200 errors, rate limits and the one-message-a-second pace per channel."""

from __future__ import annotations

import itertools
import json
import re
import threading

import pytest
from conftest import context, event_source, sqs_event
from run_notifier.adapters.dynamodb import RunsTable
from run_notifier.config import ConfigError, load_settings

#: Made-up bot tokens for the receiver's Web API (built here so no token-shaped literal sits in the tree).
BOT_TOKEN = "-".join(("xoxb", "local", "test", "botsecretpart"))
OTHER_TOKEN = "-".join(("xoxb", "local", "test", "the", "right", "one"))
API = "/api"
POST = API + "/chat.postMessage"


@pytest.fixture
def bot_env(base_env, receiver) -> dict[str, str]:
    env = {k: v for k, v in base_env.items() if k != "SLACK_WEBHOOK_URL"}
    receiver.slack_tokens = {BOT_TOKEN}
    return {**env, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_BASE_URL": receiver.base_url + API, "SETTLE_SECONDS": "0"}


def posts(receiver, replies: bool = False) -> list[dict]:
    """What was posted with chat.postMessage (thread replies only when asked)."""
    sent = [json.loads(m.body) for m in receiver.received(POST)]
    return [p for p in sent if replies or "thread_ts" not in p]


def test_two_routes_two_channels_one_token_each_run_posts_in_its_channel_once(load_app, bot_env, sim, receiver):
    routes = {
        "routes": [
            {"match": {"actId": ["ScraperActor0001"]}, "slack": {"channel": "C0SCRAPERS"}},
            {"match": {"actId": ["LoaderActor00001"]}, "slack": {"channel": "C0LOADERS"}},
        ]
    }
    sim.add_run("RunScraper000001", 0.0, settle_secs=0, act_id="ScraperActor0001")
    sim.add_run("RunLoader0000001", 0.0, settle_secs=0, act_id="LoaderActor00001")
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(routes)})
    event = sqs_event(["RunScraper000001", "RunLoader0000001", "RunScraper000001"])
    assert app.lambda_handler(event, context(30)) == {"batchItemFailures": []}
    sent = posts(receiver)
    assert sorted((p["channel"], "RunScraper000001" in p["text"]) for p in sent) == [
        ("C0LOADERS", False),
        ("C0SCRAPERS", True),
    ]
    for message in receiver.received(POST):
        assert message.headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_a_failed_run_mentions_the_routes_group_and_a_succeeded_run_does_not(load_app, bot_env, sim, receiver):
    routes = {"routes": [{"slack": {"channel": "C0ONCALL", "mention": ["@here", "<!subteam^S0123ABC>"]}}]}
    sim.add_run("RunFailed0000001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1)
    sim.add_run("RunFine000000001", 0.0, settle_secs=0)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(routes)})
    app.lambda_handler(sqs_event(["RunFailed0000001", "RunFine000000001"]), context(30))
    by_run = {("RunFailed0000001" in p["text"]): p for p in posts(receiver)}
    failed, fine = by_run[True], by_run[False]
    assert failed["text"].startswith("<!here> <!subteam^S0123ABC> FAILED")
    assert failed["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": "<!here> <!subteam^S0123ABC>"}}
    assert "<!" not in json.dumps(fine)


def test_a_status_message_with_a_mention_is_shown_as_text(load_app, bot_env, sim, receiver):
    sim.add_run("RunSneaky0000001", 0.0, settle_secs=0, status_message="done <!channel> <@U999> & more")
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0ALERTS"})
    app.lambda_handler(sqs_event(["RunSneaky0000001"]), context(30))
    [message] = posts(receiver)
    text = json.dumps(message)
    assert "<!channel>" not in text
    assert "<@U999>" not in text
    assert "&lt;!channel&gt; &lt;@U999&gt; &amp; more" in text


def test_invalid_auth_is_permanent_and_recorded(load_app, bot_env, sim, receiver, aws_session, resources):
    receiver.slack_tokens = {OTHER_TOKEN}
    sim.add_run("RunBadToken00001", 0.0, settle_secs=0)
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0ALERTS"})
    assert app.lambda_handler(sqs_event(["RunBadToken00001"]), context(30)) == {"batchItemFailures": []}
    assert app.lambda_handler(sqs_event(["RunBadToken00001"]), context(30)) == {"batchItemFailures": []}
    assert len(receiver.received(POST)) == 1  # not retried
    item = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunBadToken00001")
    assert item["slackNotification"]["state"] == "FAILED"
    assert "invalid_auth" in item["slackNotification"]["error"]
    assert BOT_TOKEN not in json.dumps(item, default=str)


def test_ratelimited_with_retry_after_is_waited_out_and_posted_once(load_app, bot_env, sim, receiver):
    receiver.script(
        POST, (200, {"Content-Type": "application/json", "Retry-After": "2"}, '{"ok": false, "error": "ratelimited"}')
    )
    sim.add_run("RunRateLimit0001", 0.0, settle_secs=0)
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0ALERTS"})
    assert app.lambda_handler(sqs_event(["RunRateLimit0001"]), context(30)) == {"batchItemFailures": []}
    first, second = receiver.received(POST)
    assert second.at - first.at >= 2.0
    assert [m.status for m in receiver.received(POST)] == [200, 200]
    assert json.loads(receiver.received(POST)[1].body)["channel"] == "C0ALERTS"


def test_a_burst_to_one_channel_is_paced_one_message_a_second(load_app, bot_env, sim, receiver):
    ids = [f"RunBurst00000{i:03d}" for i in range(4)]
    for run_id in ids:
        sim.add_run(run_id, 0.0, settle_secs=0)
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0BURST"})
    assert app.lambda_handler(sqs_event(ids), context(30)) == {"batchItemFailures": []}
    times = sorted(m.at for m in receiver.received(POST))
    assert len(times) == 4
    # Paced by when each post starts; its arrival here may lag by scheduling on a busy machine.
    assert all(b - a >= 0.75 for a, b in itertools.pairwise(times))
    assert times[-1] - times[0] >= 2.7


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"routes": [{"slack": {"channel": "C0X", "mention": ["here"]}}]}, "mention has entries Slack cannot notify"),
        ({"routes": [{"slack": {"channel": "C0X", "mentionOn": ["BROKEN"]}}]}, "mentionOn has unknown statuses"),
        ({"routes": [{"slack": {"channel": "C0X", "mention": "@here"}}]}, "mention must be a list"),
        ({"routes": [{"slack": {"channel": "C0X", "webhookUrl": "https://hooks.slack.com/x"}}]}, "not both"),
    ],
)
def test_bad_slack_targets_stop_the_cold_start_naming_the_route(base_env, routes, message):
    from run_notifier.domain.routing import RoutesError
    from run_notifier.wiring import build_components

    settings = load_settings({**base_env, "ROUTES_JSON": json.dumps(routes)})
    with pytest.raises(RoutesError, match=message) as raised:
        build_components(settings)
    assert "routes[0].slack" in str(raised.value)


def test_a_default_channel_needs_a_bot_token(base_env):
    with pytest.raises(ConfigError, match="SLACK_CHANNEL needs SLACK_BOT_TOKEN"):
        load_settings({**base_env, "SLACK_CHANNEL": "C0ALERTS"})


def test_a_routes_template_replaces_the_message_and_keeps_the_mentions(load_app, bot_env, sim, receiver):
    template = {
        "text": "{{status}}: {{actorName}} cost {{cost}}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{status}}* <{{consoleUrl}}|{{runId}}>"}}],
    }
    routes = {"routes": [{"slack": {"channel": "C0TPL", "mention": ["@here"], "template": template}}]}
    sim.add_run("RunTemplated0001", 0.0, settle_secs=0, final_status="TIMED-OUT", exit_code=None)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(routes)})
    app.lambda_handler(sqs_event(["RunTemplated0001"]), context(30))
    [message] = posts(receiver)
    assert message["channel"] == "C0TPL"
    assert message["text"].startswith("<!here> TIMED-OUT: janedoe/web-scraper cost $")
    assert message["blocks"][0]["text"]["text"] == "<!here>"
    assert message["blocks"][1]["text"]["text"].startswith("*TIMED-OUT* <https://console.apify.com/actors/")


def test_a_failed_runs_thread_holds_why_and_the_last_log_lines_escaped_and_scrubbed(load_app, bot_env, sim, receiver):
    run = sim.add_run(
        "RunLogTail000001", 0.0, settle_secs=0, final_status="FAILED", exit_code=1, status_message="Crawler crashed"
    )
    run.log_tail = [f"line {i}" for i in range(40)] + [
        f"Error: <!channel> token {sim.token} leaked",
        "at main (/usr/src/app/main.js:12:5)",
    ]
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0FAIL"})
    assert app.lambda_handler(sqs_event(["RunLogTail000001"]), context(30)) == {"batchItemFailures": []}
    main, reply = posts(receiver, replies=True)
    assert "thread_ts" not in main
    assert reply["channel"] == "C0FAIL"
    assert re.fullmatch(r"\d+\.\d{6}", reply["thread_ts"])  # the ts Slack (the receiver) gave the message
    text = reply["text"]
    assert text.startswith("*Why it ended FAILED*: Crawler crashed\n```")
    body = text.split("```")[1].splitlines()
    assert len(body) == 30
    assert body[-1] == "at main (/usr/src/app/main.js:12:5)"
    assert body[-2] == "Error: &lt;!channel&gt; token *** leaked"
    assert text.endswith("_the last 30 of 42 lines of the log._")
    assert sim.token not in json.dumps(reply)


def test_a_50_mb_log_is_streamed_within_the_byte_bound_and_the_reply_says_so(load_app, bot_env, sim, receiver):
    from run_notifier.adapters.apify_api import ApifyClient
    from run_notifier.adapters.http_client import HttpClient
    from run_notifier.adapters.secret_store import Secret
    from run_notifier.destinations.slack.bot import LOG_KEEP_BYTES
    from run_notifier.domain.deadline import Deadline

    run = sim.add_run("RunHugeLog000001", 0.0, settle_secs=0, final_status="TIMED-OUT", exit_code=None)
    run.log_filler_bytes = 50 * 1024 * 1024
    run.log_tail = ["Run timed out after 3600 s", "ACTOR: Exiting."]
    client = ApifyClient(sim.base_url, lambda: Secret(sim.token or ""), HttpClient(pool_size=2))
    tail, dropped = client.get_log_tail("RunHugeLog000001", LOG_KEEP_BYTES, Deadline.after(30))
    assert len(tail.encode()) <= LOG_KEEP_BYTES
    assert dropped == run.log_size() - LOG_KEEP_BYTES
    assert tail.endswith("Run timed out after 3600 s\nACTOR: Exiting.\n")
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0HUGE"})
    assert app.lambda_handler(sqs_event(["RunHugeLog000001"]), context(30)) == {"batchItemFailures": []}
    reply = posts(receiver, replies=True)[-1]
    assert reply["text"].endswith("_the last 30 lines of a 52.4 MB log._")
    assert "ACTOR: Exiting." in reply["text"]


def test_a_succeeded_run_gets_no_thread(load_app, bot_env, sim, receiver):
    sim.add_run("RunNoThread00001", 0.0, settle_secs=0)
    app = load_app({**bot_env, "SLACK_CHANNEL": "C0OK"})
    app.lambda_handler(sqs_event(["RunNoThread00001"]), context(30))
    assert [p.get("thread_ts") for p in posts(receiver, replies=True)] == [None]
    assert not [r for r in sim.requests if r.path.endswith("/log")]


UPDATE = API + "/chat.update"
LIVE_ROUTES = {"routes": [{"slack": {"channel": "C0LIVE", "live": True}}]}


def test_live_mode_posts_once_at_first_sight_and_updates_that_message_once_at_the_end(
    load_app, bot_env, sim, receiver, aws_session, resources
):
    run = sim.add_run("RunLive000000001", 60, settle_secs=0)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(LIVE_ROUTES), "LONG_POLL_SCHEDULE": "0"})
    # first sight, three times (duplicates of the first message): one "running" post
    assert app.lambda_handler(sqs_event(["RunLive000000001"] * 3), context(30)) == {"batchItemFailures": []}
    [running] = posts(receiver)
    assert running["text"].startswith(":arrow_forward: running: janedoe/web-scraper run RunLive000000001")
    [(channel, ts)] = list(receiver.slack_messages)
    live = RunsTable(aws_session.client("dynamodb"), resources.table_name).get("RunLive000000001")["slackLive"]
    assert (live["state"], live["channel"], live["ts"]) == ("POSTED", channel, ts)
    sim.finish(run.id)
    # the finishing message, delivered three times: one update, no new post
    assert app.lambda_handler(sqs_event(["RunLive000000001"] * 3), context(30)) == {"batchItemFailures": []}
    assert len(posts(receiver)) == 1
    assert len(receiver.received(UPDATE)) == 1
    final = receiver.slack_messages[(channel, ts)]
    assert final["text"].startswith("SUCCEEDED: janedoe/web-scraper run RunLive000000001")
    assert final["ts"] == ts


def test_live_mode_posts_the_final_summary_fresh_when_the_live_message_was_deleted(load_app, bot_env, sim, receiver):
    run = sim.add_run("RunLiveGone00001", 60, settle_secs=0, final_status="FAILED", exit_code=1)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(LIVE_ROUTES), "LONG_POLL_SCHEDULE": "0"})
    app.lambda_handler(sqs_event(["RunLiveGone00001"]), context(30))
    [(channel, ts)] = list(receiver.slack_messages)
    receiver.delete_slack_message(channel, ts)
    sim.finish(run.id)
    assert app.lambda_handler(sqs_event(["RunLiveGone00001"]), context(30)) == {"batchItemFailures": []}
    [update] = receiver.received(UPDATE)
    assert json.loads(update.body)["ts"] == ts
    _running, final = posts(receiver)
    assert final["text"].startswith("FAILED: janedoe/web-scraper run RunLiveGone00001")
    [reply] = [p for p in posts(receiver, replies=True) if "thread_ts" in p]
    assert reply["thread_ts"] != ts  # under the fresh post, not the deleted one


def test_a_run_first_seen_already_over_gets_a_single_post_in_live_mode(load_app, bot_env, sim, receiver):
    sim.add_run("RunLiveDone00001", 0.0, settle_secs=0)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(LIVE_ROUTES)})
    app.lambda_handler(sqs_event(["RunLiveDone00001"]), context(30))
    [message] = posts(receiver)
    assert message["text"].startswith("SUCCEEDED")
    assert receiver.received(UPDATE) == []


def test_live_needs_a_channel():
    from run_notifier.destinations import SCHEMAS
    from run_notifier.domain.routing import RoutesError, parse_routes

    document = {"routes": [{"slack": {"webhookUrl": "https://hooks.slack.com/x", "live": True}}]}
    with pytest.raises(RoutesError, match="live needs a channel"):
        parse_routes(json.dumps(document), SCHEMAS)


def test_an_updated_live_message_mentions_in_the_thread_because_slack_notifies_nobody_of_an_edit(
    load_app, bot_env, sim, receiver
):
    routes = {"routes": [{"slack": {"channel": "C0LIVE", "live": True, "mention": ["<!subteam^S0ONCALL>"]}}]}
    run = sim.add_run("RunLiveMention01", 60, settle_secs=0, final_status="FAILED", exit_code=1)
    app = load_app({**bot_env, "ROUTES_JSON": json.dumps(routes), "LONG_POLL_SCHEDULE": "0"})
    app.lambda_handler(sqs_event(["RunLiveMention01"]), context(30))
    sim.finish(run.id)
    app.lambda_handler(sqs_event(["RunLiveMention01"]), context(30))
    [reply] = [p for p in posts(receiver, replies=True) if "thread_ts" in p]
    assert reply["text"].startswith("<!subteam^S0ONCALL> *Why it ended FAILED*")


def test_containers_share_one_pace_per_channel_and_slack_never_says_ratelimited(
    load_app, bot_env, sim, receiver, aws_session, resources
):
    """Three containers, four runs each, one channel: one message a second in all (a budget in the
    runs table), against a receiver that answers `ratelimited` beyond Slack's limit."""
    receiver.slack_limit = 1.0
    apps = [load_app({**bot_env, "SLACK_CHANNEL": "C0SHARED"}) for _ in range(3)]
    batches = [[f"RunShared{a}000000{i}" for i in range(4)] for a in range(3)]
    for run_id in itertools.chain.from_iterable(batches):
        sim.add_run(run_id, 0.0, settle_secs=0)
    failures: list[dict] = []

    def deliver(app, batch: list[str]) -> None:
        failures.append(app.lambda_handler(sqs_event(batch), context(30)))

    threads = [threading.Thread(target=deliver, args=(app, batch)) for app, batch in zip(apps, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # No container sleeps through the backlog: a turn more than 3 s away comes back later, as a fresh message.
    attributes = aws_session.client("sqs").get_queue_attributes(
        QueueUrl=resources.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesDelayed"]) > 0
    assert len(receiver.received(POST)) < 12
    event_source(load_app({**bot_env, "SLACK_CHANNEL": "C0SHARED"}), aws_session, resources).run_until(
        lambda: len(receiver.received(POST, ok_only=True)) >= 12, timeout_secs=30
    )
    assert receiver.slack_ratelimited == {}
    times = sorted(m.at for m in receiver.received(POST))
    assert len(times) == 12
    assert times[-1] - times[0] >= 10.5  # 12 posts, one a second


def test_a_ratelimited_answer_holds_every_container_off_the_channel(load_app, bot_env, sim, receiver):
    receiver.script(
        POST, (200, {"Content-Type": "application/json", "Retry-After": "3"}, '{"ok": false, "error": "ratelimited"}')
    )
    sim.add_run("RunHoldOff000001", 0.0, settle_secs=0)
    sim.add_run("RunHoldOff000002", 0.0, settle_secs=0)
    first, other = (load_app({**bot_env, "SLACK_CHANNEL": "C0HOLD"}) for _ in range(2))
    answers: list[dict] = []
    one = threading.Thread(
        target=lambda: answers.append(first.lambda_handler(sqs_event(["RunHoldOff000001"]), context(30)))
    )
    one.start()
    [refused] = receiver.wait_for(POST, 1)
    # While the first container waits out Retry-After, the other one has a run for the same channel.
    answers.append(other.lambda_handler(sqs_event(["RunHoldOff000002"]), context(30)))
    one.join(30)
    assert answers == [{"batchItemFailures": []}] * 2
    later = receiver.received(POST)[1:]  # (Slack says ratelimited with HTTP 200)
    assert len(later) == 2
    assert all(m.at - refused.at >= 2.9 for m in later)  # the other container waited out Retry-After too
