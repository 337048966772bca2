"""docs/performance.png: alert latency against cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.bench.settings import (
    SIM_RUNS,
)


def plot(sim: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    sweep = [r for r in sim["sweep"] if r["first_wait"] == 60]
    ax.plot(
        [r["usd_per_1000_runs"] for r in sweep],
        [r["p95"] for r in sweep],
        "o-",
        color="#888",
        label="notifier, re-enqueue cap swept (first attempt long-polls)",
    )
    for r in sweep:
        ax.annotate(
            f"{r['cap']} s",
            (r["usd_per_1000_runs"], r["p95"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
            color="#555",
        )
    for key, marker, color in (("ours", "*", "#d62728"), ("blocking", "s", "#1f77b4"), ("fixed", "^", "#2ca02c")):
        row = sim[key]
        ax.scatter(
            [row["usd_per_1000_runs"]],
            [row["p95"]],
            marker=marker,
            s=160,
            color=color,
            zorder=5,
            label=f"{row['name']}: p95 {row['p95']:.0f} s, {row['gb_s_per_run_hour']:.1f} GB-s/run-h",
        )
    push = sim["push"]["push"]
    ax.scatter(
        [push["usd_per_1000_runs"]],
        [push["p95_pushed"]],
        marker="P",
        s=170,
        color="#9467bd",
        zorder=6,
        label=f"push + safety net: p95 {push['p95_pushed']:.0f} s pushed, {push['p95_lost']:.0f} s webhook lost, "
        f"{push['gb_s_per_run_hour']:.2f} GB-s/run-h",
    )
    ax.axhline(sim["settle"] + 60, color="#d62728", linestyle=":", linewidth=1, label="target p95 = settle + 60 s")
    ax.axhline(sim["settle"] + 3, color="#9467bd", linestyle=":", linewidth=1, label="push target p95 = settle + 3 s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.03, 3000)
    ax.set_xlabel("USD per 1,000 runs (Lambda + SQS), log scale")
    ax.set_ylabel("p95 alert latency after the run ends (s)")
    ax.set_title(f"Alert latency against cost, {SIM_RUNS} runs of 10 s - 24 h")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
