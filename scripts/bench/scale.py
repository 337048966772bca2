"""`make bench-scale`: a burst on the real local pipeline, then the watch policy for a fleet on a
virtual clock; prints both tables and writes them to docs/scale.md with a plot of the burst's alerts
over time (docs/scale-burst.png).

`--runs` (2,000 and 400: the issue's size and a fifth of it, side by side), `--workers`,
`--window-secs`, `--intake-concurrency` shape the bursts (localdev/burst_bench.py); `--fleet-only`
skips them (the fleet alone takes seconds), `--no-docs` prints without writing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from localdev.burst_bench import BurstConfig, BurstResult, run_burst
from scripts.bench.fleet import fleet_section

DOCS = Path(__file__).resolve().parents[2] / "docs"
PLOT = "scale-burst.png"
#: The burst's targets (issue: "Scale"), in seconds from the burst's first run end, and MB.
RECORDED_TARGET_SECS = 90
DELIVERED_TARGET_SECS = 120
RSS_TARGET_MB = 200
#: The burst again at a fifth of the issue's size: about what a 2-core machine running moto carries within
#: the targets (docs/scale.md says what it sustained).
SCALED_DOWN_RUNS = 400


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    defaults = BurstConfig()
    parser.add_argument("--runs", type=int, nargs="+", default=[defaults.runs, SCALED_DOWN_RUNS])
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--window-secs", type=float, default=defaults.window_secs)
    parser.add_argument("--intake-concurrency", type=int, default=defaults.intake_concurrency)
    parser.add_argument("--fleet-only", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    lines = ["# Scale", ""]
    results: list[BurstResult] = []
    if args.fleet_only:
        lines += ["(`--fleet-only`: no burst in this run.)", ""]
    else:
        for runs in args.runs:
            print(f"burst: {runs:,} runs ...", flush=True)
            config = BurstConfig(
                runs=runs,
                workers=args.workers,
                window_secs=args.window_secs,
                intake_concurrency=args.intake_concurrency,
            )
            results.append(run_burst(config))
        lines += burst_section(results)
        if not args.no_docs:
            plot_burst(results, DOCS / PLOT)
    lines += fleet_section()
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        (DOCS / "scale.md").write_text(text + "\n")
    for r in results:
        print(f"bench-scale: burst of {r.config.runs:,} runs: {'PASS' if burst_ok(r) else 'MISSED A TARGET'}")
    return 0 if all(burst_ok(r) for r in results) else 1


def burst_ok(r: BurstResult) -> bool:
    return (
        r.recorded_secs is not None
        and r.delivered_secs is not None
        and r.recorded_secs <= RECORDED_TARGET_SECS
        and r.delivered_secs <= DELIVERED_TARGET_SECS
        and not r.lost
        and r.dlq == 0
        and max(r.peak_rss_mb) <= RSS_TARGET_MB
    )


def _rows(r: BurstResult) -> list[tuple[str, str]]:
    c = r.config

    def secs(value: float | None) -> str:
        return f"{value:.0f} s" if value is not None else f"not within {c.timeout_secs:.0f} s"

    resource, busiest = r.apify_busiest_resource
    per_run_ms = {name: 1000 * value / c.runs for name, value in r.cpu_secs.items()}
    return [
        ("every run in the ledger (target ≤ 90 s)", secs(r.recorded_secs)),
        (
            "every alert delivered: each run's webhook and EventBridge event, each incident's Slack post and page "
            "(target ≤ 120 s)",
            secs(r.delivered_secs),
        ),
        ("first alert after its run ended (webhook)", f"p50 {r.first_alert_p50:.0f} s, p95 {r.first_alert_p95:.0f} s"),
        ("runs lost / valid messages in the DLQ (target 0 / 0)", f"{len(r.lost)} / {r.dlq}"),
        (
            "Apify's dispatches to the intake / refused and retried by Apify (of them 429: the intake's reserved "
            "concurrency was taken)",
            f"{r.dispatches:,} / {r.dispatches_refused:,} ({r.intake_throttled:,})",
        ),
        ("webhook events", ", ".join(f"{k} {v:,}" for k, v in sorted(r.webhook_events.items()))),
        ("EventBridge events (a rule's queue)", f"{r.eventbridge_events:,}"),
        (
            "Slack top-level messages per channel (incident mode; one per incident)",
            ", ".join(f"{k}: {v}" for k, v in r.slack_top_level.items())
            + f"; {r.slack_replies} thread replies, {r.slack_ratelimited} `ratelimited`",
        ),
        ("PagerDuty (one trigger per incident)", ", ".join(f"{k} {v}" for k, v in r.pagerduty.items())),
        (
            "Apify requests a second on one resource, busiest (limit 60)",
            f"{busiest} (`{resource}`); all resources: {r.apify_busiest_second} in the busiest second",
        ),
        ("peak RSS per worker (target ≤ 200 MB)", ", ".join(f"{mb:.0f}" for mb in r.peak_rss_mb) + " MB"),
        ("CPU per run, first end to last alert", ", ".join(f"{n} {ms:.0f} ms" for n, ms in per_run_ms.items())),
    ]


def burst_section(results: list[BurstResult]) -> list[str]:
    c = results[0].config
    table = [_rows(r) for r in results]
    lines = [
        "## A burst on the real local pipeline",
        "",
        f"Measured by `make bench-scale` (localdev/burst_bench.py) on {_now()}, on this 2-core machine. Runs of "
        f"{c.actors} Actors, started ten minutes earlier, end within {c.window_secs:g} s ({c.failing_actors} Actors "
        "fail every run: a proxy outage). Each is announced by its Actor's Apify webhook (enrolled as `make enroll` "
        "does) through the real intake behind the local Function URL, which throttles beyond the intake's reserved "
        f"concurrency ({c.intake_concurrency}, the template's default) with a 429 as Lambda does; the simulator "
        "retries a refused dispatch after 1, 2, 4 ... s (Apify: 11 retries over about 32 h). "
        f"{c.workers} watcher worker processes (the real handler under a Lambda-like SQS poller) share the queue. "
        "One route puts every Actor in incident mode: Slack (bot token; the receiver answers `ratelimited` beyond "
        "one message a second), PagerDuty, the signed webhook, EventBridge. moto serves SQS and EventBridge from "
        "one process and DynamoDB from another.",
        "",
        "| measure | " + " | ".join(f"{r.config.runs:,} runs" for r in results) + " |",
        "|---|" + "---|" * len(results),
        *[f"| {name} | " + " | ".join(rows[i][1] for rows in table) + " |" for i, (name, _) in enumerate(table[0])],
        "",
        f"![alerts delivered over time]({PLOT})",
        "",
        *_burst_reading(results),
        "",
    ]
    return lines


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _burst_reading(results: list[BurstResult]) -> list[str]:
    """What the numbers say: what bounds the burst here, and what the watcher itself costs."""
    text = []
    for r in results:
        per_run_ms = {name: 1000 * value / r.config.runs for name, value in r.cpu_secs.items()}
        bound = max(per_run_ms, key=lambda name: per_run_ms[name]) if per_run_ms else "-"
        workers_ms = per_run_ms.get("workers", 0.0)
        verdict = "every target met" if burst_ok(r) else "a target missed"
        text.append(
            f"- **{r.config.runs:,} runs** ({verdict}): the busiest process was {bound}, "
            f"{per_run_ms.get(bound, 0):.0f} ms of CPU a run, on two cores shared by everything; the watcher "
            f"itself (what Lambda runs and bills) used {workers_ms:.0f} ms a run, "
            f"{r.config.runs * workers_ms / 1000:.0f} CPU-seconds for the burst. Apify retried "
            f"{r.dispatches_refused:,} refused dispatches for {r.config.runs:,} runs: {r.intake_throttled:,} throttled "
            f"at the intake's reserved concurrency ({r.config.intake_concurrency}), "
            f"{r.dispatches_refused - r.intake_throttled:,} answered 503 because the queue (moto, busy) did not take "
            "them in time; every one was delivered on a retry and nothing was lost."
        )
    text += [
        "",
        "On AWS neither bound is there: DynamoDB and SQS are not one process each, and an intake invocation "
        "(one `SendMessageBatch`) takes about 10 ms, so 5 concurrent invocations take about 500 dispatches a second. "
        "A burst above that is throttled with 429 and Apify retries it later (its backoff, not ours): raise "
        "`IntakeReservedConcurrency` for fleets whose runs end by the thousand in the same seconds. The next "
        "cost to cut is the watcher's DynamoDB round trips: each destination's claim is two conditional writes "
        "(take and close), so a run with four destinations makes about ten; closing them in one write per run "
        "is the change that would halve the busiest process here.",
    ]
    return text


def plot_burst(results: list[BurstResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for r, color in zip(results, ("#d62728", "#1f77b4", "#2ca02c"), strict=False):
        times = [t for t, _, _ in r.timeline]
        label = f"{r.config.runs:,} runs"
        ax.plot(times, [e for _, e, _ in r.timeline], color=color, linestyle=":", label=f"{label}: ended")
        ax.plot(times, [d for _, _, d in r.timeline], color=color, label=f"{label}: webhook alert delivered")
    ax.axvline(DELIVERED_TARGET_SECS, color="#555", linestyle="--", linewidth=1, label="target: every alert out")
    ax.set_xlabel("seconds since the burst's first run ended")
    ax.set_ylabel("runs")
    ax.set_title(f"Runs ending within {results[0].config.window_secs:g} s, {results[0].config.workers} workers")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
