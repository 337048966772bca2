"""`make demo`'s pipeline, run as a user runs it: a separate process, judged by its output."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT

from localdev.demo import SLACK_PATH, WEBHOOK_SECRET


def test_demo_notifies_every_run_once_and_shows_the_long_run_and_the_dlq():
    """Also with the root logger at DEBUG (Lambda's ApplicationLogLevel=DEBUG): no secret in any output."""
    result = subprocess.run(
        [sys.executable, "-m", "localdev.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "DEMO_ROOT_LOG_LEVEL": "DEBUG"},
    )
    out = result.stdout
    assert "DEBUG" in result.stderr or len(result.stderr) > 10_000  # the DEBUG stream really ran
    for secret in ("sim-token-0123456789", WEBHOOK_SECRET, SLACK_PATH):
        assert secret not in out
        assert secret not in result.stderr
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "Every run notified exactly once per destination." in out
    # what a newcomer needs, not every coordination step: --verbose prints those
    assert len(out.splitlines()) <= 300, len(out.splitlines())
    assert "[dedupe]" not in out
    assert "[warning]" not in out
    assert "[error]" not in out
    dedupes = re.search(r"Coordination, counted: (\d+) dedupes, (\d+) deliveries that came back later", out)
    assert dedupes
    assert int(dedupes.group(1)) > 0
    # Heard of by its webhook, or by a safety-net read that happened to come first: either way within
    # seconds. The demo is one container working through the incident scenario's batches at the same
    # time (Lambda would run several), so on a loaded CI machine the pickups alone can take 10 s.
    latency = re.search(
        r"^DemoLongRun000001\s+queue\s+(?:push|safety-net)\s+([0-9.]+) s\s+SUCCEEDED", out, re.MULTILINE
    )
    assert latency
    assert float(latency.group(1)) < 20  # settle (3 s) + pickups behind the other batches
    assert re.search(r"^DemoPushLost00001\s+queue\s+safety-net\s+[0-9.]+ s\s+SUCCEEDED", out, re.MULTILINE)
    assert "safety-net check after the push-notified finish -> dropped, no Apify call" in out
    assert re.search(r"^DemoUnknown000001\s+queue\s+-\s+-\s+NOT_FOUND", out, re.MULTILINE)
    assert "DLQ: message" in out
    assert "reason: body is neither JSON nor a bare run ID" in out
    # the last act: today's digest once (the retried scheduled event posts nothing more), a budget alert once
    assert re.search(r"\[slack\]\s+#C0DIGEST :bar_chart: \*Daily digest\*", out)
    assert "Digest: 1 post in #C0DIGEST for today" in out
    assert "the same scheduled event posted 0 more" in out
    assert "Budget $0.10: 1 alert" in out
    # and `make report` on the demo's own table: the same table in the terminal, its totals a row of its own
    report = out[out.index("`make report SINCE=1d`, here on the demo's own table") :]
    assert re.search(r"^Actor / task\s+runs\s+ok %", report, re.MULTILINE)
    assert re.search(r"^total\s+\d+", report, re.MULTILINE)
    # 14 runs per run, 24 runs of the incident route, 22 incident events (opened, resolved) as their own,
    # the health checks' 13 runs and one still-running alert, and one schedule that did not fire
    received = re.search(r"Received: webhook (\d+) \(([^;]*); every signature verified\)", out)
    assert received
    assert int(received.group(1)) == 14 + 24 + 22 + 14 + 1
    assert "21 apify.incident.opened, 1 apify.incident.resolved" in received.group(2)
    # the three ways in besides a direct enqueue, and a forged webhook refused
    for run_id, way in (
        ("DemoViaWebhook001", "Apify webhook"),
        ("DemoViaPostRuns01", "POST /runs"),
        ("DemoFromConsole01", "sweep"),
        ("DemoSucceeded0001", "queue"),
    ):
        assert re.search(rf"^{run_id}\s+{re.escape(way)}\s+[\w-]+\s+[0-9.]+ s\s+SUCCEEDED", out, re.MULTILINE), run_id
    assert "a forged webhook -> HTTP 401 token-not-valid, nothing enqueued" in out
    assert "[sweep]" in out
    assert "SIGNATURE INVALID" not in out
    posts = out.split("Posts per run (Slack, webhook, Teams, Discord): ", 1)[1].splitlines()[0]
    assert posts.count("=1,1,1,1") == 14
    # a two-step pipeline: the scraper's success starts the loader with its dataset, both announced in order
    started = re.search(r"\[follow\]  DemoPipeline00001 succeeded -> started run (\w+) of demo~sheet-loader", out)
    assert started
    assert re.search(rf"^{started.group(1)}\s+follow-up\s+\S+\s+[0-9.]+ s\s+SUCCEEDED", out, re.MULTILINE)
    assert out.index("DemoPipeline00001 ended SUCCEEDED") < out.index(f"{started.group(1)} ended SUCCEEDED")
    # Slack bot mode: a live message that follows the run, and a failed run's log tail in its thread
    assert "[slack]   #C0DEMOLIVE :arrow_forward: running: demo/shop-scraper run DemoLiveRun000001" in out
    assert re.search(r"#C0DEMOLIVE message \S+ updated in place: Status :white_check_mark: SUCCEEDED", out)
    assert re.search(r"#C0DEMOLIVE thread reply: [\"']<!here> \*Why it ended FAILED\*: Selector", out)
    # incidents: one message, two thread replies and a broadcast recovery for the flaky Actor, one trigger and
    # one resolve in PagerDuty; an outage of 20 Actors grouped after the fifth incident of the minute
    assert "DemoFlakyActor001 failed 3 times and recovered: 1 message" in out
    assert "2 thread replies, 1 recovery reply sent to the channel; PagerDuty ['trigger', 'resolve']" in out
    assert "4 messages of their own" in out
    assert "1 grouped message listing 16" in out
    assert "Slack answered ratelimited 0 times" in out
    # health checks: a cost anomaly against the Actor's own history, 0 items guarding a pipeline, a stuck run
    assert "DemoCostSpike0001 (8x its usual cost) is WARN: ⚠ SUCCEEDED — $1.62, usually ~$0.2" in out
    assert "is WARN: ⚠ SUCCEEDED — 0 items, expected ≥ 1: demo/price-scraper; its follow-up was not started" in out
    assert re.search(
        r"DemoStuckRun00001 \(started 2 h ago, limit 1 h\): 1 still-running webhook, 1 Slack alert '⏳ Still", out
    )
    # a schedule whose scheduler never fired: enqueued by the sweep within grace (3 s) + a sweep (4 s) of its
    # slot (and the sweep's own time on a loaded machine), announced once
    enqueued = re.search(
        r"schedule DemoSchedDown0001: its slot \S+ passed \(not fired\) -> enqueued .* ([0-9.]+) s", out
    )
    assert enqueued
    assert float(enqueued.group(1)) < 3 + 4 + 3
    assert "Schedule console-hourly (its scheduler never fired): 1 missed-schedule webhook, 1 Slack alert" in out


def test_demo_real_mode_with_a_refused_token_stops_at_once_and_names_the_token():
    """RUN_IDS + APIFY_TOKEN watch 'real' runs: here a simulator that refuses the token (401)."""
    import time

    from localdev.apify_simulator import ApifySimulator

    with ApifySimulator(token="the-only-valid-token") as sim:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "localdev.demo"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                "APIFY_TOKEN": "apify_api_wrong",
                "RUN_IDS": "RealRun000000001",
                "APIFY_API_BASE_URL": sim.base_url,
            },
        )
        took = time.monotonic() - started
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert took < 60
    out = result.stdout
    assert "[error]   RealRun000000001: ApifyAuthError: Apify refused run RealRun000000001 with 401" in out
    assert "DEMO STOPPED: a run cannot be watched." in out
    assert "Check APIFY_TOKEN" in out
    assert "apify_api_wrong" not in out + result.stderr
