"""The watch policy for a whole fleet on a virtual clock, at 10,000 and 100,000 runs
a minute, against other people's limits.

Every run goes through the product's own `RunWatcher` (localdev/virtual_watch.py: its policy, push
arming, settle and safety net, the intake's settle delay) with the per-call costs `make bench`
measured, each run started at its own moment of the window on one fleet clock, and webhook creates
taken from one budget of `PUSH_ARMING_PER_SECOND` a second shared by every run, as
adapters/arming_budget.py shares it across containers. The trace of every Apify call, message,
invocation and alert is then counted per second: Lambda concurrency, Apify requests on the one
resource every create shares (`POST /v2/webhooks`) and per user per minute, SQS requests, DynamoDB
writes, Slack messages per channel. The mix: 200 Actors, each with its usual duration of 10 s to 30 min
(log-uniform over the Actors; a fleet of short runs), each run within ±10 % of it (`make bench`'s history mix), and each
Actor's history (the ledger's last runs, which the safety net times its reads from) drawn the same
way: a fleet at this rate has run each Actor many times. 5 % of terminal webhooks are lost, as in
`make bench`. A run refused a create on two looks gives its Actor one Actor-level webhook, which
then pushes every run of that Actor.
"""

from __future__ import annotations

import bisect
import logging
import math
import random
import time
from collections import Counter
from typing import Any

from run_notifier.adapters.arming_budget import per_run_limit
from run_notifier.config import load_settings  # the one table of defaults

from localdev.scoreboard import percentile
from localdev.virtual_watch import Costs, VirtualWatch
from scripts.bench.push import draw_dispatches, history_mix

RATES = (10_000, 100_000)
WINDOW_SECS = 600
SEED = 20261202
#: The fleet's Actors: each run belongs to one of them (uniformly).
ACTORS = 200
#: Measured by `make bench` on this machine (docs/performance.md, 2026-12-02): 32 ms of processing beside
#: a read, 92 ms for a final read + write + post, 10 ms per intake call, 1 s from a message being sent
#: to its pickup.
COSTS = Costs(poll=0.032, finish=0.092, intake=0.010, pickup=1.0)
#: DynamoDB writes per announced run, and per arming (its `push` note), from `make bench`'s counts.
WRITES_PER_FINISH = 7.3
#: Documented limits.
APIFY_PER_RESOURCE_PER_SEC = 60
APIFY_PER_USER_PER_MIN = 250_000
SLACK_PER_CHANNEL_PER_MIN = 60
LAMBDA_DEFAULT_CONCURRENCY = 1_000
DYNAMODB_PARTITION_WCU = 1_000


def fleet(rate_per_min: int, window_secs: int, seed: int) -> dict[str, Any]:
    """One fleet through the watcher; counts per second on the fleet clock."""
    settings = load_settings({"RUNS_TABLE_NAME": "fleet", "RUN_QUEUE_URL": "fleet"})
    per_second_budget = settings.push_arming_per_second
    rng = random.Random(seed)
    runs = int(rate_per_min / 60 * window_secs)
    starts = sorted(rng.uniform(0, window_secs) for _ in range(runs))
    usual_of = [math.exp(rng.uniform(math.log(10), math.log(1800))) for _ in range(ACTORS)]
    drawn = [rng.randrange(ACTORS) for _ in range(runs)]
    actors = [f"FleetActor{a:06d}" for a in drawn]
    durations, histories = history_mix([usual_of[a] for a in drawn], seed)
    dispatches = draw_dispatches(runs, seed + 1)
    taken: Counter[int] = Counter()
    attempts: Counter[int] = Counter()

    def take(at: float, for_actor: bool) -> bool:
        """adapters/arming_budget.py's rule: a third of each second's creates are kept for Actor-level webhooks."""
        second = int(at)
        attempts[second] += 1
        limit = per_second_budget if for_actor else per_run_limit(per_second_budget)
        if taken[second] >= limit:
            return False
        taken[second] += 1
        return True

    world = VirtualWatch(
        settings.schedule,
        COSTS,
        timeout_secs=90.0,
        max_watch_secs=settings.max_watch_seconds,
        push=True,
        arming_budget=take,
    )
    world.trace = []
    latencies: list[float] = []
    lost_latencies: list[float] = []
    came_latencies: list[float] = []
    later: list[float] = []  # runs started in the window's second half: once busy Actors are covered
    began = time.monotonic()
    for start, duration, dispatch, act_id, usual in zip(starts, durations, dispatches, actors, histories, strict=True):
        result = world.run(duration, dispatch, offset=start, act_id=act_id, usual=usual)
        latencies.append(result.latency)
        if start >= window_secs / 2 and math.isfinite(result.latency):
            later.append(result.latency)
        (lost_latencies if dispatch.lost else came_latencies).append(result.latency)
    simulated_in = time.monotonic() - began
    counted = _counted(
        window_secs, world.trace, latencies, lost_latencies, taken, attempts, runs, rate_per_min, simulated_in
    )
    counted["actors_covered"] = len(world.covered)
    counted["p95_later"] = percentile(sorted(later), 95)
    counted["p95_came"] = percentile(sorted(x for x in came_latencies if math.isfinite(x)), 95)
    return counted


def _counted(
    window: int,
    trace: list[tuple[str, float]],
    latencies: list[float],
    lost: list[float],
    taken: Counter[int],
    attempts: Counter[int],
    runs: int,
    rate: int,
    simulated_in: float,
) -> dict[str, Any]:
    per_second: dict[str, Counter[int]] = {k: Counter() for k in ("apify", "arm", "message", "alert", "intake")}
    invocations: list[tuple[float, float]] = []
    pending_start: float | None = None
    for what, at in trace:
        if what == "invocation":
            pending_start = at
        elif what == "busy" and pending_start is not None:
            invocations.append((pending_start, pending_start + at))
            pending_start = None
        elif what in ("apify-read", "apify-arm"):
            per_second["apify"][int(at)] += 1
            if what == "apify-arm":
                per_second["arm"][int(at)] += 1
        elif what in per_second:
            per_second[what][int(at)] += 1
    # the intake's calls are invocations and messages too
    for second, count in per_second["intake"].items():
        per_second["message"][second] += count
    concurrency = _concurrency(
        invocations + [(s, s + COSTS.intake) for s, c in per_second["intake"].items() for _ in range(c)]
    )
    apify_per_minute = max(_per_minute(per_second["apify"]).values(), default=0)
    alerts_per_minute = max(_per_minute(per_second["alert"]).values(), default=0)
    writes_per_second = max(
        (WRITES_PER_FINISH * per_second["alert"][s] + 2 * per_second["arm"][s] for s in per_second["alert"]), default=0
    )
    # One conditional write a take on the one item, and one more for the second's first (arming_budget.py).
    budget_writes = max(attempts.values(), default=0) + 1
    finite = sorted(x for x in latencies if math.isfinite(x))
    return {
        "rate": rate,
        "window": window,
        "runs": runs,
        "simulated_in": simulated_in,
        "p95": percentile(finite, 95),
        "p95_lost": percentile(sorted(x for x in lost if math.isfinite(x)), 95) if lost else float("nan"),
        "unannounced": len(latencies) - len(finite),
        "concurrency_max": concurrency[0],
        "concurrency_p99": concurrency[1],
        "arms_max_per_sec": max(per_second["arm"].values(), default=0),
        "armed": sum(taken.values()),
        "paced": sum(attempts.values()) - sum(taken.values()),
        "apify_per_min": apify_per_minute,
        "sqs_per_sec": 3 * max(per_second["message"].values(), default=0),
        "writes_per_sec": writes_per_second,
        "budget_item_writes_per_sec": budget_writes,
        "alerts_per_min": alerts_per_minute,
    }


def _per_minute(per_second: Counter[int]) -> Counter[int]:
    minutes: Counter[int] = Counter()
    for second, count in per_second.items():
        minutes[second // 60] += count
    return minutes


def _concurrency(spans: list[tuple[float, float]]) -> tuple[int, int]:
    """(max, p99 over seconds) of invocations running at once."""
    if not spans:
        return 0, 0
    starts = sorted(s for s, _ in spans)
    ends = sorted(e for _, e in spans)
    horizon = int(ends[-1]) + 1
    samples = [bisect.bisect_right(starts, t + 0.5) - bisect.bisect_right(ends, t + 0.5) for t in range(horizon)]
    return max(samples), sorted(samples)[int(len(samples) * 0.99)]


def report(results: list[dict[str, Any]], settle: int) -> list[str]:
    now = time.gmtime()
    lines = [
        "## The watch policy for a fleet, on a virtual clock",
        "",
        f"Written by `make bench-scale` (scripts/bench/fleet.py) on {time.strftime('%Y-%m-%d %H:%M UTC', now)}. "
        f"{(__doc__ or '').split(chr(10) + chr(10))[1].replace(chr(10), ' ')}",
        "",
        "| measure | "
        + " | ".join(f"{r['rate']:,} runs/min ({r['runs']:,} runs in {r['window']} s)" for r in results)
        + " | limit |",
        "|---|" + "---|" * len(results) + "---|",
    ]
    rows = [
        ("p95 from run end to first alert", lambda r: f"{r['p95']:.1f} s", f"settle + 10 s ({settle + 10} s)"),
        ("p95 of the runs whose webhook came (95 % of them)", lambda r: f"{r['p95_came']:.1f} s", "-"),
        ("p95 of the runs started in the window's second half", lambda r: f"{r['p95_later']:.1f} s", "-"),
        (
            "p95 for the runs whose webhook was lost (5 %; the safety net timed from each Actor's history)",
            lambda r: f"{r['p95_lost']:.0f} s",
            "120 s (issue 22's lost-webhook target)",
        ),
        ("runs never announced", lambda r: str(r["unannounced"]), "0"),
        (
            "Lambda concurrency (max / p99 of seconds)",
            lambda r: f"{r['concurrency_max']} / {r['concurrency_p99']}",
            f"{LAMBDA_DEFAULT_CONCURRENCY} (account default)",
        ),
        (
            "webhook creates a second (one Apify resource), busiest",
            lambda r: str(r["arms_max_per_sec"]),
            f"{APIFY_PER_RESOURCE_PER_SEC} (target ≤ 50 %: 30)",
        ),
        ("webhooks created / arming paced to a later look", lambda r: f"{r['armed']:,} / {r['paced']:,}", "-"),
        ("Actors given an Actor-level webhook", lambda r: f"{r['actors_covered']} of {ACTORS}", "-"),
        (
            "Apify requests in the busiest minute (per user)",
            lambda r: f"{r['apify_per_min']:,}",
            f"{APIFY_PER_USER_PER_MIN:,}",
        ),
        ("SQS requests a second, busiest", lambda r: f"{r['sqs_per_sec']:,}", "no limit (standard queue)"),
        (
            "DynamoDB writes a second, busiest (whole table)",
            lambda r: f"{r['writes_per_sec']:,.0f}",
            "on-demand: scales",
        ),
        (
            "writes on the arming budget's one item a second",
            lambda r: f"{r['budget_item_writes_per_sec']:,}",
            f"{DYNAMODB_PARTITION_WCU:,} per partition",
        ),
        (
            "alerts a minute, busiest (one Slack channel, no incident mode)",
            lambda r: f"{r['alerts_per_min']:,}",
            f"{SLACK_PER_CHANNEL_PER_MIN} per channel",
        ),
        ("simulated in", lambda r: f"{r['simulated_in']:.0f} s", "-"),
    ]
    for name, cell, limit in rows:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in results) + f" | {limit} |")
    lines += ["", *_what_breaks(results), "", *NEXT, ""]
    return lines


NEXT = [
    "What follows from it. A per-run ad-hoc webhook costs one create on a resource Apify caps at 60 a second, "
    "so push per run tops out at the budget (1,800 runs a minute at 30 a second). Above that, the watcher "
    "chooses by itself: a run refused a create on two looks gives its Actor one Actor-level webhook (push mode "
    "`actor`, as `make enroll` makes; a third of each second's creates are kept for these), and every later run "
    "of that Actor is pushed with no create of its own; a run whose Actor cannot have one is polled and stops "
    "asking (each ask is a write on the budget's one item). Slack, without incident mode, is the first limit at "
    "any fleet rate: one channel takes 60 messages a minute.",
]


def _what_breaks(results: list[dict[str, Any]]) -> list[str]:
    found = []
    for r in results:
        breaks = []
        if r["alerts_per_min"] > SLACK_PER_CHANNEL_PER_MIN:
            breaks.append(
                f"per-run Slack alerts to one channel ({r['alerts_per_min']:,} a minute against 60: incident mode "
                "groups them, or routes spread them over channels)"
            )
        if r["budget_item_writes_per_sec"] > DYNAMODB_PARTITION_WCU:
            breaks.append(
                f"the arming budget's one item ({r['budget_item_writes_per_sec']:,} writes a second against "
                f"{DYNAMODB_PARTITION_WCU:,} per partition, from about "
                f"{_rate_at(r, 'budget_item_writes_per_sec', DYNAMODB_PARTITION_WCU)} "
                "runs a minute: throttled takes count as spent, so runs are polled; in the first seconds only, "
                "until the busy Actors have their Actor-level webhooks and ask no more)"
            )
        if r["paced"] > r["armed"]:
            breaks.append(
                f"push itself: {r['paced']:,} arming attempts paced against {r['armed']:,} armed; the budget keeps "
                "Apify's limit, and the runs it cannot arm are polled (more reads, later alerts)"
            )
        if r["concurrency_max"] > LAMBDA_DEFAULT_CONCURRENCY:
            breaks.append(f"Lambda concurrency ({r['concurrency_max']:,} against the account's default 1,000)")
        if r["apify_per_min"] > APIFY_PER_USER_PER_MIN:
            breaks.append(
                f"Apify's per-user limit ({r['apify_per_min']:,} a minute against 250,000, from about "
                f"{_rate_at(r, 'apify_per_min', APIFY_PER_USER_PER_MIN)} runs a minute at "
                f"{r['apify_per_min'] / r['rate']:.1f} requests a run; not fixed: one Apify account cannot run that "
                "many at once (its plan caps concurrent runs), so such a fleet spans accounts, each its own token "
                "and limit: one deployment per account)"
            )
        found.append(
            f"- **{r['rate']:,} runs a minute:** " + ("; ".join(breaks) if breaks else "nothing reaches a limit") + "."
        )
    return ["What degrades first, in order of the table:", "", *found]


def _rate_at(r: dict[str, Any], measure: str, limit: float) -> str:
    """The fleet rate (runs a minute) at which ``measure`` reaches ``limit``, if it grows with the rate."""
    return f"{r['rate'] * limit / r[measure]:,.0f}"


def fleet_section() -> list[str]:
    """Both fleet rates through the watch policy: the docs' section."""
    logging.disable(logging.WARNING)  # the product's per-run log lines; the table is the output
    settle = load_settings({"RUNS_TABLE_NAME": "fleet", "RUN_QUEUE_URL": "fleet"}).settle_seconds
    results = []
    for rate in RATES:
        window = WINDOW_SECS if rate <= 10_000 else WINDOW_SECS // 5
        print(f"fleet: {rate:,} runs a minute for {window} s ...", flush=True)
        results.append(fleet(rate, window, SEED))
    logging.disable(logging.NOTSET)
    return report(results, settle)
